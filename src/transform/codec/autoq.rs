//! `quality,auto`: the lowest encoder quality whose output still scores at least a perceptual
//! target against the picture before encoding, found by a bounded search. The metric is
//! SSIMULACRA2 (the `ssimulacra2` crate, rust-av): built on XYB, the colour space JPEG XL was
//! tuned in, it ranks compression artefacts as viewers do, where plain SSIM on RGB over-values
//! blur and under-values ringing (docs/decisions.md "Perceptual auto-quality").
//!
//! The search works on JPEG's 1..100 scale for every lossy format (WebP's is near it; AVIF and
//! HEIC go through `quality::heif_scale`, which maps JPEG quality to the same SSIM): at most
//! [`PROBES`] scored encodes in [`LOW`]..=[`HIGH`] (two probes, then where the line through the
//! nearest scores meets the target), plus one plain encode at [`HIGH`] when none passed. The caller may know the answer already (the same source and
//! pipeline searched before): then it is a single encode.

use std::sync::OnceLock;

use image::DynamicImage;
use ssimulacra2::{compute_frame_ssimulacra2, LinearRgb};

use super::encode::{encode, EncodeSettings};
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::raster::Image;
use crate::transform::Stop;

/// The search's range on JPEG's scale: below 30 every format looks broken whatever a metric
/// says; above 95 bytes grow fast for nothing a viewer sees.
pub const LOW: u8 = 30;
pub const HIGH: u8 = 95;
/// Scored encodes at most (one more, unscored, at [`HIGH`] when none reached the target).
pub const PROBES: u32 = 4;
/// Pixels the metric reads at most per probe (see [`scored_window`]).
pub const MAX_SCORED: u64 = 512 * 512;
/// The first probe, and how far the second lies from it.
const START: u8 = 72;
const SPAN: u8 = 16;
/// A passing probe this close above a failing one is the answer.
const STEP: u8 = 3;
/// SSIMULACRA2 score a `quality,auto` answer must reach, when the bucket sets none: at 400 px
/// over the corpus it spends what fixed q80 spends (−2 %) while no picture falls below 74, where
/// q80 lets a quarter of them fall to 69–71 (docs/benchmarks.md "Auto-quality").
pub const DEFAULT_TARGET: u8 = 75;

/// What the search settled on.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub body: Vec<u8>,
    /// JPEG-scale quality of `body`.
    pub quality: u8,
    /// Encodes that were scored (0 when the quality was known).
    pub probes: u32,
    /// The last passing probe's score, when one was scored.
    pub score: Option<f64>,
}

/// Whether auto-quality applies to `format` (lossy, still).
pub fn applies(format: Format, animated: bool) -> bool {
    !animated && matches!(format, Format::Jpeg | Format::Webp | Format::Avif | Format::Heic)
}

/// Encodes `img` at the lowest quality that scores `target`, or at `known` when the caller
/// searched this picture before. `quality_of` turns a JPEG-scale quality into the encoder's.
pub fn encode_auto(
    img: &Image,
    s: &EncodeSettings,
    target: u8,
    known: Option<u8>,
    quality_of: impl Fn(u8) -> u8,
    stop: &Stop,
) -> Result<Chosen> {
    let at = |q: u8| encode(img, &EncodeSettings { quality: quality_of(q), ..s.clone() });
    if let Some(q) = known {
        let q = q.clamp(1, 100);
        return Ok(Chosen { body: at(q)?, quality: q, probes: 0, score: None });
    }
    let first = &img.frames.first().ok_or_else(|| Error::internal("image has no frames"))?.pixels;
    // The metric needs 8×8; smaller pictures are a few hundred bytes at any quality.
    if first.width() < 8 || first.height() < 8 {
        return Ok(Chosen { body: at(HIGH)?, quality: HIGH, probes: 0, score: None });
    }
    let window = scored_window(first.width(), first.height());
    let reference = linear(&first.crop_imm(window.0, window.1, window.2, window.3));
    let target = f64::from(target);
    let mut tried: Vec<(u8, f64, Vec<u8>)> = Vec::with_capacity(PROBES as usize);
    let probe = |q: u8, tried: &mut Vec<(u8, f64, Vec<u8>)>| -> Result<f64> {
        let body = at(q)?;
        stop.check()?;
        let score = score(&reference, &body, s.format, (first.width(), first.height()), window)?;
        tried.push((q, score, body));
        Ok(score)
    };
    // Scores rise smoothly with quality: a probe near where most pictures land, one on the side
    // the target lies, then twice the quality where the line through the two probes nearest
    // the target on either side meets it (rounded up); the lowest passing probe wins.
    let s1 = probe(START, &mut tried)?;
    let second = if s1 >= target { START - SPAN } else { START + SPAN };
    probe(second, &mut tried)?;
    while (tried.len() as u32) < PROBES {
        let pass = tried.iter().filter(|t| t.1 >= target).min_by_key(|t| t.0).map(|t| (t.0, t.1));
        let fail = tried.iter().filter(|t| t.1 < target).max_by_key(|t| t.0).map(|t| (t.0, t.1));
        let next = match (fail, pass) {
            // Bracketed: close enough is done.
            (Some(f), Some(p)) if p.0 <= f.0 + STEP => break,
            (Some(f), Some(p)) => crossing(f, p, target).clamp(f.0 + 1, p.0 - 1),
            // Every probe passed: go below the lowest, along the last two's slope.
            (None, Some(p)) if p.0 <= LOW => break,
            (None, Some(_)) => extrapolate(&tried, target).clamp(LOW, lowest(&tried) - 1),
            // Every probe failed: above the highest.
            (Some(f), None) if f.0 >= HIGH => break,
            (Some(_), None) => extrapolate(&tried, target).clamp(highest(&tried) + 1, HIGH),
            (None, None) => break,
        };
        probe(next, &mut tried)?;
    }
    let probes = tried.len() as u32;
    let best = tried.into_iter().filter(|t| t.1 >= target).min_by_key(|t| t.0);
    Ok(match best {
        Some((quality, score, body)) => Chosen { body, quality, probes, score: Some(score) },
        // Nothing in range reached the target: the range's top is the most the search gives.
        None => Chosen { body: at(HIGH)?, quality: HIGH, probes, score: None },
    })
}

