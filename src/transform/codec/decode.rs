//! Decodes source bytes into an [`Image`] of RGB8/RGBA8 frames: JPEG through libjpeg-turbo (with
//! DCT-domain downscaling), GIF through the `gif` crate with our own compositing, the rest through
//! the `image` crate. EXIF orientation is not applied here; the pipeline does that.

use std::io::Cursor;

use image::{AnimationDecoder, DynamicImage, RgbImage, RgbaImage};

use super::icc::{self, Space, ToSrgb};
use super::probe::{Icc, SourceInfo};
use crate::transform::env::Stop;
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::raster::{normalize, Frame, Image};

/// How to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// 1, 2, 4 or 8: decode a JPEG at 1/denom size (rounded up) through DCT scaling. Other
    /// formats, lossless JPEG and CMYK JPEG ignore it and decode at full size.
    pub jpeg_scale_denom: u8,
    /// Animated input: decode only the first frame.
    pub first_frame_only: bool,
    /// Byte budget for the decoded frames and decoder buffers.
    pub max_alloc: u64,
    /// Keep the numbers as they are in the source's colour space (the profile travels with
    /// the output) instead of converting them to sRGB with the source's profile.
    pub keep_profile: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            jpeg_scale_denom: 1,
            first_frame_only: false,
            max_alloc: 1 << 30,
            keep_profile: false,
        }
    }
}

/// Largest side the `image` crate decoders accept: generous, but finite so that a lying header
/// fails in the decoder's own check rather than in an allocation.
const MAX_DECODER_SIDE: u32 = 65_535;

/// Progressive JPEG scans allowed (libjpeg-turbo's TJPARAM_SCANLIMIT). Real encoders write ≤ 20;
/// a crafted file with thousands of tiny scans would otherwise cost minutes of CPU.
pub(super) const JPEG_SCAN_LIMIT: u32 = 500;

/// What to do with each decoded frame before the next is decoded.
pub type EachFrame<'a> = &'a mut dyn FnMut(DynamicImage) -> Result<DynamicImage>;

/// Decodes `bytes`, whose header `probe` has read into `info`.
pub fn decode(bytes: &[u8], info: &SourceInfo, opts: &DecodeOptions) -> Result<Image> {
    decode_each(bytes, info, opts, &Stop::never(), &mut Ok)
}

/// Decodes `bytes` and passes every frame through `each` as soon as it is decoded, keeping only
/// what `each` returns: an animation is resized (or otherwise transformed) frame by frame, so
/// its full-size frames never all sit in memory at once. `stop` ends a decode that runs in a
/// child process (AVIF/HEIC); the others end at the next frame's check in `each`.
pub fn decode_each(
    bytes: &[u8],
    info: &SourceInfo,
    opts: &DecodeOptions,
    stop: &Stop,
    each: EachFrame<'_>,
) -> Result<Image> {
    // A tagged source is converted to sRGB frame by frame, before any pixel work.
    let to_srgb = match (opts.keep_profile, info.format, info.icc) {
        (true, _, _) | (_, Format::Jpeg, Icc::None) | (_, Format::Gif | Format::Bmp, _) => None,
        _ => icc::extract(bytes, info.format).and_then(|p| ToSrgb::new(&p)),
    };
    let each: EachFrame<'_> = &mut |f| match &to_srgb {
        Some(t) => each(t.apply(f)?),
        None => each(f),
    };
    let img = match info.format {
        Format::Jpeg => decode_jpeg(bytes, opts, to_srgb.as_ref())?.map_still(each)?,
        Format::Gif => decode_gif(bytes, info, opts, each)?,
        Format::Webp => decode_webp(bytes, info, opts, each)?,
        Format::Tiff => match super::fax::decode_g3_tiff(bytes, opts.max_alloc) {
            Some(img) => Image::still(img?),
            None => Image::still(decode_with_image_crate(bytes, info.format, opts.max_alloc)?),
        }
        .map_still(each)?,
        Format::Png | Format::Bmp => {
            Image::still(decode_with_image_crate(bytes, info.format, opts.max_alloc)?).map_still(each)?
        }
        Format::Avif | Format::Heic => {
            Image::still(decode_heif(bytes, info.format, opts.max_alloc, stop)?).map_still(each)?
        }
    };
    debug_assert!(img
        .frames
        .iter()
        .all(|f| matches!(f.pixels, DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_))));
    Ok(img)
}

