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
        let s = EncodeSettings { format, quality, progressive };
        let name = format!("{}{}", format.name(), if progressive { " progressive" } else { "" });
        g.bench_function(name, |b| b.iter(|| codec::encode(black_box(&img), &s).unwrap()));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = probe, encode
}
criterion_main!(benches);
