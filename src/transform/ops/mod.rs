//! One file per OSS action. Each holds the action's `parse` (text → spec, with OSS's ranges and
//! ECs), `plan` (geometry at the current size, before any pixel), `apply` (pixels) and its tests.

pub mod auto_orient;
pub mod average_hue;
pub mod blur;
mod blur_exact;
pub mod bright;
pub mod circle;
pub mod contrast;
pub mod crop;
pub mod format;
pub mod indexcrop;
pub mod info;
pub mod interlace;
mod mask;
pub mod quality;
pub mod resize;
pub mod rotate;
pub mod rounded_corners;
pub mod sharpen;
pub mod watermark;
