use super::*;
use crate::transform::codec::{decode, probe, DecodeOptions};
use crate::transform::raster::Frame;

use crate::testing::fixtures::read as corpus;

/// 64 colours in 8×8 blocks (so GIF keeps them exactly); with `alpha`, the left quarter is
/// transparent.
fn blocks(w: u32, h: u32, alpha: bool) -> DynamicImage {
    let c =
        |x: u32, y: u32| [((x / 8) % 4 * 85) as u8, ((y / 8) % 4 * 85) as u8, (((x + y) / 8) % 4 * 85) as u8];
    if alpha {
        DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            let [r, g, b] = c(x, y);
            image::Rgba([r, g, b, if x < w / 4 { 0 } else { 255 }])
        }))
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| image::Rgb(c(x, y))))
    }
}

/// A smooth gradient, for the lossy formats; same alpha rule as [`blocks`].
fn smooth(w: u32, h: u32, alpha: bool) -> DynamicImage {
    let rgba = RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 128, if alpha && x < w / 4 { 0 } else { 255 }])
    });
    if alpha {
        DynamicImage::ImageRgba8(rgba)
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8())
    }
}

fn settings(format: Format) -> EncodeSettings {
    EncodeSettings { format, quality: 90, progressive: false, icc: None, target: None }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64
}

#[test]
fn round_trip_every_format() {
    for alpha in [false, true] {
        // The image crate reads no AVIF/HEIC: those round-trip through libheif below.
        for format in Format::ALL.into_iter().filter(|f| !matches!(f, Format::Avif | Format::Heic)) {
            let src = if format.is_lossy() { smooth(64, 40, alpha) } else { blocks(64, 40, alpha) };
            let img = Image::still(src.clone());
            let bytes = encode(&img, &settings(format)).unwrap();
            assert_eq!(probe(&bytes).unwrap().format, format);
            let back = image::load_from_memory(&bytes).unwrap();
            assert_eq!((back.width(), back.height()), (64, 40), "{format} alpha={alpha}");
            let want = src.to_rgba8();
            let got = back.to_rgba8();
            match format {
                Format::Avif | Format::Heic => unreachable!("filtered out above"),
                Format::Png | Format::Bmp | Format::Tiff => {
                    assert_eq!(back.color().has_alpha(), alpha, "{format}");
                    assert_eq!(got.as_raw(), want.as_raw(), "{format} alpha={alpha}");
                }
                Format::Gif => {
                    for (g, w) in got.pixels().zip(want.pixels()) {
                        // Colour under a transparent pixel is arbitrary.
                        assert_eq!(g[3], w[3]);
                        if w[3] == 255 {
                            assert_eq!(g, w);
                        }
                    }
                }
                Format::Jpeg => {
                    let flat = as_rgb(&src);
                    let d = mean_abs_diff(back.to_rgb8().as_raw(), flat.as_raw());
                    assert!(d < 3.0, "jpeg alpha={alpha}: {d}");
                }
                Format::Webp => {
                    assert_eq!(back.color().has_alpha(), alpha);
                    let alphas: Vec<u8> = got.pixels().map(|p| p[3]).collect();
                    let want_a: Vec<u8> = want.pixels().map(|p| p[3]).collect();
                    assert_eq!(alphas, want_a);
                    let d = mean_abs_diff(back.to_rgb8().as_raw(), src.to_rgb8().as_raw());
                    // Transparent pixels' colour is not kept; compare the opaque part only.
                    let opaque = |i: &RgbImage| -> Vec<u8> {
                        i.enumerate_pixels()
                            .filter(|(x, _, _)| !alpha || *x >= 16)
                            .flat_map(|(_, _, p)| p.0)
                            .collect()
                    };
                    let d2 = mean_abs_diff(&opaque(&back.to_rgb8()), &opaque(&src.to_rgb8()));
                    assert!(d2 < 3.0, "webp alpha={alpha}: {d} / {d2}");
                }
            }
        }
    }
}

