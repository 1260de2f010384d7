//! Plan before pixels: from the probed header and the parsed pipeline, resolve every action's
//! geometry, check every limit, pick the JPEG DCT-scaling factor and the encoder settings. When
//! this returns `Ok`, decoding and executing can only fail on corrupt data.

use super::codec::{DecodeOptions, EncodeSettings, SourceInfo};
use super::cost::{self, Estimate, StepCost};
use super::error::{ec, Error, Result};
use super::format::Format;
use super::limits::Limits;
use super::ops::{self, auto_orient, quality};
use super::spec::{Op, Pipeline};

/// The longest side x265 accepts when the other is under 32 px (see [`plan`]).
const HEIC_THIN_MAX_SIDE: u32 = 4208;

/// The running state of planning: the size so far and what the actions decided.
pub struct PlanCtx<'a> {
    pub w: u32,
    pub h: u32,
    pub src: &'a SourceInfo,
    pub limits: &'a Limits,
    /// Set by actions that turn an animation into its first frame (rotate, `p` resize).
    pub force_static: bool,
}

impl PlanCtx<'_> {
    pub fn is_gif(&self) -> bool {
        self.src.format == Format::Gif
    }

    /// Refuses intermediate or final sizes past the output limits.
    pub fn check_size(&self, w: u32, h: u32, what: &str) -> Result<()> {
        if w.max(h) > self.limits.max_out_side || w as u64 * h as u64 > self.limits.max_out_pixels {
            return Err(Error::too_large(None, format!("{what} result {w}x{h} exceeds the output limit")));
        }
        Ok(())
    }
}

/// One resolved pixel step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Resize(ops::resize::ResizeStep),
    Crop(ops::crop::Rect),
    Circle(ops::circle::CircleStep),
    Rounded(u32),
    Rotate(ops::rotate::RotateStep),
    Watermark(ops::watermark::WatermarkStep),
    /// Point and neighbourhood effects: size unchanged, every frame.
    Effect(Op),
}

/// Everything needed to decode, execute and encode.
#[derive(Debug, Clone)]
pub struct Plan {
    /// EXIF orientation to apply after decoding (1 = none).
    pub orientation: u8,
    pub steps: Vec<Step>,
    pub decode: DecodeOptions,
    pub encode: EncodeSettings,
    /// Whether the output keeps every frame.
    pub animated: bool,
    /// Output size.
    pub width: u32,
    pub height: u32,
    /// Work and peak memory, already checked against the limits.
    pub cost: Estimate,
}

/// Checks the source against the limits, with the EC OSS uses for the situation.
pub fn check_source(src: &SourceInfo, limits: &Limits, resizing: bool) -> Result<()> {
    if src.file_size > limits.max_src_bytes {
        return Err(Error::source_too_large());
    }
    let side = src.width.max(src.height);
    let side_limit = match src.format {
        Format::Tiff => limits.max_tiff_side.min(limits.max_src_side),
        _ => limits.max_src_side,
    };
    if side > side_limit {
        let code = match (resizing, src.format) {
            (true, _) => ec::RESIZE_SOURCE_TOO_LARGE,
            (_, Format::Jpeg) => ec::JPEG_SIDE_TOO_LARGE,
            (_, Format::Bmp) => ec::BMP_SIDE_TOO_LARGE,
            (_, Format::Tiff) => ec::TIFF_SIDE_TOO_LARGE,
            (_, Format::Heic) => ec::HEIC_SIDE_TOO_LARGE,
            (_, Format::Avif) => ec::AVIF_TOO_LARGE,
            _ => ec::SOURCE_PIXELS_TOO_LARGE,
        };
        return Err(Error::too_large(Some(code), format!("source side {side} exceeds {side_limit}")));
    }
    // OSS decodes AVIF only up to 10 000 px a side, whatever the pipeline.
    if src.format == Format::Avif && side > limits.max_avif_side {
        let msg = format!("AVIF source side {side} exceeds {}", limits.max_avif_side);
        return Err(Error::too_large(Some(ec::AVIF_TOO_LARGE), msg));
    }
    let pixels = src.width as u64 * src.height as u64 * src.frames.max(1) as u64;
    if pixels > limits.max_src_pixels {
        let code = if resizing { ec::RESIZE_SOURCE_TOO_LARGE } else { ec::SOURCE_PIXELS_TOO_LARGE };
        return Err(Error::too_large(Some(code), "source image has too many pixels"));
    }
    cost::check_frames(src, limits)
}

