//! The shared corpus end to end: every orientation comes out upright, every format decodes and
//! re-encodes to every output format, every bad file is a 4xx error, animations behave as OSS.

mod common;

use common::{dims, folder, read, run, run_image};
use imgedge::transform::Format;

#[test]
fn all_sixteen_orientations_come_out_upright() {
    for kind in ["Landscape", "Portrait"] {
        let want = if kind == "Landscape" { (300, 225) } else { (300, 400) };
        // Orientation 1 is stored upright; every other file must match it once oriented
        // (only the digit in the middle differs between the samples).
        // Compared as 12-px-wide thumbnails, so the digits and JPEG noise do not count.
        let thumb = |img: &image::DynamicImage| img.thumbnail_exact(12, 12 * want.1 / want.0).to_rgb8();
        let reference = thumb(&run_image(&read(&format!("orient/{kind}_1.jpg")), "image/resize,w_300"));
        let mirrored = image::imageops::flip_horizontal(&reference);
        let flipped = image::imageops::flip_vertical(&reference);
        for wrong in [mirrored, flipped] {
            let d = shape_diff(&reference, &wrong);
            assert!(d > 15.0, "the metric must see a mirror image ({d})");
        }
        for n in 1..=8 {
            let name = format!("orient/{kind}_{n}.jpg");
            let img = run_image(&read(&name), "image/resize,w_300");
            assert_eq!((img.width(), img.height()), want, "{name}");
            let d = shape_diff(&reference, &thumb(&img));
            assert!(d < 6.0, "{name} is not upright (difference {d})");
        }
    }
}

/// Mean absolute difference after removing each image's mean per channel: the samples of
/// orientation 1 are colour-shifted against the others, which must not count.
fn shape_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let means = |img: &image::RgbImage| {
        let mut m = [0f64; 3];
        for p in img.pixels() {
            for (acc, v) in m.iter_mut().zip(p.0) {
                *acc += v as f64;
            }
        }
        m.map(|v| v / (img.width() * img.height()) as f64)
    };
    let (ma, mb) = (means(a), means(b));
    let mut sum = 0f64;
    for (pa, pb) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            sum += ((pa.0[c] as f64 - ma[c]) - (pb.0[c] as f64 - mb[c])).abs();
        }
    }
    sum / (a.width() * a.height() * 3) as f64
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let sum: u64 =
        a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64).sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn every_format_converts_to_every_output_format() {
    for (name, src) in folder("formats") {
        let base = run(&src, "image/info").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!base.body.is_empty());
        for f in Format::ALL {
            let p = format!("image/resize,l_256/format,{}", f.name());
            let out = run(&src, &p).unwrap_or_else(|e| panic!("{name} → {}: {e}", f.name()));
            // The image crate reads no AVIF/HEIC: those are read back through imgedge (libheif).
            let readable = match f {
                Format::Avif | Format::Heic => {
                    run(&out.body, "image/format,png")
                        .unwrap_or_else(|e| panic!("{name} → {}: output does not decode: {e}", f.name()))
                        .body
                }
                _ => out.body.clone(),
            };
            let decoded = image::load_from_memory(&readable)
                .unwrap_or_else(|e| panic!("{name} → {}: output does not decode: {e}", f.name()));
            assert!(decoded.width().max(decoded.height()) <= 256, "{name} → {}", f.name());
            assert!(decoded.width() >= 1 && decoded.height() >= 1);
            // format,gif converts GIF sources only; others keep their own format.
            let is_gif_src = name.ends_with(".gif");
            if f != Format::Gif || is_gif_src {
                assert_eq!(out.content_type, f.mime(), "{name} → {}", f.name());
            }
        }
    }
}

#[test]
fn every_bad_file_is_a_client_error() {
    for (name, src) in folder("bad") {
        for p in ["image/resize,w_100", "image/format,png", "image/average-hue"] {
            let e = run(&src, p).expect_err(&format!("{name} {p}"));
            assert!((400..500).contains(&e.status()), "{name} {p}: {e}");
        }
    }
    let giant = run(&read("bad/giant-image.jpg"), "image/resize,w_100").unwrap_err();
    assert_eq!((giant.code.as_str(), giant.ec), ("ImageTooLarge", Some("0040-00000009")));
    let giant = run(&read("bad/giant-image.jpg"), "image/format,png").unwrap_err();
    assert_eq!(giant.ec, Some("0040-00000012"));
    let wide = run(&read("bad/65536-uint32-limit.png"), "image/rotate,90").unwrap_err();
    assert_eq!(wide.code.as_str(), "ImageTooLarge");
}

#[test]
fn animated_gif_keeps_frames_on_resize_and_loses_them_on_png() {
    let gif = read("oss/example.gif");
    let out = run(&gif, "image/resize,w_250").unwrap();
    assert_eq!(out.content_type, "image/gif");
    let frames = gif_frames(&out.body);
    assert_eq!(frames, (3, 250, 150));
    // format,png on a GIF gives the first frame.
    let png = run(&gif, "image/format,png").unwrap();
    assert_eq!(png.content_type, "image/png");
    assert_eq!(dims(&gif, "image/format,png"), (500, 300));
    // GIF is never enlarged; rotate and p make it static.
    assert_eq!(gif_frames(&run(&gif, "image/resize,w_1000,limit_0").unwrap().body), (3, 500, 300));
    assert_eq!(gif_frames(&run(&gif, "image/rotate,90").unwrap().body), (1, 300, 500));
    assert_eq!(gif_frames(&run(&gif, "image/resize,p_50").unwrap().body), (1, 250, 150));
    assert_eq!(run(&gif, "image/rounded-corners,r_10").unwrap_err().status(), 400);
}

#[test]
fn alpha_is_flattened_onto_white_for_jpeg() {
    let png = read("formats/blackbug.png");
    let rgba = image::load_from_memory(&png).unwrap().to_rgba8();
    let (x, y) = rgba
        .enumerate_pixels()
        .find(|(_, _, p)| p.0[3] == 0)
        .map(|(x, y, _)| (x, y))
        .expect("blackbug.png has transparent pixels");
    let jpg = run_image(&png, "image/format,jpg").to_rgb8();
    assert_eq!(jpg.dimensions(), rgba.dimensions());
    assert!(jpg.get_pixel(x, y).0.iter().all(|&c| c > 240), "{:?}", jpg.get_pixel(x, y));
    let webp = run_image(&png, "image/format,webp").to_rgba8();
    assert!(webp.get_pixel(x, y).0[3] < 16, "WebP keeps alpha");
}

#[test]
fn photos_resize_with_dct_scaling_and_stay_sharp_enough() {
    let src = read("photos/phone12mp.jpg");
    let small = run_image(&src, "image/resize,w_400");
    assert_eq!((small.width(), small.height()), (400, 300));
    // Same result (within JPEG noise) as resizing a full decode: the scaled decode must not
    // shift or blur the picture noticeably.
    let full =
        image::load_from_memory(&src).unwrap().resize_exact(400, 300, image::imageops::FilterType::Lanczos3);
    let mean = mean_abs_diff(&small.to_rgb8(), &full.to_rgb8());
    assert!(mean < 6.0, "mean abs diff {mean}");
}

/// (frames, width, height) of a GIF.
fn gif_frames(bytes: &[u8]) -> (usize, u32, u32) {
    use image::AnimationDecoder;
    let dec = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
    let frames = dec.into_frames().collect_frames().unwrap();
    let b = frames[0].buffer();
    (frames.len(), b.width(), b.height())
}
