//! `resize`: lfit/mfit/fill/pad/fixed with w, h, l, s, p, limit and color (spec §3.1).
//! Geometry is resolved against the size at this point of the chain, so the plan knows every
//! output size before a pixel is decoded; proportional sides round half up, never below 1.

use image::{DynamicImage, GenericImageView, Rgb, Rgba};

use crate::transform::error::{ec, Error, Result};
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;
use crate::transform::resample::resample;
use crate::transform::saliency;

/// How the image is fitted to the requested box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Lfit,
    Mfit,
    Fill,
    Pad,
    Fixed,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Lfit => "lfit",
            Mode::Mfit => "mfit",
            Mode::Fill => "fill",
            Mode::Pad => "pad",
            Mode::Fixed => "fixed",
        }
    }
}

/// A parsed `resize`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResizeSpec {
    pub mode: Mode,
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub l: Option<u32>,
    pub s: Option<u32>,
    pub p: Option<u32>,
    pub limit: bool,
    pub color: [u8; 3],
    /// `g_auto` (an imgedge extension, `fill` only): the window is placed by saliency instead
    /// of in the centre.
    pub auto: bool,
}

impl ResizeSpec {
    /// `mode` with no sizes yet, OSS's defaults otherwise (`limit_1`, white padding).
    pub fn new(mode: Mode) -> ResizeSpec {
        ResizeSpec {
            mode,
            w: None,
            h: None,
            l: None,
            s: None,
            p: None,
            limit: true,
            color: [255, 255, 255],
            auto: false,
        }
    }
}

/// A planned resize: resample to `w`×`h`, then optionally centre-crop (fill) or pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizeStep {
    pub w: u32,
    pub h: u32,
    /// Where the picture lies in the image this step receives, when that is not all of it: a
    /// JPEG decoded at 1/n (see [`ScaledBox`]).
    pub src_box: Option<ScaledBox>,
    /// `fill`: the centred window `(x, y, w, h)` cut from the resampled image.
    pub crop: Option<(u32, u32, u32, u32)>,
    /// `fill,g_auto`: `crop`'s window goes where saliency puts it on the resampled pixels
    /// (its x, y are then unused).
    pub auto: bool,
    /// `pad`: the canvas `(w, h)`, the offset of the picture in it, and the fill colour.
    pub pad: Option<Pad>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pad {
    pub w: u32,
    pub h: u32,
    pub x: u32,
    pub y: u32,
    pub color: [u8; 3],
}

pub fn parse(ps: &[Param<'_>]) -> Result<ResizeSpec> {
    if ps.is_empty() {
        return Err(Error::invalid(Some(ec::RESIZE_EMPTY), "resize needs parameters"));
    }
    let mut spec = ResizeSpec::new(Mode::Lfit);
    // w_0,h_0 has its own EC, so zero sides are range-checked after all parameters are read.
    let side = |v: &str, ec: &'static str, what: &str| -> Result<u32> {
        params::int_in(v, 0, 16384, Some(ec), what).map(|n| n as u32)
    };
    for p in ps {
        match *p {
            Param::Kv("m", v) => {
                spec.mode = match v {
                    "lfit" => Mode::Lfit,
                    "mfit" => Mode::Mfit,
                    "fill" => Mode::Fill,
                    "pad" => Mode::Pad,
                    "fixed" => Mode::Fixed,
                    _ => {
                        return Err(Error::invalid(
                            Some(ec::RESIZE_MODE),
                            "resize m must be one of lfit, mfit, fill, pad, fixed",
                        ))
                    }
                }
            }
            Param::Kv("w", v) => spec.w = Some(side(v, ec::RESIZE_W, "resize w")?),
            Param::Kv("h", v) => spec.h = Some(side(v, ec::RESIZE_H, "resize h")?),
            Param::Kv("l", v) => spec.l = Some(side(v, ec::RESIZE_L, "resize l")?),
            Param::Kv("s", v) => spec.s = Some(side(v, ec::RESIZE_S, "resize s")?),
            Param::Kv("p", v) => {
                spec.p = Some(params::int_in(v, 1, 1000, Some(ec::RESIZE_P), "resize p")? as u32)
            }
            Param::Kv("limit", v) => {
                spec.limit = params::int_in(v, 0, 1, Some(ec::RESIZE_LIMIT), "resize limit")? == 1
            }
            Param::Kv("color", v) => spec.color = params::color(v, "resize color")?,
            // Only `auto`: any other gravity stays an unknown parameter, as OSS has none.
            Param::Kv("g", "auto") => spec.auto = true,
            ref other => return Err(params::unknown("resize", other)),
        }
    }
    if spec.auto && spec.mode != Mode::Fill {
        return Err(Error::invalid(None, "resize g_auto places the window of m_fill and needs m_fill"));
    }
    if spec.w == Some(0) && spec.h == Some(0) {
        return Err(Error::invalid(Some(ec::RESIZE_W_H_ZERO), "resize w and h cannot both be 0"));
    }
    for (v, ec, what) in [
        (spec.w, ec::RESIZE_W, "w"),
        (spec.h, ec::RESIZE_H, "h"),
        (spec.l, ec::RESIZE_L, "l"),
        (spec.s, ec::RESIZE_S, "s"),
    ] {
        if v == Some(0) {
            return Err(Error::invalid(Some(ec), format!("resize {what} must be in [1, 16384]")));
        }
    }
    if [spec.w, spec.h, spec.l, spec.s, spec.p].iter().all(Option::is_none) {
        return Err(Error::invalid(Some(ec::RESIZE_EMPTY), "resize needs a size (w, h, l, s or p)"));
    }
    Ok(spec)
}