/// Where the line through two (quality, score) points meets `target`, rounded up.
fn crossing(a: (u8, f64), b: (u8, f64), target: f64) -> u8 {
    let slope = (b.1 - a.1) / (f64::from(b.0) - f64::from(a.0));
    if slope.is_nan() || slope <= 1e-6 {
        return a.0.max(b.0);
    }
    (f64::from(a.0) + (target - a.1) / slope).ceil().clamp(1.0, 100.0) as u8
}

/// [`crossing`] through the two probes nearest the target (all on one side of it).
fn extrapolate(tried: &[(u8, f64, Vec<u8>)], target: f64) -> u8 {
    let mut near: Vec<(u8, f64)> = tried.iter().map(|t| (t.0, t.1)).collect();
    near.sort_by(|a, b| (a.1 - target).abs().total_cmp(&(b.1 - target).abs()));
    crossing(near[0], near[1], target)
}

fn lowest(tried: &[(u8, f64, Vec<u8>)]) -> u8 {
    tried.iter().map(|t| t.0).min().unwrap_or(LOW)
}

fn highest(tried: &[(u8, f64, Vec<u8>)]) -> u8 {
    tried.iter().map(|t| t.0).max().unwrap_or(HIGH)
}

/// SSIMULACRA2 of `distorted` against `reference` (same size, sRGB), as the search scores it.
pub fn ssimulacra2(reference: &DynamicImage, distorted: &DynamicImage) -> Result<f64> {
    compute_frame_ssimulacra2(linear(reference), linear(distorted))
        .map_err(|e| Error::internal(format!("quality metric: {e}")))
}

/// The part of a `w`×`h` picture the metric reads: all of it up to [`MAX_SCORED`] pixels, else
/// the central window of that area (with the picture's aspect ratio, at least 8 px a side). The
/// metric costs about 1.5 µs a pixel: unbounded, one probe of a 12 MP answer would take 18 s,
/// past any deadline, holding a worker the deadline cannot stop (the check runs between probes).
fn scored_window(w: u32, h: u32) -> (u32, u32, u32, u32) {
    let area = u64::from(w) * u64::from(h);
    if area <= MAX_SCORED {
        return (0, 0, w, h);
    }
    let k = (MAX_SCORED as f64 / area as f64).sqrt();
    let (cw, ch) = (((f64::from(w) * k) as u32).clamp(8, w), ((f64::from(h) * k) as u32).clamp(8, h));
    ((w - cw) / 2, (h - ch) / 2, cw, ch)
}

/// SSIMULACRA2 of `body` (decoded) against `reference` (the picture's `window`).
fn score(
    reference: &LinearRgb,
    body: &[u8],
    format: Format,
    size: (u32, u32),
    window: (u32, u32, u32, u32),
) -> Result<f64> {
    let decoded = decode(body, format)?;
    if (decoded.width(), decoded.height()) != size {
        return Err(Error::internal("an encoded probe came back at another size"));
    }
    let decoded = decoded.crop_imm(window.0, window.1, window.2, window.3);
    compute_frame_ssimulacra2(reference.clone(), linear(&decoded))
        .map_err(|e| Error::internal(format!("quality metric: {e}")))
}

