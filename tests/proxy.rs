//! The real proxy (`imgedge serve`) on loopback, with a directory bucket: raw objects with
//! validators and ranges, processed variants, styles in both URL forms, the cache and its
//! sharing of concurrent misses, backpressure, errors as OSS XML, metrics.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::server::{get, metric, read, request, start, PUBLIC};

#[test]
fn raw_objects_stream_with_validators_and_ranges() {
    let p = start("px-raw", "", PUBLIC);
    let file = read(&p.dir.join("example.jpg"));
    let r = get(&p.addr, "/example.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, file);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert!(r.header("x-oss-request-id").is_some_and(|v| v.len() == 24));
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();
    assert_eq!(request(&p.addr, "GET", "/example.jpg", &[("If-None-Match", &etag)]).status, 304);
    assert_eq!(request(&p.addr, "GET", "/example.jpg", &[("If-Modified-Since", &lm)]).status, 304);
    assert_eq!(request(&p.addr, "GET", "/example.jpg", &[("If-None-Match", "\"other\"")]).status, 200);
    let part = request(&p.addr, "GET", "/example.jpg", &[("Range", "bytes=10-19")]);
    assert_eq!((part.status, part.body.as_slice()), (206, &file[10..20]));
    assert_eq!(part.header("content-range"), Some(format!("bytes 10-19/{}", file.len()).as_str()));
    assert_eq!(request(&p.addr, "GET", "/example.jpg", &[("Range", "bytes=999999-")]).status, 416);
    let head = request(&p.addr, "HEAD", "/example.jpg", &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), Some(file.len().to_string().as_str()));
}

#[test]
fn processing_styles_and_cache() {
    let p = start("px-process", "", PUBLIC);
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.image().width(), r.image().height()), (100, 67));
    assert!(r.header("cache-control").is_some());
    let hits = metric(&p, "imgedge_cache_hits_total");
    // URL-encoded, the same canonical pipeline: served from the cache, same ETag.
    let again = get(&p.addr, "/example.jpg?x-oss-process=image%2Fresize%2Cm_lfit%2Cw_100");
    assert_eq!(again.body, r.body);
    assert_eq!(again.header("etag"), r.header("etag"));
    assert_eq!(metric(&p, "imgedge_cache_hits_total"), hits + 1.0);
    let etag = r.header("etag").unwrap();
    let nm =
        request(&p.addr, "GET", "/example.jpg?x-oss-process=image/resize,w_100", &[("If-None-Match", etag)]);
    assert_eq!((nm.status, nm.body.len()), (304, 0));
    for target in ["/example.jpg?x-oss-process=style/thumb", "/example.jpg!thumb", "/example.jpg@!thumb"] {
        let s = get(&p.addr, target);
        assert_eq!(s.status, 200, "{target}: {}", s.text());
        assert_eq!(s.image().width(), 100, "{target}");
    }
    let info = get(&p.addr, "/f.jpg?x-oss-process=image/info");
    assert_eq!(info.header("content-type"), Some("application/json"));
    assert!(info.text().contains("\"Orientation\":{\"value\":\"7\"}"));
}

#[test]
fn errors_are_oss_xml() {
    let p = start("px-errors", "", PUBLIC);
    let cases = [
        ("/nosuch.jpg", 404, "NoSuchKey", None),
        ("/nosuch.jpg?x-oss-process=image/resize,w_100", 404, "NoSuchKey", None),
        ("/example.jpg?x-oss-process=image/resize,w_0", 400, "InvalidArgument", Some("0040-00000312")),
        ("/example.jpg?x-oss-process=style/nosuch", 404, "NoSuchStyle", None),
        (
            "/example.jpg?x-oss-process=image/resize,w_1&x-oss-process=image/resize,w_2",
            400,
            "InvalidArgument",
            None,
        ),
        ("/example.jpg?x-oss-process=image/resize,w_1|sys/saveas,o_dGVzdA", 400, "InvalidArgument", None),
        // Dot segments never name an object (one key validator for every entry point).
        ("/../../etc/passwd", 400, "InvalidObjectName", None),
        ("/%2e%2e/%2e%2e/etc/passwd", 400, "InvalidObjectName", None),
    ];
    for (target, status, code, ec) in cases {
        let r = get(&p.addr, target);
        assert_eq!(r.status, status, "{target}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/xml"), "{target}");
        assert_eq!(r.xml("Code").as_deref(), Some(code), "{target}");
        assert_eq!(r.xml("EC").as_deref(), ec, "{target}");
        assert_eq!(r.xml("RequestId").as_deref(), r.header("x-oss-request-id"), "{target}");
        assert!(r.xml("HostId").is_some());
        assert!(!r.text().contains("/tmp") && !r.text().contains("panicked"), "{target}: no internals");
    }
    let head = request(&p.addr, "HEAD", "/nosuch.jpg", &[]);
    assert_eq!((head.status, head.body.len()), (404, 0));
    assert_eq!(request(&p.addr, "DELETE", "/example.jpg", &[]).status, 405);
}

