//! Tests of `blur`, and the photo statistics the other filter tests share.

use super::*;
use crate::transform::error::Code;
use crate::transform::params::split;
use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};

/// The OSS sample photo as RGB8.
pub(crate) fn photo() -> DynamicImage {
    let b = crate::testing::fixtures::read("oss/example.jpg");
    DynamicImage::ImageRgb8(image::load_from_memory(&b).unwrap().to_rgb8())
}

/// The same pixels as RGBA8 with a varied alpha pattern.
pub(crate) fn with_alpha(img: &DynamicImage) -> DynamicImage {
    let mut out = img.to_rgba8();
    for (x, y, p) in out.enumerate_pixels_mut() {
        p.0[3] = ((x * 7 + y * 13) % 256) as u8;
    }
    DynamicImage::ImageRgba8(out)
}

/// Mean |difference| between horizontal and vertical neighbours, over the colour channels.
pub(crate) fn edge_energy(img: &DynamicImage) -> f64 {
    let b = img.to_rgb8();
    let (w, h) = b.dimensions();
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in b.enumerate_pixels() {
        let right = (x + 1 < w).then(|| b.get_pixel(x + 1, y));
        for q in right.into_iter().chain((y + 1 < h).then(|| b.get_pixel(x, y + 1))) {
            sum += (0..3).map(|c| p.0[c].abs_diff(q.0[c]) as u64).sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n as f64
}

/// Mean and standard deviation of the Rec. 601 luma.
pub(crate) fn luma_stats(img: &DynamicImage) -> (f64, f64) {
    let y: Vec<f64> = img
        .to_rgb8()
        .pixels()
        .map(|p| 0.299 * p.0[0] as f64 + 0.587 * p.0[1] as f64 + 0.114 * p.0[2] as f64)
        .collect();
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    (mean, (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / y.len() as f64).sqrt())
}

fn blur(r: u32, s: u32, img: DynamicImage) -> DynamicImage {
    apply(&BlurSpec { r, s }, img)
}

#[test]
fn parameters() {
    assert_eq!(parse(&split("r_1,s_1")).unwrap(), BlurSpec { r: 1, s: 1 });
    assert_eq!(parse(&split("s_50,r_50")).unwrap(), BlurSpec { r: 50, s: 50 });
    for bad in
        ["r_0,s_1", "r_51,s_1", "r_1,s_0", "r_3,s_200", "r_x,s_2", "r_3,s_", "r_3", "s_2", "3", "r_3,s_2,x_1"]
    {
        assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
    }
    assert!(parse(&[]).is_err());
    assert_eq!(canonical(&BlurSpec { r: 3, s: 2 }), "blur,r_3,s_2");
}

#[test]
fn photo_edges_fall_more_with_bigger_sigma() {
    let img = photo();
    let mut last = edge_energy(&img);
    // The first two use the exact kernel, the rest the boxes.
    for (r, s) in [(3, 1), (4, 2), (10, 3), (50, 10), (50, 50)] {
        let out = blur(r, s, img.clone());
        assert_eq!(out.dimensions(), img.dimensions());
        let e = edge_energy(&out);
        assert!(e < last * 0.9, "r_{r},s_{s}: {last} -> {e}");
        last = e;
    }
}

#[test]
fn boxes_match_the_exact_gaussian() {
    let img = photo();
    let (w, h) = (img.width() as usize, img.height() as usize);
    for (r, s) in [(8, 3.0), (20, 5.0), (50, 12.0), (10, 40.0), (12, 6.0), (30, 12.0), (50, 50.0)] {
        let (mut a, mut b) = (img.to_rgb8(), img.to_rgb8());
        run::<3>(&Kernel::exact(r, s), &mut a, w, h);
        run::<3>(&Kernel::boxes(r, s), &mut b, w, h);
        let diff: Vec<u8> = a.iter().zip(b.iter()).map(|(x, y)| x.abs_diff(*y)).collect();
        let mean = diff.iter().map(|&d| d as f64).sum::<f64>() / diff.len() as f64;
        let max = *diff.iter().max().unwrap();
        assert!(mean < 0.8 && max <= 5, "r_{r},s_{s}: mean {mean} max {max}");
    }
}

#[test]
fn box_variance_is_the_truncated_gaussians() {
    for (r, s) in [(7, 2.0), (20, 5.0), (50, 50.0), (12, 30.0)] {
        let Kernel::Boxes { n, b, alpha } = Kernel::boxes(r, s) else { panic!() };
        let (b, a) = (b as f64, alpha as f64);
        let one =
            (b * (b + 1.0) * (2.0 * b + 1.0) / 3.0 + 2.0 * a * (b + 1.0).powi(2)) / (2.0 * b + 1.0 + 2.0 * a);
        let want = (-(r as i64)..=r as i64)
            .map(|k| (k * k) as f64 * gauss(k.unsigned_abs() as usize, s))
            .sum::<f64>()
            / (-(r as i64)..=r as i64).map(|k| gauss(k.unsigned_abs() as usize, s)).sum::<f64>();
        let got = n as f64 * one;
        assert!((got - want).abs() < 1e-3 * want, "r_{r},s_{s}: {got} vs {want}");
    }
}

#[test]
fn flat_stays_flat_at_every_size() {
    for (w, h) in [(37, 23), (1, 1), (1, 60), (70, 2)] {
        for (r, s) in [(3, 2), (50, 50), (50, 3)] {
            let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([3, 128, 254])));
            assert_eq!(blur(r, s, img.clone()), img, "{w}x{h} r_{r},s_{s}");
            let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(w, h, Rgba([255, 0, 77, 9])));
            assert_eq!(blur(r, s, img.clone()), img, "{w}x{h} r_{r},s_{s}");
        }
    }
}

