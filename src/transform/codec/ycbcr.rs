//! The YCbCr path for the commonest request: a YCbCr JPEG, resized, written as JPEG, WebP or
//! AVIF. libjpeg-turbo decodes (DCT-scaled) straight into its Y, Cb and Cr planes, each plane is
//! resampled at its own resolution, and the encoder takes the planes as they are: no chroma
//! upsampling, no conversion to RGB and back, half the samples to resample. `plan` decides
//! when it applies (`Plan::ycbcr`); everything else takes the RGB path.

use turbojpeg::{Decompressor, ScalingFactor, Subsamp, YuvImage};

use crate::transform::error::{Error, Result};
use crate::transform::ops::resize::ScaledBox;
use crate::transform::resample::resample_plane;

/// One 8-bit plane, rows packed (stride = width).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// A picture as JPEG stores it: full-range BT.601 (JFIF) Y, Cb, Cr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planes {
    /// The picture's size; the luma plane may be a column and a row larger (see [`decode`]).
    pub width: u32,
    pub height: u32,
    pub y: Plane,
    pub cb: Plane,
    pub cr: Plane,
    /// How many luma samples one chroma sample spans, across and down.
    pub sub: (u32, u32),
}

/// Decodes a YCbCr JPEG at 1/`denom` into its planes. `max_alloc` bounds the buffer.
pub fn decode(bytes: &[u8], denom: u8, max_alloc: u64) -> Result<Planes> {
    let bad = |_| Error::unsupported_source("cannot decode JPEG");
    let mut d = Decompressor::new().map_err(|_| Error::internal("cannot start JPEG decoder"))?;
    let header = d.read_header(bytes).map_err(bad)?;
    let sub = match header.subsamp {
        Subsamp::None => (1, 1),
        Subsamp::Sub2x1 => (2, 1),
        Subsamp::Sub2x2 => (2, 2),
        Subsamp::Sub1x2 => (1, 2),
        _ => return Err(Error::internal("the YCbCr path takes 4:4:4, 4:2:2, 4:2:0 and 4:4:0 only")),
    };
    let factor = ScalingFactor::new(1, usize::from(denom));
    d.set_scaling_factor(factor).map_err(bad)?;
    d.set_scan_limit(super::decode::JPEG_SCAN_LIMIT).map_err(bad)?;
    let scaled = header.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    // TurboJPEG pads the luma plane to whole chroma samples (101 columns at 4:2:0 are 102);
    // the padding is decoded picture edge, outside the box the resampler reads.
    let (sx, sy) = (sub.0 as usize, sub.1 as usize);
    let (cw, ch) = (w.div_ceil(sx), h.div_ceil(sy));
    let (yw, yh) = (cw * sx, ch * sy);
    let len = turbojpeg::yuv_pixels_len(w, 1, h, header.subsamp).map_err(bad)?;
    if len != yw * yh + 2 * cw * ch {
        return Err(Error::internal("unexpected YUV plane layout"));
    }
    if len as u64 > max_alloc {
        return Err(Error::too_large(None, "image exceeds the decoder memory budget"));
    }
    let mut buf = vec![0u8; len];
    let out = YuvImage { pixels: buf.as_mut_slice(), width: w, align: 1, height: h, subsamp: header.subsamp };
    match d.decompress_to_yuv(bytes, out) {
        Ok(()) => {}
        Err(turbojpeg::Error::TurboJpegError(msg)) if super::decode::is_harmless_warning(&msg) => {}
        Err(e) => return Err(bad(e)),
    }
    let cr = buf.split_off(yw * yh + cw * ch);
    let cb = buf.split_off(yw * yh);
    let plane =
        |width: usize, height: usize, data| Plane { width: width as u32, height: height as u32, data };
    Ok(Planes {
        width: w as u32,
        height: h as u32,
        y: plane(yw, yh, buf),
        cb: plane(cw, ch, cb),
        cr: plane(cw, ch, cr),
        sub,
    })
}

/// Resamples the planes to a `w`×`h` picture with 4:2:0 chroma, from `src_box` (the picture's
/// box in a scaled decode; `None`: the whole planes). Each chroma plane covers the same box in
/// its own units; an odd output side gets one more chroma sample, over the same picture.
pub fn resize(p: &Planes, w: u32, h: u32, src_box: Option<ScaledBox>) -> Result<Planes> {
    let luma = match src_box {
        Some(b) => b.in_decoded(),
        None => [0.0, 0.0, f64::from(p.width), f64::from(p.height)],
    };
    let (sx, sy) = (f64::from(p.sub.0), f64::from(p.sub.1));
    let chroma = [luma[0] / sx, luma[1] / sy, luma[2] / sx, luma[3] / sy];
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    Ok(Planes {
        width: w,
        height: h,
        y: resample_plane(&p.y, w, h, luma)?,
        cb: resample_plane(&p.cb, cw, ch, chroma)?,
        cr: resample_plane(&p.cr, cw, ch, chroma)?,
        sub: (2, 2),
    })
}

