//! Colour profiles: a source's embedded ICC profile, read from its header, and the conversion of
//! its decoded pixels to sRGB with that profile (moxcms, perceptual intent) before any pixel
//! work, so that a photo tagged Display P3 or Adobe RGB keeps its colours in a browser that
//! assumes sRGB. Untagged and sRGB-tagged sources pass untouched; a profile that cannot be read
//! is ignored, as browsers ignore it.

use std::io::Cursor;
use std::sync::Arc;

use image::{DynamicImage, ImageDecoder, RgbImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, Transform8BitExecutor, TransformOptions};

use super::scan::jpeg_segments;
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;

/// The largest embedded profile read: real ones are under 1 MB (a CMYK press profile with its
/// lookup tables); more is an attack on the parser.
pub const MAX_PROFILE: usize = 4 << 20;

/// Pixels converted per call: bounds the scratch buffer to a few hundred KiB.
const CHUNK: usize = 64 * 1024;

/// The embedded ICC profile of a source, if it has one (JPEG APP2, PNG iCCP, WebP ICCP, TIFF
/// tag 34675). AVIF and HEIC carry theirs in a `colr` box, read with the rest of their boxes.
pub fn extract(bytes: &[u8], format: Format) -> Option<Vec<u8>> {
    if !may_have_profile(bytes, format) {
        return None;
    }
    let profile = match format {
        Format::Jpeg => jpeg(bytes),
        Format::Png => image::codecs::png::PngDecoder::new(Cursor::new(bytes)).ok()?.icc_profile().ok()?,
        Format::Webp => image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).ok()?.icc_profile().ok()?,
        Format::Tiff => image::codecs::tiff::TiffDecoder::new(Cursor::new(bytes)).ok()?.icc_profile().ok()?,
        #[cfg(feature = "heif")]
        Format::Avif | Format::Heic => super::heif_boxes::icc(bytes),
        _ => None,
    };
    profile.filter(|p| p.len() <= MAX_PROFILE && p.len() >= 132)
}

/// A cheap look, before any decoder is built, on the formats whose headers say it: a WebP
/// with a profile has VP8X with the ICC flag, a PNG an iCCP chunk before its first IDAT. Most
/// sources have none, and every processed request asks.
fn may_have_profile(b: &[u8], format: Format) -> bool {
    match format {
        Format::Webp => b.get(12..16) == Some(b"VP8X") && b.get(20).is_some_and(|f| f & 0x20 != 0),
        Format::Png => {
            let mut at = 8;
            while let Some(head) = b.get(at..at + 8) {
                match &head[4..8] {
                    b"iCCP" => return true,
                    b"IDAT" => return false,
                    _ => {}
                }
                at += 12 + u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            }
            false
        }
        _ => true,
    }
}

/// JPEG's APP2 `ICC_PROFILE` chunks, joined in their sequence order.
fn jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = jpeg_segments(b)
        .filter(|(m, p)| *m == 0xE2 && p.starts_with(b"ICC_PROFILE\0"))
        .filter_map(|(_, p)| Some((*p.get(12)?, p.get(14..)?)))
        .collect();
    if chunks.is_empty() || chunks.iter().map(|c| c.1.len()).sum::<usize>() > MAX_PROFILE {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    // Sequence numbers 1..=n, each once: two profiles in one file, or a missing chunk, make no
    // profile (which one would be meant?), so the file is read as untagged.
    if !chunks.iter().enumerate().all(|(i, c)| usize::from(c.0) == i + 1) {
        return None;
    }
    Some(chunks.iter().flat_map(|c| c.1.iter().copied()).collect())
}

/// What a source's profile says its numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Rgb,
    Gray,
    Cmyk,
}

/// The conversion of one source's pixels to sRGB.
pub struct ToSrgb {
    profile: ColorProfile,
    pub space: Space,
}