pub fn plan(p: &Pipeline, src: &SourceInfo, limits: &Limits) -> Result<Plan> {
    let resizing = p.ops.iter().any(|op| matches!(op, Op::Resize(_)));
    check_source(src, limits, resizing)?;
    let orientation = if p.auto_orient { src.orientation } else { 1 };
    let (w, h) =
        if auto_orient::swaps_axes(orientation) { (src.height, src.width) } else { (src.width, src.height) };
    let mut ctx = PlanCtx { w, h, src, limits, force_static: false };
    let mut steps = Vec::new();
    let mut costs = Vec::new();
    for op in &p.ops {
        let before = ctx.w as u64 * ctx.h as u64;
        let step = match op {
            Op::Resize(s) => ops::resize::plan(s, &mut ctx)?.map(Step::Resize),
            Op::Crop(s) => ops::crop::plan(s, &mut ctx)?.map(Step::Crop),
            Op::Circle(s) => ops::circle::plan(s, &mut ctx)?.map(Step::Circle),
            Op::IndexCrop(s) => ops::indexcrop::plan(s, &mut ctx)?.map(Step::Crop),
            Op::RoundedCorners(s) => ops::rounded_corners::plan(s, &mut ctx)?.map(Step::Rounded),
            Op::Rotate(d) => ops::rotate::plan(*d, &mut ctx)?.map(Step::Rotate),
            Op::Watermark(w) => ops::watermark::plan(w, &mut ctx)?.map(Step::Watermark),
            Op::Blur(_) | Op::Bright(_) | Op::Contrast(_) | Op::Sharpen(_) => Some(Step::Effect(op.clone())),
        };
        ctx.check_size(ctx.w, ctx.h, "action")?;
        if step.is_some() {
            costs.push(StepCost { weight: cost::weight(op), before, after: ctx.w as u64 * ctx.h as u64 });
        }
        steps.extend(step);
    }
    let mut format = match p.format {
        // OSS: format,gif only converts GIF sources; others keep their own format.
        Some(Format::Gif) if src.format != Format::Gif => src.format,
        Some(f) => f,
        None => src.format,
    };
    // OSS encodes AVIF up to 4096×2304 pixels. Asked for, a larger one is refused as OSS does;
    // picked by `Accept`, WebP takes its place (the client said it takes both).
    if format == Format::Avif && ctx.w as u64 * ctx.h as u64 > limits.max_avif_out_pixels {
        if !p.avif_negotiated {
            let msg = format!("AVIF output {}×{} exceeds 4096×2304 pixels", ctx.w, ctx.h);
            return Err(Error::too_large(Some(ec::AVIF_TOO_LARGE), msg));
        }
        format = Format::Webp;
    }
    // x265 (through libheif 1.15) codes a picture under 32 px on a side in 16-px blocks, and then
    // refuses more than 4208 px on the other side (measured: 31×4208 encodes, 31×4209 does not).
    // Refused here, before decoding, with HEIC's size EC, rather than failing in the encoder.
    if format == Format::Heic && ctx.w.min(ctx.h) < 32 && ctx.w.max(ctx.h) > HEIC_THIN_MAX_SIDE {
        let msg = format!(
            "HEIC output {}×{}: a side under 32 px allows at most 4208 px on the other",
            ctx.w, ctx.h
        );
        return Err(Error::too_large(Some(ec::HEIC_SIDE_TOO_LARGE), msg));
    }
    if format == Format::Webp && ctx.w.max(ctx.h) > limits.max_webp_side {
        return Err(Error::too_large(
            None,
            "Maximum width and height allowed is 16383 pixels for converting webp",
        ));
    }
    let animated = src.frames > 1 && !ctx.force_static && matches!(format, Format::Gif | Format::Webp);
    let frames = if animated { src.frames as u64 } else { 1 };
    let jpeg_scale_denom = match (src.format, steps.first()) {
        (Format::Jpeg, Some(Step::Resize(r))) => dct_denom(src, orientation, r.w, r.h),
        _ => 1,
    };
    let decoded = (src.width as u64).div_ceil(jpeg_scale_denom as u64)
        * (src.height as u64).div_ceil(jpeg_scale_denom as u64);
    // The first resize of a DCT-scaled JPEG reads the scaled image, not the full one.
    if let (Some(first), true) = (costs.first_mut(), jpeg_scale_denom > 1) {
        first.before = first.before.min(decoded);
    }
    let estimate = cost::estimate(src, decoded, animated, &costs, ctx.w as u64 * ctx.h as u64);
    cost::check(&estimate, limits)?;
    Ok(Plan {
        orientation,
        steps,
        decode: DecodeOptions {
            jpeg_scale_denom,
            first_frame_only: !animated,
            // Room for the RGBA frames plus the decoders' own buffers, never past the
            // request's memory bound (the decoders stop at it even if the header lied).
            max_alloc: (decoded * 4 * (frames + 1) + (64 << 20)).min(limits.max_decode_bytes),
        },
        encode: EncodeSettings {
            format,
            quality: quality::resolve(p.quality, format, src.jpeg_quality),
            progressive: p.interlace,
        },
        animated,
        width: ctx.w,
        height: ctx.h,
        cost: estimate,
    })
}

