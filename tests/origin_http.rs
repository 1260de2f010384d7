//! A bucket in front of an HTTP origin: raw objects proxied by pingora as the origin sends them,
//! processed variants fetched once (bounded), cached, and errors as OSS XML.

mod common;

use common::server::{get, start, start_with_env};
use common::{origin, tls};

fn setup(name: &str, extra: &str) -> (common::server::Proxy, origin::Origin) {
    setup_with(name, "", extra)
}

/// `server_extra` goes into `[server]`, `extra` before the bucket.
fn setup_with(name: &str, server_extra: &str, extra: &str) -> (common::server::Proxy, origin::Origin) {
    let dir = common::temp_dir(&format!("{name}-origin"));
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("example.jpg")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"plain text, not an image").unwrap();
    let o = origin::serve(dir, "/base");
    let conf = format!(
        "{extra}[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        o.addr
    );
    (start(name, server_extra, &conf), o)
}

#[test]
fn raw_objects_pass_through_untouched() {
    let (p, o) = setup("http-raw", "");
    let file = common::read("oss/example.jpg");
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
fn concurrent_misses_share_one_head_and_one_fetch() {
    let (p, o) = setup_with("http-stampede", "queue = 200\nqueue_wait_ms = 30000", "");
    let n = 50;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (b, a) = (barrier.clone(), p.addr.clone());
            std::thread::spawn(move || {
                b.wait();
                get(&a, "/example.jpg?x-oss-process=image/resize,w_80/rotate,10").status
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap() == 200));
    assert_eq!(o.hits("HEAD /base/example.jpg"), 1, "one validator lookup");
    assert_eq!(o.hits("/base/example.jpg"), 1, "one source fetch");
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

#[test]
fn https_origins_are_verified_against_trusted_roots() {
    let dir = common::temp_dir("https-origin");
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("example.jpg")).unwrap();
    let ca = tls::test_ca(&dir);
    let o = origin::serve_tls(dir.clone(), "/base", ca.server.clone());
    let conf = format!(
        "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"https://{}/base\"\n",
        o.addr
    );
    let ca_pem = ca.ca_pem.display().to_string();
    let p = start_with_env("https", "", &conf, &[("SSL_CERT_FILE", &ca_pem)]);
    let file = common::read("oss/example.jpg");
    let r = get(&p.addr, "/example.jpg");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, file);
    let v = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!((v.image().width(), v.image().height()), (100, 67));
    assert_eq!(o.hits("/base/example.jpg"), 2, "one raw GET and one source fetch");
    // The same origin without its CA among the trusted roots: refused, never served.
    let other = tls::test_ca(&common::temp_dir("https-other-ca"));
    let other_pem = other.ca_pem.display().to_string();
    let q = start_with_env("https-untrusted", "", &conf, &[("SSL_CERT_FILE", &other_pem)]);
    let r = get(&q.addr, "/example.jpg");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
    let r = get(&q.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
}

#[test]
fn client_credentials_and_query_never_reach_the_origin() {
    let (p, o) = setup("http-strip", "[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\n");
    // A valid OSS V1 presigned URL for the raw object: verified here, then proxied without it.
    let target = common::sign::presign_v1("AK", "SK", "web", "example.jpg", None);
    let r = get(&p.addr, &target);
    assert_eq!(r.status, 200, "{}", r.text());
    let heads = o.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].starts_with("GET /base/example.jpg HTTP/1.1\r\n"), "{}", heads[0]);
    assert!(!heads[0].contains("signature") && !heads[0].contains("authorization"), "{}", heads[0]);
}

#[test]
fn a_truncated_source_is_a_502_and_never_cached() {
    let (p, o) = setup("http-truncate", "");
    for n in 1..=2 {
        let r = get(&p.addr, "/truncate.jpg?x-oss-process=image/resize,w_10");
        assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
        assert_eq!(o.hits("/base/truncate.jpg"), n, "the failure was cached");
    }
}

