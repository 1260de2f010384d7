//! Codecs: reading the header (probe), decoding to a [`crate::transform::raster::Image`] and
//! encoding one. Formats are sniffed from the bytes, never from names or Content-Type.
//! libjpeg-turbo (turbojpeg) does JPEG with DCT-domain downscaling; libwebp does lossy WebP;
//! the `image` crate and `gif` do the rest.

pub mod autoq;
pub mod decode;
pub mod encode;
mod fax;
#[cfg(feature = "heif")]
pub mod heif;
#[cfg(feature = "heif")]
mod heif_boxes;
pub mod icc;
pub mod jpeg_quality;
pub mod probe;
mod scan;
pub mod ycbcr;

pub use decode::{decode, decode_each, DecodeOptions};
pub use encode::{encode, EncodeSettings};
pub use probe::{probe, SourceInfo};
