//! Composing a watermark block (image, text, or both side by side) and drawing it on a frame:
//! placement by gravity and margins, tiling for `fill_1`, alpha blending with opacity `t`.

use image::{DynamicImage, RgbaImage};

use super::{wm_error, WatermarkSpec, WatermarkStep};
use crate::transform::env::Env;
use crate::transform::error::{Code, Error, Result};
use crate::transform::format::Format;
use crate::transform::gravity::Anchor;
use crate::transform::raster::into_rgba;
use crate::transform::text::{self, TextStyle};
use crate::transform::{codec, execute};

const EC_NO_OBJECT: &str = "0040-00000024";
const EC_BAD_FORMAT: &str = "0040-00000027";

/// Renders the watermark's image and text layers into one RGBA block.
pub fn build_block(step: &WatermarkStep, env: &Env<'_>) -> Result<RgbaImage> {
    let spec = &step.spec;
    let image = match (&spec.image, &step.prep) {
        (Some(mark), Some(prep)) => Some(load_image(&mark.key, prep, env)?),
        _ => None,
    };
    let text = match &spec.text {
        Some(t) => {
            let style =
                TextStyle { font: t.font, size: t.size, color: t.color, shadow: t.shadow, rotate: t.rotate };
            Some(text::render(env.fonts, &t.text, &style)?)
        }
        None => None,
    };
    Ok(match (image, text) {
        (Some(i), Some(t)) => side_by_side(&i, &t, spec),
        (Some(i), None) => i,
        (None, Some(t)) => t,
        (None, None) => return Err(Error::invalid(None, "watermark needs text or image")),
    })
}

fn load_image(key: &str, prep: &crate::transform::spec::Pipeline, env: &Env<'_>) -> Result<RgbaImage> {
    let bytes = env.objects.get(key, env.limits.max_src_bytes).map_err(|e| match e.code {
        Code::NoSuchKey => {
            Error::new(Code::WatermarkError, Some(EC_NO_OBJECT), "watermark image does not exist")
        }
        _ => e,
    })?;
    let unsupported =
        || Error::new(Code::WatermarkError, Some(EC_BAD_FORMAT), "watermark image format is not supported");
    let info = codec::probe(&bytes).map_err(|_| unsupported())?;
    if info.format == Format::Gif {
        return Err(unsupported());
    }
    let img = execute::render(&bytes, &info, prep, env)?;
    let first = img.frames.into_iter().next().ok_or_else(|| wm_error("watermark image is empty"))?;
    Ok(into_rgba(first.pixels))
}

/// Image and text in one row, in `order`, `interval` apart, aligned top/middle/bottom.
fn side_by_side(img: &RgbaImage, txt: &RgbaImage, spec: &WatermarkSpec) -> RgbaImage {
    let (first, second) = if spec.text_first { (txt, img) } else { (img, txt) };
    let w = first.width() + spec.interval + second.width();
    let h = first.height().max(second.height());
    let mut block = RgbaImage::new(w, h);
    let top = |part: &RgbaImage| match spec.align {
        0 => 0,
        1 => (h - part.height()) / 2,
        _ => h - part.height(),
    };
    image::imageops::replace(&mut block, first, 0, top(first) as i64);
    image::imageops::replace(&mut block, second, (first.width() + spec.interval) as i64, top(second) as i64);
    block
}

/// Top-left of a `bw`×`bh` block on a `w`×`h` canvas: gravity with margins x/y on the anchored
/// edges, and `voffset` (positive = up) on the vertical middle line.
pub fn origin(spec: &WatermarkSpec, w: u32, h: u32, bw: u32, bh: u32) -> (i64, i64) {
    let (ax, ay) = spec.g.axes();
    let x = match ax {
        Anchor::Start => spec.x as i64,
        Anchor::Middle => (w as i64 - bw as i64) / 2,
        Anchor::End => w as i64 - bw as i64 - spec.x as i64,
    };
    let y = match ay {
        Anchor::Start => spec.y as i64,
        Anchor::Middle => (h as i64 - bh as i64) / 2 - spec.voffset as i64,
        Anchor::End => h as i64 - bh as i64 - spec.y as i64,
    };
    (x, y)
}

/// Draws `block` on `img` where `spec` says (everywhere, tiled, with `fill_1`).
pub fn draw(block: &RgbaImage, spec: &WatermarkSpec, img: DynamicImage) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (bw, bh) = (block.width(), block.height());
    if bw == 0 || bh == 0 || spec.t == 0 {
        return img;
    }
    let (ox, oy) = origin(spec, w, h, bw, bh);
    let mut positions = Vec::new();
    if spec.fill {
        // Tile in both directions from the anchored position so that one tile sits exactly
        // where the single watermark would.
        let (sx, sy) = ((bw + spec.padx) as i64, (bh + spec.pady) as i64);
        let start = |o: i64, step: i64| {
            let r = o.rem_euclid(step);
            if r > 0 {
                r - step
            } else {
                r
            }
        };
        let mut y = start(oy, sy);
        while y < h as i64 {
            let mut x = start(ox, sx);
            while x < w as i64 {
                positions.push((x, y));
                x += sx;
            }
            y += sy;
        }
    } else {
        positions.push((ox, oy));
    }
    let alpha = spec.t as u32;
    match img {
        DynamicImage::ImageRgb8(mut buf) => {
            for &(x, y) in &positions {
                blend(buf.as_mut(), 3, w, h, block, x, y, alpha);
            }
            DynamicImage::ImageRgb8(buf)
        }
        other => {
            let mut buf = into_rgba(other);
            for &(x, y) in &positions {
                blend(buf.as_mut(), 4, w, h, block, x, y, alpha);
            }
            DynamicImage::ImageRgba8(buf)
        }
    }
}

/// Source-over of `block` at (x, y), clipped to the canvas, scaled by `t` percent.
#[allow(clippy::too_many_arguments)]
fn blend(canvas: &mut [u8], ch: usize, w: u32, h: u32, block: &RgbaImage, x: i64, y: i64, t: u32) {
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + block.width() as i64).min(w as i64);
    let y1 = (y + block.height() as i64).min(h as i64);
    for cy in y0..y1 {
        let by = (cy - y) as u32;
        let row = &mut canvas[(cy as usize * w as usize) * ch..][..w as usize * ch];
        for cx in x0..x1 {
            let src = block.get_pixel((cx - x) as u32, by).0;
            // Alpha in 0..=25500 (alpha × t%), blended in integer arithmetic.
            let a = src[3] as u32 * t;
            if a == 0 {
                continue;
            }
            let px = &mut row[cx as usize * ch..][..ch];
            for c in 0..3 {
                px[c] = ((src[c] as u32 * a + px[c] as u32 * (25500 - a) + 12750) / 25500) as u8;
            }
            if ch == 4 {
                let da = px[3] as u32;
                px[3] = ((a * 255 + da * (25500 - a) + 12750) / 25500) as u8;
            }
        }
    }
}
