//! What a planned pipeline will cost, known before any pixel is decoded: the CPU work (passes over
//! the pixels, weighted per action, times the frames processed) and the peak memory (decoder
//! buffers, the largest step's input and output, the frames kept for the output). A pipeline
//! over either bound is refused with a 400 instead of tying up a worker or the machine's memory:
//! a 35-byte GIF can declare a 240-megapixel canvas, and a short process string can repeat a
//! full-frame sharpen sixty times.

use super::codec::SourceInfo;
use super::error::{Error, Result};
use super::format::Format;
use super::limits::Limits;
use super::spec::Op;

/// One planned action: its weight and the pixels of one frame before and after it.
#[derive(Debug, Clone, Copy)]
pub struct StepCost {
    pub weight: u64,
    pub before: u64,
    pub after: u64,
}

/// Passes over the larger of a step's input and output one action costs, measured against a
/// plain per-pixel pass: blur (O(1) per pixel, two separable passes) and sharpen (a 3×3
/// neighbourhood plus the unsharp mix) cost more; a crop only copies what the next step reads,
/// unless `g_auto` has its saliency read every pixel once first.
pub fn weight(op: &Op) -> u64 {
    match op {
        Op::Crop(c) if c.auto => 1,
        Op::Crop(_) | Op::IndexCrop(_) => 0,
        Op::Blur(_) => 2,
        Op::Sharpen(_) => 3,
        _ => 1,
    }
}

/// The estimate of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Pixel passes, summed over the frames processed.
    pub work_px: u64,
    /// Bytes held at the worst moment.
    pub peak_bytes: u64,
}

/// Estimates a run that decodes `decoded_px` pixels a frame (after DCT scaling), runs `steps` on
/// each processed frame and keeps frames of `out_px` pixels (all of them when `animated`).
pub fn estimate(
    src: &SourceInfo,
    decoded_px: u64,
    animated: bool,
    steps: &[StepCost],
    out_px: u64,
) -> Estimate {
    let frames = if animated { u64::from(src.frames.max(1)) } else { 1 };
    let multi = src.frames > 1 && matches!(src.format, Format::Gif | Format::Webp);
    // JPEG decodes straight into RGB; the image crate's decoders fill a buffer that is then
    // normalised (a second copy); animations composite on an RGBA canvas and hand out a copy.
    let per_px = match src.format {
        Format::Jpeg => 3,
        _ if multi => 12,
        _ => 8,
    };
    let decode = decoded_px.saturating_mul(per_px);
    let step = steps.iter().map(|s| s.before.saturating_add(s.after).saturating_mul(4)).max().unwrap_or(0);
    let kept = out_px.saturating_mul(4).saturating_mul(frames);
    // The encoder's working copy of one output frame.
    let encode = out_px.saturating_mul(4);
    let peak_bytes = decode.saturating_add(step).saturating_add(kept).saturating_add(encode);
    let per_frame: u64 =
        steps.iter().map(|s| s.weight.saturating_mul(s.before.max(s.after))).fold(0, u64::saturating_add);
    let work_px = decoded_px.saturating_add(per_frame).saturating_mul(frames);
    Estimate { work_px, peak_bytes }
}

/// Refuses an estimate over the per-request bounds, before anything is decoded.
pub fn check(e: &Estimate, limits: &Limits) -> Result<()> {
    const MIB: u64 = 1 << 20;
    if e.peak_bytes > limits.max_decode_bytes {
        return Err(Error::too_large(
            None,
            format!(
                "processing this image needs about {} MiB, over the limit of {} MiB",
                e.peak_bytes.div_ceil(MIB),
                limits.max_decode_bytes / MIB
            ),
        ));
    }
    let mpx = e.work_px.div_ceil(1_000_000);
    if mpx > limits.max_work_mpx {
        return Err(Error::invalid(
            None,
            format!(
                "the pipeline asks for {mpx} megapixel passes, over the limit of {}",
                limits.max_work_mpx
            ),
        ));
    }
    Ok(())
}

/// Refuses animations with more frames than allowed, from the frame count the probe read.
pub fn check_frames(src: &SourceInfo, limits: &Limits) -> Result<()> {
    if src.frames > limits.max_frames {
        return Err(Error::too_large(
            None,
            format!("the animation has {} frames, over the limit of {}", src.frames, limits.max_frames),
        ));
    }
    Ok(())
}