#[test]
fn private_buckets_refuse_anonymous_requests() {
    let p =
        start("px-private", "", &PUBLIC.replace("name = \"demo\"\n", "name = \"demo\"\nacl = \"private\"\n"));
    for target in ["/example.jpg", "/example.jpg?x-oss-process=image/resize,w_10", "/example.jpg!thumb"] {
        let r = get(&p.addr, target);
        assert_eq!((r.status, r.xml("Code").as_deref()), (403, Some("AccessDenied")), "{target}");
    }
}

#[test]
fn concurrent_identical_misses_share_one_fetch_and_one_transform() {
    let p = start("px-stampede", "transform_workers = 2\nqueue = 200\nqueue_wait_ms = 30000", PUBLIC);
    let (f0, t0) = (metric(&p, "imgedge_origin_fetches_total"), metric(&p, "imgedge_transforms_total"));
    let n = 100;
    let barrier = Arc::new(Barrier::new(n));
    let addr = Arc::new(p.addr.clone());
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (b, a) = (barrier.clone(), addr.clone());
            std::thread::spawn(move || {
                b.wait();
                get(&a, "/example.jpg?x-oss-process=image/resize,w_123/rotate,33")
            })
        })
        .collect();
    let bodies: Vec<Vec<u8>> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text());
            r.body
        })
        .collect();
    assert!(bodies.iter().all(|b| b == &bodies[0]), "every client gets the same bytes");
    assert_eq!(metric(&p, "imgedge_origin_fetches_total") - f0, 1.0);
    assert_eq!(metric(&p, "imgedge_transforms_total") - t0, 1.0);
}

#[test]
fn a_flood_past_the_queue_gets_fast_503s_while_hits_still_answer() {
    let p = start("px-flood", "transform_workers = 1\nqueue = 1\nqueue_wait_ms = 5000", PUBLIC);
    // Warm one variant.
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_50").status, 200);
    let addr = Arc::new(p.addr.clone());
    let flood: Vec<_> = (0..12)
        .map(|i| {
            let a = addr.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                // Distinct, slow variants (blur on an enlarged image), so nothing is shared.
                let r = get(
                    &a,
                    &format!(
                        "/example.jpg?x-oss-process=image/resize,w_{},limit_0/blur,r_50,s_50/sharpen,{}",
                        3000 + i,
                        100 + i
                    ),
                );
                (r, t.elapsed())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let t = Instant::now();
    let hit = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_50");
    let hit_time = t.elapsed();
    assert_eq!(hit.status, 200);
    let results: Vec<_> = flood.into_iter().map(|h| h.join().unwrap()).collect();
    let busy: Vec<_> = results.iter().filter(|(r, _)| r.status == 503).collect();
    assert!(busy.len() >= 8, "most of the flood is refused: {}", busy.len());
    for (r, took) in &busy {
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.xml("Code").as_deref(), Some("ServiceUnavailable"));
        assert!(*took < Duration::from_secs(2), "503 without waiting: {took:?}");
    }
    assert!(results.iter().all(|(r, _)| r.status == 200 || r.status == 503));
    assert!(hit_time < Duration::from_secs(2), "a cache hit is not stuck behind the flood: {hit_time:?}");
}

#[test]
fn sources_over_the_limit_are_refused_from_their_size() {
    let p = start("px-limit", "", &format!("[limits]\nmax_src_bytes = 10000\n{PUBLIC}"));
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_10");
    assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some("ImageTooLarge")));
    // Raw objects are not processed, so no limit applies to them.
    assert_eq!(get(&p.addr, "/example.jpg").status, 200);
}