/// The largest libjpeg-turbo shrink (1/2, 1/4, 1/8) that still leaves the resampler at least
/// [`RESAMPLE_MARGIN`]× to do (in stored orientation). The DCT shrink is a box-like filter:
/// shrinking all the way to the target size (sharp's and imgproxy's "fast shrink-on-load")
/// measured SSIM 0.929 against a full-resolution Lanczos reference for photo6mp.jpg → 400 px
/// WebP, where libvips' own choice, a 2× margin for the Lanczos step, gives 0.959 (issue 11).
/// The margin costs decode time (1/2 instead of 1/4 there); faithful pixels come first.
fn dct_denom(src: &SourceInfo, orientation: u8, tw: u32, th: u32) -> u8 {
    let (tw, th) = if auto_orient::swaps_axes(orientation) { (th, tw) } else { (tw, th) };
    let (tw, th) = (tw.saturating_mul(RESAMPLE_MARGIN), th.saturating_mul(RESAMPLE_MARGIN));
    [8u8, 4, 2]
        .into_iter()
        .find(|&d| src.width.div_ceil(d as u32) >= tw && src.height.div_ceil(d as u32) >= th)
        .unwrap_or(1)
}

/// How much shrinking the DCT scaling leaves to the resampler, at least.
const RESAMPLE_MARGIN: u32 = 2;

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn source(format: Format, w: u32, h: u32) -> SourceInfo {
        SourceInfo {
            format,
            width: w,
            height: h,
            frames: 1,
            orientation: 1,
            jpeg_quality: None,
            file_size: 1000,
            has_alpha: false,
        }
    }

    /// A planning context for a still JPEG of `w`×`h` with default limits.
    pub fn ctx_for(w: u32, h: u32) -> PlanCtx<'static> {
        let src = Box::leak(Box::new(source(Format::Jpeg, w, h)));
        let limits = Box::leak(Box::new(Limits::default()));
        PlanCtx { w, h, src, limits, force_static: false }
    }

    #[test]
    fn dct_scaling_leaves_the_resampler_a_2x_margin() {
        let src = source(Format::Jpeg, 4032, 3024);
        assert_eq!(dct_denom(&src, 1, 252, 189), 8);
        assert_eq!(dct_denom(&src, 1, 253, 190), 4);
        assert_eq!(dct_denom(&src, 1, 400, 300), 4);
        assert_eq!(dct_denom(&src, 1, 600, 450), 2);
        assert_eq!(dct_denom(&src, 1, 1200, 900), 1);
        // Rotated by EXIF: the target's axes are swapped back before comparing.
        assert_eq!(dct_denom(&src, 6, 189, 252), 8);
        assert_eq!(dct_denom(&src, 6, 300, 400), 4);
        assert_eq!(dct_denom(&src, 6, 400, 300), 2);
    }

    #[test]
    fn avif_output_past_oss_cap_is_refused_unless_accept_chose_it() {
        let l = Limits::default();
        let src = source(Format::Jpeg, 6000, 4000);
        let p = |s: &str| crate::transform::parse(s, &crate::transform::NoStyles, &l).unwrap();
        // 4096×2731 is past 4096×2304 pixels; 3000×2000 is within.
        let e = plan(&p("image/resize,w_4096/format,avif"), &src, &l).unwrap_err();
        assert_eq!(e.ec, Some(ec::AVIF_TOO_LARGE));
        assert_eq!(
            plan(&p("image/resize,w_3000/format,avif"), &src, &l).unwrap().encode.format,
            Format::Avif
        );
        let mut negotiated = p("image/resize,w_4096/format,avif");
        negotiated.avif_negotiated = true;
        assert_eq!(plan(&negotiated, &src, &l).unwrap().encode.format, Format::Webp);
    }

    #[test]
    fn thin_heic_outputs_past_the_encoders_reach_are_refused_from_the_plan() {
        let l = Limits::default();
        let src = source(Format::Jpeg, 400, 267);
        let p = |s: &str| crate::transform::parse(s, &crate::transform::NoStyles, &l).unwrap();
        for bad in ["w_1,h_9000", "w_31,h_4209", "w_4209,h_31"] {
            let e =
                plan(&p(&format!("image/resize,m_fixed,{bad},limit_0/format,heic")), &src, &l).unwrap_err();
            assert_eq!(e.ec, Some(ec::HEIC_SIDE_TOO_LARGE), "{bad}");
        }
        for good in ["w_31,h_4208/format,heic", "w_32,h_9000/format,heic", "w_1,h_9000/format,avif"] {
            let s = format!("image/resize,m_fixed,{good}").replace("/format", ",limit_0/format");
            assert!(plan(&p(&s), &src, &l).is_ok(), "{good}");
        }
    }

    #[test]
    fn source_limits_pick_the_documented_ec() {
        let l = Limits::default();
        let giant = source(Format::Jpeg, 20000, 14000);
        assert_eq!(check_source(&giant, &l, false).unwrap_err().ec, Some(ec::SOURCE_PIXELS_TOO_LARGE));
        assert_eq!(check_source(&giant, &l, true).unwrap_err().ec, Some(ec::RESIZE_SOURCE_TOO_LARGE));
        let wide = source(Format::Jpeg, 30001, 10);
        assert_eq!(check_source(&wide, &l, false).unwrap_err().ec, Some(ec::JPEG_SIDE_TOO_LARGE));
        let tiff = source(Format::Tiff, 16385, 10);
        assert_eq!(check_source(&tiff, &l, false).unwrap_err().ec, Some(ec::TIFF_SIDE_TOO_LARGE));
        let heic = source(Format::Heic, 30001, 10);
        assert_eq!(check_source(&heic, &l, false).unwrap_err().ec, Some(ec::HEIC_SIDE_TOO_LARGE));
        // OSS's AVIF decoder stops at 10 000 a side, resize or not.
        for resizing in [false, true] {
            let e = check_source(&source(Format::Avif, 10_001, 10), &l, resizing).unwrap_err();
            assert_eq!(
                (e.code, e.ec),
                (crate::transform::error::Code::ImageTooLarge, Some(ec::AVIF_TOO_LARGE))
            );
        }
        assert!(check_source(&source(Format::Avif, 10_000, 10), &l, true).is_ok());
        let mut gif = source(Format::Gif, 1000, 1000);
        gif.frames = 251;
        assert!(check_source(&gif, &l, false).is_err());
        gif.frames = 250;
        assert!(check_source(&gif, &l, false).is_ok());
        let mut big = source(Format::Png, 10, 10);
        big.file_size = l.max_src_bytes + 1;
        assert_eq!(
            check_source(&big, &l, false).unwrap_err().code,
            crate::transform::error::Code::ImageTooLarge
        );
    }
}
