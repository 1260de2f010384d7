//! `quality,q_<n>` (relative to the source JPEG's quality) and `quality,Q_<n>` (absolute cap);
//! an encoder setting for JPEG, WebP, AVIF and HEIC output, ignored by lossless formats
//! (spec §3.14). For AVIF and HEIC both keys are absolute, like WebP, and on JPEG's scale:
//! `q_80` asks for the look of a JPEG at 80, which [`heif_scale`] turns into the libheif quality
//! that scores the same SSIM (docs/decisions.md "Modern formats").

use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::params::{self, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `q`: a percentage of the source's own quality.
    Relative(u8),
    /// `Q`: a cap; a source already below it keeps its quality.
    Absolute(u8),
    /// `auto` (an imgedge extension): the lowest quality whose output reaches the pipeline's
    /// perceptual target (`codec::autoq`).
    Auto,
}

/// JPEG quality when the request names none and the source is not a JPEG.
pub const DEFAULT_JPEG: u8 = 85;
/// WebP quality when the request names none.
pub const DEFAULT_WEBP: u8 = 80;
/// AVIF/HEIC quality, on JPEG's scale, when the request names none (as WebP's).
pub const DEFAULT_HEIF: u8 = 80;

/// JPEG quality → libheif quality of the same SSIM, per encoder, at the efforts in use: the
/// means over photo6mp at 400 px and 1920 px (docs/benchmarks.md "AVIF and HEIC encoding").
/// libheif's scale runs far higher than JPEG's, HEVC's most: raw, `q_90` would make an AVIF
/// larger than the JPEG and a HEIC more than twice its size.
const AVIF_CURVE: [(u8, u8); 10] =
    [(1, 1), (20, 38), (30, 45), (40, 50), (50, 54), (60, 58), (70, 63), (80, 70), (90, 80), (100, 92)];
const HEIC_CURVE: [(u8, u8); 10] =
    [(1, 1), (20, 27), (30, 30), (40, 34), (50, 36), (60, 39), (70, 43), (80, 47), (90, 53), (100, 65)];

/// The libheif quality for a JPEG-scale `q` (1..=100), interpolated on the format's curve.
pub fn heif_scale(format: Format, q: u8) -> u8 {
    let curve = if format == Format::Heic { &HEIC_CURVE } else { &AVIF_CURVE };
    let q = q.clamp(1, 100);
    let hi = curve.iter().position(|&(j, _)| j >= q).unwrap_or(curve.len() - 1);
    let (j1, h1) = curve[hi];
    if hi == 0 || j1 == q {
        return h1;
    }
    let (j0, h0) = curve[hi - 1];
    let (span, part) = (u32::from(j1 - j0), u32::from(q - j0));
    (u32::from(h0) + (u32::from(h1 - h0) * part + span / 2) / span) as u8
}

