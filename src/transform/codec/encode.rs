//! Encodes an [`Image`] into the output format: JPEG through libjpeg-turbo, lossy WebP (still or
//! animated) through libwebp, GIF through the `gif` crate, PNG/BMP/TIFF through the `image` crate.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use image::{DynamicImage, ExtendedColorType, ImageEncoder, RgbImage, RgbaImage};

use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::raster::Image;

/// How to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeSettings {
    pub format: Format,
    /// 1..=100; used by JPEG and WebP only.
    pub quality: u8,
    /// Progressive JPEG (`interlace,1`); other formats ignore it.
    pub progressive: bool,
    /// The ICC profile to embed (a kept source profile): JPEG APP2, PNG iCCP, WebP ICCP,
    /// AVIF/HEIC `colr`. GIF and BMP have none to carry.
    pub icc: Option<Arc<[u8]>>,
    /// `quality,auto`: the SSIMULACRA2 score the output must reach; `quality` is then only the
    /// fallback (`codec::autoq`).
    pub target: Option<u8>,
}

/// libwebp's own limit on either side.
const WEBP_MAX_SIDE: u32 = 16_383;

/// libwebp effort (0 fastest .. 6 smallest), libwebp's and cwebp's default. Measured when the
/// codecs were chosen: method 3 is no faster, method 2 is 2-3× faster but 3-17% larger at the
/// same quality, method 6 is ~2× slower for 1-3% less (`cargo bench --bench codecs` times it).
const WEBP_METHOD: i32 = 4;

/// Encodes `img` as `s.format`. Formats without animation use the first frame only.
pub fn encode(img: &Image, s: &EncodeSettings) -> Result<Vec<u8>> {
    let first = &img.frames.first().ok_or_else(|| Error::internal("image has no frames"))?.pixels;
    let quality = s.quality.clamp(1, 100);
    let icc = s.icc.as_deref();
    match s.format {
        Format::Jpeg => super::icc::embed(encode_jpeg(first, quality, s.progressive)?, Format::Jpeg, icc),
        Format::Webp => super::icc::embed(encode_webp(img, quality)?, Format::Webp, icc),
        Format::Gif => encode_gif(img),
        Format::Png => encode_png(first, icc),
        Format::Bmp => {
            let mut out = Vec::new();
            write_with(image::codecs::bmp::BmpEncoder::new(&mut out), first)?;
            Ok(out)
        }
        Format::Tiff => {
            let mut out = Cursor::new(Vec::new());
            write_with(image::codecs::tiff::TiffEncoder::new(&mut out), first)?;
            Ok(out.into_inner())
        }
        #[cfg(feature = "heif")]
        Format::Avif | Format::Heic => super::heif::encode(first, s.format, quality, icc),
        #[cfg(not(feature = "heif"))]
        Format::Avif | Format::Heic => {
            Err(Error::invalid(None, "AVIF/HEIC output is not supported by this build"))
        }
    }
}

fn internal<E>(what: &'static str) -> impl FnOnce(E) -> Error {
    move |_| Error::internal(what)
}

/// Hands RGB8 or RGBA8 pixels to an image-crate encoder; RGBA stays RGBA.
fn write_with(enc: impl ImageEncoder, px: &DynamicImage) -> Result<()> {
    let (w, h) = (px.width(), px.height());
    let res = match px {
        DynamicImage::ImageRgb8(b) => enc.write_image(b.as_raw(), w, h, ExtendedColorType::Rgb8),
        DynamicImage::ImageRgba8(b) => enc.write_image(b.as_raw(), w, h, ExtendedColorType::Rgba8),
        other if other.color().has_alpha() => {
            enc.write_image(other.to_rgba8().as_raw(), w, h, ExtendedColorType::Rgba8)
        }
        other => enc.write_image(other.to_rgb8().as_raw(), w, h, ExtendedColorType::Rgb8),
    };
    res.map_err(internal("image encoder failed"))
}

/// PNG at deflate level 2 with adaptive filtering. Measured on the 400×267 example photo: level 2 takes 5.7 ms for 169 KB, `Default` 27 ms for 162 KB,
/// `Fast` 1.8 ms for 176 KB; but on graphics `Fast` is up to 1.8× larger (blackbug.png: 94 KB
/// against 53 KB at level 2 and 51 KB at `Default`), so level 2 is the balance.
fn encode_png(px: &DynamicImage, icc: Option<&[u8]>) -> Result<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    let mut enc = PngEncoder::new_with_quality(&mut out, CompressionType::Level(2), FilterType::Adaptive);
    if let Some(p) = icc {
        enc.set_icc_profile(p.to_vec()).map_err(internal("PNG profile"))?;
    }
    write_with(enc, px)?;
    Ok(out)
}

