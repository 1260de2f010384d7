//! A bucket in front of an HTTP origin: raw objects proxied by pingora as the origin sends them,
//! processed variants fetched once (bounded), cached, and errors as OSS XML.

mod common;

use common::origin;
use common::server::{get, start};

fn setup(name: &str, extra: &str) -> (common::server::Proxy, origin::Origin) {
    let dir = common::temp_dir(&format!("{name}-origin"));
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("example.jpg")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"plain text, not an image").unwrap();
    let o = origin::serve(dir, "/base");
    let conf = format!(
        "{extra}[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        o.addr
    );
    (start(name, "", &conf), o)
}

#[test]
fn raw_objects_pass_through_untouched() {
    let (p, o) = setup("http-raw", "");
    let file = std::fs::read(common::corpus("oss/example.jpg")).unwrap();
    let r = get(&p.addr, "/example.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, file);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("etag"), Some(format!("\"mock-{}\"", file.len()).as_str()));
    assert!(r.header("x-oss-request-id").is_some());
    assert_eq!(o.hits("/base/example.jpg"), 1);
    let t = get(&p.addr, "/notes.txt");
    assert_eq!((t.status, t.header("content-type")), (200, Some("text/plain")));
    assert_eq!(get(&p.addr, "/missing.jpg").status, 404);
}

#[test]
fn processed_variants_fetch_once_and_cache() {
    let (p, o) = setup("http-process", "");
    for _ in 0..3 {
        let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!((r.image().width(), r.image().height()), (100, 67));
    }
    assert_eq!(o.hits("/base/example.jpg"), 1, "one fetch for three requests");
    let e = get(&p.addr, "/missing.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("Code").as_deref()), (404, Some("NoSuchKey")));
    let e = get(&p.addr, "/notes.txt?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("EC").as_deref()), (400, Some("0040-00000005")));
}

#[test]
fn oversized_sources_are_refused() {
    let (p, _o) = setup("http-big", "[limits]\nmax_src_bytes = 10000\n");
    let e = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("Code").as_deref()), (400, Some("ImageTooLarge")));
}

#[test]
fn slow_and_endless_origins_are_bounded() {
    let (p, _o) = setup(
        "http-faults",
        "[origin]\ntotal_ms = 1000\nfirst_byte_ms = 5000\n[limits]\nmax_src_bytes = 100000\n",
    );
    for key in ["hang.jpg", "drip.jpg"] {
        let t = std::time::Instant::now();
        let r = get(&p.addr, &format!("/{key}?x-oss-process=image/resize,w_10"));
        let took = t.elapsed();
        assert_eq!((r.status, r.xml("Code").as_deref()), (504, Some("GatewayTimeout")), "{key}");
        // The deadline is a total: a drip of one byte per 100 ms does not extend it.
        assert!(took < std::time::Duration::from_secs(4), "{key}: {took:?}");
    }
    let r = get(&p.addr, "/endless.jpg?x-oss-process=image/resize,w_10");
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (400, Some("ImageTooLarge")),
        "an endless body stops at the limit"
    );
}

#[test]
fn a_raw_request_to_a_hanging_or_closed_origin_is_an_oss_error() {
    let (p, _o) = setup("http-raw-faults", "[origin]\nfirst_byte_ms = 500\nconnect_ms = 500\n");
    let t = std::time::Instant::now();
    let r = get(&p.addr, "/hang.jpg");
    assert_eq!((r.status, r.xml("Code").as_deref()), (504, Some("GatewayTimeout")), "{}", r.text());
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert!(r.header("x-oss-request-id").is_some());
    // An origin port with nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let conf = format!(
        "[[buckets]]\nname = \"gone\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{closed}\"\n"
    );
    let q = start("http-closed", "", &conf);
    let r = get(&q.addr, "/x.jpg");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
    let r = get(&q.addr, "/x.jpg?x-oss-process=image/resize,w_10");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
}