#[cfg(feature = "heif")]
fn decode_heif(bytes: &[u8], format: Format, max_alloc: u64, stop: &Stop) -> Result<DynamicImage> {
    super::heif::decode(bytes, max_alloc, stop).map_err(|e| super::heif::as_corrupt(e, format))
}

#[cfg(not(feature = "heif"))]
fn decode_heif(_: &[u8], _: Format, _: u64, _: &Stop) -> Result<DynamicImage> {
    Err(Error::unsupported_source("AVIF/HEIC sources are not supported by this build"))
}

fn budget_error() -> Error {
    Error::too_large(None, "image exceeds the decoder memory budget")
}

/// Fails unless `bytes` fits the budget.
fn check_budget(bytes: u128, max_alloc: u64) -> Result<()> {
    if bytes > u128::from(max_alloc) {
        return Err(budget_error());
    }
    Ok(())
}

fn map_image_err(e: image::ImageError, what: &'static str) -> Error {
    match e {
        image::ImageError::Limits(_) => budget_error(),
        _ => Error::unsupported_source(what),
    }
}

fn decode_jpeg(bytes: &[u8], opts: &DecodeOptions, to_srgb: Option<&ToSrgb>) -> Result<Image> {
    use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor};

    let denom = match opts.jpeg_scale_denom {
        d @ (1 | 2 | 4 | 8) => usize::from(d),
        _ => return Err(Error::internal("unsupported JPEG scale denominator")),
    };
    let bad = |_| Error::unsupported_source("cannot decode JPEG");
    let mut d = Decompressor::new().map_err(|_| Error::internal("cannot start JPEG decoder"))?;
    let header = d.read_header(bytes).map_err(bad)?;
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return match to_srgb.filter(|t| t.space == Space::Cmyk) {
            // With its profile: the ink values, converted to sRGB by the profile.
            Some(t) => decode_cmyk(&mut d, bytes, &header, t, opts.max_alloc).map(Image::still),
            // libjpeg-turbo cannot convert CMYK to RGB; the image crate's decoder can (naively).
            None => decode_with_image_crate(bytes, Format::Jpeg, opts.max_alloc).map(Image::still),
        };
    }
    // DCT scaling does not apply to lossless JPEG.
    let factor = if header.is_lossless { ScalingFactor::ONE } else { ScalingFactor::new(1, denom) };
    d.set_scaling_factor(factor).map_err(bad)?;
    d.set_scan_limit(JPEG_SCAN_LIMIT).map_err(bad)?;
    let scaled = header.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    check_budget(w as u128 * h as u128 * 3, opts.max_alloc)?;
    let mut pixels = vec![0u8; w * h * 3];
    let out = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: PixelFormat::RGB,
    };
    decompress(&mut d, bytes, out)?;
    let (w, h) = (u32::try_from(w).map_err(bad_size)?, u32::try_from(h).map_err(bad_size)?);
    let buf = RgbImage::from_raw(w, h, pixels).ok_or_else(|| Error::internal("JPEG buffer size"))?;
    Ok(Image::still(DynamicImage::ImageRgb8(buf)))
}

/// A CMYK (or YCCK) JPEG's ink values through its CMYK profile. Adobe's writers (an APP14
/// `Adobe` segment) store them inverted, as every reader assumes.
fn decode_cmyk(
    d: &mut turbojpeg::Decompressor,
    bytes: &[u8],
    header: &turbojpeg::DecompressHeader,
    to_srgb: &ToSrgb,
    max_alloc: u64,
) -> Result<DynamicImage> {
    let (w, h) = (header.width, header.height);
    // The ink values, then the RGB result.
    check_budget(w as u128 * h as u128 * 7, max_alloc)?;
    let mut cmyk = vec![0u8; w * h * 4];
    let out = turbojpeg::Image {
        pixels: cmyk.as_mut_slice(),
        width: w,
        pitch: w * 4,
        height: h,
        format: turbojpeg::PixelFormat::CMYK,
    };
    d.set_scan_limit(JPEG_SCAN_LIMIT).map_err(|_| Error::unsupported_source("cannot decode JPEG"))?;
    decompress(d, bytes, out)?;
    let adobe = super::scan::jpeg_segments(bytes).any(|(m, p)| m == 0xEE && p.starts_with(b"Adobe"));
    let (w, h) = (u32::try_from(w).map_err(bad_size)?, u32::try_from(h).map_err(bad_size)?);
    Ok(DynamicImage::ImageRgb8(to_srgb.cmyk(&mut cmyk, adobe, w, h)?))
}