/// Composites RGBA over white (JPEG has no alpha), rounding to nearest.
fn flatten_on_white(rgba: &RgbaImage) -> RgbImage {
    let mut out = Vec::with_capacity(rgba.as_raw().len() / 4 * 3);
    for p in rgba.as_raw().chunks_exact(4) {
        let a = u32::from(p[3]);
        for &c in &p[..3] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(rgba.width(), rgba.height(), out).unwrap_or_default()
}

fn as_rgb(px: &DynamicImage) -> Cow<'_, RgbImage> {
    match px {
        DynamicImage::ImageRgb8(b) => Cow::Borrowed(b),
        DynamicImage::ImageRgba8(b) => Cow::Owned(flatten_on_white(b)),
        other if other.color().has_alpha() => Cow::Owned(flatten_on_white(&other.to_rgba8())),
        other => Cow::Owned(other.to_rgb8()),
    }
}

/// libjpeg-turbo's compressor as imgedge encodes JPEG: 4:2:0, Huffman tables optimised for the
/// image (as sharp's default `optimiseCoding`; docs/benchmarks.md has what it costs and saves).
pub(crate) fn jpeg_compressor(quality: u8, progressive: bool) -> Result<turbojpeg::Compressor> {
    let mut c = turbojpeg::Compressor::new().map_err(internal("cannot start JPEG encoder"))?;
    c.set_quality(i32::from(quality)).map_err(internal("JPEG quality"))?;
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(internal("JPEG subsampling"))?;
    c.set_progressive(progressive).map_err(internal("JPEG progressive"))?;
    c.set_optimize(OPTIMIZE_HUFFMAN).map_err(internal("JPEG Huffman tables"))?;
    Ok(c)
}

/// Whether JPEG Huffman tables are made for each image (one more pass over the coefficients).
const OPTIMIZE_HUFFMAN: bool = true;

fn encode_jpeg(px: &DynamicImage, quality: u8, progressive: bool) -> Result<Vec<u8>> {
    use turbojpeg::PixelFormat;
    if px.width() > 65_535 || px.height() > 65_535 {
        return Err(Error::too_large(None, "Maximum width and height allowed is 65535 pixels for JPEG"));
    }
    let rgb = as_rgb(px);
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let fail = internal("JPEG encoder failed");
    let mut c = jpeg_compressor(quality, progressive)?;
    let img = turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: PixelFormat::RGB,
    };
    c.compress_to_vec(img).map_err(fail)
}

pub(crate) fn webp_config(quality: u8) -> Result<webp::WebPConfig> {
    let mut config = webp::WebPConfig::new().map_err(internal("WebP config"))?;
    config.lossless = 0;
    config.quality = f32::from(quality);
    config.method = WEBP_METHOD;
    Ok(config)
}

/// The pixels as (bytes, has_alpha) in the layout libwebp imports.
fn webp_pixels(px: &DynamicImage) -> (Cow<'_, [u8]>, bool) {
    match px {
        DynamicImage::ImageRgb8(b) => (Cow::Borrowed(b.as_raw().as_slice()), false),
        DynamicImage::ImageRgba8(b) => (Cow::Borrowed(b.as_raw().as_slice()), true),
        other if other.color().has_alpha() => (Cow::Owned(other.to_rgba8().into_raw()), true),
        other => (Cow::Owned(other.to_rgb8().into_raw()), false),
    }
}