#[test]
fn the_upstream_is_configuration_never_request_input() {
    // A canary that counts connections: nothing a client sends may make the proxy dial it.
    let canary = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let caddr = canary.local_addr().unwrap();
    canary.set_nonblocking(true).unwrap();
    let (p, o) = setup("http-ssrf", "");
    let attempts = [
        format!("GET http://{caddr}/example.jpg HTTP/1.1\r\nHost: {caddr}\r\nConnection: close\r\n\r\n"),
        format!("GET /example.jpg HTTP/1.1\r\nHost: {caddr}\r\nX-Forwarded-Host: {caddr}\r\nConnection: close\r\n\r\n"),
        format!("GET //{caddr}/example.jpg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    ];
    for a in &attempts {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&p.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        s.write_all(a.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(out.starts_with(b"HTTP/1.1 "), "{a}");
    }
    assert!(canary.accept().is_err(), "the proxy connected to a client-named address");
    assert!(o.hits("/base/example.jpg") >= 2, "requests went to the configured origin");
    let raw = get(&p.addr, "/notes.txt");
    assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn stale_pooled_connections_are_retried_on_a_fresh_one() {
    let (p, o) = setup("http-stale", "[origin]\nrevalidate_s = 0\n");
    std::fs::copy(common::corpus("oss/example.jpg"), o.root.join("ka-example.jpg")).unwrap();
    for w in 20..40 {
        let r = get(&p.addr, &format!("/ka-example.jpg?x-oss-process=image/resize,w_{w}"));
        assert_eq!(r.status, 200, "request {w}: {}", r.text());
        assert_eq!(r.image().width(), w);
    }
    assert_eq!(o.hits("/base/ka-example.jpg"), 20);
    // Raw requests go through pingora's own upstream pool, which retries the same way.
    for n in 0..20 {
        assert_eq!(get(&p.addr, "/ka-example.jpg").status, 200, "raw request {n}");
    }
}

/// One GET on a raw socket: everything the proxy sent until it closed the connection, and
/// whether it did close (rather than leave the client waiting).
fn raw_get(addr: &str, target: &str) -> (String, Vec<u8>, bool) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let (mut raw, mut buf) = (Vec::new(), [0u8; 16384]);
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    (head, raw[split + 4..].to_vec(), closed)
}

/// Decodes a chunked body: the data, and whether the terminating zero-size chunk came.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { return (data, false) };
        let size = std::str::from_utf8(&b[..eol]).ok().and_then(|l| usize::from_str_radix(l.trim(), 16).ok());
        let Some(size) = size else { return (data, false) };
        if size == 0 {
            return (data, b[eol..].starts_with(b"\r\n\r\n"));
        }
        let start = eol + 2;
        if b.len() < start + size + 2 {
            data.extend_from_slice(&b[start.min(b.len())..b.len().min(start + size)]);
            return (data, false);
        }
        data.extend_from_slice(&b[start..start + size]);
        b = &b[start + size + 2..];
    }
}

#[test]
fn a_raw_body_the_origin_cuts_is_cut_for_the_client_too() {
    // Once the head has gone downstream, a failure can only abort the connection: an error
    // body or a terminating chunk would turn a truncated object into a complete-looking 200
    // that a CDN caches.
    let (p, _o) = setup("http-raw-cut", "");
    let (head, body, closed) = raw_get(&p.addr, "/chunked-cut.jpg");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(closed, "the connection was left open");
    let (data, complete) = dechunk(&body);
    let tail = String::from_utf8_lossy(&body[body.len().saturating_sub(600)..]).into_owned();
    assert!(!complete, "a truncated chunked body was terminated: ...{tail:?}");
    assert!(!body.windows(7).any(|w| w == b"<Error>"), "an error was appended to the body");
    assert!(data.iter().all(|&b| b == 0xFF) && data.len() <= 8192, "{} bytes", data.len());

    let (head, body, closed) = raw_get(&p.addr, "/length-cut.jpg");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-length: 100000"), "{head}");
    assert!(closed, "the connection was left open");
    assert!(body.len() < 100000, "{} bytes", body.len());
    assert!(!body.windows(7).any(|w| w == b"<Error>"), "an error was appended to the body");
    assert!(body.iter().all(|&b| b == 0xFF), "bytes that are not the origin's");
    // The proxy is fine afterwards.
    assert_eq!(get(&p.addr, "/example.jpg").status, 200);
}

#[test]
fn first_byte_ms_bounds_every_processing_fetch() {
    let (p, o) = setup("http-first-byte", "[origin]\nfirst_byte_ms = 500\ntotal_ms = 10000\n");
    std::fs::copy(common::corpus("oss/example.jpg"), o.root.join("late-example.jpg")).unwrap();
    let mark = common::b64("hang.jpg");
    let cases = [
        // The source's HEAD never answers.
        "/hang.jpg?x-oss-process=image/resize,w_10".to_string(),
        // The HEAD answers, the source's GET does not.
        "/late-example.jpg?x-oss-process=image/resize,w_10".to_string(),
        // The source is fine, a watermark image's GET never answers.
        format!("/example.jpg?x-oss-process=image/watermark,image_{mark}"),
    ];
    for target in &cases {
        let t = std::time::Instant::now();
        let r = get(&p.addr, target);
        let took = t.elapsed();
        assert_eq!(
            (r.status, r.xml("Code").as_deref()),
            (504, Some("GatewayTimeout")),
            "{target}: {}",
            r.text()
        );
        // first_byte_ms (500 ms), not total_ms (10 s), plus slack.
        assert!(took < std::time::Duration::from_millis(500 + 1500), "{target}: {took:?}");
    }
}

#[test]
fn total_ms_is_one_deadline_for_all_fetches_of_a_request() {
    let (p, o) = setup("http-total", "[origin]\nfirst_byte_ms = 2000\ntotal_ms = 2500\n");
    // Each fetch takes 1.5 s (60% of total_ms): one fits, three in a row do not.
    std::fs::copy(common::corpus("oss/example.jpg"), o.root.join("slow1500-example.jpg")).unwrap();
    let mark = common::png(&image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        20,
        20,
        image::Rgba([255, 0, 0, 255]),
    )));
    for m in ["slow1500-a.png", "slow1500-b.png"] {
        std::fs::write(o.root.join(m), &mark).unwrap();
    }
    let r = get(&p.addr, "/slow1500-example.jpg?x-oss-process=image/resize,w_10");
    assert_eq!(r.status, 200, "one slow fetch fits in total_ms: {}", r.text());
    let target = format!(
        "/slow1500-example.jpg?x-oss-process=image/watermark,image_{}/watermark,image_{}",
        common::b64("slow1500-a.png"),
        common::b64("slow1500-b.png")
    );
    let t = std::time::Instant::now();
    let r = get(&p.addr, &target);
    let took = t.elapsed();
    assert_eq!((r.status, r.xml("Code").as_deref()), (504, Some("GatewayTimeout")), "{}", r.text());
    // By total_ms (2.5 s) plus slack, not three fetches' 4.5 s.
    assert!(took < std::time::Duration::from_millis(2500 + 1500), "{took:?}");
}

