//! Reads what an image declares about itself (format, stored size, frame count, orientation,
//! alpha, JPEG quality) from its headers alone, so limits are checked before any pixel is
//! decoded. Nothing here allocates in proportion to the declared size.

use std::io::Cursor;

use super::jpeg_quality;
use super::scan::{exif_tiff, jpeg_segments, scan_gif, scan_webp, tiff_orientation};
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;

/// What the header of a source image says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Sniffed from the magic bytes, never from names.
    pub format: Format,
    /// Stored width (before EXIF orientation). GIF: the largest of the logical screen and every
    /// frame's right edge.
    pub width: u32,
    /// Stored height (before EXIF orientation). GIF: as `width`, with bottom edges.
    pub height: u32,
    /// GIF: image descriptors; animated WebP: ANMF chunks; otherwise 1.
    pub frames: u32,
    /// EXIF Orientation 1..=8; 1 when absent or invalid.
    pub orientation: u8,
    /// Estimated IJG quality of a JPEG; `None` for other formats.
    pub jpeg_quality: Option<u8>,
    pub file_size: u64,
    /// Best effort from the header; always false for JPEG.
    pub has_alpha: bool,
    /// A DCT JPEG of three YCbCr components whose chroma libjpeg-turbo hands out as planes
    /// (4:4:4, 4:2:2, 4:2:0, 4:4:0): what the YCbCr path can take.
    pub jpeg_ycbcr: bool,
    /// The embedded colour profile, as far as the fast path needs to know.
    pub icc: Icc,
}

/// An embedded ICC profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icc {
    None,
    /// A profile that names itself sRGB (its `desc` tag): the pixels mean what they say.
    Srgb,
    /// Any other profile (Display P3, Adobe RGB, a camera's, an unreadable one).
    Other,
}

/// Recognises the format from the first bytes.
pub(crate) fn sniff(b: &[u8]) -> Option<Format> {
    Some(if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Format::Gif
    } else if b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP" {
        Format::Webp
    } else if b.starts_with(b"BM") {
        Format::Bmp
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Format::Tiff
    } else {
        sniff_heif(b)?
    })
}

/// An ISO-BMFF `ftyp` box whose major or compatible brands say AVIF or HEIC (a generic `mif1`
/// file is whichever codec brand it lists).
fn sniff_heif(b: &[u8]) -> Option<Format> {
    if b.len() < 16 || &b[4..8] != b"ftyp" {
        return None;
    }
    let size = (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).clamp(16, b.len().min(4096));
    // Major brand, minor version, then compatible brands.
    let brands = std::iter::once(&b[8..12]).chain(b[16..size].chunks_exact(4));
    let mut found = None;
    for brand in brands {
        match brand {
            b"avif" | b"avis" => return Some(Format::Avif),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => found = Some(Format::Heic),
            _ => {}
        }
    }
    found
}

#[cfg(feature = "heif")]
fn probe_heif(b: &[u8], info: &mut SourceInfo) -> Result<()> {
    let h = super::heif::header(b).map_err(|e| super::heif::as_corrupt(e, info.format))?;
    (info.width, info.height, info.has_alpha) = (h.width, h.height, h.has_alpha);
    Ok(())
}

#[cfg(not(feature = "heif"))]
fn probe_heif(_: &[u8], _: &mut SourceInfo) -> Result<()> {
    Err(Error::unsupported_source("AVIF/HEIC sources are not supported by this build"))
}

/// Reads the header of `bytes`. Unknown or undecodable headers are
/// [`Error::unsupported_source`].
pub fn probe(bytes: &[u8]) -> Result<SourceInfo> {
    let format = sniff(bytes).ok_or_else(|| Error::unsupported_source("unsupported image format"))?;
    let mut info = SourceInfo {
        format,
        width: 0,
        height: 0,
        frames: 1,
        orientation: 1,
        jpeg_quality: None,
        file_size: bytes.len() as u64,
        has_alpha: false,
        jpeg_ycbcr: false,
        icc: Icc::None,
    };
    match format {
        Format::Jpeg => probe_jpeg(bytes, &mut info)?,
        Format::Png => probe_png(bytes, &mut info)?,
        Format::Gif => {
            let s = scan_gif(bytes).ok_or_else(|| Error::unsupported_source("invalid GIF"))?;
            (info.width, info.height, info.frames) = (s.width, s.height, s.frames);
            info.has_alpha = s.has_transparency;
        }
        Format::Webp => {
            let s = scan_webp(bytes).ok_or_else(|| Error::unsupported_source("invalid WebP"))?;
            (info.width, info.height, info.frames) = (s.width, s.height, s.frames);
            info.has_alpha = s.has_alpha;
            info.orientation = s.exif.map_or(1, |e| tiff_orientation(exif_tiff(e)));
        }
        Format::Bmp | Format::Tiff => probe_with_image_crate(bytes, &mut info)?,
        Format::Avif | Format::Heic => probe_heif(bytes, &mut info)?,
    }
    if info.width == 0 || info.height == 0 {
        return Err(Error::unsupported_source("image has no pixels"));
    }
    Ok(info)
}

