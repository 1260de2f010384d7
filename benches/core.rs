//! Criterion benches of the transform core on real photos: JPEG decode (full and DCT-scaled),
//! resample, and the whole `resize,w_400` pipeline (probe → plan → decode → resize → encode).
//!
//!     cargo bench --bench core                 # all
//!     cargo bench --bench core -- pipeline     # one group (decode, resample, pipeline,
//!                                              # watermark, effects, saliency)
//!
//! Compare with libjpeg-turbo's own decoder: `scripts/bench-djpeg` times `djpeg -scale 1/4`
//! and `1/8` on the same files. Results are recorded in docs/benchmarks.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use imgedge::transform::codec::{self, DecodeOptions};
use imgedge::transform::{self, resample, Env, Limits, NoStyles};

const PHOTOS: [&str; 2] = ["phone12mp.jpg", "photo6mp.jpg"];

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn photo(name: &str) -> Vec<u8> {
    fixtures::read(&format!("photos/{name}"))
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for name in PHOTOS {
        let src = photo(name);
        let info = codec::probe(&src).unwrap();
        for denom in [1u8, 4, 8] {
            let opts =
                DecodeOptions { jpeg_scale_denom: denom, first_frame_only: true, ..DecodeOptions::default() };
            g.bench_function(format!("{name} 1/{denom}"), |b| {
                b.iter(|| codec::decode(black_box(&src), &info, &opts).unwrap())
            });
        }
    }
    g.finish();
}

fn resize(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    for name in PHOTOS {
        let src = photo(name);
        let info = codec::probe(&src).unwrap();
        for denom in [1u8, 8] {
            let opts =
                DecodeOptions { jpeg_scale_denom: denom, first_frame_only: true, ..DecodeOptions::default() };
            let img = codec::decode(&src, &info, &opts).unwrap();
            let px = &img.frames[0].pixels;
            let h = (400 * info.height).div_ceil(info.width);
            g.bench_function(format!("{name} 1/{denom} ({}x{}) -> 400x{h}", px.width(), px.height()), |b| {
                b.iter(|| resample::resample(black_box(px), 400, h, None).unwrap())
            });
        }
    }
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    let limits = Limits::default();
    let env = Env::new(&limits);
    for process in ["image/resize,w_400", "image/resize,w_400/format,webp"] {
        let pl = transform::parse(process, &NoStyles, &limits).unwrap();
        for name in PHOTOS {
            let src = photo(name);
            g.bench_function(format!("{name} {process}"), |b| {
                b.iter(|| transform::run(black_box(&src), &pl, &env).unwrap())
            });
        }
    }
    g.finish();
}

fn watermark(c: &mut Criterion) {
    let mut g = c.benchmark_group("watermark");
    let limits = Limits::default();
    let oss = fixtures::root().join("oss");
    let objects = transform::DirObjects::new(&oss).unwrap();
    let env = Env::with_objects(&limits, &objects);
    let b64 = |s: &str| transform::b64::encode(s.as_bytes());
    let src = photo("flowers1080p.jpg");
    let cases = [
        (
            "text",
            format!("image/watermark,text_{},size_40,color_FFFFFF,shadow_50", b64("阿里云 imgedge 水印")),
        ),
        (
            "text rotate_30 fill_1",
            format!("image/watermark,text_{},size_40,rotate_30,fill_1,padx_40,pady_40", b64("阿里云")),
        ),
        ("image", format!("image/watermark,image_{},t_80", b64("aws_logo.png"))),
        (
            "image P_30",
            format!("image/watermark,image_{}", b64("aws_logo.png?x-oss-process=image/resize,P_30")),
        ),
        ("none (decode + encode only)", "image/quality,Q_90".to_string()),
    ];
    for (name, process) in cases {
        let pl = transform::parse(&process, &NoStyles, &limits).unwrap();
        g.bench_function(format!("flowers1080p.jpg {name}"), |b| {
            b.iter(|| transform::run(black_box(&src), &pl, &env).unwrap())
        });
    }
    g.finish();
}

