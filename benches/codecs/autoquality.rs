//! `quality,auto` against fixed q80: bytes and SSIMULACRA2 over the corpus's photos and simple
//! pictures at 400 px (printed as a table once), and the search's cost (timed).
//!
//!     cargo bench --bench codecs -- autoquality

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use image::{DynamicImage, Rgb, RgbImage};
use imgedge::transform::codec::{autoq, EncodeSettings};
use imgedge::transform::raster::Image;
use imgedge::transform::{self, Env, Format, Limits, NoStyles, Stop};

use super::corpus;

const TARGET: u8 = autoq::DEFAULT_TARGET;

/// The picture a 400 px thumbnail request encodes: resized, not yet compressed.
fn thumbnail(src: &[u8]) -> DynamicImage {
    let limits = Limits::default();
    let p = transform::parse("image/resize,w_400/format,png", &NoStyles, &limits).unwrap();
    let png = transform::run(src, &p, &Env::new(&limits)).unwrap().body;
    DynamicImage::ImageRgb8(image::load_from_memory(&png).unwrap().to_rgb8())
}

/// Simple pictures made here: a UI mock-up (flat panels, hard edges), flat art (gradient and
/// shapes) and a line chart.
fn simple() -> Vec<(&'static str, DynamicImage)> {
    let ui = RgbImage::from_fn(800, 500, |x, y| match (x, y) {
        (_, 0..=59) => Rgb([32, 41, 56]),
        (0..=179, _) => Rgb([242, 244, 247]),
        (220..=760, 100..=180) | (220..=480, 220..=460) | (520..=760, 220..=460) => Rgb([255, 255, 255]),
        _ if (y / 12) % 3 == 0 && (240..=700).contains(&x) && (120..=160).contains(&y) => Rgb([90, 100, 120]),
        _ => Rgb([228, 232, 238]),
    });
    let art = RgbImage::from_fn(800, 600, |x, y| {
        let disc = (x as i32 - 520).pow(2) + (y as i32 - 280).pow(2) < 150 * 150;
        match ((180..380).contains(&x) && (160..420).contains(&y), disc) {
            (true, _) => Rgb([230, 70, 50]),
            (_, true) => Rgb([40, 100, 200]),
            _ => Rgb([250, (190 + y / 12) as u8, (200 + x / 16) as u8]),
        }
    });
    let chart = RgbImage::from_fn(800, 450, |x, y| {
        let curve = 225.0 - 150.0 * ((x as f32) / 90.0).sin() * (-(x as f32) / 900.0).exp();
        match ((y as f32 - curve).abs() < 2.0, x % 100 == 0 || y % 75 == 0) {
            (true, _) => Rgb([200, 40, 40]),
            (_, true) => Rgb([210, 210, 210]),
            _ => Rgb([255, 255, 255]),
        }
    });
    let png = |img: RgbImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
        thumbnail(&out.into_inner())
    };
    vec![("ui mock-up (made)", png(ui)), ("flat art (made)", png(art)), ("line chart (made)", png(chart))]
}

fn settings(format: Format, quality: u8) -> EncodeSettings {
    EncodeSettings { format, quality, progressive: false, icc: None, target: None }
}

/// One row: bytes and score at q80, then with `quality,auto` at `target` (printed when `print`).
fn row(name: &str, img: &DynamicImage, format: Format, target: u8, print: bool) -> (usize, f64, usize, f64) {
    let picture = Image::still(img.clone());
    let fixed = imgedge::transform::codec::encode(&picture, &settings(format, 80)).unwrap();
    let decoded = image::load_from_memory(&fixed).unwrap();
    let fixed_score = autoq::ssimulacra2(img, &decoded).unwrap();
    let t = Instant::now();
    let auto =
        autoq::encode_auto(&picture, &settings(format, 80), target, None, |q| q, &Stop::never()).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let auto_score = autoq::ssimulacra2(img, &image::load_from_memory(&auto.body).unwrap()).unwrap();
    if !print {
        return (fixed.len(), fixed_score, auto.body.len(), auto_score);
    }
    println!(
        "| {name} | {format:?} | {} | {fixed_score:.1} | {} (q{}) | {auto_score:.1} | {:+.0} % | {ms:.0} ms |",
        fixed.len(),
        auto.body.len(),
        auto.quality,
        (auto.body.len() as f64 / fixed.len() as f64 - 1.0) * 100.0
    );
    (fixed.len(), fixed_score, auto.body.len(), auto_score)
}

pub fn autoquality(c: &mut Criterion) {
    let photos = [
        "photos/boats4mp.jpg",
        "photos/flowers1080p.jpg",
        "photos/forest4mp.jpg",
        "photos/phone12mp.jpg",
        "photos/photo6mp.jpg",
        "oss/example.jpg",
        "formats/concert.jpg",
        "orient/Landscape_1.jpg",
    ];
    let mut pictures: Vec<(String, DynamicImage)> =
        photos.iter().map(|rel| (rel.to_string(), thumbnail(&corpus(rel)))).collect();
    let photo_count = pictures.len();
    for rel in ["oss/aws_logo.png", "formats/Flag_of_the_Netherlands-alpha.png", "formats/blackbug.png"] {
        pictures.push((rel.to_string(), thumbnail(&corpus(rel))));
    }
    pictures.extend(simple().into_iter().map(|(n, i)| (n.to_string(), i)));
    println!("\n| picture (400 px wide) | format | q80 bytes | q80 SSIMULACRA2 | auto bytes | auto SSIMULACRA2 | bytes | search |");
    println!("|---|---|---|---|---|---|---|---|");
    for (format, target) in [70, 75, 80].into_iter().flat_map(|t| [(Format::Jpeg, t), (Format::Webp, t)]) {
        let print = target == TARGET;
        let rows: Vec<_> = pictures.iter().map(|(n, i)| row(n, i, format, target, print)).collect();
        let sum = |r: &[(usize, f64, usize, f64)], f: fn(&(usize, f64, usize, f64)) -> usize| {
            r.iter().map(f).sum::<usize>()
        };
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (p, s) = rows.split_at(photo_count);
        for (what, r) in [("photos", p), ("simple", s), ("all", &rows[..])] {
            println!(
                "target {target}, {format:?} {what}: q80 {} bytes, median score {:.1}; auto {} bytes ({:+.1} %), median score {:.1}, lowest {:.1}",
                sum(r, |x| x.0),
                median(r.iter().map(|x| x.1).collect()),
                sum(r, |x| x.2),
                (sum(r, |x| x.2) as f64 / sum(r, |x| x.0) as f64 - 1.0) * 100.0,
                median(r.iter().map(|x| x.3).collect()),
                r.iter().map(|x| x.3).fold(f64::INFINITY, f64::min),
            );
        }
    }
    let mut g = c.benchmark_group("autoquality");
    let photo = Image::still(pictures[5].1.clone());
    g.bench_function("jpeg q80, 400x267", |b| {
        b.iter(|| imgedge::transform::codec::encode(black_box(&photo), &settings(Format::Jpeg, 80)))
    });
    g.bench_function("jpeg auto, 400x267", |b| {
        b.iter(|| {
            autoq::encode_auto(
                black_box(&photo),
                &settings(Format::Jpeg, 80),
                TARGET,
                None,
                |q| q,
                &Stop::never(),
            )
        })
    });
    g.bench_function("jpeg auto known, 400x267", |b| {
        b.iter(|| {
            autoq::encode_auto(
                black_box(&photo),
                &settings(Format::Jpeg, 80),
                TARGET,
                Some(60),
                |q| q,
                &Stop::never(),
            )
        })
    });
    g.finish();
}
