//! `circle`: the inscribed disc of radius r around the image centre, on a (2r+1)² square;
//! outside the disc is transparent (white once flattened for JPEG) (spec §3.3).

use image::DynamicImage;

use super::mask;
use crate::transform::error::Result;
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CircleSpec {
    pub r: u32,
}

/// Planned: crop the square at `(x, y)` of side `2r+1`, then mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircleStep {
    pub x: u32,
    pub y: u32,
    pub r: u32,
}

pub fn parse(ps: &[Param<'_>]) -> Result<CircleSpec> {
    let mut r = None;
    for p in ps {
        match *p {
            Param::Kv("r", v) => r = Some(params::int_in(v, 1, 4096, None, "circle r")? as u32),
            ref other => return Err(params::unknown("circle", other)),
        }
    }
    match r {
        Some(r) => Ok(CircleSpec { r }),
        None => Err(crate::transform::error::Error::invalid(None, "circle needs r")),
    }
}

pub fn plan(spec: &CircleSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<CircleStep>> {
    // A radius past the inscribed circle shrinks to it: r = ⌊(short − 1) / 2⌋.
    let r = spec.r.min((ctx.w.min(ctx.h) - 1) / 2);
    let step = CircleStep { x: ctx.w / 2 - r, y: ctx.h / 2 - r, r };
    ctx.w = 2 * r + 1;
    ctx.h = 2 * r + 1;
    Ok(Some(step))
}

pub fn apply(step: &CircleStep, img: DynamicImage) -> DynamicImage {
    let side = 2 * step.r + 1;
    let square = img.crop_imm(step.x, step.y, side, side);
    let (c, r) = (step.r as f32, step.r as f32);
    mask::apply(square, |x, y| {
        let (dx, dy) = (x as f32 - c, y as f32 - c);
        mask::disc((dx * dx + dy * dy).sqrt(), r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;
    use crate::transform::plan::tests::ctx_for;
    use image::{Rgb, RgbImage};

    fn dims(w: u32, h: u32, r: u32) -> (u32, u32) {
        let mut ctx = ctx_for(w, h);
        plan(&CircleSpec { r }, &mut ctx).unwrap();
        (ctx.w, ctx.h)
    }

    #[test]
    fn sizes() {
        assert_eq!(dims(400, 267, 100), (201, 201));
        assert_eq!(dims(400, 267, 500), (267, 267));
        assert_eq!(dims(1, 1, 5), (1, 1));
        assert_eq!(dims(2, 9, 5), (1, 1));
    }

    #[test]
    fn outside_is_transparent_inside_opaque() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(50, 40, Rgb([9, 9, 9])));
        let mut ctx = ctx_for(50, 40);
        let step = plan(&CircleSpec { r: 10 }, &mut ctx).unwrap().unwrap();
        let out = apply(&step, img).to_rgba8();
        assert_eq!(out.dimensions(), (21, 21));
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(20, 20).0[3], 0);
        assert_eq!(out.get_pixel(10, 10).0, [9, 9, 9, 255]);
        // The edge pixel is half covered (anti-aliased), the next one in is opaque.
        assert!(out.get_pixel(10, 0).0[3] > 0);
        assert_eq!(out.get_pixel(10, 1).0[3], 255);
    }

    #[test]
    fn parameters() {
        assert!(parse(&split("r_0")).is_err());
        assert!(parse(&split("r_4097")).is_err());
        assert!(parse(&split("r_4096")).is_ok());
        assert!(parse(&[]).is_err());
        assert!(parse(&split("x_1")).is_err());
    }
}