fn effects(c: &mut Criterion) {
    let mut g = c.benchmark_group("effects");
    let limits = Limits::default();
    let env = Env::new(&limits);
    let src = photo("flowers1080p.jpg");
    // The baselines first: what an effect adds is its time minus the RGB path's (decode +
    // encode + one table lookup per sample: `bright,0`), since a pipeline without an effect
    // takes the YCbCr path (the first line).
    for process in [
        "image/quality,Q_90",
        "image/bright,0/quality,Q_90",
        "image/blur,r_3,s_2",
        "image/blur,r_50,s_50",
        "image/bright,50",
        "image/contrast,50",
        "image/sharpen,100",
    ] {
        let pl = transform::parse(process, &NoStyles, &limits).unwrap();
        g.bench_function(format!("flowers1080p.jpg {process}"), |b| {
            b.iter(|| transform::run(black_box(&src), &pl, &env).unwrap())
        });
    }
    g.finish();
}

/// The effects alone, on the decoded 1080p photo (each iteration also copies its 6 MB input,
/// the first line): what an effect costs without the decode and encode around it.
fn effect_ops(c: &mut Criterion) {
    use imgedge::transform::ops::{blur, sharpen};
    let mut g = c.benchmark_group("effect ops");
    let src = photo("flowers1080p.jpg");
    let info = codec::probe(&src).unwrap();
    let img = codec::decode(&src, &info, &DecodeOptions::default()).unwrap().frames.remove(0).pixels;
    g.bench_function("copy of the 1080p frame", |b| b.iter(|| black_box(img.clone())));
    g.bench_function("sharpen,100", |b| b.iter(|| sharpen::apply(&100, black_box(img.clone()))));
    let spec = blur::BlurSpec { r: 3, s: 2 };
    g.bench_function("blur,r_3,s_2", |b| b.iter(|| blur::apply(&spec, black_box(img.clone()))));
    g.finish();
}

/// Smart crop (issue 26): the saliency search alone on a decoded frame (a 12 MP photo and a
/// 1000×667 one), and whole `g_auto` pipelines beside their centre-gravity twins.
fn saliency(c: &mut Criterion) {
    use imgedge::transform::saliency;
    let mut g = c.benchmark_group("saliency");
    let decoded = |name: &str| {
        let src = photo(name);
        let info = codec::probe(&src).unwrap();
        codec::decode(&src, &info, &DecodeOptions::default()).unwrap().frames.remove(0).pixels
    };
    let phone = decoded("phone12mp.jpg");
    // A 3:2 cut of the boats photo (2400×1600), resampled to 1000×667.
    let boats = decoded("boats4mp.jpg").crop_imm(80, 0, 2400, 1600);
    let small = resample::resample(&boats, 1000, 667, None).unwrap();
    for (name, img, side) in [("phone12mp.jpg 4032x3024", &phone, 3024), ("boats 1000x667", &small, 667)] {
        g.bench_function(format!("window {name} -> {side}x{side}"), |b| {
            b.iter(|| saliency::window(black_box(img), side, side))
        });
    }
    let limits = Limits::default();
    let env = Env::new(&limits);
    let src = photo("phone12mp.jpg");
    for process in [
        "image/crop,w_3024,h_3024,g_center/resize,w_400",
        "image/crop,w_3024,h_3024,g_auto/resize,w_400",
        "image/resize,m_fill,w_400,h_400",
        "image/resize,m_fill,w_400,h_400,g_auto",
    ] {
        let pl = transform::parse(process, &NoStyles, &limits).unwrap();
        g.bench_function(format!("phone12mp.jpg {process}"), |b| {
            b.iter(|| transform::run(black_box(&src), &pl, &env).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Two cores: short, repeatable runs rather than long ones.
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = decode, resize, pipeline, watermark, effects, effect_ops, saliency
}
criterion_main!(benches);
