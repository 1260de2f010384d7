//! Output fidelity (issue 11): speed work must not change what a resize looks like. Each case
//! runs a real pipeline on a corpus photo and compares the decoded answer with a reference made
//! the slow way (full-resolution decode, Lanczos3 to the same size, by the `image` crate), by
//! SSIM on luma. The bounds sit just under what docs/benchmarks.md records; shrinking on load all
//! the way to the target size (no margin left to the resampler) falls below them.

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use imgedge::transform::{self, Env, Limits, NoStyles};

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/corpus/photos/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// BT.601 luma of every pixel.
fn luma(img: &DynamicImage) -> Vec<f64> {
    img.to_rgb8()
        .pixels()
        .map(|p| 0.299 * p.0[0] as f64 + 0.587 * p.0[1] as f64 + 0.114 * p.0[2] as f64)
        .collect()
}

/// Mean SSIM over 8×8 windows at a stride of 4 (Wang et al. 2004, uniform windows), luma.
fn ssim(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (la, lb) = (luma(a), luma(b));
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut sum, mut n) = (0.0, 0usize);
    for y0 in (0..=h - 8).step_by(4) {
        for x0 in (0..=w - 8).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let (p, q) = (la[y * w + x], lb[y * w + x]);
                    (sa, sb, saa, sbb, sab) = (sa + p, sb + q, saa + p * p, sbb + q * q, sab + p * q);
                }
            }
            let (ma, mb) = (sa / 64.0, sb / 64.0);
            let (va, vb, cov) = (saa / 64.0 - ma * ma, sbb / 64.0 - mb * mb, sab / 64.0 - ma * mb);
            sum += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    sum / n as f64
}

/// Runs `process` on `name` and returns the decoded answer and its SSIM against the reference.
fn fidelity(name: &str, process: &str) -> (DynamicImage, f64) {
    let limits = Limits::default();
    let src = photo(name);
    let pipeline = transform::parse(process, &NoStyles, &limits).unwrap();
    let out = transform::run(&src, &pipeline, &Env::new(&limits)).unwrap();
    let got = image::load_from_memory(&out.body).unwrap();
    let full = image::load_from_memory(&src).unwrap();
    let reference = full.resize_exact(got.width(), got.height(), FilterType::Lanczos3);
    let s = ssim(&got, &reference);
    println!("{name} {process}: {}×{} SSIM {s:.4}", got.width(), got.height());
    (got, s)
}

#[test]
fn resized_jpeg_and_webp_stay_close_to_a_full_resolution_lanczos() {
    // (photo, pipeline, width, height, SSIM bound)
    let cases = [
        ("photo6mp.jpg", "image/resize,w_400/quality,Q_90", 400, 327, 0.97),
        ("photo6mp.jpg", "image/resize,w_400/format,webp/quality,Q_90", 400, 327, 0.97),
        ("phone12mp.jpg", "image/resize,w_400/quality,Q_90", 400, 300, 0.97),
        ("photo6mp.jpg", "image/resize,w_1000/quality,Q_90", 1000, 817, 0.97),
    ];
    for (name, process, w, h, bound) in cases {
        let (got, s) = fidelity(name, process);
        assert_eq!(got.dimensions(), (w, h), "{name} {process}");
        assert!(s >= bound, "{name} {process}: SSIM {s:.4} < {bound}");
    }
}
