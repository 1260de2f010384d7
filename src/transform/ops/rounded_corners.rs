//! `rounded-corners`: round the four corners with radius r (clamped to half the short side);
//! the cut corners are transparent, or white once flattened for JPEG. GIF sources are refused,
//! as OSS documents (spec §3.5).

use image::DynamicImage;

use super::mask;
use crate::transform::error::{Error, Result};
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoundedSpec {
    pub r: u32,
}

pub fn parse(ps: &[Param<'_>]) -> Result<RoundedSpec> {
    let mut r = None;
    for p in ps {
        match *p {
            Param::Kv("r", v) => r = Some(params::int_in(v, 1, 4096, None, "rounded-corners r")? as u32),
            ref other => return Err(params::unknown("rounded-corners", other)),
        }
    }
    r.map(|r| RoundedSpec { r }).ok_or_else(|| Error::invalid(None, "rounded-corners needs r"))
}

/// Returns the effective radius.
pub fn plan(spec: &RoundedSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<u32>> {
    if ctx.is_gif() {
        return Err(Error::bad_request("rounded-corners does not support GIF images"));
    }
    Ok(Some(spec.r.min(ctx.w.min(ctx.h) / 2)))
}

pub fn apply(r: u32, img: DynamicImage) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let rf = r as f32;
    mask::apply(img, |x, y| {
        // Distance from the nearest corner's circle centre, only inside the corner squares.
        let cx = if x < r {
            Some(rf - 0.5)
        } else if x >= w - r {
            Some((w - r) as f32 - 0.5)
        } else {
            None
        };
        let cy = if y < r {
            Some(rf - 0.5)
        } else if y >= h - r {
            Some((h - r) as f32 - 0.5)
        } else {
            None
        };
        match (cx, cy) {
            (Some(cx), Some(cy)) => {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                mask::disc((dx * dx + dy * dy).sqrt(), rf)
            }
            _ => 1.0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;
    use image::{Rgb, RgbImage};

    #[test]
    fn corners_cut_edges_kept() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 60, Rgb([1, 2, 3])));
        let out = apply(20, img).to_rgba8();
        assert_eq!(out.dimensions(), (100, 60));
        for (x, y) in [(0, 0), (99, 0), (0, 59), (99, 59)] {
            assert_eq!(out.get_pixel(x, y).0[3], 0, "corner {x},{y}");
        }
        for (x, y) in [(50, 0), (0, 30), (99, 30), (50, 59), (50, 30)] {
            assert_eq!(out.get_pixel(x, y).0[3], 255, "edge {x},{y}");
        }
    }

    #[test]
    fn parameters() {
        assert_eq!(parse(&split("r_30")).unwrap().r, 30);
        for bad in ["r_0", "r_4097", "r_x", "x_1"] {
            assert!(parse(&split(bad)).is_err(), "{bad}");
        }
        assert!(parse(&[]).is_err());
    }
}
