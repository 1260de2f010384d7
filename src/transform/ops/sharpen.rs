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
    blur::exact_filter(img, RADIUS, SIGMA, &Unsharp { amount: *v as f32 / 100.0 })
}

/// The mask, applied to each row as the blur hands it over, while the source row is still
/// there: no copy of the frame, and one pass over it.
struct Unsharp {
    amount: f32,
}

impl blur::Finish for Unsharp {
    #[inline(always)]
    fn row<const CH: usize>(&self, row: &mut [u8], blurred: &[u8]) {
        for (i, (x, &b)) in row.iter_mut().zip(blurred).enumerate() {
            let xf = *x as f32;
            let v = (xf + self.amount * (xf - b as f32)).clamp(0.0, 255.0);
            // f32::round (half away from zero) is a libm call per sample; on 0 ≤ v it is
            // floor(v) plus one when the fraction, exact in f32, is at least ½. Clamping
            // first gives the same as rounding first, as both bounds are whole numbers.
            let fl = v.floor();
            let whole = fl + if v - fl >= 0.5 { 1.0 } else { 0.0 };
            *x = if blur::is_alpha::<CH>(i) { *x } else { blur::round(whole) as u8 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::ops::blur::tests::{
        edge_energy, flowers, max_diff, odd_sizes, photo, reference, with_alpha,
    };
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

    /// Sharpen as it was before the fused mask: a copy of the frame, the reference blur, then
    /// a scalar f32 mask with `f32::round`.
    fn reference_sharpen(v: i32, img: &DynamicImage) -> DynamicImage {
        let amount = v as f32 / 100.0;
        let mut out = img.clone();
        let soft = reference(img, RADIUS as usize, SIGMA as f64);
        let (ch, sharp, soft) = match (&mut out, &soft) {
            (DynamicImage::ImageRgb8(o), DynamicImage::ImageRgb8(s)) => (3, &mut **o, &**s),
            (DynamicImage::ImageRgba8(o), DynamicImage::ImageRgba8(s)) => (4, &mut **o, &**s),
            _ => unreachable!(),
        };
        for (px, sp) in sharp.chunks_exact_mut(ch).zip(soft.chunks_exact(ch)) {
            for (x, &b) in px[..3].iter_mut().zip(&sp[..3]) {
                let xf = *x as f32;
                *x = (xf + amount * (xf - b as f32)).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    #[test]
    fn matches_the_reference() {
        let (mut worst, mut cases) = (0, 0);
        let imgs = [photo(), with_alpha(&photo()), flowers()];
        for img in imgs.iter().chain(&odd_sizes()) {
            for v in [50, 100, 399] {
                let d = max_diff(&apply(&v, img.clone()), &reference_sharpen(v, img));
                assert!(d <= 1, "{:?} {}x{} sharpen,{v}: {d}", img.color(), img.width(), img.height());
                (worst, cases) = (worst.max(d), cases + 1);
            }
        }
        println!("sharpen vs reference: max difference {worst} over {cases} cases");
    }

    #[test]
    fn rounding_matches_f32_round() {
        // Every (x, blurred) pair at every strength, ties and near-ties included.
        for v in [50, 100, 150, 250, 399] {
            let amount = v as f32 / 100.0;
            for b in 0..=255u8 {
                let mut row: Vec<u8> = (0..=255).collect();
                blur::Finish::row::<3>(&Unsharp { amount }, &mut row, &[b; 256]);
                for (x, got) in (0..=255u8).zip(row) {
                    let xf = x as f32;
                    let want = (xf + amount * (xf - b as f32)).round().clamp(0.0, 255.0) as u8;
                    assert_eq!(got, want, "sharpen,{v} x {x} blurred {b}");
                }
            }
        }
    }
}