/// Decompresses into `out`. tj3Decompress8 returns -1 on warnings too ("Premature end of JPEG
/// file", corrupt data), so a truncated or damaged file is an error rather than a grey-padded
/// picture, except for the warnings that lose no pixel ([`is_harmless_warning`]).
fn decompress(d: &mut turbojpeg::Decompressor, bytes: &[u8], out: turbojpeg::Image<&mut [u8]>) -> Result<()> {
    match d.decompress(bytes, out) {
        Ok(()) => Ok(()),
        Err(turbojpeg::Error::TurboJpegError(msg)) if is_harmless_warning(&msg) => Ok(()),
        Err(_) => Err(Error::unsupported_source("cannot decode JPEG")),
    }
}

/// libjpeg warnings after which the decoded picture is complete and correct.
pub(super) fn is_harmless_warning(msg: &str) -> bool {
    msg.contains("extraneous bytes before marker") || msg.contains("unknown JFIF revision")
}

fn bad_size<E>(_: E) -> Error {
    Error::unsupported_source("image size out of range")
}

/// PNG, BMP, TIFF (and CMYK JPEG): the image crate with an allocation budget.
fn decode_with_image_crate(bytes: &[u8], format: Format, max_alloc: u64) -> Result<DynamicImage> {
    let (fmt, what) = match format {
        Format::Png => (image::ImageFormat::Png, "cannot decode PNG"),
        Format::Bmp => (image::ImageFormat::Bmp, "cannot decode BMP"),
        Format::Tiff => (image::ImageFormat::Tiff, "cannot decode TIFF"),
        Format::Jpeg => (image::ImageFormat::Jpeg, "cannot decode JPEG"),
        Format::Webp => (image::ImageFormat::WebP, "cannot decode WebP"),
        Format::Gif => (image::ImageFormat::Gif, "cannot decode GIF"),
        Format::Avif | Format::Heic => return decode_heif(bytes, format, max_alloc, &Stop::never()),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODER_SIDE);
    limits.max_image_height = Some(MAX_DECODER_SIDE);
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| map_image_err(e, what))?;
    Ok(normalize(img))
}

/// Loop count in the [`Image`] convention: total plays, 0 = forever. GIF's NETSCAPE field counts
/// repetitions after the first play (browsers play n+1 times) and its absence means play once.
fn gif_loop_count(r: gif::Repeat) -> u16 {
    match r {
        gif::Repeat::Infinite => 0,
        gif::Repeat::Finite(n) => n.saturating_add(1),
    }
}

/// GIF with compositing per the spec (disposal of the previous frame, transparent pixels keep
/// what is below). The canvas is the probed extent, so frames outside the logical screen are
/// shown rather than clipped, and every output frame is a full RGBA canvas.
fn decode_gif(bytes: &[u8], info: &SourceInfo, opts: &DecodeOptions, each: EachFrame<'_>) -> Result<Image> {
    let bad = |_| Error::unsupported_source("cannot decode GIF");
    let mut o = gif::DecodeOptions::new();
    o.set_color_output(gif::ColorOutput::RGBA);
    if let Some(limit) = std::num::NonZeroU64::new(opts.max_alloc) {
        o.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut dec = o.read_info(bytes).map_err(bad)?;
    let cw = info.width.max(u32::from(dec.width())) as usize;
    let ch = info.height.max(u32::from(dec.height())) as usize;
    let canvas_bytes = cw as u128 * ch as u128 * 4;
    // The working canvas plus the first output frame.
    check_budget(canvas_bytes * 2, opts.max_alloc)?;
    let mut canvas = vec![0u8; cw * ch * 4];
    let mut saved: Option<Vec<u8>> = None;
    // (disposal, rect) of the previous frame, applied before drawing the next one.
    let mut pending: Option<(gif::DisposalMethod, [usize; 4])> = None;
    let mut frames: Vec<Frame> = Vec::new();
    // Bytes of the frames kept so far (after `each`).
    let mut kept: u128 = 0;
    loop {
        let frame = match dec.read_next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // Like browsers, a damaged later frame ends the animation; a damaged first one fails.
            Err(e) if frames.is_empty() => return Err(bad(e)),
            Err(_) => break,
        };
        check_budget(canvas_bytes * 2 + kept, opts.max_alloc)?;
        match pending.take() {
            Some((gif::DisposalMethod::Background, r)) => clear_rect(&mut canvas, cw, r),
            Some((gif::DisposalMethod::Previous, _)) => {
                if let Some(s) = saved.take() {
                    canvas = s;
                }
            }
            _ => {}
        }
        let (fl, ft) = (usize::from(frame.left), usize::from(frame.top));
        let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
        let rect = [fl, ft, (fl + fw).min(cw), (ft + fh).min(ch)];
        if frame.dispose == gif::DisposalMethod::Previous {
            saved = Some(canvas.clone());
        }
        draw(&mut canvas, cw, rect, &frame.buffer, fw);
        pending = Some((frame.dispose, rect));
        let delay_ms = u32::from(frame.delay) * 10;
        let buf = RgbaImage::from_raw(cw as u32, ch as u32, canvas.clone())
            .ok_or_else(|| Error::internal("GIF canvas size"))?;
        let pixels = normalize(each(DynamicImage::ImageRgba8(buf))?);
        kept += pixels.as_bytes().len() as u128;
        frames.push(Frame { pixels, delay_ms });
        if opts.first_frame_only {
            break;
        }
    }
    if frames.is_empty() {
        return Err(Error::unsupported_source("GIF has no frames"));
    }
    if frames.len() == 1 {
        frames[0].delay_ms = 0;
    }
    Ok(Image { frames, loop_count: gif_loop_count(dec.repeat()) })
}

