//! Runs a pipeline on source bytes: probe → plan → decode (each frame: orient → steps) → encode. This is
//! the one entry point callers (CLI, proxy workers) use; it is synchronous and CPU-bound, so
//! the proxy calls it from its worker pool, never from an async task.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use image::{DynamicImage, RgbaImage};
use std::time::{Duration, Instant};

use super::codec::{self, DecodeOptions, SourceInfo};
use super::env::Env;
use super::error::{Error, Result};
use super::format::Format;
use super::ops;
use super::plan::{self, Plan, Step};
use super::raster::{normalize, Image};
use super::spec::{Op, Output, Pipeline};

/// What a request produces.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Vec<u8>,
    /// `image/...` or `application/json`.
    pub content_type: &'static str,
    /// The image format, for image output.
    pub format: Option<Format>,
    /// Where the time went (the proxy's per-stage histograms).
    pub timings: Timings,
    /// `quality,auto`: the JPEG-scale quality chosen and how many encodes were scored for it
    /// (0 when the caller knew the quality).
    pub auto_quality: Option<(u8, u32)>,
}

/// Time per stage of one run. `transform` is every action between decode and encode
/// (orientation, resizes, effects, watermarks); `decode` includes probing and planning.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub decode: Duration,
    pub transform: Duration,
    pub encode: Duration,
}

/// Runs `pipeline` on `src`. Never panics: a panic inside a codec becomes `InternalError`.
pub fn run(src: &[u8], pipeline: &Pipeline, env: &Env<'_>) -> Result<Rendered> {
    catch_unwind(AssertUnwindSafe(|| run_inner(src, pipeline, env)))
        .unwrap_or_else(|_| Err(Error::internal("the image could not be processed")))
}

/// Debug builds only: a source that ends with `IMGEDGE_PANIC_SUFFIX` (decoders ignore bytes
/// after a JPEG's end, so it is still a valid image) panics here, so the tests can prove a
/// panic stays inside its request (AT-37). Release builds have no trigger.
fn panic_trigger(src: &[u8]) {
    #[cfg(debug_assertions)]
    if std::env::var_os("IMGEDGE_PANIC_SUFFIX")
        .is_some_and(|p| !p.is_empty() && src.ends_with(p.as_encoded_bytes()))
    {
        panic!("IMGEDGE_PANIC_SUFFIX: a deliberate panic");
    }
    let _ = src;
}

fn run_inner(src: &[u8], pipeline: &Pipeline, env: &Env<'_>) -> Result<Rendered> {
    let limits = env.limits;
    let t0 = Instant::now();
    if src.len() as u64 > limits.max_src_bytes {
        return Err(Error::source_too_large());
    }
    panic_trigger(src);
    let info = codec::probe(src)?;
    match pipeline.output {
        Output::Info => {
            let body = ops::info::info_json(src, info.format, info.width, info.height, info.frames);
            Ok(json(body, Timings { decode: t0.elapsed(), ..Timings::default() }))
        }
        Output::AverageHue => {
            plan::check_source(&info, limits, false)?;
            // A 1/8 DCT decode is made of the 8×8 block means, so the mean is (nearly) exact.
            let denom = if info.format == Format::Jpeg { 8 } else { 1 };
            let opts = DecodeOptions {
                jpeg_scale_denom: denom,
                first_frame_only: true,
                max_alloc: (info.width as u64 * info.height as u64 * 8 + (64 << 20))
                    .min(limits.max_decode_bytes),
                // The mean of what the picture looks like: in sRGB.
                keep_profile: false,
            };
            let img = codec::decode_each(src, &info, &opts, &env.stop, &mut Ok)?;
            let decode = t0.elapsed();
            let t1 = Instant::now();
            let body = ops::average_hue::json(&img);
            Ok(json(body, Timings { decode, transform: t1.elapsed(), ..Timings::default() }))
        }
        Output::Image => {
            let mut plan = plan::plan(pipeline, &info, env.limits)?;
            if pipeline.keep_profile {
                plan.encode.icc = codec::icc::extract(src, info.format).map(Arc::from);
            }
            if plan.ycbcr {
                return render_ycbcr(src, &plan, env, t0);
            }
            let (img, plan, mut timings) = run_plan(src, &info, plan, env)?;
            timings.decode = t0.elapsed() - timings.transform;
            env.stop.check()?;
            let t2 = Instant::now();
            let (body, auto_quality) = match plan.encode.target {
                Some(target) => {
                    let f = plan.encode.format;
                    let scale = |q| {
                        if matches!(f, Format::Avif | Format::Heic) {
                            ops::quality::heif_scale(f, q)
                        } else {
                            q
                        }
                    };
                    let c = codec::autoq::encode_auto(
                        &img,
                        &plan.encode,
                        target,
                        env.known_quality,
                        scale,
                        &env.stop,
                    )?;
                    (c.body, Some((c.quality, c.probes)))
                }
                None => (codec::encode(&img, &plan.encode)?, None),
            };
            timings.encode = t2.elapsed();
            let format = Some(plan.encode.format);
            Ok(Rendered { body, content_type: plan.encode.format.mime(), format, timings, auto_quality })
        }
    }
}

