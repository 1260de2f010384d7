//! Criterion benches of the codecs alone: header probes (including bombs, which must stay
//! cheap) and encoders at a typical thumbnail size, per output format and quality setting.
//!
//!     cargo bench --bench codecs

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use imgedge::transform::codec::{self, DecodeOptions, EncodeSettings};
use imgedge::transform::Format;

#[path = "../tests/common/fixtures.rs"]
mod fixtures;
use fixtures::read as corpus;

#[path = "codecs/autoquality.rs"]
mod autoquality;

/// A GIF of `n` 1×1 frames: a frame-count bomb, which probe must count without decoding.
fn many_frame_gif(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 1, 1, &[0, 0, 0, 255, 255, 255]).unwrap();
        for _ in 0..n {
            enc.write_frame(&gif::Frame {
                width: 1,
                height: 1,
                buffer: vec![0].into(),
                ..Default::default()
            })
            .unwrap();
        }
    }
    out
}

fn probe(c: &mut Criterion) {
    let mut g = c.benchmark_group("probe");
    for rel in
        ["photos/phone12mp.jpg", "bad/giant-image.jpg", "bad/65536-uint32-limit.png", "oss/example.gif"]
    {
        let src = corpus(rel);
        g.bench_function(rel, |b| b.iter(|| codec::probe(black_box(&src))));
    }
    let bomb = many_frame_gif(100_000);
    g.bench_function("gif with 100000 frames", |b| b.iter(|| codec::probe(black_box(&bomb))));
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode 400x267");
    let src = corpus("oss/example.jpg");
    let info = codec::probe(&src).unwrap();
    let img = codec::decode(&src, &info, &DecodeOptions::default()).unwrap();
    let cases = [
        (Format::Jpeg, 82, false),
        (Format::Jpeg, 82, true),
        (Format::Webp, 80, false),
        (Format::Png, 0, false),
        (Format::Gif, 0, false),
        (Format::Bmp, 0, false),
        (Format::Tiff, 0, false),
    ];
    for (format, quality, progressive) in cases {
        let s = EncodeSettings { format, quality, progressive, icc: None, target: None };
        let name = format!("{}{}", format.name(), if progressive { " progressive" } else { "" });
        g.bench_function(name, |b| b.iter(|| codec::encode(black_box(&img), &s).unwrap()));
    }
    g.finish();
}

/// The cost of colour management: a 12 MP phone photo resized to 400 px, untagged and tagged
/// Display P3 (converted to sRGB after the DCT-scaled decode); and the two engines converting
/// the same 1 MP of P3 pixels to sRGB (moxcms, which imgedge uses; Little CMS, the reference).
fn colour(c: &mut Criterion) {
    use imgedge::transform::{self, Env, Limits, NoStyles};
    let mut g = c.benchmark_group("colour");
    let photo = corpus("photos/phone12mp.jpg");
    let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let tagged = codec::icc::embed(photo.clone(), Format::Jpeg, Some(&p3)).unwrap();
    let limits = Limits::default();
    let p = transform::parse("image/resize,w_400/format,jpg", &NoStyles, &limits).unwrap();
    for (name, src) in [("12MP → 400 untagged", &photo), ("12MP → 400 Display P3", &tagged)] {
        g.bench_function(name, |b| {
            b.iter(|| transform::run(black_box(src), &p, &Env::new(&limits)).unwrap())
        });
    }
    let px: Vec<u8> = (0..1_000_000 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let src = moxcms::ColorProfile::new_from_slice(&p3).unwrap();
    let t = src
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            Default::default(),
        )
        .unwrap();
    let mut out = vec![0u8; px.len()];
    g.bench_function("1MP P3 → sRGB moxcms", |b| b.iter(|| t.transform(black_box(&px), &mut out).unwrap()));
    let lp = lcms2::Profile::new_icc(&p3).unwrap();
    let lt: lcms2::Transform<[u8; 3], [u8; 3]> = lcms2::Transform::new(
        &lp,
        lcms2::PixelFormat::RGB_8,
        &lcms2::Profile::new_srgb(),
        lcms2::PixelFormat::RGB_8,
        lcms2::Intent::Perceptual,
    )
    .unwrap();
    let lpx: Vec<[u8; 3]> = px.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let mut lout = vec![[0u8; 3]; lpx.len()];
    g.bench_function("1MP P3 → sRGB Little CMS", |b| {
        b.iter(|| lt.transform_pixels(black_box(&lpx), &mut lout))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = probe, encode, colour, autoquality::autoquality
}
criterion_main!(benches);
