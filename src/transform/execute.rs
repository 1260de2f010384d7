//! Runs a pipeline on source bytes: probe → plan → decode → orient → steps → encode. This is
//! the one entry point callers (CLI, proxy workers) use; it is synchronous and CPU-bound, so
//! the proxy calls it from its worker pool, never from an async task.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::codec::{self, DecodeOptions, SourceInfo};
use super::env::Env;
use super::error::{Error, Result};
use super::format::Format;
use super::ops;
use super::plan::{self, Plan, Step};
use super::raster::Image;
use super::spec::{Op, Output, Pipeline};

/// What a request produces.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Vec<u8>,
    /// `image/...` or `application/json`.
    pub content_type: &'static str,
    /// The image format, for image output.
    pub format: Option<Format>,
}

/// Runs `pipeline` on `src`. Never panics: a panic inside a codec becomes `InternalError`.
pub fn run(src: &[u8], pipeline: &Pipeline, env: &Env<'_>) -> Result<Rendered> {
    catch_unwind(AssertUnwindSafe(|| run_inner(src, pipeline, env)))
        .unwrap_or_else(|_| Err(Error::internal("the image could not be processed")))
}

fn run_inner(src: &[u8], pipeline: &Pipeline, env: &Env<'_>) -> Result<Rendered> {
    let limits = env.limits;
    if src.len() as u64 > limits.max_src_bytes {
        return Err(Error::too_large(None, "source image exceeds the size limit"));
    }
    let info = codec::probe(src)?;
    match pipeline.output {
        Output::Info => {
            Ok(json(ops::info::info_json(src, info.format, info.width, info.height, info.frames)))
        }
        Output::AverageHue => {
            plan::check_source(&info, limits, false)?;
            // A 1/8 DCT decode is made of the 8×8 block means, so the mean is (nearly) exact.
            let denom = if info.format == Format::Jpeg { 8 } else { 1 };
            let opts = DecodeOptions {
                jpeg_scale_denom: denom,
                first_frame_only: true,
                max_alloc: info.width as u64 * info.height as u64 * 8 + (64 << 20),
            };
            let img = codec::decode(src, &info, &opts)?;
            Ok(json(ops::average_hue::json(&img)))
        }
        Output::Image => {
            let (img, plan) = render_planned(src, &info, pipeline, env)?;
            let body = codec::encode(&img, &plan.encode)?;
            Ok(Rendered { body, content_type: plan.encode.format.mime(), format: Some(plan.encode.format) })
        }
    }
}

/// Decodes and runs the pixel actions of `pipeline` (no encoding): also used for watermark
/// images, whose preprocessing is a pipeline of its own.
pub(crate) fn render(src: &[u8], info: &SourceInfo, pipeline: &Pipeline, env: &Env<'_>) -> Result<Image> {
    render_planned(src, info, pipeline, env).map(|(img, _)| img)
}

fn render_planned(
    src: &[u8],
    info: &SourceInfo,
    pipeline: &Pipeline,
    env: &Env<'_>,
) -> Result<(Image, Plan)> {
    let plan = plan::plan(pipeline, info, env.limits)?;
    let mut img = codec::decode(src, info, &plan.decode)?;
    if !plan.animated {
        img.keep_first_frame();
    }
    if plan.orientation != 1 {
        img.map_frames(|px| ops::auto_orient::apply(plan.orientation, px));
    }
    for step in &plan.steps {
        apply(step, &mut img, env)?;
    }
    Ok((img, plan))
}

fn apply(step: &Step, img: &mut Image, env: &Env<'_>) -> Result<()> {
    match step {
        Step::Resize(s) => img.try_map_frames(|px| ops::resize::apply(s, px)),
        Step::Crop(r) => {
            img.map_frames(|px| ops::crop::apply(r, px));
            Ok(())
        }
        Step::Circle(c) => {
            img.map_frames(|px| ops::circle::apply(c, px));
            Ok(())
        }
        Step::Rounded(r) => {
            img.map_frames(|px| ops::rounded_corners::apply(*r, px));
            Ok(())
        }
        Step::Rotate(r) => {
            img.map_frames(|px| ops::rotate::apply(r, px));
            Ok(())
        }
        Step::Effect(op) => {
            img.map_frames(|px| match op {
                Op::Blur(s) => ops::blur::apply(s, px),
                Op::Bright(v) => ops::bright::apply(v, px),
                Op::Contrast(v) => ops::contrast::apply(v, px),
                Op::Sharpen(v) => ops::sharpen::apply(v, px),
                _ => px,
            });
            Ok(())
        }
        Step::Watermark(w) => {
            // Rendered once, drawn on every frame.
            let block = ops::watermark::build_block(w, env)?;
            img.map_frames(|px| ops::watermark::draw(&block, &w.spec, px));
            Ok(())
        }
    }
}

fn json(body: String) -> Rendered {
    Rendered { body: body.into_bytes(), content_type: "application/json", format: None }
}
