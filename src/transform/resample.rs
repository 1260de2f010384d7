//! The only file that talks to `fast_image_resize`: every resample in imgedge goes through
//! [`resample`], so the filter choice and buffer reuse live in one place.

use std::cell::RefCell;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use super::error::{Error, Result};

thread_local! {
    // A Resizer keeps scratch buffers between calls; one per worker thread avoids re-allocating.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Resamples an RGB8/RGBA8 image to exactly `w`×`h` with Lanczos3 (alpha-aware: colour is
/// premultiplied during filtering so transparent pixels do not bleed dark fringes).
pub fn resample(img: &DynamicImage, w: u32, h: u32) -> Result<DynamicImage> {
    if img.width() == w && img.height() == h {
        return Ok(img.clone());
    }
    let mut dst = match img {
        DynamicImage::ImageRgba8(_) => DynamicImage::new_rgba8(w, h),
        _ => DynamicImage::new_rgb8(w, h),
    };
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    RESIZER.with(|r| {
        r.borrow_mut()
            .resize(img, &mut dst, &opts)
            .map_err(|e| Error::internal(format!("resample failed: {e}")))
    })?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn keeps_flat_colour_and_size() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([10, 200, 30])));
        let out = resample(&img, 7, 5).unwrap();
        assert_eq!((out.width(), out.height()), (7, 5));
        assert!(out.to_rgb8().pixels().all(|p| p.0 == [10, 200, 30]));
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
        let out = resample(&DynamicImage::ImageRgba8(img), 10, 10).unwrap().to_rgba8();
        for p in out.pixels().filter(|p| p.0[3] > 16) {
            assert!(p.0[0] > 200, "red channel darkened: {:?}", p.0);
        }
    }
}
