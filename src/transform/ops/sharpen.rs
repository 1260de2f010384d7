//! `sharpen,<50..399>`: unsharp mask, stronger as the value grows; OSS recommends 100
//! (spec §3.11).
//!
//! out = in + a·(in − blur(in)), with a = v/100 (so sharpen,100 is the classic 100 % mask
//! and 399 is about 4×) and a Gaussian of σ = 1 px cut at 3σ: the detail a web image loses in
//! resizing lives at that scale. No threshold, so flat areas stay exactly flat and the border
//! (edge pixels repeated by the blur) gets no halo. Colour channels only; alpha is left as it is.

use image::DynamicImage;

use super::blur;
use crate::transform::error::Result;
use crate::transform::params::{self, Param};
use crate::transform::raster::normalize;

/// Radius and σ of the blur the mask subtracts.
const RADIUS: u32 = 3;
const SIGMA: f32 = 1.0;

pub fn parse(ps: &[Param<'_>]) -> Result<i32> {
    let v = params::single_bare("sharpen", ps, None)?;
    Ok(params::int_in(v, 50, 399, None, "sharpen")? as i32)
}

pub fn canonical(v: &i32) -> String {
    format!("sharpen,{v}")
}

pub fn apply(v: &i32, img: DynamicImage) -> DynamicImage {
    blur::unsharp(normalize(img), RADIUS, SIGMA, *v as f32 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::ops::blur::tests::{block_gaussian, edge_energy, photo, with_alpha};
    use crate::transform::params::split;
    use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn parameters() {
        for (text, v) in [("50", 50), ("399", 399), ("100", 100)] {
            assert_eq!(parse(&split(text)).unwrap(), v, "{text}");
        }
        for bad in ["49", "400", "0", "-100", "abc", "", "1.5", "x_100", "100,1"] {
            assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
        }
        assert!(parse(&[]).is_err());
        assert_eq!(canonical(&100), "sharpen,100");
    }

    #[test]
    fn photo_edges_grow_with_strength() {
        let img = photo();
        let e0 = edge_energy(&img);
        let e100 = edge_energy(&apply(&100, img.clone()));
        let e300 = edge_energy(&apply(&300, img.clone()));
        assert!(e100 > e0 * 1.2, "{e0} -> {e100}");
        assert!(e300 > e100 * 1.3, "{e100} -> {e300}");
        assert_eq!(apply(&100, img.clone()).dimensions(), img.dimensions());
    }

    #[test]
    fn flat_stays_flat() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 17, Rgb([12, 200, 99])));
        assert_eq!(apply(&399, img.clone()), img);
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(5, 3, Rgba([250, 3, 99, 77])));
        assert_eq!(apply(&399, img.clone()), img);
    }

    #[test]
    fn alpha_is_kept() {
        let img = with_alpha(&photo());
        let out = apply(&200, img.clone());
        assert!(matches!(out, DynamicImage::ImageRgba8(_)));
        let alpha = |i: &DynamicImage| i.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<_>>();
        assert_eq!(alpha(&out), alpha(&img));
        assert_ne!(out, img);
    }

    /// The one-pass mask gives exactly the bytes of blurring a copy and masking after it (the
    /// code it replaced).
    #[test]
    fn the_fused_pass_equals_blurring_a_copy() {
        for img in [photo(), with_alpha(&photo())] {
            for v in [50, 100, 399] {
                let a = v as f32 / 100.0;
                let soft = blur::gaussian(img.clone(), RADIUS, SIGMA);
                let mut want = normalize(img.clone());
                let ch = if matches!(want, DynamicImage::ImageRgba8(_)) { 4 } else { 3 };
                let o: &mut [u8] = match &mut want {
                    DynamicImage::ImageRgb8(o) => o,
                    DynamicImage::ImageRgba8(o) => o,
                    _ => unreachable!(),
                };
                for (px, sp) in o.chunks_exact_mut(ch).zip(soft.as_bytes().chunks_exact(ch)) {
                    for (x, &b) in px[..3].iter_mut().zip(&sp[..3]) {
                        let xf = *x as f32;
                        let s = (xf + a * (xf - b as f32)).clamp(0.0, 255.0);
                        *x = ((s + 8_388_608.0).to_bits() - 0x4B00_0000) as u8;
                    }
                }
                assert!(apply(&v, img.clone()) == want, "sharpen,{v} with {ch} channels");
            }
        }
    }

    /// Against the sharpen of issue 3 (block-path blur, `f32::round`): within ±1 per channel
    /// up to 100 (a ±1 blur difference is scaled by v/100, so 399 may differ by up to 4).
    #[test]
    fn matches_the_issue_3_output() {
        let reference = |v: i32, img: DynamicImage| {
            let a = v as f32 / 100.0;
            let (mut out, soft) =
                (normalize(img.clone()), block_gaussian(img, RADIUS as usize, SIGMA as f64));
            let ch = if matches!(out, DynamicImage::ImageRgba8(_)) { 4 } else { 3 };
            let soft = soft.as_bytes().to_vec();
            let o: &mut [u8] = match &mut out {
                DynamicImage::ImageRgb8(o) => o,
                DynamicImage::ImageRgba8(o) => o,
                _ => unreachable!(),
            };
            for (px, sp) in o.chunks_exact_mut(ch).zip(soft.chunks_exact(ch)) {
                for (x, &b) in px[..3].iter_mut().zip(&sp[..3]) {
                    let xf = *x as f32;
                    *x = (xf + a * (xf - b as f32)).round().clamp(0.0, 255.0) as u8;
                }
            }
            out
        };
        for img in [photo(), with_alpha(&photo())] {
            for (v, bound) in [(50, 1), (100, 1), (399, 4)] {
                let (old, new) = (reference(v, img.clone()), apply(&v, img.clone()));
                let max = old.as_bytes().iter().zip(new.as_bytes()).map(|(a, b)| a.abs_diff(*b)).max();
                assert!(max.unwrap() <= bound, "sharpen,{v}: max difference {max:?}");
            }
        }
    }
}
