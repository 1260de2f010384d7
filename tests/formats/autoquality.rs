//! `quality,auto` through the proxy: answers reach the perceptual target, a flat picture gets a
//! lower quality than a busy one, a search runs once per source and pipeline, and a bucket's
//! `auto_quality` applies it to pipelines that name no quality.

use super::common::server::{metric, start, Proxy, PUBLIC};
use imgedge::transform::codec::autoq;
use imgedge::transform::codec::jpeg_quality;

/// The SSIMULACRA2 score of the `quality,auto` answer for `pipeline` on `key`, against the same
/// pipeline written losslessly, and the JPEG quality its tables say.
fn scored(p: &Proxy, key: &str, pipeline: &str) -> (f64, u8) {
    let lossy = super::common::server::get(&p.addr, &format!("/{key}?x-oss-process={pipeline}/quality,auto"));
    assert_eq!(lossy.status, 200, "{}", lossy.text());
    let reference =
        super::common::server::get(&p.addr, &format!("/{key}?x-oss-process={pipeline}/format,png"));
    let score = autoq::ssimulacra2(&reference.image(), &lossy.image()).unwrap();
    (score, jpeg_quality::estimate(&lossy.body).unwrap())
}

/// A flat picture: smooth gradients and a soft-edged shape, like a sky or a product shot on a
/// plain backdrop.
fn flat_png(dir: &std::path::Path) {
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        let d = (((x as f32 - 480.0).powi(2) + (y as f32 - 300.0).powi(2)).sqrt() - 150.0) / 60.0;
        let blob = 1.0 - d.clamp(0.0, 1.0);
        let mix = |bg: f32, fg: f32| (bg * (1.0 - blob) + fg * blob) as u8;
        image::Rgb([
            mix(120.0 + x as f32 / 8.0, 230.0),
            mix(160.0 + y as f32 / 10.0, 120.0),
            mix(220.0, 60.0),
        ])
    });
    img.save(dir.join("flat.png")).unwrap();
}

#[test]
fn auto_quality_reaches_the_target_with_less_quality_on_flat_pictures() {
    let p = start("autoq", "", PUBLIC);
    flat_png(&p.dir);
    let (busy_score, busy_q) = scored(&p, "example.jpg", "image/resize,w_300");
    let (flat_score, flat_q) = scored(&p, "flat.png", "image/resize,w_300/format,jpg");
    for (what, score) in [("busy", busy_score), ("flat", flat_score)] {
        assert!(score >= 75.0, "{what}: SSIMULACRA2 {score:.1} below the default target 75");
        println!("{what}: SSIMULACRA2 {score:.1}");
    }
    println!("flat q{flat_q}, busy q{busy_q}");
    assert!(flat_q + 10 <= busy_q, "flat q{flat_q} against busy q{busy_q}");
    assert_eq!(metric(&p, "imgedge_quality_searches_total"), 2.0);
}

#[test]
fn a_search_runs_once_per_source_and_pipeline() {
    // No variant cache: every request renders again, and only the remembered quality saves the search.
    let p = start("autoq-memo", "", &format!("[cache]\ncapacity_bytes = 0\n{PUBLIC}"));
    let target = "/example.jpg?x-oss-process=image/resize,w_200/quality,auto";
    let first = super::common::server::get(&p.addr, target);
    for _ in 0..3 {
        let again = super::common::server::get(&p.addr, target);
        assert_eq!(again.body, first.body, "the same quality, the same bytes");
    }
    assert_eq!(metric(&p, "imgedge_transforms_total"), 4.0, "rendered every time");
    assert_eq!(metric(&p, "imgedge_quality_searches_total"), 1.0, "searched once");
    let webp = super::common::server::get(
        &p.addr,
        "/example.jpg?x-oss-process=image/resize,w_200/quality,auto/format,webp",
    );
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(metric(&p, "imgedge_quality_searches_total"), 2.0, "another format is searched for itself");
}

#[test]
fn a_bucket_can_make_auto_quality_its_default() {
    let conf =
        PUBLIC.replace("name = \"demo\"\n", "name = \"demo\"\nauto_quality = true\nquality_target = 80\n");
    let p = start("autoq-bucket", "", &conf);
    let auto = super::common::server::get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_300");
    assert_eq!(metric(&p, "imgedge_quality_searches_total"), 1.0, "no quality named: searched");
    let fixed =
        super::common::server::get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_300/quality,Q_50");
    let png = super::common::server::get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_300/format,png");
    assert_eq!((fixed.status, png.status), (200, 200));
    assert_eq!(
        metric(&p, "imgedge_quality_searches_total"),
        1.0,
        "a named quality and lossless output are left alone"
    );
    assert_eq!(jpeg_quality::estimate(&fixed.body), Some(50));
    let higher = jpeg_quality::estimate(&auto.body).unwrap();
    let p75 = start("autoq-75", "", PUBLIC);
    let (_, default_q) = scored(&p75, "example.jpg", "image/resize,w_300");
    assert!(higher > default_q, "target 80 takes more quality than 75: q{higher} against q{default_q}");
}