pub fn parse(ps: &[Param<'_>]) -> Result<Quality> {
    let (mut rel, mut abs) = (None, None);
    if let [Param::Bare("auto")] = ps {
        return Ok(Quality::Auto);
    }
    for p in ps {
        match *p {
            Param::Bare("auto") => {
                return Err(Error::invalid(None, "quality auto takes no q or Q: it picks the quality itself"))
            }
            Param::Kv("q", v) => rel = Some(params::int_in(v, 1, 100, None, "quality q")? as u8),
            Param::Kv("Q", v) => abs = Some(params::int_in(v, 1, 100, None, "quality Q")? as u8),
            ref other => return Err(params::unknown("quality", other)),
        }
    }
    // With both, Q wins (legacy docs).
    match (rel, abs) {
        (_, Some(q)) => Ok(Quality::Absolute(q)),
        (Some(q), None) => Ok(Quality::Relative(q)),
        _ => Err(Error::invalid(None, "quality needs q or Q")),
    }
}

/// The encoder quality for `out`, given the request and the source JPEG's estimated quality.
/// For `auto` it is what the request would get without it (the search's fallback for formats
/// it does not apply to).
pub fn resolve(q: Option<Quality>, out: Format, source_jpeg_quality: Option<u8>) -> u8 {
    match (out, q) {
        (Format::Webp, None | Some(Quality::Auto)) => DEFAULT_WEBP,
        // For WebP both keys act as an absolute value.
        (Format::Webp, Some(Quality::Relative(v) | Quality::Absolute(v))) => v,
        (Format::Avif | Format::Heic, None | Some(Quality::Auto)) => heif_scale(out, DEFAULT_HEIF),
        (Format::Avif | Format::Heic, Some(Quality::Relative(v) | Quality::Absolute(v))) => {
            heif_scale(out, v)
        }
        (_, None | Some(Quality::Auto)) => source_jpeg_quality.unwrap_or(DEFAULT_JPEG),
        (_, Some(Quality::Absolute(cap))) => source_jpeg_quality.map_or(cap, |s| s.min(cap)),
        (_, Some(Quality::Relative(pct))) => match source_jpeg_quality {
            Some(s) => ((s as u32 * pct as u32 + 50) / 100).clamp(1, 100) as u8,
            None => pct,
        },
    }
}

pub fn canonical(q: Quality) -> String {
    match q {
        Quality::Relative(v) => format!("quality,q_{v}"),
        Quality::Absolute(v) => format!("quality,Q_{v}"),
        Quality::Auto => "quality,auto".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;

    #[test]
    fn documented_examples() {
        let src = Some(82);
        let r = |p: &str| resolve(Some(parse(&split(p)).unwrap()), Format::Jpeg, src);
        assert_eq!(r("q_80"), 66);
        assert_eq!(r("Q_90"), 82);
        assert_eq!(r("Q_50"), 50);
        assert_eq!(r("q_80,Q_50"), 50);
        assert_eq!(resolve(Some(Quality::Relative(90)), Format::Jpeg, Some(100)), 90);
        assert_eq!(resolve(Some(Quality::Relative(90)), Format::Jpeg, Some(80)), 72);
        assert_eq!(resolve(Some(Quality::Absolute(90)), Format::Jpeg, Some(95)), 90);
        assert_eq!(resolve(None, Format::Jpeg, Some(82)), 82);
        assert_eq!(resolve(None, Format::Jpeg, None), DEFAULT_JPEG);
        assert_eq!(resolve(Some(Quality::Relative(60)), Format::Webp, Some(82)), 60);
        assert_eq!(resolve(None, Format::Webp, Some(82)), DEFAULT_WEBP);
        assert_eq!(resolve(None, Format::Avif, Some(82)), 70);
        assert_eq!(resolve(Some(Quality::Relative(70)), Format::Heic, Some(80)), 43);
        assert_eq!(resolve(Some(Quality::Absolute(85)), Format::Avif, None), 75);
    }

    #[test]
    fn heif_curves_rise_with_q_and_stay_below_it() {
        for format in [Format::Avif, Format::Heic] {
            let mapped: Vec<u8> = (1..=100).map(|q| heif_scale(format, q)).collect();
            assert!(mapped.windows(2).all(|w| w[0] <= w[1]), "{format:?}: {mapped:?}");
            assert_eq!((mapped[0], heif_scale(format, 0), heif_scale(format, 255)), (1, 1, mapped[99]));
            // In the range people use, the same look takes a lower libheif quality (below
            // JPEG's q 55, AV1 needs a higher one: its low end degrades faster).
            assert!((60..=100).all(|q| heif_scale(format, q) < q), "{format:?}");
        }
        assert_eq!(heif_scale(Format::Avif, 85), 75);
        assert_eq!(heif_scale(Format::Heic, 55), 38);
    }

    #[test]
    fn boundaries() {
        for ok in ["q_1", "q_100", "Q_1", "Q_100"] {
            assert!(parse(&split(ok)).is_ok(), "{ok}");
        }
        for bad in ["q_0", "q_101", "Q_0", "Q_101", "q_x", "x_5", "80"] {
            assert!(parse(&split(bad)).is_err(), "{bad}");
        }
        assert!(parse(&[]).is_err());
        assert_eq!(parse(&split("auto")).unwrap(), Quality::Auto);
        for bad in ["auto,q_80", "Q_80,auto", "auto,auto", "auto_70"] {
            assert!(parse(&split(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            resolve(Some(Quality::Auto), Format::Jpeg, Some(82)),
            82,
            "auto falls back to the default"
        );
    }
}
