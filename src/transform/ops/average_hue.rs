//! `average-hue`: the arithmetic mean colour of all pixels, as OSS's JSON
//! `{"RGB": "0xrrggbb"}` (spec §3.17). Transparent pixels count by their colour like any other.

use crate::transform::raster::Image;

pub fn json(img: &Image) -> String {
    let [r, g, b] = mean(img);
    format!("{{\"RGB\": \"0x{r:02x}{g:02x}{b:02x}\"}}")
}

/// Mean of the first frame's RGB channels, rounded half up.
pub fn mean(img: &Image) -> [u8; 3] {
    let px = &img.frames[0].pixels;
    let (bytes, stride) = match px {
        image::DynamicImage::ImageRgba8(b) => (b.as_raw().as_slice(), 4),
        image::DynamicImage::ImageRgb8(b) => (b.as_raw().as_slice(), 3),
        _ => return [0, 0, 0],
    };
    let mut sum = [0u64; 3];
    for p in bytes.chunks_exact(stride) {
        for c in 0..3 {
            sum[c] += p[c] as u64;
        }
    }
    let n = (bytes.len() / stride).max(1) as u64;
    sum.map(|s| ((s + n / 2) / n) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, Rgb, RgbImage};

    #[test]
    fn mean_of_two_halves() {
        let img = RgbImage::from_fn(4, 2, |x, _| if x < 2 { Rgb([0, 100, 255]) } else { Rgb([255, 101, 0]) });
        let img = Image::still(DynamicImage::ImageRgb8(img));
        assert_eq!(mean(&img), [128, 101, 128]);
        assert_eq!(json(&img), "{\"RGB\": \"0x806580\"}");
    }
}
