//! `bright,<-100..100>`: brightness, 0 = unchanged, > 0 brighter, < 0 darker (spec §3.9).
//!
//! A gamma curve through a 256-entry table: out = 255·(in/255)^γ with γ = 3^(−v/100), so
//! γ runs from 3 (v = −100) through 1 to 1/3 (v = 100). Unlike an additive offset it keeps
//! black black and white white: nothing clips and blacks are not lifted to grey, which is what
//! "clearly brighter but not washed out" asks. Mid-grey 128 goes to 171 at 50 and to 77 at
//! −50; bright,v then bright,−v is the identity up to rounding. Alpha is left as it is.

use image::DynamicImage;

use crate::transform::error::Result;
use crate::transform::params::{self, Param};
use crate::transform::raster::normalize;

pub fn parse(ps: &[Param<'_>]) -> Result<i32> {
    let v = params::single_bare("bright", ps, None)?;
    Ok(params::int_in(v, -100, 100, None, "bright")? as i32)
}

pub fn canonical(v: &i32) -> String {
    format!("bright,{v}")
}

pub fn apply(v: &i32, img: DynamicImage) -> DynamicImage {
    let gamma = 3f64.powf(-*v as f64 / 100.0);
    let lut = std::array::from_fn(|i| (255.0 * (i as f64 / 255.0).powf(gamma)).round() as u8);
    map_colour(img, &lut)
}

/// Maps every colour sample of an RGB8/RGBA8 frame through `lut`, alpha untouched (also used
/// by `contrast`).
pub(super) fn map_colour(img: DynamicImage, lut: &[u8; 256]) -> DynamicImage {
    match normalize(img) {
        DynamicImage::ImageRgb8(mut b) => {
            b.iter_mut().for_each(|s| *s = lut[*s as usize]);
            DynamicImage::ImageRgb8(b)
        }
        DynamicImage::ImageRgba8(mut b) => {
            for px in b.chunks_exact_mut(4) {
                px[..3].iter_mut().for_each(|s| *s = lut[*s as usize]);
            }
            DynamicImage::ImageRgba8(b)
        }
        other => other, // normalize yields only the two layouts above
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::ops::blur::tests::{luma_stats, photo, with_alpha};
    use crate::transform::params::split;
    use image::GenericImageView;

    #[test]
    fn parameters() {
        for (text, v) in [("-100", -100), ("100", 100), ("0", 0), ("50", 50)] {
            assert_eq!(parse(&split(text)).unwrap(), v, "{text}");
        }
        for bad in ["-101", "101", "abc", "", "1.5", "+5", "x_5", "50,1"] {
            assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
        }
        assert!(parse(&[]).is_err());
        assert_eq!(canonical(&-50), "bright,-50");
    }

    #[test]
    fn zero_is_identity_and_ends_are_fixed() {
        let img = photo();
        assert_eq!(apply(&0, img.clone()), img);
        let ramp = DynamicImage::ImageRgb8(image::RgbImage::from_fn(256, 1, |x, _| image::Rgb([x as u8; 3])));
        for v in [-100, -50, 50, 100] {
            let out = apply(&v, ramp.clone()).to_rgb8();
            assert_eq!((out.get_pixel(0, 0).0[0], out.get_pixel(255, 0).0[0]), (0, 255), "{v}");
            // Monotonic: brightness never reorders tones.
            assert!(out.pixels().zip(out.pixels().skip(1)).all(|(a, b)| a.0[0] <= b.0[0]), "{v}");
        }
    }

    #[test]
    fn photo_gets_brighter_and_darker_by_a_sensible_amount() {
        let img = photo();
        let (m0, _) = luma_stats(&img);
        let (up, _) = luma_stats(&apply(&50, img.clone()));
        let (down, _) = luma_stats(&apply(&-50, img.clone()));
        // Clearly visible (≥ 25 levels) yet far from white or black (≤ 55 levels); the photo
        // (mean 128) moves by about +39 and −41.
        assert!((25.0..=55.0).contains(&(up - m0)), "{m0} -> {up}");
        assert!((25.0..=55.0).contains(&(m0 - down)), "{m0} -> {down}");
        let (full, _) = luma_stats(&apply(&100, img.clone()));
        assert!(full > up && full < 250.0, "{up} {full}");
        assert_eq!(apply(&50, img.clone()).dimensions(), img.dimensions());
    }

    #[test]
    fn alpha_is_kept() {
        let img = with_alpha(&photo());
        let out = apply(&80, img.clone());
        assert!(matches!(out, DynamicImage::ImageRgba8(_)));
        let alpha = |i: &DynamicImage| i.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<_>>();
        assert_eq!(alpha(&out), alpha(&img));
        assert_ne!(out, img);
    }
}
