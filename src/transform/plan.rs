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
    /// `crop,g_auto`: a window of this size, placed by saliency on the pixels (the plan has
    /// only sizes; the first frame decides, see `ops::crop::apply_auto`).
    SmartCrop {
        w: u32,
        h: u32,
    },
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
    /// Whether the YCbCr path runs it (`codec::ycbcr`): decode to planes, resample planes,
    /// encode planes.
    pub ycbcr: bool,
}

/// Whether a plan can run on YCbCr planes: a YCbCr JPEG in its stored orientation whose
/// colours mean sRGB (no profile, or an sRGB one), at most one plain resize (no fill crop, no
/// padding), written as JPEG or WebP. Alpha, effects, watermarks, rotations, other sources and
/// other outputs take the RGB path.
fn ycbcr_applies(src: &SourceInfo, orientation: u8, steps: &[Step], format: Format) -> bool {
    use crate::transform::codec::probe::Icc;
    let plain_resize = match steps {
        [] => true,
        [Step::Resize(r)] => r.crop.is_none() && r.pad.is_none(),
        _ => false,
    };
    src.format == Format::Jpeg
        && src.jpeg_ycbcr
        && src.icc != Icc::Other
        && src.frames == 1
        && orientation == 1
        && plain_resize
        && matches!(format, Format::Jpeg | Format::Webp)
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
            Op::Crop(s) => ops::crop::plan(s, &mut ctx)?,
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
    let jpeg_scale_denom = match (src.format, steps.first_mut()) {
        (Format::Jpeg, Some(Step::Resize(r))) => {
            let d = dct_denom(src, orientation, r.w, r.h);
            r.src_box = ops::resize::ScaledBox::of(src.width, src.height, d, orientation);
            d
        }
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
    // The perceptual search scores RGB pixels against the picture before encoding.
    let ycbcr = ycbcr_applies(src, orientation, &steps, format) && auto_target(p, format, animated).is_none();
    Ok(Plan {
        orientation,
        steps,
        decode: DecodeOptions {
            jpeg_scale_denom,
            first_frame_only: !animated,
            // Room for the RGBA frames plus the decoders' own buffers, never past the
            // request's memory bound (the decoders stop at it even if the header lied).
            max_alloc: (decoded * 4 * (frames + 1) + (64 << 20)).min(limits.max_decode_bytes),
            keep_profile: p.keep_profile,
        },
        encode: EncodeSettings {
            format,
            quality: quality::resolve(p.quality, format, src.jpeg_quality),
            progressive: p.interlace,
            // Filled in by the run, which has the source's bytes (when the profile is kept).
            icc: None,
            target: auto_target(p, format, animated),
        },
        animated,
        width: ctx.w,
        height: ctx.h,
        cost: estimate,
        ycbcr,
    })
}

/// The perceptual target when the pipeline asks for `quality,auto` and the output is a still
/// lossy picture; other outputs ignore it, as they ignore `quality`.
fn auto_target(p: &Pipeline, format: Format, animated: bool) -> Option<u8> {
    (p.quality == Some(quality::Quality::Auto) && crate::transform::codec::autoq::applies(format, animated))
        .then_some(p.quality_target)
}

/// The largest libjpeg-turbo shrink (1/2, 1/4, 1/8) whose picture still covers the target (in
/// stored orientation): sharp's "fast shrink-on-load". Issue 11 had put a 2× margin here after
/// measuring SSIM 0.929 against a full-resolution Lanczos for photo6mp.jpg → 400 px (0.959 with
/// the margin), but the loss was geometry, not the DCT shrink: the scaled image was resampled
/// whole, padding included. Resampled from the picture's exact box ([`ScaledBox`]) the 1/4
/// decode scores 0.960 at a quarter of the 1/2 decode's pixels (docs/benchmarks.md).
///
/// [`ScaledBox`]: ops::resize::ScaledBox
fn dct_denom(src: &SourceInfo, orientation: u8, tw: u32, th: u32) -> u8 {
    let (tw, th) = if auto_orient::swaps_axes(orientation) { (th, tw) } else { (tw, th) };
    [8u8, 4, 2]
        .into_iter()
        .find(|&d| {
            let d = u64::from(d);
            u64::from(src.width) >= u64::from(tw) * d && u64::from(src.height) >= u64::from(th) * d
        })
        .unwrap_or(1)
}

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
            jpeg_ycbcr: format == Format::Jpeg,
            icc: crate::transform::codec::probe::Icc::None,
        }
    }

    /// A planning context for a still JPEG of `w`×`h` with default limits.
    pub fn ctx_for(w: u32, h: u32) -> PlanCtx<'static> {
        let src = Box::leak(Box::new(source(Format::Jpeg, w, h)));
        let limits = Box::leak(Box::new(Limits::default()));
        PlanCtx { w, h, src, limits, force_static: false }
    }

    #[test]
    fn dct_scaling_shrinks_as_far_as_the_picture_still_covers_the_target() {
        let src = source(Format::Jpeg, 4032, 3024);
        assert_eq!(dct_denom(&src, 1, 504, 378), 8);
        assert_eq!(dct_denom(&src, 1, 505, 378), 4);
        assert_eq!(dct_denom(&src, 1, 1008, 756), 4);
        assert_eq!(dct_denom(&src, 1, 1200, 900), 2);
        assert_eq!(dct_denom(&src, 1, 2017, 1512), 1);
        // Rotated by EXIF: the target's axes are swapped back before comparing.
        assert_eq!(dct_denom(&src, 6, 378, 504), 8);
        assert_eq!(dct_denom(&src, 6, 504, 378), 4);
        // The picture, not the rounded-up decode, must cover: 2725 / 4 = 681.25 ≥ 681.
        let odd = source(Format::Jpeg, 2725, 2225);
        assert_eq!(dct_denom(&odd, 1, 681, 556), 4);
        assert_eq!(dct_denom(&odd, 1, 682, 557), 2);
    }

    /// The YCbCr path takes only what it can do exactly as the RGB path; every other condition
    /// sends the request to the RGB path.
    #[test]
    fn the_ycbcr_path_takes_plain_resizes_of_srgb_ycbcr_jpegs_to_jpeg_or_webp() {
        use crate::transform::codec::probe::Icc;
        let l = Limits::default();
        let p = |s: &str| crate::transform::parse(s, &crate::transform::NoStyles, &l).unwrap();
        let jpeg = source(Format::Jpeg, 2725, 2225);
        let ycbcr = |pipeline: &str, src: &SourceInfo| plan(&p(pipeline), src, &l).unwrap().ycbcr;
        for yes in [
            "image/resize,w_400",
            "image/resize,w_400/format,webp",
            "image/format,webp",
            "image/quality,q_80",
        ] {
            assert!(ycbcr(yes, &jpeg), "{yes}");
        }
        let srgb = SourceInfo { icc: Icc::Srgb, ..jpeg.clone() };
        assert!(ycbcr("image/resize,w_400", &srgb), "an sRGB profile means what no profile means");
        let no = [
            ("a wide-gamut profile", "image/resize,w_400", SourceInfo { icc: Icc::Other, ..jpeg.clone() }),
            (
                "alpha (a PNG)",
                "image/resize,w_400/format,jpg",
                SourceInfo { has_alpha: true, ..source(Format::Png, 800, 600) },
            ),
            ("a non-JPEG source", "image/resize,w_400/format,jpg", source(Format::Webp, 800, 600)),
            ("grey or CMYK", "image/resize,w_400", SourceInfo { jpeg_ycbcr: false, ..jpeg.clone() }),
            ("EXIF rotation", "image/resize,w_400", SourceInfo { orientation: 6, ..jpeg.clone() }),
            ("an effect", "image/resize,w_400/sharpen,100", jpeg.clone()),
            ("a watermark", "image/resize,w_400/watermark,text_aGk", jpeg.clone()),
            ("a crop", "image/crop,w_100,h_100", jpeg.clone()),
            ("a fill crop", "image/resize,m_fill,w_100,h_100", jpeg.clone()),
            ("a smart fill crop", "image/resize,m_fill,w_100,h_100,g_auto", jpeg.clone()),
            ("a smart crop", "image/crop,w_100,h_100,g_auto", jpeg.clone()),
            ("padding", "image/resize,m_pad,w_100,h_100", jpeg.clone()),
            ("a PNG output", "image/resize,w_400/format,png", jpeg.clone()),
            ("an AVIF output", "image/resize,w_400/format,avif", jpeg.clone()),
        ];
        for (why, pipeline, src) in no {
            assert!(!ycbcr(pipeline, &src), "{why}: {pipeline}");
        }
    }

    #[test]
    fn a_scaled_decode_is_resampled_from_the_pictures_box_in_every_orientation() {
        use ops::resize::ScaledBox;
        let b = |o| ScaledBox::of(2725, 2225, 4, o).map(|b| (b.left, b.top, b.width, b.height));
        // 2725 → 682 × 4 = 2728: 3 px of padding right; 2225 → 557 × 4 = 2228: 3 px below.
        assert_eq!(b(1), Some((0, 0, 2725, 2225)));
        assert_eq!(b(2), Some((3, 0, 2725, 2225)));
        assert_eq!(b(3), Some((3, 3, 2725, 2225)));
        assert_eq!(b(4), Some((0, 3, 2725, 2225)));
        assert_eq!(b(5), Some((0, 0, 2225, 2725)));
        assert_eq!(b(6), Some((3, 0, 2225, 2725)));
        assert_eq!(b(7), Some((3, 3, 2225, 2725)));
        assert_eq!(b(8), Some((0, 3, 2225, 2725)));
        assert_eq!(ScaledBox::of(4032, 3024, 8, 1), None, "exact: the whole decode is the picture");
        assert_eq!(ScaledBox::of(2725, 2225, 1, 1), None);
        let l = Limits::default();
        let p = crate::transform::parse("image/resize,w_400", &crate::transform::NoStyles, &l).unwrap();
        let plan = plan(&p, &source(Format::Jpeg, 2725, 2225), &l).unwrap();
        assert_eq!(plan.decode.jpeg_scale_denom, 4);
        match &plan.steps[0] {
            Step::Resize(r) => assert_eq!(r.src_box, ScaledBox::of(2725, 2225, 4, 1)),
            other => panic!("{other:?}"),
        }
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