#[test]
fn metrics_are_exposed() {
    let p = start("px-metrics", "", PUBLIC);
    get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_77");
    get(&p.addr, "/nosuch.jpg");
    let text = get(&p.metrics, "/metrics").text();
    for name in [
        "imgedge_requests_total",
        "imgedge_stage_seconds_bucket",
        "imgedge_cache_hits_total",
        "imgedge_cache_misses_total",
        "imgedge_cache_bytes",
        "imgedge_cache_evictions_total",
        "imgedge_transform_queue_depth",
        "imgedge_transform_workers_busy",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    assert!(text.contains("outcome=\"miss\",status=\"200\""), "{text}");
    assert!(text.contains("outcome=\"not_found\",status=\"404\""));
    for stage in ["origin", "decode", "transform", "encode", "total"] {
        let n = metric(&p, &format!("imgedge_stage_seconds_count{{stage=\"{stage}\"}}"));
        assert!(n >= 1.0, "no {stage} sample");
    }
}

#[test]
fn source_protection_allows_only_styles_to_anonymous_users() {
    let conf = PUBLIC.replace(
        "name = \"demo\"\n",
        "name = \"demo\"\nsource_protect = true\nsource_protect_suffixes = [\"jpg\"]\n",
    );
    let p = start("px-protect", "", &conf);
    let raw = get(&p.addr, "/example.jpg");
    assert_eq!((raw.status, raw.xml("Code").as_deref()), (403, Some("AccessDenied")));
    let img = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((img.status, img.xml("EC").as_deref()), (403, Some("0040-00000031")));
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=style/thumb").status, 200);
    assert_eq!(get(&p.addr, "/example.jpg!thumb").status, 200);
    // Only listed suffixes are protected; the case of the key does not matter.
    assert_eq!(get(&p.addr, "/aws_logo.png").status, 200);
    std::fs::copy(p.dir.join("example.jpg"), p.dir.join("UPPER.JPG")).unwrap();
    assert_eq!(get(&p.addr, "/UPPER.JPG").status, 403);
    assert_eq!(get(&p.addr, "/%65xample.jpg").status, 403, "an encoded key is the same key");
}

#[test]
fn referer_rules_follow_oss() {
    let conf = format!(
        "{PUBLIC}[buckets.referer]\nallow_empty = false\nwhitelist = [\"https://*.example.com\"]\nblacklist = [\"https://bad.example.com\"]\n"
    );
    let p = start("px-referer", "", &conf);
    let with = |r: &str| request(&p.addr, "GET", "/example.jpg!thumb", &[("Referer", r)]);
    assert_eq!(with("https://a.example.com/page.html").status, 200);
    let cases = [
        (get(&p.addr, "/example.jpg!thumb"), "0003-00000501"),
        (with("https://bad.example.com/x"), "0003-00000502"),
        (with("https://evil.com/"), "0003-00000503"),
        (with("https://a.example.com.evil.net/"), "0003-00000503"),
    ];
    for (r, ec) in cases {
        assert_eq!((r.status, r.xml("EC").as_deref()), (403, Some(ec)));
        assert_eq!(r.xml("BucketName").as_deref(), Some("demo"));
    }
}

/// AT-24 end to end: prefix entries, host normalisation of the header as received, the ECs, and
/// the scope (presigned URLs are checked, `Authorization`-signed requests are not).
#[test]
fn referer_at24_prefixes_normalisation_and_scope() {
    let conf = format!(
        "[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\n{PUBLIC}[buckets.referer]\nallow_empty = false\n\
         whitelist = [\"https://a.example.com/\"]\nblacklist = [\"https://*.bad.test/\"]\n"
    );
    let p = start("px-referer-at24", "", &conf);
    let with = |target: &str, r: &str| request(&p.addr, "GET", target, &[("Referer", r)]);
    for r in ["https://a.example.com/page.html", "HTTPS://A.Example.COM.:443/deep/page.html?x=1"] {
        assert_eq!(with("/example.jpg!thumb", r).status, 200, "{r}");
    }
    let signed = common::sign::presign_v1("AK", "SK", "demo", "example.jpg", None);
    let cases = [
        (get(&p.addr, "/example.jpg!thumb"), "0003-00000501"),
        (with("/example.jpg!thumb", "https://x.bad.test/page.html"), "0003-00000502"),
        (with("/example.jpg!thumb", "https://a.example.com.evil.net/"), "0003-00000503"),
        (with("/example.jpg!thumb", "a.example.com/page.html"), "0003-00000503"),
        (with(&signed, "https://x.bad.test/page.html"), "0003-00000502"),
    ];
    for (r, ec) in cases {
        assert_eq!((r.status, r.xml("EC").as_deref()), (403, Some(ec)), "{}", r.text());
    }
    let (date, auth) = common::sign::header_v1("AK", "SK", "GET", "", "/demo/example.jpg");
    let headers =
        [("Date", date.as_str()), ("Authorization", auth.as_str()), ("Referer", "https://x.bad.test/")];
    let r = request(&p.addr, "GET", "/example.jpg", &headers);
    assert_eq!(r.status, 200, "an Authorization-signed request is not subject to the Referer check");
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut p = start("px-term", "grace_period_s = 1\ngraceful_shutdown_timeout_s = 3", PUBLIC);
    let addr = p.addr.clone();
    // A slow transform (heavy blur on an enlarged image) is in flight when SIGTERM arrives.
    let slow = std::thread::spawn(move || {
        get(&addr, "/example.jpg?x-oss-process=image/resize,w_2500,limit_0/blur,r_50,s_50/sharpen,200")
    });
    std::thread::sleep(Duration::from_millis(200));
    let exited = p.terminate(Duration::from_secs(10));
    let r = slow.join().unwrap();
    assert_eq!(r.status, 200, "the in-flight request completes: {}", r.text());
    let took = exited.expect("the process exits after draining");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn a_client_leaving_mid_response_is_not_a_server_error() {
    use std::io::{Read, Write};
    let p = start("px-abort", "", PUBLIC);
    // Larger than any socket buffer, so the proxy is still writing when the client leaves.
    std::fs::write(p.dir.join("big.bin"), vec![7u8; 64 << 20]).unwrap();
    let mut s = std::net::TcpStream::connect(&p.addr).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut first = [0u8; 4096];
    s.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"));
    drop(s);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while metric(&p, "imgedge_requests_total{outcome=\"aborted\"") < 1.0 {
        assert!(std::time::Instant::now() < deadline, "the abort was never recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(metric(&p, "imgedge_requests_total{outcome=\"error\""), 0.0);
    let log = std::fs::read_to_string(p.dir.parent().unwrap().join("log")).unwrap();
    assert!(!log.contains("ERROR"), "{log}");
    // The proxy is fine afterwards.
    assert_eq!(get(&p.addr, "/example.jpg").status, 200);
}

#[test]
fn oversized_request_heads_are_refused_and_the_connection_closed() {
    use std::io::{Read, Write};
    let p = start("px-bighead", "", PUBLIC);
    let line = format!("GET /{} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(70_000));
    let header =
        format!("GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n", "a".repeat(2 << 20));
    for req in [line, header] {
        let mut s = std::net::TcpStream::connect(&p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(req.as_bytes());
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out); // ends: the connection is closed
        let head = String::from_utf8_lossy(&out[..out.len().min(40)]).into_owned();
        assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    }
    let ok = get(&p.addr, "/example.jpg");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn the_cache_never_answers_for_authorization() {
    let conf = PUBLIC.replace("name = \"demo\"\n", "name = \"demo\"\nacl = \"private\"\n");
    let p = start("px-cache-auth", "", &format!("[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\n{conf}"));
    let process = "image/resize,w_64";
    let signed = common::sign::presign_v1("AK", "SK", "demo", "example.jpg", Some(process));
    let r = get(&p.addr, &signed);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.image().width(), 64);
    let again = get(&p.addr, &signed);
    assert_eq!(again.status, 200);
    let hits = metric(&p, "imgedge_cache_hits_total");
    assert_eq!(hits, 1.0, "the signed repeat is a hit");
    // The same variant without the signature: refused, and the cache was not consulted.
    let anon = get(&p.addr, &format!("/example.jpg?x-oss-process={process}"));
    assert_eq!((anon.status, anon.xml("Code").as_deref()), (403, Some("AccessDenied")));
    assert_eq!(metric(&p, "imgedge_cache_hits_total"), hits);
}

#[test]
fn unknown_query_parameters_do_not_multiply_cache_entries() {
    let p = start("px-junk", "", PUBLIC);
    for n in 0..200 {
        let r = get(&p.addr, &format!("/example.jpg?x-oss-process=image/resize,w_90&x={n}"));
        assert_eq!(r.status, 200);
    }
    assert_eq!(metric(&p, "imgedge_cache_misses_total"), 1.0);
    assert_eq!(metric(&p, "imgedge_cache_hits_total"), 199.0);
    assert_eq!(metric(&p, "imgedge_transforms_total"), 1.0);
}

#[test]
fn a_graceful_upgrade_drops_no_request() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sock = common::temp_dir("px-upgrade-sock").join("up.sock");
    let extra =
        format!("upgrade_sock = \"{}\"\ngrace_period_s = 1\ngraceful_shutdown_timeout_s = 2", sock.display());
    let mut old = start("px-upgrade", &extra, PUBLIC);
    let stop = Arc::new(AtomicBool::new(false));
    // Two clients keep requesting (new connections each time) across the whole handover.
    let load: Vec<_> = (0..2)
        .map(|i| {
            let (addr, stop) = (old.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let target = format!("/example.jpg?x-oss-process=image/resize,w_{}", 40 + (ok + i) % 50);
                    match common::server::try_request(&addr, "GET", &target, &[]) {
                        Ok(r) if r.status == 200 => ok += 1,
                        Ok(r) => failed.push(format!("status {}", r.status)),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut new = old.upgrade();
    std::thread::sleep(Duration::from_millis(500)); // the new process waits on the socket
    old.signal("QUIT");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !old.exited() {
        assert!(Instant::now() < deadline, "the old process did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500)); // only the new process serves now
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for h in load {
        let (ok, failed) = h.join().unwrap();
        assert!(failed.is_empty(), "requests failed during the upgrade: {failed:?}");
        total += ok;
    }
    assert!(total > 20, "only {total} requests ran");
    assert!(!new.exited());
    assert_eq!(get(&new.addr, "/example.jpg").status, 200);
    assert!(metric(&new, "imgedge_requests_total") >= 1.0, "the metrics listener moved too");
}

#[test]
fn clients_leaving_while_queued_leak_no_worker_or_queue_slot() {
    use std::io::Write;
    let p = start("px-leave", "transform_workers = 1\nqueue = 4\nqueue_wait_ms = 3000", PUBLIC);
    // Six slow, distinct transforms whose clients hang up after 100 ms.
    for i in 0..6 {
        let mut s = std::net::TcpStream::connect(&p.addr).unwrap();
        let target = format!("/example.jpg?x-oss-process=image/resize,w_{},limit_0/blur,r_50,s_50", 2000 + i);
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(s);
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    // The first reached a worker (and, its client gone, was cancelled there: issue 10).
    assert!(metric(&p, "imgedge_transforms_total") >= 1.0, "the burst never reached a worker");
    // Everything started or waiting ends (finished, or timed out in the queue) and frees its slot.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&p, "imgedge_transform_workers_busy") > 0.0
        || metric(&p, "imgedge_transform_queue_depth") > 0.0
    {
        assert!(Instant::now() < deadline, "a worker or queue slot leaked");
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Instant::now();
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_33");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "a fresh request waited {:?}", t.elapsed());
}

#[test]
fn hostile_keys_are_refused_as_request_paths() {
    let p = start("px-hostile", "", PUBLIC);
    for key in common::fixtures::HOSTILE_KEYS.iter().filter(|k| !k.is_empty()) {
        let encoded: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        for target in [format!("/{encoded}"), format!("/{encoded}?x-oss-process=image/info")] {
            let r = get(&p.addr, &target);
            assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some("InvalidObjectName")), "{key:?}");
        }
    }
}
