//! Modern formats through the proxy (issue 13): format by `Accept` (`format,auto` and a
//! bucket's `auto_format`), with `Vary: Accept` and a cache that holds the chosen format only.

mod common;

use common::server::{metric, request, start, PUBLIC};

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

#[test]
fn format_auto_follows_accept_and_the_cache_keys_the_choice_not_the_header() {
    let p = start("formats-accept", "", PUBLIC);
    let target = "/example.jpg?x-oss-process=image/resize,w_120/format,auto";
    for (accept, ctype) in [(CHROME, "image/avif"), ("image/webp,*/*", "image/webp"), ("*/*", "image/jpeg")] {
        let r = request(&p.addr, "GET", target, &[("Accept", accept)]);
        assert_eq!(r.status, 200, "{accept}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(ctype), "{accept}");
        assert_eq!(r.header("vary"), Some("Accept"), "{accept}");
    }
    // 50 distinct Accept strings: each lands on one of the three variants already made.
    for i in 0..50 {
        let accept = match i % 3 {
            0 => format!("image/avif;q=0.{},image/webp,*/*;q=0.{i}", 1 + i % 9),
            1 => format!("text/html,image/webp;q=0.{},*/*;q=0.{i}", 1 + i % 9),
            _ => format!("image/png;q=0.{},*/*;q=0.{i}", 1 + i % 9),
        };
        let r = request(&p.addr, "GET", target, &[("Accept", &accept)]);
        assert_eq!(r.status, 200, "{accept}");
    }
    assert_eq!(metric(&p, "imgedge_cache_misses_total"), 3.0, "one variant per chosen format");
    assert_eq!(metric(&p, "imgedge_transforms_total"), 3.0);
    // An explicit format wins and does not vary.
    let r = request(
        &p.addr,
        "GET",
        "/example.jpg?x-oss-process=image/resize,w_120/format,png",
        &[("Accept", CHROME)],
    );
    assert_eq!((r.header("content-type"), r.header("vary")), (Some("image/png"), None));
}

#[test]
fn a_bucket_with_auto_format_negotiates_pipelines_that_name_no_format() {
    let conf = PUBLIC.replace("style_delimiters", "auto_format = true\nstyle_delimiters");
    let p = start("formats-bucket", "", &conf);
    let r = request(
        &p.addr,
        "GET",
        "/example.jpg?x-oss-process=image/resize,w_80",
        &[("Accept", "image/webp,*/*")],
    );
    assert_eq!(
        (r.status, r.header("content-type"), r.header("vary")),
        (200, Some("image/webp"), Some("Accept"))
    );
    assert_eq!(r.image().width(), 80);
    let r = request(&p.addr, "GET", "/example.jpg!thumb", &[("Accept", CHROME)]);
    assert_eq!((r.header("content-type"), r.header("vary")), (Some("image/avif"), Some("Accept")));
    // The raw object is the object.
    let r = request(&p.addr, "GET", "/example.jpg", &[("Accept", CHROME)]);
    assert_eq!((r.header("content-type"), r.header("vary")), (Some("image/jpeg"), None));
}

/// AVIF picked by `Accept` falls back to WebP past OSS's AVIF cap; an explicit `format,avif`
/// is refused there. The fallback must never be served for the explicit request from the cache.
#[test]
fn a_negotiated_avif_fallback_is_never_the_answer_to_an_explicit_avif() {
    let p = start("formats-fallback", "", PUBLIC);
    std::fs::write(p.dir.join("wide.jpg"), common::jpeg(5000, 3000)).unwrap();
    let r = request(&p.addr, "GET", "/wide.jpg?x-oss-process=image/format,auto", &[("Accept", CHROME)]);
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/webp")), "{}", r.text());
    let r = request(&p.addr, "GET", "/wide.jpg?x-oss-process=image/format,avif", &[]);
    assert_eq!(
        (r.status, r.xml("Code").as_deref(), r.header("x-oss-ec")),
        (400, Some("ImageTooLarge"), Some("0040-00000014")),
        "{:?} {}",
        r.header("content-type"),
        r.text()
    );
}