#[test]
fn png_keeps_partial_alpha_and_rgb_stays_rgb() {
    let src = DynamicImage::ImageRgba8(RgbaImage::from_fn(9, 7, |x, y| {
        image::Rgba([x as u8 * 20, y as u8 * 30, 7, (x * 28) as u8])
    }));
    let back = image::load_from_memory(&encode(&Image::still(src.clone()), &settings(Format::Png)).unwrap())
        .unwrap();
    assert_eq!(back.to_rgba8().as_raw(), src.to_rgba8().as_raw());
    let rgb = encode(&Image::still(blocks(8, 8, false)), &settings(Format::Png)).unwrap();
    assert_eq!(image::load_from_memory(&rgb).unwrap().color(), image::ColorType::Rgb8);
}

#[test]
fn jpeg_flattens_onto_white() {
    let src = DynamicImage::ImageRgba8(RgbaImage::from_fn(32, 32, |x, _| {
        if x < 16 {
            image::Rgba([255, 0, 0, 0])
        } else {
            image::Rgba([0, 0, 255, 255])
        }
    }));
    let bytes = encode(&Image::still(src), &settings(Format::Jpeg)).unwrap();
    let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let p = back.get_pixel(4, 16).0;
    assert!(p.iter().all(|&c| c >= 250), "{p:?}");
    let q = back.get_pixel(28, 16).0;
    assert!(q[2] > 200 && q[0] < 40, "{q:?}");
}

#[test]
fn jpeg_progressive_and_quality() {
    let img = Image::still(image::load_from_memory(&corpus("oss/example.jpg")).unwrap());
    let base = encode(&img, &settings(Format::Jpeg)).unwrap();
    let prog = encode(&img, &EncodeSettings { progressive: true, ..settings(Format::Jpeg) }).unwrap();
    let has = |b: &[u8], m: u8| b.windows(2).any(|w| w == [0xFF, m]);
    assert!(has(&prog, 0xC2) && !has(&prog, 0xC0));
    assert!(has(&base, 0xC0) && !has(&base, 0xC2));
    let back = image::load_from_memory(&prog).unwrap();
    assert_eq!((back.width(), back.height()), (400, 267));
    let q50 = encode(&img, &EncodeSettings { quality: 50, ..settings(Format::Jpeg) }).unwrap();
    let q95 = encode(&img, &EncodeSettings { quality: 95, ..settings(Format::Jpeg) }).unwrap();
    assert!(q50.len() < q95.len(), "{} vs {}", q50.len(), q95.len());
    assert_eq!(crate::transform::codec::jpeg_quality::estimate(&q50), Some(50));
    // WebP quality matters too.
    let w50 = encode(&img, &EncodeSettings { quality: 50, ..settings(Format::Webp) }).unwrap();
    let w95 = encode(&img, &EncodeSettings { quality: 95, ..settings(Format::Webp) }).unwrap();
    assert!(w50.len() < w95.len());
}

/// Three frames with an 8×8 red square moving right by 8 px per frame.
fn three_frames(alpha: bool) -> Image {
    let offset = if alpha { 16 } else { 0 };
    let frames = (0..3u32)
        .map(|i| {
            let mut rgba = blocks(40, 24, alpha).to_rgba8();
            for y in 0..8 {
                for x in 0..8 {
                    rgba.put_pixel(offset + i * 8 + x, y, image::Rgba([250, 10, 10, 255]));
                }
            }
            let pixels = if alpha {
                DynamicImage::ImageRgba8(rgba)
            } else {
                DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8())
            };
            Frame { pixels, delay_ms: 100 * (i + 1) }
        })
        .collect();
    Image { frames, loop_count: 0 }
}