#[test]
fn alpha_is_kept() {
    let img = with_alpha(&photo());
    for (r, s) in [(3, 2), (30, 20)] {
        let out = blur(r, s, img.clone());
        assert!(matches!(out, DynamicImage::ImageRgba8(_)));
        let alpha = |i: &DynamicImage| i.to_rgba8().pixels().map(|p| p.0[3]).collect::<Vec<_>>();
        assert_eq!(alpha(&out), alpha(&img));
        assert_ne!(out, img);
    }
}

/// The row-streaming exact path (`blur_exact.rs`) against the block path it replaced for
/// radii up to 4 (`run` with an exact kernel, the code of issue 3): within ±1 per channel
/// everywhere, on the photo and on sizes smaller than the kernel, with and without alpha.
#[test]
fn the_row_path_matches_the_block_path() {
    let photo = photo();
    let small = |w, h| {
        let mut b = RgbImage::new(w, h);
        for (x, y, p) in b.enumerate_pixels_mut() {
            *p = Rgb([(x * 37 + y * 11) as u8, (x * x + 3 * y) as u8, (255 - x * y) as u8]);
        }
        DynamicImage::ImageRgb8(b)
    };
    let images = [photo.clone(), with_alpha(&photo), small(1, 1), small(1, 60), small(70, 2), small(3, 5)];
    let images = images.iter().chain(std::iter::once(&with_alpha(&small(2, 9)))).cloned().collect::<Vec<_>>();
    for img in &images {
        let (w, h) = (img.width() as usize, img.height() as usize);
        for (r, s) in [(1, 1.0), (2, 1.0), (3, 1.0), (3, 2.0), (4, 1.0), (4, 3.0), (4, 50.0)] {
            let Kernel::Exact(taps) = Kernel::new(r, s) else { panic!("r_{r},s_{s} is not exact") };
            let (mut old, mut new) = (img.clone(), img.clone());
            match (&mut old, &mut new) {
                (DynamicImage::ImageRgb8(a), DynamicImage::ImageRgb8(b)) => {
                    run::<3>(&Kernel::Exact(taps.clone()), a, w, h);
                    blur_exact::run(&taps, b, w, h, 3);
                }
                (DynamicImage::ImageRgba8(a), DynamicImage::ImageRgba8(b)) => {
                    run::<4>(&Kernel::Exact(taps.clone()), a, w, h);
                    blur_exact::run(&taps, b, w, h, 4);
                }
                _ => unreachable!(),
            }
            let (a, b) = (old.as_bytes(), new.as_bytes());
            let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
            let off = a.iter().zip(b).filter(|(x, y)| x != y).count();
            assert!(max <= 1, "{w}x{h} r_{r},s_{s}: max difference {max}");
            assert!(off * 100 <= a.len(), "{w}x{h} r_{r},s_{s}: {off} of {} samples differ", a.len());
        }
    }
}

/// The block path with an exact kernel (the blur of issue 3): the reference the row path and
/// `sharpen` are checked against.
pub(crate) fn block_gaussian(img: DynamicImage, r: usize, s: f64) -> DynamicImage {
    let k = Kernel::exact(r, s);
    match normalize(img) {
        DynamicImage::ImageRgb8(mut b) => {
            let (w, h) = (b.width() as usize, b.height() as usize);
            run::<3>(&k, &mut b, w, h);
            DynamicImage::ImageRgb8(b)
        }
        DynamicImage::ImageRgba8(mut b) => {
            let (w, h) = (b.width() as usize, b.height() as usize);
            run::<4>(&k, &mut b, w, h);
            DynamicImage::ImageRgba8(b)
        }
        _ => unreachable!(),
    }
}