/// The planes of the picture as decoded, for an encoder that takes 4:2:0 at the picture's
/// size: 4:2:0 planes lose their padding, other subsamplings are resampled to it.
pub fn unpadded(p: Planes) -> Result<Planes> {
    if p.sub != (2, 2) {
        return resize(&p, p.width, p.height, None);
    }
    if (p.y.width, p.y.height) == (p.width, p.height) {
        return Ok(p);
    }
    let (w, h) = (p.width as usize, p.height as usize);
    let data = p.y.data.chunks_exact(p.y.width as usize).take(h).flat_map(|row| &row[..w]).copied().collect();
    Ok(Planes { y: Plane { width: p.width, height: p.height, data }, ..p })
}

/// JPEG from 4:2:0 planes, with the settings of the RGB path's encoder.
pub fn encode_jpeg(p: &Planes, quality: u8, progressive: bool) -> Result<Vec<u8>> {
    let fail = |_| Error::internal("JPEG encoder failed");
    let mut c = super::encode::jpeg_compressor(quality, progressive)?;
    // TurboJPEG reads the luma plane to whole chroma samples: an odd side needs its last column
    // or row once more (coded, then cut by the decoder).
    let (w, h) = (p.y.width as usize, p.y.height as usize);
    let (pw, ph) = (w.next_multiple_of(2), h.next_multiple_of(2));
    let y = match (pw, ph) == (w, h) {
        true => std::borrow::Cow::Borrowed(p.y.data.as_slice()),
        false => {
            let mut padded = Vec::with_capacity(pw * ph);
            for row in p.y.data.chunks_exact(w).chain(p.y.data.chunks_exact(w).last().filter(|_| ph > h)) {
                padded.extend_from_slice(row);
                padded.extend(row.last().filter(|_| pw > w));
            }
            std::borrow::Cow::Owned(padded)
        }
    };
    let img = turbojpeg::YuvPlanesImage {
        y_plane: &*y,
        u_plane: p.cb.data.as_slice(),
        v_plane: p.cr.data.as_slice(),
        width: p.y.width as usize,
        height: p.y.height as usize,
        y_stride: pw,
        u_stride: p.cb.width as usize,
        v_stride: p.cr.width as usize,
        subsamp: Subsamp::Sub2x2,
    };
    c.compress_yuv_planes_to_vec(&img).map_err(fail)
}

/// JPEG's full-range samples in the limited range libwebp codes (Y 16–235, Cb/Cr 16–240, the
/// range its own RGB conversion produces and its decoder expects).
fn studio_range(luma: bool) -> [u8; 256] {
    let (span, top) = if luma { (219.0, 16.0) } else { (224.0, 16.0) };
    std::array::from_fn(|v| (top + v as f64 * span / 255.0).round() as u8)
}

/// Lossy WebP from 4:2:0 planes, with the RGB path's settings.
pub fn encode_webp(p: &Planes, quality: u8) -> Result<Vec<u8>> {
    use libwebp_sys as w;
    let config = super::encode::webp_config(quality)?;
    let fail = || Error::internal("WebP encoder failed");
    // SAFETY: the picture is initialised and allocated by libwebp for width × height with
    // YUV420 planes (y_stride, uv_stride), which the copies below stay within; the writer
    // collects the output; both are freed on every path.
    unsafe {
        let mut pic: w::WebPPicture = std::mem::zeroed();
        if !w::WebPPictureInit(&mut pic) {
            return Err(fail());
        }
        pic.use_argb = 0;
        pic.colorspace = w::WebPEncCSP::WEBP_YUV420;
        pic.width = p.y.width as i32;
        pic.height = p.y.height as i32;
        if w::WebPPictureAlloc(&mut pic) == 0 {
            return Err(fail());
        }
        let copy = |dst: *mut u8, stride: i32, src: &Plane, lut: &[u8; 256]| {
            for (row, line) in src.data.chunks_exact(src.width as usize).enumerate() {
                let out = std::slice::from_raw_parts_mut(dst.add(row * stride as usize), line.len());
                for (o, &v) in out.iter_mut().zip(line) {
                    *o = lut[usize::from(v)];
                }
            }
        };
        let (luma, chroma) = (studio_range(true), studio_range(false));
        copy(pic.y, pic.y_stride, &p.y, &luma);
        copy(pic.u, pic.uv_stride, &p.cb, &chroma);
        copy(pic.v, pic.uv_stride, &p.cr, &chroma);
        let mut writer: w::WebPMemoryWriter = std::mem::zeroed();
        w::WebPMemoryWriterInit(&mut writer);
        pic.writer = Some(w::WebPMemoryWrite);
        pic.custom_ptr = (&mut writer as *mut w::WebPMemoryWriter).cast();
        let ok = w::WebPEncode(&config, &mut pic) != 0;
        let out = if ok && !writer.mem.is_null() {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        } else {
            Err(fail())
        };
        w::WebPMemoryWriterClear(&mut writer);
        w::WebPPictureFree(&mut pic);
        out
    }
}

#[cfg(test)]
#[path = "ycbcr_tests.rs"]
mod tests;