#[test]
fn animations_keep_frames_delays_and_loops() {
    for format in [Format::Gif, Format::Webp] {
        for (alpha, loops) in [(false, 0u16), (true, 3), (false, 1)] {
            let mut img = three_frames(alpha);
            img.loop_count = loops;
            let bytes = encode(&img, &settings(format)).unwrap();
            let info = probe(&bytes).unwrap();
            assert_eq!((info.format, info.frames, info.width, info.height), (format, 3, 40, 24));
            let back = decode(&bytes, &info, &DecodeOptions::default()).unwrap();
            let delays: Vec<u32> = back.frames.iter().map(|f| f.delay_ms).collect();
            assert_eq!(delays, [100, 200, 300], "{format}");
            assert_eq!(back.loop_count, loops, "{format}");
            assert_eq!(back.has_alpha(), alpha || format == Format::Gif);
            // The moving red pixel is where it should be in every frame.
            for (i, f) in back.frames.iter().enumerate() {
                let x = i as u32 * 8 + if alpha { 20 } else { 4 };
                let p = f.pixels.to_rgba8().get_pixel(x, 4).0;
                assert!(p[0] > 200 && p[1] < 60, "{format} frame {i}: {p:?}");
            }
        }
    }
}

#[test]
fn single_frame_of_animation_formats() {
    let gif = encode(&three_frames(false), &settings(Format::Png)).unwrap();
    assert_eq!(probe(&gif).unwrap().frames, 1);
    let still = Image::still(blocks(16, 16, true));
    for f in [Format::Gif, Format::Webp] {
        let b = encode(&still, &settings(f)).unwrap();
        assert_eq!(probe(&b).unwrap().frames, 1);
    }
}

#[test]
fn webp_side_limit() {
    let img = Image::still(DynamicImage::ImageRgb8(RgbImage::new(16_384, 1)));
    let e = encode(&img, &settings(Format::Webp)).err().unwrap();
    assert_eq!(e.code, crate::transform::error::Code::ImageTooLarge);
    assert_eq!(e.message, "Maximum width and height allowed is 16383 pixels for converting webp");
    let ok = Image::still(DynamicImage::ImageRgb8(RgbImage::new(16_383, 1)));
    assert!(encode(&ok, &settings(Format::Webp)).is_ok());
}

/// (entries in the global colour table, frames that carry a local one).
fn gif_tables(bytes: &[u8]) -> (usize, usize) {
    let mut o = gif::DecodeOptions::new();
    o.set_color_output(gif::ColorOutput::Indexed);
    let mut d = o.read_info(bytes).unwrap();
    let global = d.global_palette().map_or(0, |p| p.len() / 3);
    let mut local = 0;
    while let Some(f) = d.read_next_frame().unwrap() {
        local += usize::from(f.palette.is_some());
    }
    (global, local)
}

fn decode_all(bytes: &[u8]) -> Image {
    decode(bytes, &probe(bytes).unwrap(), &DecodeOptions::default()).unwrap()
}

/// A ≤256-colour animation (the corpus's rotating squares) decoded, re-encoded and decoded again
/// is the same animation, pixel for pixel, under one global table.
#[test]
fn gif_with_few_colours_round_trips_exactly() {
    let src = decode_all(&corpus("formats/rotating-squares.gif"));
    assert!(src.frames.len() > 1);
    let bytes = encode(&src, &settings(Format::Gif)).unwrap();
    let (global, local) = gif_tables(&bytes);
    assert!(global > 0 && local == 0, "global {global}, local {local}");
    let back = decode_all(&bytes);
    assert_eq!(back.frames.len(), src.frames.len());
    assert_eq!(back.loop_count, src.loop_count);
    for (i, (a, b)) in src.frames.iter().zip(&back.frames).enumerate() {
        assert_eq!(a.delay_ms, b.delay_ms, "frame {i}");
        assert!(a.pixels.to_rgba8() == b.pixels.to_rgba8(), "frame {i} differs");
    }
}