/// Walks the JPEG markers up to SOS: SOFn for the size, APP1 Exif for the orientation.
fn probe_jpeg(b: &[u8], info: &mut SourceInfo) -> Result<()> {
    let mut sof = None;
    let mut reached_sos = false;
    let mut ycbcr = false;
    // Adobe's APP14 transform flag: 0 says the three components are RGB, not YCbCr.
    let mut adobe_rgb = false;
    let mut icc: Vec<u8> = Vec::new();
    let mut icc_seen = false;
    for (marker, p) in jpeg_segments(b) {
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if let (Some(&[h0, h1]), Some(&[w0, w1])) = (p.get(1..3), p.get(3..5)) {
                    sof = Some((u16::from_be_bytes([w0, w1]), u16::from_be_bytes([h0, h1])));
                }
                // Lossless (C3, C7, CB, CF) cannot be DCT-scaled or read as planes.
                ycbcr = !matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF) && planar_ycbcr(p);
            }
            0xEE if p.starts_with(b"Adobe") => adobe_rgb = p.get(11) == Some(&0),
            0xE2 if p.starts_with(b"ICC_PROFILE\0") => {
                icc_seen = true;
                // Chunks in file order (writers emit them in sequence); the header and the tag
                // table are in the first one, and the description nearly always.
                if icc.len() < 1 << 20 {
                    icc.extend_from_slice(p.get(14..).unwrap_or_default());
                }
            }
            0xE1 if info.orientation == 1 && p.starts_with(b"Exif\0\0") => {
                info.orientation = tiff_orientation(exif_tiff(p));
            }
            0xDA => reached_sos = true,
            _ => {}
        }
    }
    // A header without a frame or without a scan cannot be decoded.
    let (w, h) = match sof {
        Some(s) if reached_sos => s,
        _ => return Err(Error::unsupported_source("invalid JPEG header")),
    };
    (info.width, info.height) = (u32::from(w), u32::from(h));
    info.jpeg_quality = jpeg_quality::estimate(b);
    info.jpeg_ycbcr = ycbcr && !adobe_rgb;
    info.icc = match (icc_seen, describes_srgb(&icc)) {
        (false, _) => Icc::None,
        (true, true) => Icc::Srgb,
        (true, false) => Icc::Other,
    };
    Ok(())
}

/// A frame header (SOF body) of three components, luma sampled 1×1, 2×1, 2×2 or 1×2 and
/// chroma 1×1, with ids that do not spell R, G, B.
fn planar_ycbcr(sof: &[u8]) -> bool {
    let Some(&[n]) = sof.get(5..6) else { return false };
    let comps: Vec<&[u8]> = sof.get(6..).unwrap_or_default().chunks_exact(3).take(3).collect();
    if n != 3 || comps.len() != 3 || comps.iter().map(|c| c[0]).eq(*b"RGB") {
        return false;
    }
    let (h, v) = (comps[0][1] >> 4, comps[0][1] & 15);
    matches!((h, v), (1, 1) | (2, 1) | (2, 2) | (1, 2)) && comps[1..].iter().all(|c| c[1] == 0x11)
}

/// Whether an ICC profile's `desc` tag (v2 `desc` or v4 `mluc`) names sRGB.
pub(crate) fn describes_srgb(icc: &[u8]) -> bool {
    let be32 = |at: usize| icc.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if icc.get(16..20) != Some(b"RGB ") {
        return false;
    }
    let Some(count) = be32(128) else { return false };
    for i in 0..count.min(100) {
        let at = 132 + i * 12;
        if icc.get(at..at + 4) != Some(b"desc") {
            continue;
        }
        let (Some(off), Some(len)) = (be32(at + 4), be32(at + 8)) else { return false };
        let Some(tag) = icc.get(off..off.saturating_add(len)) else { return false };
        let text: String = match tag.get(..4) {
            // v2: type, reserved, ASCII count, ASCII.
            Some(b"desc") => tag.get(12..).unwrap_or_default().iter().map(|&c| c as char).collect(),
            // v4: UTF-16BE records; reading every other byte is enough for ASCII names.
            Some(b"mluc") => {
                tag.get(16..).unwrap_or_default().iter().skip(1).step_by(2).map(|&c| c as char).collect()
            }
            _ => String::new(),
        };
        return text.contains("sRGB");
    }
    false
}

/// IHDR for size and colour type, then a chunk walk (length jumps only) for tRNS and eXIf.
fn probe_png(b: &[u8], info: &mut SourceInfo) -> Result<()> {
    let bad = || Error::unsupported_source("invalid PNG header");
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
    };
    if b.get(12..16) != Some(b"IHDR") {
        return Err(bad());
    }
    info.width = be32(16).ok_or_else(bad)?;
    info.height = be32(20).ok_or_else(bad)?;
    let colour_type = *b.get(25).ok_or_else(bad)?;
    // Colour types 4 (grey+alpha) and 6 (RGBA) carry alpha; tRNS adds it to the others.
    info.has_alpha = matches!(colour_type, 4 | 6);
    let mut pos = 8usize;
    while let (Some(len), Some(kind)) = (be32(pos), b.get(pos + 4..pos + 8)) {
        let start = pos + 8;
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            break;
        };
        match kind {
            b"tRNS" => info.has_alpha = true,
            b"eXIf" => {
                if let Some(p) = b.get(start..end) {
                    info.orientation = tiff_orientation(exif_tiff(p));
                }
            }
            b"IEND" => break,
            _ => {}
        }
        // Payload, then the 4-byte CRC.
        let Some(next) = end.checked_add(4) else {
            break;
        };
        pos = next;
    }
    Ok(())
}

/// BMP and TIFF: the image crate reads only the header (and the BMP palette) here.
fn probe_with_image_crate(b: &[u8], info: &mut SourceInfo) -> Result<()> {
    use image::ImageDecoder;
    let fmt = match info.format {
        Format::Bmp => image::ImageFormat::Bmp,
        _ => image::ImageFormat::Tiff,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(b), fmt);
    // Declared sizes are checked by the caller's limits; the header read itself is small.
    reader.no_limits();
    let decoder = reader
        .into_decoder()
        .map_err(|_| Error::unsupported_source(format!("invalid {} header", info.format)))?;
    (info.width, info.height) = decoder.dimensions();
    info.has_alpha = decoder.color_type().has_alpha();
    if info.format == Format::Tiff {
        info.orientation = tiff_orientation(b);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
