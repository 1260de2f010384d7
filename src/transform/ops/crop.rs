//! `crop`: a w×h window anchored by a gravity, moved by x/y, clipped to the image (spec §3.2).
//! `g_auto` (an imgedge extension) places the window by saliency instead, on the pixels.

use image::DynamicImage;

use crate::transform::error::{Code, Error, Result};
use crate::transform::gravity::Gravity;
use crate::transform::params::{self, Param};
use crate::transform::plan::{PlanCtx, Step};
use crate::transform::saliency;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CropSpec {
    /// Width; `None` (or 0) means the whole remaining width.
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub x: u32,
    pub y: u32,
    pub g: Gravity,
    /// `g_auto`: the window goes where [`saliency::window`] puts it; `g`, `x` and `y` are unused.
    pub auto: bool,
}

/// A window `(x, y, w, h)` inside the current image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

const MAX: i64 = 1 << 20;

pub fn parse(ps: &[Param<'_>]) -> Result<CropSpec> {
    let mut spec = CropSpec { w: None, h: None, x: 0, y: 0, g: Gravity::Nw, auto: false };
    for p in ps {
        match *p {
            Param::Kv("w", v) => spec.w = Some(params::int_in(v, 0, MAX, None, "crop w")? as u32),
            Param::Kv("h", v) => spec.h = Some(params::int_in(v, 0, MAX, None, "crop h")? as u32),
            Param::Kv("x", v) => spec.x = params::int_in(v, 0, MAX, None, "crop x")? as u32,
            Param::Kv("y", v) => spec.y = params::int_in(v, 0, MAX, None, "crop y")? as u32,
            Param::Kv("g", "face") => {
                return Err(Error::new(
                    Code::NotImplemented,
                    None,
                    "crop g_face needs an IMM project and is not provided",
                ))
            }
            Param::Kv("g", "auto") => spec.auto = true,
            Param::Kv("g", v) => (spec.g, spec.auto) = (Gravity::parse(v)?, false),
            ref other => return Err(params::unknown("crop", other)),
        }
    }
    spec.w = spec.w.filter(|&w| w > 0);
    spec.h = spec.h.filter(|&h| h > 0);
    if spec.auto {
        // OSS's g_auto (through IMM) chooses the box's size too; imgedge's only places a box
        // of the size asked for, so a URL written for OSS keeps its old answer.
        if spec.w.is_none() && spec.h.is_none() {
            return Err(Error::new(
                Code::NotImplemented,
                None,
                "crop g_auto without w or h (IMM picks the box) is not provided: give the window's w, h",
            ));
        }
        // The place is the saliency's alone: offsets would only move it off the subject.
        (spec.x, spec.y, spec.g) = (0, 0, Gravity::Nw);
    }
    Ok(spec)
}

/// Plans a crop: a window fixed now, from the sizes alone, or (`g_auto`) one whose size is
/// fixed now and whose place is chosen on the pixels ([`Step::SmartCrop`]).
pub fn plan(spec: &CropSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<Step>> {
    let (w, h) = (ctx.w, ctx.h);
    let cw = spec.w.unwrap_or(w).min(w);
    let ch = spec.h.unwrap_or(h).min(h);
    if spec.auto {
        (ctx.w, ctx.h) = (cw, ch);
        return Ok(((cw, ch) != (w, h)).then_some(Step::SmartCrop { w: cw, h: ch }));
    }
    let (ox, oy) = spec.g.origin(w, h, cw, ch);
    let (sx, sy) = (ox as u64 + spec.x as u64, oy as u64 + spec.y as u64);
    if sx >= w as u64 || sy >= h as u64 {
        return Err(Error::bad_request("Advance cut's position is out of image."));
    }
    let (sx, sy) = (sx as u32, sy as u32);
    let rect = Rect { x: sx, y: sy, w: cw.min(w - sx), h: ch.min(h - sy) };
    ctx.w = rect.w;
    ctx.h = rect.h;
    Ok((rect != Rect { x: 0, y: 0, w, h }).then_some(Step::Crop(rect)))
}

pub fn apply(r: &Rect, img: DynamicImage) -> DynamicImage {
    img.crop_imm(r.x, r.y, r.w, r.h)
}

/// `g_auto`: cuts the `w`×`h` window [`saliency::window`] picks. `place` carries the choice
/// from an animation's first frame to the others, so every frame is cut at the same place.
pub fn apply_auto(w: u32, h: u32, img: DynamicImage, place: &mut Option<(u32, u32)>) -> DynamicImage {
    let (x, y) = *place.get_or_insert_with(|| saliency::window(&img, w, h));
    img.crop_imm(x, y, w, h)
}

pub fn canonical(spec: &CropSpec) -> String {
    let mut out = String::from("crop");
    if let Some(w) = spec.w {
        out.push_str(&format!(",w_{w}"));
    }
    if let Some(h) = spec.h {
        out.push_str(&format!(",h_{h}"));
    }
    if spec.auto {
        out.push_str(",g_auto");
    } else {
        out.push_str(&format!(",x_{},y_{},g_{}", spec.x, spec.y, spec.g.name()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;
    use crate::transform::plan::tests::ctx_for;

    fn dims(w: u32, h: u32, p: &str) -> Result<(u32, u32)> {
        let spec = parse(&split(p))?;
        let mut ctx = ctx_for(w, h);
        plan(&spec, &mut ctx)?;
        Ok((ctx.w, ctx.h))
    }

    fn step(w: u32, h: u32, p: &str) -> Option<Step> {
        plan(&parse(&split(p)).unwrap(), &mut ctx_for(w, h)).unwrap()
    }

    fn rect(w: u32, h: u32, p: &str) -> Option<Rect> {
        step(w, h, p).map(|s| match s {
            Step::Crop(r) => r,
            other => panic!("{p}: {other:?}"),
        })
    }

    #[test]
    fn documented_vectors() {
        assert_eq!(dims(400, 267, "x_100,y_50").unwrap(), (300, 217));
        assert_eq!(dims(400, 267, "x_100,y_50,w_100,h_100").unwrap(), (100, 100));
        assert_eq!(rect(400, 267, "w_200,h_200,g_se"), Some(Rect { x: 200, y: 67, w: 200, h: 200 }));
        assert_eq!(
            rect(400, 267, "x_10,y_10,w_200,h_200,g_se"),
            Some(Rect { x: 210, y: 77, w: 190, h: 190 })
        );
    }

    #[test]
    fn start_outside_is_bad_request() {
        let e = dims(400, 267, "x_500,y_10").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_ref()),
            (Code::BadRequest, "Advance cut's position is out of image.")
        );
        assert!(dims(400, 267, "y_267").is_err());
        assert!(dims(400, 267, "x_399,y_266").is_ok());
    }

    #[test]
    fn oversized_windows_clip_and_full_window_is_noop() {
        assert_eq!(dims(400, 267, "w_900,h_900,g_se").unwrap(), (400, 267));
        assert_eq!(rect(400, 267, "w_900,h_900,g_center"), None);
        assert_eq!(dims(400, 267, "w_0,h_100,g_south").unwrap(), (400, 100));
    }

    #[test]
    fn rejects_bad_parameters() {
        for bad in ["w_-1", "x_abc", "g_middle", "q_1", "90"] {
            assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
        }
        assert_eq!(parse(&split("g_face")).unwrap_err().code, Code::NotImplemented);
        assert_eq!(parse(&split("w_100,g_face")).unwrap_err().code, Code::NotImplemented);
    }

    /// `g_auto` fixes the window's size at plan time (clipped like any crop) and leaves its
    /// place to the pixels; x/y do not move it, so they are not part of the canonical text.
    #[test]
    fn g_auto_plans_a_window_size_and_ignores_offsets() {
        assert_eq!(step(400, 267, "w_200,h_200,g_auto"), Some(Step::SmartCrop { w: 200, h: 200 }));
        assert_eq!(step(400, 267, "w_900,h_200,g_auto"), Some(Step::SmartCrop { w: 400, h: 200 }));
        assert_eq!(step(400, 267, "h_100,g_auto"), Some(Step::SmartCrop { w: 400, h: 100 }));
        assert_eq!(step(400, 267, "w_400,h_267,g_auto"), None, "the whole image: nothing to cut");
        assert_eq!(dims(400, 267, "x_390,y_260,w_200,h_200,g_auto").unwrap(), (200, 200));
        let with_offsets = parse(&split("x_390,y_260,w_200,h_200,g_auto")).unwrap();
        assert_eq!(with_offsets, parse(&split("w_200,h_200,g_auto")).unwrap());
        assert_eq!(canonical(&with_offsets), "crop,w_200,h_200,g_auto");
        // The last g wins, as for every repeated parameter.
        assert_eq!(rect(400, 267, "w_200,h_200,g_auto,g_se"), Some(Rect { x: 200, y: 67, w: 200, h: 200 }));
        assert!(parse(&split("w_200,g_se,g_auto")).unwrap().auto);
    }

    /// OSS's own g_auto (IMM) picks the box's size as well; without a size imgedge keeps
    /// OSS's old answer for it.
    #[test]
    fn g_auto_without_a_size_stays_not_implemented() {
        for p in ["g_auto", "x_10,g_auto", "w_0,h_0,g_auto"] {
            assert_eq!(parse(&split(p)).unwrap_err().code, Code::NotImplemented, "{p}");
        }
    }

    #[test]
    fn every_frame_is_cut_where_the_first_was() {
        let frame = |x0: u32| {
            DynamicImage::ImageRgb8(image::RgbImage::from_fn(120, 40, |x, _| {
                image::Rgb(if (x0..x0 + 20).contains(&x) { [250, 20, 20] } else { [128, 128, 128] })
            }))
        };
        let mut place = None;
        let first = apply_auto(40, 40, frame(90), &mut place);
        assert_eq!(place, Some((80, 0)), "the red bar, framed");
        let _ = apply_auto(40, 40, frame(0), &mut place);
        assert_eq!(place, Some((80, 0)), "later frames keep the first frame's window");
        assert_eq!((first.width(), first.height()), (40, 40));
    }
}
