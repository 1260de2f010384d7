//! `contrast,<-100..100>`: 0 = unchanged, > 0 more contrast, < 0 less (spec §3.10).
//!
//! A straight line through mid-grey, through a 256-entry table:
//! out = 127.5 + k·(in − 127.5), k = tan(π/4·(1 + v/100)) — ImageMagick's
//! `-brightness-contrast 0x<v>` slope. k is 0 at −100 (flat mid-grey), 1 at 0, 2.41 at 50,
//! 0.41 at −50 and unbounded at 100 (a threshold at mid-grey); k(v)·k(−v) = 1, so the two
//! directions feel symmetric. The pivot is the fixed mid-point rather than the image mean so
//! that the mapping is a pure per-sample table, identical for every frame of an animation (a
//! per-frame mean would make frames flicker). Alpha is left as it is.

use std::f64::consts::FRAC_PI_4;

use image::DynamicImage;

use super::bright::map_colour;
use crate::transform::error::Result;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<i32> {
    let v = params::single_bare("contrast", ps, None)?;
    Ok(params::int_in(v, -100, 100, None, "contrast")? as i32)
}

pub fn canonical(v: &i32) -> String {
    format!("contrast,{v}")
}

pub fn apply(v: &i32, img: DynamicImage) -> DynamicImage {
    let k = (FRAC_PI_4 * (1.0 + *v as f64 / 100.0)).tan();
    let lut = std::array::from_fn(|i| (127.5 + k * (i as f64 - 127.5)).round().clamp(0.0, 255.0) as u8);
    map_colour(img, &lut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::error::Code;
    use crate::transform::ops::blur::tests::{luma_stats, photo, with_alpha};
    use crate::transform::params::split;
    use image::{GenericImageView, Rgb, RgbImage};

    #[test]
    fn parameters() {
        for (text, v) in [("-100", -100), ("100", 100), ("0", 0), ("-50", -50)] {
            assert_eq!(parse(&split(text)).unwrap(), v, "{text}");
        }
        for bad in ["-101", "101", "abc", "", "1.5", "x_5", "50,1"] {
            assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
        }
        assert!(parse(&[]).is_err());
        assert_eq!(canonical(&-50), "contrast,-50");
    }

    #[test]
    fn ends_of_the_range() {
        let ramp = DynamicImage::ImageRgb8(RgbImage::from_fn(256, 1, |x, _| Rgb([x as u8; 3])));
        assert_eq!(apply(&0, ramp.clone()), ramp);
        let flat = apply(&-100, ramp.clone()).to_rgb8();
        assert!(flat.pixels().all(|p| p.0 == [128; 3]));
        let threshold = apply(&100, ramp.clone()).to_rgb8();
        assert!(threshold.pixels().enumerate().all(|(x, p)| p.0[0] == if x < 128 { 0 } else { 255 }));
    }

    #[test]
    fn photo_spread_changes_mean_roughly_kept() {
        let img = photo();
        let (m0, sd0) = luma_stats(&img);
        let (m_up, sd_up) = luma_stats(&apply(&50, img.clone()));
        let (m_dn, sd_dn) = luma_stats(&apply(&-50, img.clone()));
        assert!(sd_up > sd0 * 1.5, "{sd0} -> {sd_up}");
        assert!(sd_dn < sd0 * 0.6 && sd_dn > sd0 * 0.25, "{sd0} -> {sd_dn}");
        // The pivot is mid-grey, not the mean: the mean may drift (here by about 5 levels).
        assert!((m_up - m0).abs() < 10.0 && (m_dn - m0).abs() < 10.0, "{m0} {m_up} {m_dn}");
        assert_eq!(apply(&50, img.clone()).dimensions(), img.dimensions());
    }

    #[test]
    fn alpha_is_kept() {
        let img = with_alpha(&photo());
        let out = apply(&60, img.clone());
        assert!(matches!(out, DynamicImage::ImageRgba8(_)));
        let alpha = |i: &DynamicImage| i.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<_>>();
        assert_eq!(alpha(&out), alpha(&img));
        assert_ne!(out, img);
    }
}
