//! `rotate,<deg>`: clockwise by any whole angle in [0, 360]; other angles than right ones grow
//! the canvas to the bounding box, whose new corners are transparent (white once flattened for
//! JPEG). An animated image becomes its first frame, as OSS documents (spec §3.7).

use image::{DynamicImage, Rgba, RgbaImage};

use crate::transform::error::{ec, Error, Result};
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;
use crate::transform::raster::into_rgba;

/// A planned rotation: degrees in 1..=359 and the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateStep {
    pub deg: u32,
    pub w: u32,
    pub h: u32,
}

pub fn parse(ps: &[Param<'_>]) -> Result<u32> {
    let v = params::single_bare("rotate", ps, Some(ec::ROTATE_INVALID))
        .map_err(|e| Error { ec: Some(ec::ROTATE_INVALID), ..e })?;
    Ok(params::int_in(v, 0, 360, Some(ec::ROTATE_INVALID), "rotate")? as u32)
}

/// Bounding box of a `w`×`h` image turned by `deg`, each side rounded half up.
pub(crate) fn bounds(w: u32, h: u32, deg: u32) -> (u32, u32) {
    match deg {
        90 | 270 => (h, w),
        180 => (w, h),
        _ => {
            let t = (deg as f64).to_radians();
            let (c, s) = (t.cos().abs(), t.sin().abs());
            let bw = (w as f64 * c + h as f64 * s + 0.5).floor().max(1.0);
            let bh = (w as f64 * s + h as f64 * c + 0.5).floor().max(1.0);
            (bw as u32, bh as u32)
        }
    }
}

pub fn plan(deg: u32, ctx: &mut PlanCtx<'_>) -> Result<Option<RotateStep>> {
    let deg = deg % 360;
    if deg == 0 {
        return Ok(None);
    }
    let (w, h) = bounds(ctx.w, ctx.h, deg);
    ctx.check_size(w, h, "rotate")?;
    ctx.force_static = true;
    ctx.w = w;
    ctx.h = h;
    Ok(Some(RotateStep { deg, w, h }))
}

pub fn apply(step: &RotateStep, img: DynamicImage) -> DynamicImage {
    match step.deg {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => DynamicImage::ImageRgba8(rotate_any(&into_rgba(img), step)),
    }
}

/// Inverse-maps every output pixel into the source and samples bilinearly in premultiplied
/// alpha, so the transparent outside does not darken the edges.
pub(crate) fn rotate_any(src: &RgbaImage, step: &RotateStep) -> RgbaImage {
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    let t = (step.deg as f32).to_radians();
    let (sin, cos) = t.sin_cos();
    let (ocx, ocy) = (step.w as f32 / 2.0, step.h as f32 / 2.0);
    let (icx, icy) = (sw / 2.0, sh / 2.0);
    let fetch = |x: i64, y: i64| -> [f32; 4] {
        if x < 0 || y < 0 || x >= src.width() as i64 || y >= src.height() as i64 {
            return [0.0; 4];
        }
        let p = src.get_pixel(x as u32, y as u32).0;
        let a = p[3] as f32 / 255.0;
        [p[0] as f32 * a, p[1] as f32 * a, p[2] as f32 * a, p[3] as f32]
    };
    RgbaImage::from_fn(step.w, step.h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - ocx, y as f32 + 0.5 - ocy);
        // Clockwise on screen (y down): source = R(−θ) · destination.
        let u = dx * cos + dy * sin + icx - 0.5;
        let v = -dx * sin + dy * cos + icy - 0.5;
        // Outside the source by a pixel or more: all four taps are transparent or weigh 0.
        // Most of a rotated text line's box is such corners, so skip the sampling.
        if u <= -1.0 || v <= -1.0 || u >= sw || v >= sh {
            return Rgba([0, 0, 0, 0]);
        }
        let (x0, y0) = (u.floor(), v.floor());
        let (fx, fy) = (u - x0, v - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut acc = [0f32; 4];
        for (px, py, wgt) in [
            (x0, y0, (1.0 - fx) * (1.0 - fy)),
            (x0 + 1, y0, fx * (1.0 - fy)),
            (x0, y0 + 1, (1.0 - fx) * fy),
            (x0 + 1, y0 + 1, fx * fy),
        ] {
            if wgt > 0.0 {
                let s = fetch(px, py);
                for i in 0..4 {
                    acc[i] += s[i] * wgt;
                }
            }
        }
        let a = acc[3];
        if a <= 0.0 {
            return Rgba([0, 0, 0, 0]);
        }
        let k = 255.0 / a;
        let ch = |v: f32| (v * k).round().clamp(0.0, 255.0) as u8;
        Rgba([ch(acc[0]), ch(acc[1]), ch(acc[2]), a.round().clamp(0.0, 255.0) as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::params::split;
    use crate::transform::plan::tests::ctx_for;
    use image::{Rgb, RgbImage};

    #[test]
    fn parameter_boundaries() {
        assert_eq!(parse(&split("0")).unwrap(), 0);
        assert_eq!(parse(&split("360")).unwrap(), 360);
        for bad in ["400", "361", "-1", "abc", "", "1.5", "d_90"] {
            let e = parse(&split(bad)).unwrap_err();
            assert_eq!((e.code, e.ec), (Code::InvalidArgument, Some(ec::ROTATE_INVALID)), "{bad}");
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&split("90,1")).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(bounds(400, 267, 90), (267, 400));
        assert_eq!(bounds(400, 267, 180), (400, 267));
        assert_eq!(bounds(400, 267, 70), (388, 467));
        let mut ctx = ctx_for(400, 267);
        assert_eq!(plan(360, &mut ctx).unwrap(), None);
        assert_eq!((ctx.w, ctx.h), (400, 267));
    }

    #[test]
    fn right_angles_move_pixels_clockwise() {
        // A red pixel at the top-left goes to the top-right after 90° clockwise.
        let mut img = RgbImage::from_pixel(4, 3, Rgb([0, 0, 0]));
        img.put_pixel(0, 0, Rgb([255, 0, 0]));
        let out = apply(&RotateStep { deg: 90, w: 3, h: 4 }, DynamicImage::ImageRgb8(img)).to_rgb8();
        assert_eq!(out.get_pixel(2, 0).0, [255, 0, 0]);
    }

    #[test]
    fn any_angle_grows_canvas_with_transparent_corners() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 50, Rgb([200, 10, 10])));
        let (w, h) = bounds(100, 50, 45);
        let out = apply(&RotateStep { deg: 45, w, h }, img).to_rgba8();
        assert_eq!(out.dimensions(), (w, h));
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        let c = out.get_pixel(w / 2, h / 2).0;
        assert_eq!(c[3], 255);
        assert!(c[0] > 190 && c[1] < 20, "{c:?}");
        // Near a slanted edge, colour is kept (premultiplied sampling), only alpha falls.
        for p in out.pixels().filter(|p| p.0[3] > 20) {
            assert!(p.0[0] > 180, "{:?}", p.0);
        }
    }
}