/// `a * num / den`, rounded half up, at least 1.
fn scale(a: u32, num: u32, den: u32) -> u32 {
    let v = (2 * a as u64 * num as u64 + den as u64) / (2 * den as u64);
    v.max(1) as u32
}

/// `(w, h)` fitted to the box keeping the aspect ratio: inside it (`cover = false`) or covering it.
fn fit(w: u32, h: u32, bw: u32, bh: u32, cover: bool) -> (u32, u32) {
    // Compare bw/w with bh/h without floats: bw*h vs bh*w.
    let width_decides = (bw as u64 * h as u64 <= bh as u64 * w as u64) != cover;
    if width_decides {
        (bw, scale(h, bw, w))
    } else {
        (scale(w, bh, h), bh)
    }
}

/// Plans a resize at the current size; `None` when it changes nothing.
pub fn plan(spec: &ResizeSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<ResizeStep>> {
    let (w, h) = (ctx.w, ctx.h);
    let square = matches!(spec.mode, Mode::Fill | Mode::Pad | Mode::Fixed);
    // The box to fit into, or directly the proportional size.
    enum Target {
        Box(u32, u32),
        Size(u32, u32),
    }
    let target = match (spec.w, spec.h) {
        (Some(bw), Some(bh)) => Target::Box(bw, bh),
        (Some(bw), None) if square => Target::Box(bw, bw),
        (None, Some(bh)) if square => Target::Box(bh, bh),
        (Some(bw), None) => Target::Size(bw, scale(h, bw, w)),
        (None, Some(bh)) => Target::Size(scale(w, bh, h), bh),
        (None, None) => match (spec.l, spec.s) {
            (Some(l), Some(s)) if w >= h => Target::Box(l, s),
            (Some(l), Some(s)) => Target::Box(s, l),
            (Some(v), None) | (None, Some(v)) if square => Target::Box(v, v),
            (Some(l), None) => Target::Size(scale(w, l, w.max(h)), scale(h, l, w.max(h))),
            (None, Some(s)) => Target::Size(scale(w, s, w.min(h)), scale(h, s, w.min(h))),
            (None, None) => {
                let p = spec.p.unwrap_or(100);
                Target::Size(scale(w, p, 100), scale(h, p, 100))
            }
        },
    };
    let (rw, rh, crop, pad) = match target {
        Target::Size(rw, rh) => (rw, rh, None, None),
        Target::Box(bw, bh) => match spec.mode {
            Mode::Lfit => {
                let (rw, rh) = fit(w, h, bw, bh, false);
                (rw, rh, None, None)
            }
            Mode::Mfit => {
                let (rw, rh) = fit(w, h, bw, bh, true);
                (rw, rh, None, None)
            }
            Mode::Fixed => (bw, bh, None, None),
            Mode::Fill => {
                let (rw, rh) = fit(w, h, bw, bh, true);
                let crop = (rw != bw || rh != bh).then(|| ((rw - bw) / 2, (rh - bh) / 2, bw, bh));
                (rw, rh, crop, None)
            }
            Mode::Pad => {
                let (rw, rh) = fit(w, h, bw, bh, false);
                let pad = (rw != bw || rh != bh).then(|| Pad {
                    w: bw,
                    h: bh,
                    x: (bw - rw) / 2,
                    y: (bh - rh) / 2,
                    color: spec.color,
                });
                (rw, rh, None, pad)
            }
        },
    };
    // The output cap comes before `limit` (OSS rejects m_fixed,w_5000,h_5000 even without limit_0).
    let (ow, oh) = pad.as_ref().map(|p| (p.w, p.h)).or(crop.map(|c| (c.2, c.3))).unwrap_or((rw, rh));
    for (a, b) in [(rw, rh), (ow, oh)] {
        if a.max(b) > ctx.limits.max_out_side || a as u64 * b as u64 > ctx.limits.max_out_pixels {
            return Err(Error::too_large(
                Some(ec::RESIZE_OUTPUT_TOO_LARGE),
                format!("resize result {a}x{b} exceeds the output limit"),
            ));
        }
    }
    let uses_p = spec.w.is_none() && spec.h.is_none() && spec.l.is_none() && spec.s.is_none();
    // `p` enlarges whatever `limit` says (OSS's @200p did); a GIF is never enlarged.
    let no_enlarge = (spec.limit && !uses_p) || ctx.is_gif();
    if no_enlarge && (rw > w || rh > h) {
        return Ok(None);
    }
    if uses_p {
        // OSS documents that percentage resizing makes an animated GIF static.
        ctx.force_static = true;
    }
    ctx.w = ow;
    ctx.h = oh;
    if rw == w && rh == h && crop.is_none() && pad.is_none() {
        return Ok(None);
    }
    Ok(Some(ResizeStep { w: rw, h: rh, src_box: None, crop, auto: spec.auto && crop.is_some(), pad }))
}

/// The picture's box in a JPEG decoded at 1/`denom`, in full-size pixels of the oriented image
/// (divide by `denom` for the decoded one). libjpeg rounds a scaled size up: 2725 px at 1/4
/// arrive as 682 columns, the last one a quarter picture and three quarters padding. Resampled
/// whole, the picture would be stretched by that fraction and its far edge moved by up to half
/// an output pixel; resampled from this box it keeps its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaledBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    pub denom: u8,
}

