//! The saliency window: an obvious subject is kept wherever it is, at any scale; nothing
//! (sizes, pixel layouts, flat pictures) makes it panic or leave the image.

use super::*;
use image::{GrayAlphaImage, GrayImage, ImageBuffer, LumaA, Rgb, RgbImage, Rgba, RgbaImage};

/// A deterministic pseudo-random byte stream (a 32-bit LCG's high byte).
fn noise(seed: u32) -> impl FnMut() -> u8 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 24) as u8
    }
}

/// A `w`×`h` picture: a mildly noisy grey background (like sensor noise or a plain wall) and,
/// at `(sx, sy)`, a `side`×`side` subject with edges and colour (a red and yellow checkerboard).
fn scene(w: u32, h: u32, (sx, sy): (u32, u32), side: u32) -> DynamicImage {
    let mut n = noise(w ^ (h << 8) ^ sx ^ (sy << 16));
    let cell = (side / 6).max(1);
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        if (sx..sx + side).contains(&x) && (sy..sy + side).contains(&y) {
            let odd = ((x - sx) / cell + (y - sy) / cell) % 2 == 1;
            Rgb(if odd { [220, 40, 30] } else { [250, 210, 40] })
        } else {
            let v = 120 + n() / 32;
            Rgb([v, v, v])
        }
    }))
}

/// Whether the `w`×`h` window at `at` holds the `side`-square at `s` whole.
fn holds(at: (u32, u32), (w, h): (u32, u32), s: (u32, u32), side: u32) -> bool {
    at.0 <= s.0 && at.1 <= s.1 && s.0 + side <= at.0 + w && s.1 + side <= at.1 + h
}

#[test]
fn an_obvious_subject_is_inside_the_window_wherever_it_is() {
    // 600×400: the small copy is the image itself; 3000×2000: a 12× smaller copy.
    for (iw, ih, side, win) in [(600, 400, 80, (300, 300)), (3000, 2000, 300, (1200, 1200))] {
        let far = (iw - side, ih - side);
        let spots = [(0, 0), (far.0, 0), (0, far.1), far, (iw / 10, ih / 3), (iw * 7 / 10, ih / 2)];
        for s in spots {
            let at = window(&scene(iw, ih, s, side), win.0, win.1);
            assert!(holds(at, win, s, side), "{iw}x{ih}: subject at {s:?}, window at {at:?}");
            assert!(at.0 + win.0 <= iw && at.1 + win.1 <= ih, "{at:?} inside {iw}x{ih}");
        }
    }
}

#[test]
fn a_subject_smaller_than_the_window_is_framed_not_pushed_to_an_edge() {
    // A 40 px subject at x 280..320 of 600: a 300 px window can hold it anywhere from x 20 to
    // 280; centred on it is x 150.
    let at = window(&scene(600, 300, (280, 130), 40), 300, 300);
    assert!((140..=160).contains(&at.0), "{at:?}");
}

#[test]
fn a_transparent_area_counts_for_nothing_whatever_colour_it_hides() {
    // Vivid noise under alpha 0 on the left; an opaque patterned subject on the right.
    let mut n = noise(7);
    let img = RgbaImage::from_fn(600, 300, |x, y| {
        if (450..530).contains(&x) && (100..180).contains(&y) {
            let v = if (x / 10 + y / 10) % 2 == 0 { 20 } else { 235 };
            Rgba([v, v / 2, 255 - v, 255])
        } else {
            Rgba([n(), n(), n(), 0])
        }
    });
    let at = window(&DynamicImage::ImageRgba8(img), 300, 300);
    assert!(holds(at, (300, 300), (450, 100), 80), "{at:?}");
}

#[test]
fn a_flat_picture_gives_the_centre_and_every_answer_repeats() {
    let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(600, 400, Rgb([90, 90, 90])));
    assert_eq!(window(&flat, 400, 400), (100, 0));
    assert_eq!(window(&flat, 200, 100), (200, 150));
    let busy = scene(900, 500, (700, 300), 120);
    let first = window(&busy, 300, 300);
    for _ in 0..3 {
        assert_eq!(window(&busy, 300, 300), first);
    }
}

#[test]
fn degenerate_sizes_and_layouts_never_panic_nor_leave_the_image() {
    let rgb = |w, h| DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 7])));
    let mut images = vec![
        rgb(1, 1),
        rgb(2, 2),
        rgb(1, 700),
        rgb(700, 1),
        rgb(5000, 3),
        rgb(257, 257),
        DynamicImage::ImageRgb8(RgbImage::new(0, 0)),
        DynamicImage::ImageRgb8(RgbImage::new(0, 40)),
    ];
    let grey = GrayImage::from_fn(300, 200, |x, _| image::Luma([(x % 256) as u8]));
    images.push(DynamicImage::ImageLuma8(grey));
    let grey_alpha = GrayAlphaImage::from_fn(300, 200, |x, y| LumaA([(x % 256) as u8, (y % 256) as u8]));
    images.push(DynamicImage::ImageLumaA8(grey_alpha));
    let deep: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_fn(300, 200, |x, y| Rgb([x as u16 * 200, y as u16 * 300, 9]));
    images.push(DynamicImage::ImageRgb16(deep));
    let deep_alpha: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_fn(300, 200, |x, _| Rgba([x as u16, 0, 0, 65535]));
    images.push(DynamicImage::ImageRgba16(deep_alpha));
    let float: ImageBuffer<Rgb<f32>, Vec<f32>> =
        ImageBuffer::from_fn(300, 200, |x, _| Rgb([x as f32 / 300.0, 2.0, -1.0]));
    images.push(DynamicImage::ImageRgb32F(float));
    for img in &images {
        let (iw, ih) = (img.width(), img.height());
        for (w, h) in [
            (0, 0),
            (1, 1),
            (1, ih),
            (iw, 1),
            (iw, ih),
            (iw + 100, ih + 100),
            (u32::MAX, 3),
            (iw / 2, ih / 2),
        ] {
            let (x, y) = window(img, w, h);
            let (cw, ch) = (w.clamp(1, iw.max(1)), h.clamp(1, ih.max(1)));
            assert!(x as u64 + cw as u64 <= iw.max(1) as u64, "{iw}x{ih}, window {w}x{h} at x {x}");
            assert!(y as u64 + ch as u64 <= ih.max(1) as u64, "{iw}x{ih}, window {w}x{h} at y {y}");
        }
    }
}
