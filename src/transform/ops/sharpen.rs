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
    let amount = *v as f32 / 100.0;
    let mut out = normalize(img);
    let soft = blur::gaussian(out.clone(), RADIUS, SIGMA);
    match (&mut out, &soft) {
        (DynamicImage::ImageRgb8(o), DynamicImage::ImageRgb8(s)) => unsharp(o, s, 3, amount),
        (DynamicImage::ImageRgba8(o), DynamicImage::ImageRgba8(s)) => unsharp(o, s, 4, amount),
        _ => {} // gaussian keeps the layout normalize gave
    }
    out
}

fn unsharp(sharp: &mut [u8], soft: &[u8], ch: usize, amount: f32) {
    for (px, sp) in sharp.chunks_exact_mut(ch).zip(soft.chunks_exact(ch)) {
        for (x, &b) in px[..3].iter_mut().zip(&sp[..3]) {
            let xf = *x as f32;
            *x = (xf + amount * (xf - b as f32)).round().clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::ops::blur::tests::{edge_energy, photo, with_alpha};
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
}