fn encode_webp(img: &Image, quality: u8) -> Result<Vec<u8>> {
    let (w, h) = (img.width(), img.height());
    if w > WEBP_MAX_SIDE || h > WEBP_MAX_SIDE {
        return Err(Error::too_large(
            None,
            "Maximum width and height allowed is 16383 pixels for converting webp",
        ));
    }
    let config = webp_config(quality)?;
    // libwebp reads width × height × bpp bytes from each buffer, whatever the slice says.
    for f in &img.frames {
        if (f.pixels.width(), f.pixels.height()) != (w, h) {
            return Err(Error::internal("frames differ in size"));
        }
    }
    if img.frames.len() == 1 {
        let (px, alpha) = webp_pixels(&img.frames[0].pixels);
        let layout = if alpha { webp::PixelLayout::Rgba } else { webp::PixelLayout::Rgb };
        let mem = webp::Encoder::new(&px, layout, w, h)
            .encode_advanced(&config)
            .map_err(internal("WebP encoder failed"))?;
        return Ok(mem.to_vec());
    }
    // webp 0.3.1 ends the animation with a frame at timestamp 0, which libwebp rejects unless
    // it is exactly the end time; so the timeline is laid out to end at 0 (libwebp computes
    // durations with wrapping arithmetic). Each duration stays below libwebp's 2^24 ms cap.
    let delays: Vec<i64> = img.frames.iter().map(|f| i64::from(f.delay_ms.min((1 << 24) - 1))).collect();
    let total: i64 = delays.iter().sum();
    let mut t = i32::try_from(-total).map_err(internal("animation too long"))?;
    let pixels: Vec<(Cow<'_, [u8]>, bool)> = img.frames.iter().map(|f| webp_pixels(&f.pixels)).collect();
    let mut enc = webp::AnimEncoder::new(w, h, &config);
    enc.set_loop_count(i32::from(img.loop_count));
    for ((px, alpha), d) in pixels.iter().zip(&delays) {
        let frame = if *alpha {
            webp::AnimFrame::from_rgba(px, w, h, t)
        } else {
            webp::AnimFrame::from_rgb(px, w, h, t)
        };
        enc.add_frame(frame);
        t += *d as i32;
    }
    let mut out = enc.try_encode().map_err(internal("WebP animation encoder failed"))?.to_vec();
    // libwebp crops each frame to its changed rectangle and leaves the alpha flag unset when
    // no cropped frame needs alpha, although uncovered canvas is transparent; decoders that
    // trust the flag would then drop transparency. Set it whenever the input had any.
    let transparent = img.frames.iter().any(|f| match &f.pixels {
        DynamicImage::ImageRgba8(b) => b.as_raw().chunks_exact(4).any(|p| p[3] < 255),
        _ => false,
    });
    if transparent && out.get(12..16) == Some(b"VP8X") {
        if let Some(flags) = out.get_mut(20) {
            *flags |= 0x10;
        }
    }
    Ok(out)
}

/// GIF: one global colour table for the whole animation ([`palette::Palette`]: the exact colours
/// when there are few enough, else one NeuQuant run over pixels sampled across all frames), and
/// every frame a full canvas of indices into it, disposed to background so that transparent
/// pixels stay transparent in the next frame. Alpha is cut at 50%; when any frame has transparent
/// pixels the last index is reserved for them.
///
/// One table instead of a NeuQuant run and a 768-byte local table per frame (what
/// `gif::Frame::from_rgba_speed` does): the quantiser ran once per frame and dominated the time,
/// the local tables were half the size of a small animation, and colours no longer flicker from
/// frame to frame with the palette.
fn encode_gif(img: &Image) -> Result<Vec<u8>> {
    let (w, h) = (img.width(), img.height());
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(Error::too_large(None, "Maximum width and height allowed is 65535 pixels for GIF"));
    };
    if img.frames.iter().any(|f| (f.pixels.width(), f.pixels.height()) != (w, h)) {
        return Err(Error::internal("frames differ in size"));
    }
    let frames: Vec<_> = img.frames.iter().map(|f| palette::pixel_bytes(&f.pixels)).collect();
    let mut pal = palette::Palette::build(&frames);
    let fail = internal("GIF encoder failed");
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w16, h16, &pal.rgb).map_err(fail)?;
        if img.frames.len() > 1 {
            // Image counts total plays (0 = forever); NETSCAPE counts repeats after the first,
            // and a single play is written as no loop extension at all.
            match img.loop_count {
                0 => enc.set_repeat(gif::Repeat::Infinite).map_err(internal("GIF repeat"))?,
                1 => {}
                n => enc.set_repeat(gif::Repeat::Finite(n - 1)).map_err(internal("GIF repeat"))?,
            }
        }
        let mut indices = Vec::new();
        for (f, (bytes, ch)) in img.frames.iter().zip(&frames) {
            pal.map_frame(bytes, *ch, &mut indices);
            let mut frame = gif::Frame {
                width: w16,
                height: h16,
                buffer: Cow::Borrowed(&indices),
                transparent: pal.transparent,
                ..gif::Frame::default()
            };
            frame.delay = u16::try_from(f.delay_ms.saturating_add(5) / 10).unwrap_or(u16::MAX);
            frame.dispose = gif::DisposalMethod::Background;
            enc.write_frame(&frame).map_err(internal("GIF encoder failed"))?;
        }
    }
    Ok(out)
}

mod palette;

#[cfg(test)]
mod tests;