/// A photo panned across 12 frames: more than 256 colours, so one NeuQuant table for all.
fn photo_pan(alpha: bool) -> Image {
    let photo = image::load_from_memory(&corpus("photos/boats4mp.jpg")).unwrap().to_rgba8();
    let frames = (0..12u32)
        .map(|i| {
            let mut f = image::imageops::crop_imm(&photo, 1200 + i * 9, 700 + i * 4, 160, 120).to_image();
            if alpha {
                // A transparent corner that grows frame by frame.
                for y in 0..20 + i {
                    for x in 0..20 + i {
                        f.put_pixel(x, y, image::Rgba([0, 0, 0, 0]));
                    }
                }
            }
            let pixels = if alpha {
                DynamicImage::ImageRgba8(f)
            } else {
                DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(f).to_rgb8())
            };
            Frame { pixels, delay_ms: 40 + 10 * (i % 3) }
        })
        .collect();
    Image { frames, loop_count: 5 }
}

/// Photo-like frames come back close to the source (mean and maximum per-channel error bounded),
/// with frames, delays, loop count and the transparent pixels kept, and no local tables.
#[test]
fn gif_photo_animation_shares_one_palette() {
    for alpha in [false, true] {
        let src = photo_pan(alpha);
        let bytes = encode(&src, &settings(Format::Gif)).unwrap();
        let (global, local) = gif_tables(&bytes);
        assert_eq!((global, local), (256, 0));
        let back = decode_all(&bytes);
        assert_eq!(back.frames.len(), 12);
        assert_eq!(back.loop_count, 5);
        let (mut sum, mut n, mut max) = (0u64, 0u64, 0u8);
        for (a, b) in src.frames.iter().zip(&back.frames) {
            assert_eq!(a.delay_ms, b.delay_ms);
            let (a, b) = (a.pixels.to_rgba8(), b.pixels.to_rgba8());
            for (p, q) in a.pixels().zip(b.pixels()) {
                assert_eq!(p[3] >= 128, q[3] == 255, "alpha cut");
                if q[3] == 0 {
                    continue;
                }
                for c in 0..3 {
                    let d = p[c].abs_diff(q[c]);
                    sum += u64::from(d);
                    n += 1;
                    max = max.max(d);
                }
            }
        }
        let mean = sum as f64 / n as f64;
        // Measured: mean 1.9, max 30 (with and without alpha).
        assert!(mean < 4.0 && max <= 48, "alpha {alpha}: mean {mean:.2}, max {max}");
    }
}

/// AVIF and HEIC, with and without alpha, decoded back through libheif: same size, alpha kept
/// (within lossy error), colours close, and probe reports what was written.
#[cfg(feature = "heif")]
#[test]
fn heif_formats_round_trip_with_alpha() {
    for format in [Format::Avif, Format::Heic] {
        for alpha in [false, true] {
            let src = smooth(64, 40, alpha);
            let bytes = encode(&Image::still(src.clone()), &settings(format)).unwrap();
            let info = probe(&bytes).unwrap();
            assert_eq!((info.format, info.width, info.height, info.has_alpha), (format, 64, 40, alpha));
            let stop = crate::transform::Stop::never();
            let back = crate::transform::codec::heif::decode(&bytes, 1 << 24, &stop).unwrap();
            assert_eq!((back.width(), back.height(), back.color().has_alpha()), (64, 40, alpha), "{format}");
            let d = mean_abs_diff(back.to_rgba8().as_raw(), src.to_rgba8().as_raw());
            assert!(d < 6.0, "{format} alpha={alpha}: mean difference {d}");
        }
    }
}

/// The thin HEIC outputs the plan lets through do encode, at the edge the plan enforces
/// (`plan::thin_heic_outputs_past_the_encoders_reach_are_refused_from_the_plan`).
#[cfg(feature = "heif")]
#[test]
fn thin_heic_outputs_at_the_planned_edge_encode() {
    for (w, h) in [(31, 4208), (1, 4208), (4208, 2), (32, 9000)] {
        let bytes = encode(&Image::still(smooth(w, h, false)), &settings(Format::Heic))
            .unwrap_or_else(|e| panic!("{w}×{h}: {e}"));
        let info = probe(&bytes).unwrap();
        assert_eq!((info.width, info.height), (w, h));
    }
}