/// Our own encoder's output, decoded for scoring (trusted bytes: no limits beyond its size).
fn decode(body: &[u8], format: Format) -> Result<DynamicImage> {
    match format {
        #[cfg(feature = "heif")]
        Format::Avif | Format::Heic => super::heif::decode(body, u64::MAX, &crate::transform::Stop::never()),
        Format::Jpeg => {
            let img: image::RgbImage = turbojpeg::decompress_image(body)
                .map_err(|e| Error::internal(format!("probe decode: {e}")))?;
            Ok(DynamicImage::ImageRgb8(img))
        }
        _ => image::load_from_memory(body).map_err(|e| Error::internal(format!("probe decode: {e}"))),
    }
}

/// Linear-light RGB of an sRGB picture, as the metric takes it. Alpha is composited over white
/// first, as a page would show it.
fn linear(img: &DynamicImage) -> LinearRgb {
    static LUT: OnceLock<[f32; 256]> = OnceLock::new();
    let lut = LUT.get_or_init(|| {
        std::array::from_fn(|i| {
            let c = i as f32 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    });
    let rgba = img.to_rgba8();
    let data: Vec<[f32; 3]> = rgba
        .pixels()
        .map(|p| {
            let a = f32::from(p[3]) / 255.0;
            let over = |c: u8| lut[c as usize] * a + (1.0 - a);
            [over(p[0]), over(p[1]), over(p[2])]
        })
        .collect();
    // Sizes come from a decoded picture: width × height always matches the data.
    LinearRgb::new(data, rgba.width() as usize, rgba.height() as usize).expect("dimensions match the data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn settings(format: Format) -> EncodeSettings {
        EncodeSettings { format, quality: 80, progressive: false, icc: None, target: None }
    }

    fn flat() -> Image {
        Image::still(DynamicImage::ImageRgb8(RgbImage::from_fn(160, 120, |x, _| {
            Rgb([40, 90, (x / 2) as u8])
        })))
    }

    fn busy() -> Image {
        let mut seed = 7u32;
        Image::still(DynamicImage::ImageRgb8(RgbImage::from_fn(160, 120, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let v = (seed >> 16) as u8;
            Rgb([v, v.wrapping_mul(3), v ^ 0x5a])
        })))
    }

    #[test]
    fn a_flat_picture_needs_less_quality_than_a_busy_one() {
        let same = |q: u8| q;
        let f = encode_auto(&flat(), &settings(Format::Jpeg), 70, None, same, &Stop::never()).unwrap();
        let b = encode_auto(&busy(), &settings(Format::Jpeg), 70, None, same, &Stop::never()).unwrap();
        assert!(f.quality < b.quality, "flat {} busy {}", f.quality, b.quality);
        assert!(f.probes <= PROBES && b.probes <= PROBES);
        assert!(f.score.unwrap() >= 70.0);
        let again =
            encode_auto(&flat(), &settings(Format::Jpeg), 70, Some(f.quality), same, &Stop::never()).unwrap();
        assert_eq!(
            (again.quality, again.probes, again.body.len()),
            (f.quality, 0, f.body.len()),
            "known: no search"
        );
    }

    #[test]
    fn every_lossy_format_searches_and_tiny_pictures_do_not() {
        for format in [Format::Jpeg, Format::Webp] {
            let c = encode_auto(&flat(), &settings(format), 60, None, |q| q, &Stop::never()).unwrap();
            assert!(c.probes > 0 && c.score.unwrap() >= 60.0, "{format:?}");
        }
        let tiny = Image::still(DynamicImage::ImageRgb8(RgbImage::new(4, 4)));
        assert_eq!(
            encode_auto(&tiny, &settings(Format::Jpeg), 70, None, |q| q, &Stop::never()).unwrap().probes,
            0
        );
        let unreachable =
            encode_auto(&busy(), &settings(Format::Jpeg), 100, None, |q| q, &Stop::never()).unwrap();
        assert_eq!(
            (unreachable.quality, unreachable.score),
            (HIGH, None),
            "the range's top when none passes"
        );
        assert!(applies(Format::Avif, false) && !applies(Format::Png, false) && !applies(Format::Webp, true));
        assert_eq!(scored_window(400, 300), (0, 0, 400, 300));
        let (x, y, w, h) = scored_window(4000, 3000);
        assert!(u64::from(w) * u64::from(h) <= MAX_SCORED && (x, y) == ((4000 - w) / 2, (3000 - h) / 2));
        assert!(scored_window(100_000, 9).3 >= 8, "thin pictures keep what the metric needs");
    }
}
