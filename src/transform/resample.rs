//! The only file that talks to `fast_image_resize`: every resample in imgedge goes through
//! [`resample`], so the filter choice and buffer reuse live in one place.

use std::cell::RefCell;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use super::error::{Error, Result};

thread_local! {
    // One Resizer per thread (it detects the CPU's extensions once). Its scratch buffers (the
    // horizontal pass, a premultiplied copy of an RGBA source) are freed after every call: kept,
    // each blocking thread that ever resampled would hold them at the size of its largest job,
    // outside the memory budget, and transforms run on any of tokio's blocking threads (up to
    // max_blocking_threads, idle ones kept 10 s), not on `transform_workers` fixed threads.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Resamples an RGB8/RGBA8 image to exactly `w`×`h` with Lanczos3 (alpha-aware: colour is
/// premultiplied during filtering so transparent pixels do not bleed dark fringes). `src_box`
/// (left, top, width, height, fractional) is the part of `img` to resample; `None`: all of it.
pub fn resample(img: &DynamicImage, w: u32, h: u32, src_box: Option<[f64; 4]>) -> Result<DynamicImage> {
    if img.width() == w && img.height() == h && src_box.is_none() {
        return Ok(img.clone());
    }
    let mut dst = match img {
        DynamicImage::ImageRgba8(_) => DynamicImage::new_rgba8(w, h),
        _ => DynamicImage::new_rgb8(w, h),
    };
    let mut opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some([left, top, width, height]) = src_box {
        opts = opts.crop(left, top, width, height);
    }
    RESIZER.with(|r| {
        let mut r = r.borrow_mut();
        let res = r.resize(img, &mut dst, &opts);
        r.reset_internal_buffers();
        res.map_err(|e| Error::internal(format!("resample failed: {e}")))
    })?;
    Ok(dst)
}

/// Resamples one 8-bit plane (a Y, Cb or Cr plane of the YCbCr path) from `src_box` (left,
/// top, width, height, fractional) to exactly `w`×`h`, with the same Lanczos3.
pub fn resample_plane(
    src: &crate::transform::codec::ycbcr::Plane,
    w: u32,
    h: u32,
    src_box: [f64; 4],
) -> Result<crate::transform::codec::ycbcr::Plane> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::PixelType;
    let fail = |e: &dyn std::fmt::Display| Error::internal(format!("resample failed: {e}"));
    let view = ImageRef::new(src.width, src.height, &src.data, PixelType::U8).map_err(|e| fail(&e))?;
    let mut dst = Image::new(w, h, PixelType::U8);
    let [left, top, width, height] = src_box;
    let opts = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(left, top, width, height);
    RESIZER.with(|r| {
        let mut r = r.borrow_mut();
        let res = r.resize(&view, &mut dst, &opts);
        r.reset_internal_buffers();
        res.map_err(|e| fail(&e))
    })?;
    Ok(crate::transform::codec::ycbcr::Plane { width: w, height: h, data: dst.into_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn keeps_flat_colour_and_size() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([10, 200, 30])));
        let out = resample(&img, 7, 5, None).unwrap();
        assert_eq!((out.width(), out.height()), (7, 5));
        assert!(out.to_rgb8().pixels().all(|p| p.0 == [10, 200, 30]));
    }

    #[test]
    fn no_scratch_buffer_outlives_a_call() {
        // 1000×1000 RGBA down to 999×10: a 4 MB horizontal pass and a premultiplied copy, which a
        // bare Resizer keeps after the call.
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1000, 1000, Rgba([1, 2, 3, 128])));
        let mut dst = DynamicImage::new_rgba8(999, 10);
        let mut kept = Resizer::new();
        kept.resize(&img, &mut dst, &ResizeOptions::new()).unwrap();
        assert!(kept.size_of_internal_buffers() > 4_000_000);
        resample(&img, 999, 10, None).unwrap();
        assert_eq!(RESIZER.with(|r| r.borrow().size_of_internal_buffers()), 0);
    }

    #[test]
    fn transparent_pixels_do_not_darken_edges() {
        // Left half opaque red, right half fully transparent black.
        let img =
            RgbaImage::from_fn(
                40,
                10,
                |x, _| {
                    if x < 20 {
                        Rgba([255, 0, 0, 255])
                    } else {
                        Rgba([0, 0, 0, 0])
                    }
                },
            );
        let out = resample(&DynamicImage::ImageRgba8(img), 10, 10, None).unwrap().to_rgba8();
        for p in out.pixels().filter(|p| p.0[3] > 16) {
            assert!(p.0[0] > 200, "red channel darkened: {:?}", p.0);
        }
    }
}
