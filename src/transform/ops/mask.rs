//! Shared by `circle` and `rounded-corners`: cut pixels away by giving them alpha 0, with a
//! one-pixel anti-aliased edge. Encoders flatten onto white for formats without alpha.

use image::{DynamicImage, RgbaImage};

use crate::transform::raster::into_rgba;

/// Multiplies each pixel's alpha by `coverage(x, y)` in `0.0..=1.0`.
pub fn apply(img: DynamicImage, coverage: impl Fn(u32, u32) -> f32) -> DynamicImage {
    let mut rgba: RgbaImage = into_rgba(img);
    for (x, y, px) in rgba.enumerate_pixels_mut() {
        let c = coverage(x, y);
        if c < 1.0 {
            px.0[3] = (px.0[3] as f32 * c.max(0.0)).round() as u8;
        }
    }
    DynamicImage::ImageRgba8(rgba)
}

/// Coverage of a pixel whose centre is `dist` from the edge of a disc of radius `r`.
pub fn disc(dist: f32, r: f32) -> f32 {
    (r + 0.5 - dist).clamp(0.0, 1.0)
}