impl ScaledBox {
    /// The box of a `w`×`h` JPEG (stored orientation) decoded at 1/`denom` and then turned by
    /// EXIF `orientation`; `None` when the scaled size is exact.
    pub fn of(w: u32, h: u32, denom: u8, orientation: u8) -> Option<ScaledBox> {
        let d = u32::from(denom);
        let (pw, ph) = (w.div_ceil(d) * d, h.div_ceil(d) * d);
        let (dx, dy) = (pw - w, ph - h);
        if denom <= 1 || (dx == 0 && dy == 0) {
            return None;
        }
        // The padding is right and below in stored orientation; each EXIF turn moves it.
        let (left, top, width, height) = match orientation {
            2 => (dx, 0, w, h),
            3 => (dx, dy, w, h),
            4 => (0, dy, w, h),
            5 => (0, 0, h, w),
            6 => (dy, 0, h, w),
            7 => (dy, dx, h, w),
            8 => (0, dx, h, w),
            _ => (0, 0, w, h),
        };
        Some(ScaledBox { left, top, width, height, denom })
    }

    /// The box in the decoded image's pixels.
    pub fn in_decoded(self) -> [f64; 4] {
        let d = f64::from(self.denom);
        [self.left, self.top, self.width, self.height].map(|v| f64::from(v) / d)
    }
}

/// Runs a planned resize on one frame. `place` carries a `g_auto` window from an animation's
/// first frame to the others, so every frame is cut at the same place.
pub fn apply(step: &ResizeStep, img: DynamicImage, place: &mut Option<(u32, u32)>) -> Result<DynamicImage> {
    let mut out = resample(&img, step.w, step.h, step.src_box.map(ScaledBox::in_decoded))?;
    if let Some((x, y, w, h)) = step.crop {
        // Saliency looks at the resampled picture: it is in display orientation (EXIF turns
        // come before any step) and, after a DCT-scaled decode, already cut to the picture's
        // box, so every fast path hands it the very pixels the window is cut from. The
        // YCbCr path never sees a fill crop (`plan::ycbcr_applies`).
        let (x, y) =
            if step.auto { *place.get_or_insert_with(|| saliency::window(&out, w, h)) } else { (x, y) };
        out = out.crop_imm(x, y, w, h);
    }
    if let Some(pad) = &step.pad {
        out = padded(&out, pad);
    }
    Ok(out)
}

fn padded(img: &DynamicImage, pad: &Pad) -> DynamicImage {
    let [r, g, b] = pad.color;
    let mut canvas = match img {
        DynamicImage::ImageRgba8(_) => {
            DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(pad.w, pad.h, Rgba([r, g, b, 255])))
        }
        _ => DynamicImage::ImageRgb8(image::RgbImage::from_pixel(pad.w, pad.h, Rgb([r, g, b]))),
    };
    // `copy_from` cannot fail here: the plan put the picture inside the canvas.
    let _ = image::GenericImage::copy_from(&mut canvas, img, pad.x, pad.y);
    debug_assert_eq!(canvas.dimensions(), (pad.w, pad.h));
    canvas
}

/// Canonical text: mode, the sizes that take effect, limit and (for pad) colour.
pub fn canonical(spec: &ResizeSpec) -> String {
    let mut out = format!("resize,m_{}", spec.mode.name());
    let by_wh = spec.w.is_some() || spec.h.is_some();
    let by_ls = !by_wh && (spec.l.is_some() || spec.s.is_some());
    let fields = [("w", spec.w, by_wh), ("h", spec.h, by_wh), ("l", spec.l, by_ls), ("s", spec.s, by_ls)];
    for (k, v, on) in fields {
        if let (Some(v), true) = (v, on) {
            out.push_str(&format!(",{k}_{v}"));
        }
    }
    if let (Some(p), false, false) = (spec.p, by_wh, by_ls) {
        out.push_str(&format!(",p_{p}"));
    }
    out.push_str(if spec.limit { ",limit_1" } else { ",limit_0" });
    if spec.mode == Mode::Pad {
        let [r, g, b] = spec.color;
        out.push_str(&format!(",color_{r:02X}{g:02X}{b:02X}"));
    }
    if spec.auto {
        out.push_str(",g_auto");
    }
    out
}

#[cfg(test)]
#[path = "resize_tests.rs"]
mod tests;
