//! `quality,q_<n>` (relative to the source JPEG's quality) and `quality,Q_<n>` (absolute cap);
//! an encoder setting for JPEG, WebP, AVIF and HEIC output, ignored by lossless formats
//! (spec §3.14). AVIF and HEIC take the value as libheif's lossy quality, absolute like WebP
//! (their sources have no IJG quality to be relative to); docs/decisions.md "AVIF and HEIC".

use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::params::{self, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `q`: a percentage of the source's own quality.
    Relative(u8),
    /// `Q`: a cap; a source already below it keeps its quality.
    Absolute(u8),
}

/// JPEG quality when the request names none and the source is not a JPEG.
pub const DEFAULT_JPEG: u8 = 85;
/// WebP quality when the request names none.
pub const DEFAULT_WEBP: u8 = 80;
/// AVIF/HEIC quality when the request names none: libheif's scale runs lower than JPEG's for
/// the same look (measured in docs/benchmarks.md "AVIF and HEIC").
pub const DEFAULT_HEIF: u8 = 60;

pub fn parse(ps: &[Param<'_>]) -> Result<Quality> {
    let (mut rel, mut abs) = (None, None);
    for p in ps {
        match *p {
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
pub fn resolve(q: Option<Quality>, out: Format, source_jpeg_quality: Option<u8>) -> u8 {
    match (out, q) {
        (Format::Webp, None) => DEFAULT_WEBP,
        // For WebP both keys act as an absolute value.
        (Format::Webp, Some(Quality::Relative(v) | Quality::Absolute(v))) => v,
        (Format::Avif | Format::Heic, None) => DEFAULT_HEIF,
        (Format::Avif | Format::Heic, Some(Quality::Relative(v) | Quality::Absolute(v))) => v,
        (_, None) => source_jpeg_quality.unwrap_or(DEFAULT_JPEG),
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
        assert_eq!(resolve(None, Format::Avif, Some(82)), DEFAULT_HEIF);
        assert_eq!(resolve(Some(Quality::Relative(70)), Format::Heic, Some(80)), 70);
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
    }
}