#[test]
fn an_origin_that_resets_mid_body_is_a_502_or_a_cut_never_a_whole_200() {
    // AT-10: the origin sends its head and 8 KiB of a promised 100 000, then a TCP RST.
    let (p, o) = setup("http-reset", "");
    let r = get(&p.addr, "/reset.jpg?x-oss-process=image/resize,w_10");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
    assert!(o.hits("/base/reset.jpg") <= 2, "at most one retry: {}", o.hits("/base/reset.jpg"));
    let (head, body, closed) = raw_get(&p.addr, "/reset.jpg");
    if head.starts_with("http/1.1 200") {
        assert!(closed && body.len() < 100000, "a reset body passed as whole: {} bytes", body.len());
        assert!(!body.windows(7).any(|w| w == b"<Error>"), "an error was appended to the body");
    } else {
        assert!(head.starts_with("http/1.1 502"), "{head}");
    }
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_10").status, 200);
}

#[test]
fn an_origin_that_is_down_answers_502_at_once_and_is_used_again_when_back() {
    // AT-11: nothing listens on the origin's port, then an origin comes back there.
    let dir = common::temp_dir("http-down-origin");
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("example.jpg")).unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let conf = format!(
        "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{addr}/base\"\n"
    );
    let p = start("http-down", "", &conf);
    for target in ["/example.jpg", "/example.jpg?x-oss-process=image/resize,w_10"] {
        let t = std::time::Instant::now();
        let r = get(&p.addr, target);
        assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{target}: {}", r.text());
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "{target}: {:?}", t.elapsed());
    }
    let _back = origin::serve_on(dir, "/base", &addr);
    let raw = get(&p.addr, "/example.jpg");
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(raw.body, common::read("oss/example.jpg"));
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_10");
    assert_eq!((r.status, r.image().width()), (200, 10));
}
