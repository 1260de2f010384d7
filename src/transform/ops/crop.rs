//! `crop`: a w×h window anchored by a gravity, moved by x/y, clipped to the image (spec §3.2).

use image::DynamicImage;

use crate::transform::error::{Code, Error, Result};
use crate::transform::gravity::Gravity;
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CropSpec {
    /// Width; `None` (or 0) means the whole remaining width.
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub x: u32,
    pub y: u32,
    pub g: Gravity,
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
    let mut spec = CropSpec { w: None, h: None, x: 0, y: 0, g: Gravity::Nw };
    for p in ps {
        match *p {
            Param::Kv("w", v) => spec.w = Some(params::int_in(v, 0, MAX, None, "crop w")? as u32),
            Param::Kv("h", v) => spec.h = Some(params::int_in(v, 0, MAX, None, "crop h")? as u32),
            Param::Kv("x", v) => spec.x = params::int_in(v, 0, MAX, None, "crop x")? as u32,
            Param::Kv("y", v) => spec.y = params::int_in(v, 0, MAX, None, "crop y")? as u32,
            Param::Kv("g", "face" | "auto") => {
                return Err(Error::new(
                    Code::NotImplemented,
                    None,
                    "crop g_face and g_auto need an IMM project and are not provided",
                ))
            }
            Param::Kv("g", v) => spec.g = Gravity::parse(v)?,
            ref other => return Err(params::unknown("crop", other)),
        }
    }
    spec.w = spec.w.filter(|&w| w > 0);
    spec.h = spec.h.filter(|&h| h > 0);
    Ok(spec)
}

pub fn plan(spec: &CropSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<Rect>> {
    let (w, h) = (ctx.w, ctx.h);
    let cw = spec.w.unwrap_or(w).min(w);
    let ch = spec.h.unwrap_or(h).min(h);
    let (ox, oy) = spec.g.origin(w, h, cw, ch);
    let (sx, sy) = (ox as u64 + spec.x as u64, oy as u64 + spec.y as u64);
    if sx >= w as u64 || sy >= h as u64 {
        return Err(Error::bad_request("Advance cut's position is out of image."));
    }
    let (sx, sy) = (sx as u32, sy as u32);
    let rect = Rect { x: sx, y: sy, w: cw.min(w - sx), h: ch.min(h - sy) };
    ctx.w = rect.w;
    ctx.h = rect.h;
    Ok((rect != Rect { x: 0, y: 0, w, h }).then_some(rect))
}

pub fn apply(r: &Rect, img: DynamicImage) -> DynamicImage {
    img.crop_imm(r.x, r.y, r.w, r.h)
}

pub fn canonical(spec: &CropSpec) -> String {
    let mut out = String::from("crop");
    if let Some(w) = spec.w {
        out.push_str(&format!(",w_{w}"));
    }
    if let Some(h) = spec.h {
        out.push_str(&format!(",h_{h}"));
    }
    out.push_str(&format!(",x_{},y_{},g_{}", spec.x, spec.y, spec.g.name()));
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

    fn rect(w: u32, h: u32, p: &str) -> Option<Rect> {
        plan(&parse(&split(p)).unwrap(), &mut ctx_for(w, h)).unwrap()
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
    }
}