impl ToSrgb {
    /// The conversion `profile` asks for: `None` for sRGB itself, for a profile that cannot be
    /// read, and for colour spaces a decoded image cannot be in (Lab, XYZ, n-ink).
    pub fn new(profile: &[u8]) -> Option<ToSrgb> {
        let p = ColorProfile::new_from_slice(profile).ok()?;
        let space = match p.color_space {
            DataColorSpace::Rgb if super::probe::describes_srgb(profile) => return None,
            DataColorSpace::Rgb => Space::Rgb,
            DataColorSpace::Gray => Space::Gray,
            DataColorSpace::Cmyk => Space::Cmyk,
            _ => return None,
        };
        Some(ToSrgb { profile: p, space })
    }

    fn transform(&self, from: Layout, to: Layout) -> Result<Arc<Transform8BitExecutor>> {
        let srgb = ColorProfile::new_srgb();
        self.profile
            .create_transform_8bit(from, &srgb, to, TransformOptions::default())
            .map_err(|_| Error::unsupported_source("the image's colour profile cannot be applied"))
    }

    /// `img` (RGB8 or RGBA8, as decoded) in sRGB. A grey profile reads the first channel; a
    /// CMYK one is applied where the CMYK samples are decoded ([`ToSrgb::cmyk`]), so RGB pixels
    /// with it pass through.
    pub fn apply(&self, mut img: DynamicImage) -> Result<DynamicImage> {
        let (px, channels): (&mut [u8], usize) = match &mut img {
            DynamicImage::ImageRgb8(b) => (b, 3),
            DynamicImage::ImageRgba8(b) => (b, 4),
            _ => return Ok(img),
        };
        match self.space {
            Space::Rgb => {
                let layout = if channels == 4 { Layout::Rgba } else { Layout::Rgb };
                in_place(&*self.transform(layout, layout)?, px, channels)?
            }
            Space::Gray => grey_in_place(&*self.transform(Layout::Gray, Layout::Rgb)?, px, channels)?,
            Space::Cmyk => {}
        }
        Ok(img)
    }

    /// CMYK samples (`inverted`: Adobe's convention, 255 = no ink, as Photoshop writes JPEGs)
    /// to an sRGB image of `w`×`h`.
    pub fn cmyk(&self, cmyk: &mut [u8], inverted: bool, w: u32, h: u32) -> Result<RgbImage> {
        if inverted {
            cmyk.iter_mut().for_each(|v| *v = 255 - *v);
        }
        // moxcms reads 8-bit CMYK in the RGBA layout.
        let t = self.transform(Layout::Rgba, Layout::Rgb)?;
        let mut out = vec![0u8; cmyk.len() / 4 * 3];
        for (src, dst) in cmyk.chunks(CHUNK * 4).zip(out.chunks_mut(CHUNK * 3)) {
            t.transform(src, dst).map_err(|_| Error::internal("colour conversion failed"))?;
        }
        RgbImage::from_raw(w, h, out).ok_or_else(|| Error::internal("CMYK buffer size"))
    }
}

/// Converts interleaved pixels of `channels` bytes in place, a chunk at a time.
fn in_place(t: &Transform8BitExecutor, px: &mut [u8], channels: usize) -> Result<()> {
    let mut scratch = vec![0u8; CHUNK * channels];
    for chunk in px.chunks_mut(CHUNK * channels) {
        let out = &mut scratch[..chunk.len()];
        t.transform(chunk, out).map_err(|_| Error::internal("colour conversion failed"))?;
        chunk.copy_from_slice(out);
    }
    Ok(())
}

/// Grey pixels held as RGB(A) with equal channels, converted through a grey profile.
fn grey_in_place(t: &Transform8BitExecutor, px: &mut [u8], channels: usize) -> Result<()> {
    let (mut grey, mut rgb) = (vec![0u8; CHUNK], vec![0u8; CHUNK * 3]);
    for chunk in px.chunks_mut(CHUNK * channels) {
        let n = chunk.len() / channels;
        for (g, p) in grey.iter_mut().zip(chunk.chunks_exact(channels)) {
            *g = p[0];
        }
        t.transform(&grey[..n], &mut rgb[..n * 3])
            .map_err(|_| Error::internal("colour conversion failed"))?;
        for (p, c) in chunk.chunks_exact_mut(channels).zip(rgb.chunks_exact(3)) {
            p[..3].copy_from_slice(c);
        }
    }
    Ok(())
}