/// The YCbCr path (see `codec::ycbcr`): planes decoded, resampled and encoded as they are.
fn render_ycbcr(src: &[u8], plan: &Plan, env: &Env<'_>, t0: Instant) -> Result<Rendered> {
    use codec::ycbcr;
    env.stop.check()?;
    let planes = ycbcr::decode(src, plan.decode.jpeg_scale_denom, plan.decode.max_alloc)?;
    let decode = t0.elapsed();
    env.stop.check()?;
    let t1 = Instant::now();
    let planes = match plan.steps.first() {
        Some(Step::Resize(r)) => ycbcr::resize(&planes, r.w, r.h, r.src_box)?,
        _ => ycbcr::unpadded(planes)?,
    };
    let transform = t1.elapsed();
    env.stop.check()?;
    let t2 = Instant::now();
    let s = &plan.encode;
    let body = match s.format {
        Format::Webp => ycbcr::encode_webp(&planes, s.quality.clamp(1, 100))?,
        _ => ycbcr::encode_jpeg(&planes, s.quality.clamp(1, 100), s.progressive)?,
    };
    let body = codec::icc::embed(body, s.format, s.icc.as_deref())?;
    let timings = Timings { decode, transform, encode: t2.elapsed() };
    Ok(Rendered { body, content_type: s.format.mime(), format: Some(s.format), timings, auto_quality: None })
}

/// The memory a run of `pipeline` on `src` needs at its worst moment, from the header and the plan
/// alone (no pixel decoded), besides `src` itself; an error is what [`run`] would answer without
/// decoding (a bomb, an over-costly pipeline, a bad parameter). Callers reserve this much before
/// they hand the run to a worker.
pub fn estimate(src: &[u8], pipeline: &Pipeline, limits: &super::Limits) -> Result<u64> {
    let info = codec::probe(src)?;
    Ok(match pipeline.output {
        Output::Info => 0,
        Output::AverageHue => {
            plan::check_source(&info, limits, false)?;
            info.width as u64 * info.height as u64 * 4
        }
        Output::Image => plan::plan(pipeline, &info, limits)?.cost.peak_bytes,
    })
}

/// Decodes and runs the pixel actions of `pipeline` (no encoding): also used for watermark
/// images, whose preprocessing is a pipeline of its own.
pub(crate) fn render(src: &[u8], info: &SourceInfo, pipeline: &Pipeline, env: &Env<'_>) -> Result<Image> {
    render_planned(src, info, pipeline, env).map(|(img, _, _)| img)
}

fn render_planned(
    src: &[u8],
    info: &SourceInfo,
    pipeline: &Pipeline,
    env: &Env<'_>,
) -> Result<(Image, Plan, Timings)> {
    run_plan(src, info, plan::plan(pipeline, info, env.limits)?, env)
}

/// Decodes and runs the pixel steps of `plan` on the RGB path.
fn run_plan(src: &[u8], info: &SourceInfo, plan: Plan, env: &Env<'_>) -> Result<(Image, Plan, Timings)> {
    let t0 = Instant::now();
    // Every frame goes through orientation and the steps right after it is decoded, so an
    // animation never holds all its full-size frames. Watermark blocks are rendered once, on
    // the first frame that needs them; smart-crop windows are chosen on the first frame.
    let mut memos: Vec<Memo> = (0..plan.steps.len()).map(|_| Memo::default()).collect();
    let mut transform = Duration::ZERO;
    env.stop.check()?;
    let mut each = |px: DynamicImage| -> Result<DynamicImage> {
        let t = Instant::now();
        let mut px = px;
        if plan.orientation != 1 {
            px = ops::auto_orient::apply(plan.orientation, px);
        }
        for (step, memo) in plan.steps.iter().zip(&mut memos) {
            env.stop.check()?;
            px = normalize(apply(step, memo, px, env)?);
        }
        transform += t.elapsed();
        Ok(px)
    };
    let mut img = codec::decode_each(src, info, &plan.decode, &env.stop, &mut each)?;
    if !plan.animated {
        img.keep_first_frame();
    }
    let timings = Timings { decode: t0.elapsed() - transform, transform, ..Timings::default() };
    Ok((img, plan, timings))
}

/// What a step keeps from one frame to the next of an animation.
#[derive(Default)]
struct Memo {
    /// A watermark's rendered block.
    block: Option<RgbaImage>,
    /// Where `g_auto` put its window on the first frame: the others are cut at the same place.
    place: Option<(u32, u32)>,
}

/// One step on one frame.
fn apply(step: &Step, memo: &mut Memo, px: DynamicImage, env: &Env<'_>) -> Result<DynamicImage> {
    let block = &mut memo.block;
    Ok(match step {
        Step::Resize(s) => ops::resize::apply(s, px, &mut memo.place)?,
        Step::Crop(r) => ops::crop::apply(r, px),
        Step::SmartCrop { w, h } => ops::crop::apply_auto(*w, *h, px, &mut memo.place),
        Step::Circle(c) => ops::circle::apply(c, px),
        Step::Rounded(r) => ops::rounded_corners::apply(*r, px),
        Step::Rotate(r) => ops::rotate::apply(r, px),
        Step::Effect(op) => match op {
            Op::Blur(s) => ops::blur::apply(s, px),
            Op::Bright(v) => ops::bright::apply(v, px),
            Op::Contrast(v) => ops::contrast::apply(v, px),
            Op::Sharpen(v) => ops::sharpen::apply(v, px),
            _ => px,
        },
        Step::Watermark(w) => {
            if block.is_none() {
                *block = Some(ops::watermark::build_block(w, env)?);
            }
            match block {
                Some(b) => ops::watermark::draw(b, &w.spec, px),
                None => px,
            }
        }
    })
}

fn json(body: String, timings: Timings) -> Rendered {
    Rendered {
        body: body.into_bytes(),
        content_type: "application/json",
        format: None,
        timings,
        auto_quality: None,
    }
}