/// Clears `[left, top, right, bottom)` to transparent black.
fn clear_rect(canvas: &mut [u8], cw: usize, [l, t, r, b]: [usize; 4]) {
    for y in t..b {
        if let Some(row) = canvas.get_mut((y * cw + l) * 4..(y * cw + r.max(l)) * 4) {
            row.fill(0);
        }
    }
}

/// Draws a frame's RGBA pixels (`fw` wide) over the canvas inside `rect`; pixels with alpha 0
/// (the transparent index) leave the canvas as it is.
fn draw(canvas: &mut [u8], cw: usize, [l, t, r, b]: [usize; 4], src: &[u8], fw: usize) {
    for y in t..b {
        let Some(dst) = canvas.get_mut((y * cw + l) * 4..(y * cw + r.max(l)) * 4) else {
            break;
        };
        let Some(row) = src.get((y - t) * fw * 4..) else {
            break;
        };
        for (d, s) in dst.chunks_exact_mut(4).zip(row.chunks_exact(4)) {
            if s[3] != 0 {
                d.copy_from_slice(s);
            }
        }
    }
}

fn decode_webp(bytes: &[u8], info: &SourceInfo, opts: &DecodeOptions, each: EachFrame<'_>) -> Result<Image> {
    // An animation flag with a single ANMF frame still needs the animation path.
    let animated = super::scan::scan_webp(bytes).is_some_and(|s| s.animated);
    if !animated {
        return Image::still(decode_with_image_crate(bytes, Format::Webp, opts.max_alloc)?).map_still(each);
    }
    let bad = |_| Error::unsupported_source("cannot decode WebP");
    let dec = image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(bad)?;
    let (w, h) = image::ImageDecoder::dimensions(&dec);
    let per_frame = u128::from(w) * u128::from(h) * 4;
    let loop_count = match dec.loop_count() {
        image::metadata::LoopCount::Infinite => 0,
        image::metadata::LoopCount::Finite(n) => u16::try_from(n.get()).unwrap_or(u16::MAX),
    };
    let mut frames = Vec::new();
    let mut kept: u128 = 0;
    for f in dec.into_frames() {
        check_budget(per_frame * 2 + kept, opts.max_alloc)?;
        let f = f.map_err(|e| map_image_err(e, "cannot decode WebP"))?;
        let (num, den) = f.delay().numer_denom_ms();
        let delay_ms = num.checked_div(den).unwrap_or(0);
        let rgba = f.into_buffer();
        // The frame iterator always yields RGBA; keep opaque animations as RGB.
        let pixels = if info.has_alpha {
            DynamicImage::ImageRgba8(rgba)
        } else {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8())
        };
        let pixels = normalize(each(pixels)?);
        kept += pixels.as_bytes().len() as u128;
        frames.push(Frame { pixels, delay_ms });
        if opts.first_frame_only {
            break;
        }
    }
    if frames.is_empty() {
        return Err(Error::unsupported_source("WebP has no frames"));
    }
    if frames.len() == 1 {
        frames[0].delay_ms = 0;
    }
    Ok(Image { frames, loop_count })
}

#[cfg(test)]
mod tests;