/// `encoded` (JPEG or WebP, as our encoders write them) with `profile` embedded: JPEG's APP2
/// `ICC_PROFILE` segments after SOI and JFIF's APP0, WebP's `ICCP` chunk through libwebp's mux
/// (which writes the extended header). Other formats embed it in their encoders.
pub fn embed(encoded: Vec<u8>, format: Format, profile: Option<&[u8]>) -> Result<Vec<u8>> {
    let Some(profile) = profile else { return Ok(encoded) };
    match format {
        Format::Jpeg => jpeg_with(encoded, profile),
        Format::Webp => webp_with(&encoded, profile),
        _ => Ok(encoded),
    }
}

/// Bytes of profile per APP2 segment: 65 535 less the length field and the 14-byte header.
const APP2_DATA: usize = 65_519;

fn jpeg_with(jpeg: Vec<u8>, profile: &[u8]) -> Result<Vec<u8>> {
    let chunks: Vec<&[u8]> = profile.chunks(APP2_DATA).collect();
    if chunks.len() > 255 || !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::internal("cannot embed the colour profile"));
    }
    // After SOI, and after a JFIF APP0 (which must come first).
    let mut at = 2;
    if jpeg.get(2..4) == Some(&[0xFF, 0xE0]) {
        let len = jpeg.get(4..6).map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        at = (4 + len).min(jpeg.len());
    }
    let mut out = Vec::with_capacity(jpeg.len() + profile.len() + chunks.len() * 18);
    out.extend_from_slice(&jpeg[..at]);
    // A profile already there is replaced, not doubled.
    let mut rest = &jpeg[at..];
    let mut kept_head = Vec::new();
    while rest.len() >= 4 && rest[0] == 0xFF && (0xE0..=0xEF).contains(&rest[1]) {
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let Some(seg) = rest.get(..2 + len) else { break };
        if !(seg[1] == 0xE2 && seg.get(4..16) == Some(b"ICC_PROFILE\0")) {
            kept_head.extend_from_slice(seg);
        }
        rest = &rest[2 + len..];
    }
    for (i, c) in chunks.iter().enumerate() {
        out.extend_from_slice(&[0xFF, 0xE2]);
        out.extend_from_slice(&((c.len() + 16) as u16).to_be_bytes());
        out.extend_from_slice(b"ICC_PROFILE\0");
        out.extend_from_slice(&[i as u8 + 1, chunks.len() as u8]);
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&kept_head);
    out.extend_from_slice(rest);
    Ok(out)
}

fn webp_with(webp: &[u8], profile: &[u8]) -> Result<Vec<u8>> {
    use libwebp_sys as w;
    let fail = || Error::internal("cannot embed the colour profile");
    struct Mux(*mut w::WebPMux);
    impl Drop for Mux {
        fn drop(&mut self) {
            // SAFETY: made by WebPMuxCreate, deleted once.
            unsafe { w::WebPMuxDelete(self.0) }
        }
    }
    let data = w::WebPData { bytes: webp.as_ptr(), size: webp.len() };
    let icc = w::WebPData { bytes: profile.as_ptr(), size: profile.len() };
    // SAFETY: the mux copies both inputs (copy_data = 1) and outlives neither; the assembled
    // bytes are copied out and freed with WebPDataClear.
    unsafe {
        let mux = Mux(w::WebPMuxCreateInternal(&data, 1, w::WEBP_MUX_ABI_VERSION as i32));
        if mux.0.is_null() {
            return Err(fail());
        }
        if w::WebPMuxSetChunk(mux.0, c"ICCP".as_ptr(), &icc, 1) != w::WebPMuxError::WEBP_MUX_OK {
            return Err(fail());
        }
        let mut out = w::WebPData { bytes: std::ptr::null(), size: 0 };
        if w::WebPMuxAssemble(mux.0, &mut out) != w::WebPMuxError::WEBP_MUX_OK || out.bytes.is_null() {
            return Err(fail());
        }
        let bytes = std::slice::from_raw_parts(out.bytes, out.size).to_vec();
        w::WebPDataClear(&mut out);
        Ok(bytes)
    }
}
