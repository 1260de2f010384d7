//! Hostile requests against the real binary (issue 10): protection through watermarks, private
//! variants in shared caches, processing deadlines, clients that leave, admission before the
//! origin fetch, pipelined requests. The second probe's findings (issue 21) are in
//! [`second_pass`].

#[path = "../common/mod.rs"]
mod common;
mod second_pass;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{get, metric, request, start, PUBLIC};

/// Thirty full-frame blurs of a 10-megapixel enlargement: a few seconds of work, under the
/// default cost bound, with a check between each blur.
fn slow_pipeline(w: u32) -> String {
    let blurs = vec!["blur,r_50,s_50"; 30].join("/");
    format!("/example.jpg?x-oss-process=image/resize,w_{w},limit_0/{blurs}")
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} (waited {within:?})");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watermark_images_pass_the_same_protection_as_sources() {
    let conf = PUBLIC.replace(
        "name = \"demo\"\n",
        "name = \"demo\"\nsource_protect = true\nsource_protect_suffixes = [\"jpg\"]\n",
    );
    let conf = conf.replace(
        "thumb = \"image/resize,w_100\"\n",
        "thumb = \"image/resize,w_100\"\nmarked = \"image/watermark,image_ZXhhbXBsZS5qcGc,t_100\"\n",
    );
    let p = start("hx-mark-protect", "", &conf);
    // The GIF and the PNG are not protected; example.jpg is. Naming it as a fully opaque
    // watermark would copy it out pixel for pixel.
    let mark = common::b64("example.jpg");
    for src in ["example.gif", "aws_logo.png"] {
        let r =
            get(&p.addr, &format!("/{src}?x-oss-process=image/watermark,image_{mark},t_100,g_nw,x_0,y_0"));
        assert_eq!((r.status, r.xml("EC").as_deref()), (403, Some("0040-00000031")), "{src}: {}", r.text());
    }
    // Through a resize of the protected image as the watermark's own pipeline: still refused.
    let nested = common::b64("example.jpg?x-oss-process=image/resize,P_100");
    let r = get(&p.addr, &format!("/aws_logo.png?x-oss-process=image/watermark,image_{nested}"));
    assert_eq!(r.status, 403, "{}", r.text());
    // A style is the bucket owner's choice: its watermark may be protected.
    assert_eq!(get(&p.addr, "/aws_logo.png?x-oss-process=style/marked").status, 200);
    // An unprotected watermark image still works ad hoc.
    let png = common::b64("aws_logo.png");
    assert_eq!(get(&p.addr, &format!("/example.gif?x-oss-process=image/watermark,image_{png}")).status, 200);
}

#[test]
fn signed_and_private_variants_are_never_marked_public() {
    let keys = "[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\n";
    let private = PUBLIC.replace("name = \"demo\"\n", "name = \"demo\"\nacl = \"private\"\n");
    let p = start("hx-private-cc", "", &format!("{keys}{private}"));
    let process = "image/resize,w_60";
    // A presigned URL valid for ten minutes: private, and kept no longer than it lives.
    let r = get(&p.addr, &common::sign::presign_v1("AK", "SK", "demo", "example.jpg", Some(process)));
    assert_eq!(r.status, 200, "{}", r.text());
    let cc = r.header("cache-control").unwrap().to_string();
    let age: u64 = cc.strip_prefix("private, max-age=").and_then(|a| a.parse().ok()).expect(&cc);
    assert!((500..=600).contains(&age), "{cc}");
    // Header-signed on a private bucket: private, with the configured age.
    let resource = format!("/demo/example.jpg?x-oss-process={process}");
    let (date, auth) = common::sign::header_v1("AK", "SK", "GET", "", &resource);
    let target = format!("/example.jpg?x-oss-process={process}");
    let r = request(&p.addr, "GET", &target, &[("Date", &date), ("Authorization", &auth)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("private, max-age=86400"));

    // A public bucket: anonymous variants keep the configured header, signed ones are private.
    let q = start("hx-public-cc", "", &format!("{keys}{PUBLIC}"));
    assert_eq!(get(&q.addr, &target).header("cache-control"), Some("public, max-age=86400"));
    let r = get(&q.addr, &common::sign::presign_v1("AK", "SK", "demo", "example.jpg", Some(process)));
    assert!(r.header("cache-control").unwrap().starts_with("private, max-age="), "{r:?}");
}

#[test]
fn a_transform_past_its_deadline_answers_503_and_frees_its_worker() {
    let p = start(
        "hx-deadline",
        "transform_workers = 1",
        &format!("[limits]\nprocess_timeout_ms = 300\n{PUBLIC}"),
    );
    let t = Instant::now();
    let r = get(&p.addr, &slow_pipeline(4000));
    let took = t.elapsed();
    assert_eq!((r.status, r.xml("Code").as_deref()), (503, Some("ProcessTimeout")), "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(took < Duration::from_secs(5), "the deadline is 300 ms, the answer took {took:?}");
    assert_eq!(metric(&p, "imgedge_transforms_stopped_total{reason=\"deadline\"}"), 1.0);
    wait_for("the worker is free again", Duration::from_secs(5), || {
        metric(&p, "imgedge_transform_workers_busy") == 0.0
    });
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_40").status, 200);
}

#[test]
fn a_client_that_leaves_stops_its_transform() {
    let p = start(
        "hx-cancel",
        "transform_workers = 1",
        &format!("[limits]\nprocess_timeout_ms = 120000\n{PUBLIC}"),
    );
    let mut s = TcpStream::connect(&p.addr).unwrap();
    write!(s, "GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", slow_pipeline(4001)).unwrap();
    wait_for("the transform started", Duration::from_secs(10), || {
        metric(&p, "imgedge_transform_workers_busy") == 1.0
    });
    drop(s);
    // Thirty blurs take seconds; the client's departure ends the run at the next blur.
    wait_for("the abandoned transform was cancelled", Duration::from_secs(10), || {
        metric(&p, "imgedge_transforms_stopped_total{reason=\"cancelled\"}") == 1.0
    });
    wait_for("the busy gauge is back to 0", Duration::from_secs(5), || {
        metric(&p, "imgedge_transform_workers_busy") == 0.0
    });
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_41").status, 200);
}

#[test]
fn overload_is_refused_before_the_source_is_fetched() {
    let server = "transform_workers = 1\nqueue = 1\nqueue_wait_ms = 60000";
    let p = start("hx-admit", server, &format!("[limits]\nprocess_timeout_ms = 120000\n{PUBLIC}"));
    let addr = Arc::new(p.addr.clone());
    let flood: Vec<_> = (0..10)
        .map(|i| {
            let a = addr.clone();
            std::thread::spawn(move || get(&a, &slow_pipeline(3000 + i)).status)
        })
        .collect();
    let statuses: Vec<u16> = flood.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert!(statuses.iter().all(|&s| s == 200 || s == 503), "{statuses:?}");
    assert!(ok < statuses.len(), "the flood overflowed one worker and one queue place: {statuses:?}");
    // Every source fetched was processed: the refused requests never reached the origin.
    assert!(ok >= 1, "{statuses:?}");
    assert_eq!(metric(&p, "imgedge_origin_fetches_total") as usize, ok, "{statuses:?}");
}

#[test]
fn costly_pipelines_and_bombs_get_a_400_from_the_server() {
    let p = start("hx-cost", "", PUBLIC);
    let sharpen = vec!["sharpen,300"; 40].join("/");
    let r = get(&p.addr, &format!("/example.jpg?x-oss-process=image/resize,w_4000,limit_0/{sharpen}"));
    assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some("InvalidArgument")), "{}", r.text());
    assert!(r.xml("Message").unwrap().contains("megapixel passes"), "{}", r.text());
    std::fs::write(p.dir.join("canvas.gif"), common::fixtures::gif_canvas(15000, 16000, 0, 0)).unwrap();
    let r = get(&p.addr, "/canvas.gif?x-oss-process=image/resize,w_100");
    assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some("ImageTooLarge")), "{}", r.text());
    assert_eq!(metric(&p, "imgedge_transforms_total"), 0.0, "refused before a worker decoded anything");
}

#[test]
fn pipelined_requests_each_get_their_answer() {
    let p = start("hx-pipeline", "", PUBLIC);
    let mut s = TcpStream::connect(&p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let one = "GET /example.jpg?x-oss-process=image/info HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let two =
        "GET /aws_logo.png?x-oss-process=image/info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    s.write_all(format!("{one}{two}").as_bytes()).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(text.matches("\"ImageWidth\"").count(), 2, "{text}");
}

#[test]
fn error_messages_with_control_characters_stay_valid_xml() {
    let p = start("hx-xml", "", PUBLIC);
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_%1b%01x");
    assert_eq!(r.status, 400);
    let body = r.text();
    assert!(!body.chars().any(|c| c.is_control() && c != '\n'), "{body:?}");
    assert!(body.contains("<Code>"), "{body}");
}

#[test]
fn raw_svg_and_html_cannot_run_script() {
    let p = start("hx-svg", "", PUBLIC);
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    std::fs::write(p.dir.join("x.svg"), svg).unwrap();
    std::fs::write(p.dir.join("x.html"), "<script>alert(1)</script>").unwrap();
    for key in ["x.svg", "x.html"] {
        let r = get(&p.addr, &format!("/{key}"));
        assert_eq!(r.status, 200);
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{key}: no CSP"));
        assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    assert_eq!(get(&p.addr, "/example.jpg").header("content-security-policy"), None);
}

#[test]
fn a_panic_in_a_transform_is_a_500_for_its_request_only() {
    // AT-37. The trigger exists in debug builds only (`execute::panic_trigger`), which is what
    // `cargo test` runs; the release profile must unwind too, or one panic would end the process.
    let cargo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let release = cargo.split("[profile.release]").nth(1).expect("a release profile");
    let release = release.split("\n[").next().unwrap();
    assert!(release.contains("panic = \"unwind\""), "release must unwind: {release}");
    let p =
        common::server::start_with_env("hostile-panic", "", PUBLIC, &[("IMGEDGE_PANIC_SUFFIX", "PANIC!")]);
    let mut boom = common::fixtures::read("oss/example.jpg");
    boom.extend_from_slice(b"PANIC!");
    std::fs::write(p.dir.join("boom.jpg"), boom).unwrap();
    let addr = Arc::new(p.addr.clone());
    let normal: Vec<_> = (0..20)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                get(&addr, &format!("/example.jpg?x-oss-process=image/resize,w_{}", 20 + i))
            })
        })
        .collect();
    for _ in 0..3 {
        let r = get(&p.addr, "/boom.jpg?x-oss-process=image/resize,w_10");
        assert_eq!((r.status, r.xml("Code").as_deref()), (500, Some("InternalError")), "{}", r.text());
    }
    for (i, t) in normal.into_iter().enumerate() {
        let r = t.join().unwrap();
        assert_eq!((r.status, r.image().width()), (200, 20 + i as u32));
    }
    assert_eq!(
        get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_5").status,
        200,
        "the process is alive"
    );
    assert_eq!(metric(&p, "imgedge_transform_workers_busy"), 0.0);
}

#[test]
fn watermark_names_never_make_the_proxy_dial_out() {
    // AT-31 with canaries: listeners that count connections at the addresses a hostile
    // watermark names; every request is refused and no canary is ever dialled.
    let canaries: Vec<std::net::TcpListener> = ["127.0.0.2:0", "127.0.0.1:0"]
        .iter()
        .map(|a| {
            let l = std::net::TcpListener::bind(a).unwrap();
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    let p = start("hostile-ssrf", "", PUBLIC);
    let mut names = vec!["../other.png".to_string(), "demo/example.jpg".into(), "/etc/hostname".into()];
    for c in &canaries {
        let a = c.local_addr().unwrap();
        names.push(format!("http://{a}/x.png"));
        names.push(format!("//{a}/x.png"));
        names.push(format!("{a}/x.png"));
    }
    names.push("example.jpg?x-oss-process=image/watermark,image_aHR0cDovLzEyNy4wLjAuMjoxL3gucG5n".into());
    for n in &names {
        let target = format!("/example.jpg?x-oss-process=image/watermark,image_{}", common::b64(n));
        let r = get(&p.addr, &target);
        assert_eq!(r.status, 400, "{n}: {}", r.text());
    }
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/watermark,image_not*base64!");
    assert_eq!(r.status, 400);
    for c in &canaries {
        assert!(c.accept().is_err(), "canary {} was dialled", c.local_addr().unwrap());
    }
}

/// Every file below `dir`, with its bytes.
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    std::fs::read_dir(dir).unwrap().flatten().map(|e| (e.path(), std::fs::read(e.path()).unwrap())).collect()
}

#[test]
fn a_trickled_body_is_refused_at_its_deadline_and_writes_nothing() {
    // AT-30: a signed saveas whose form arrives a byte every 300 ms.
    let keys = "[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\nwrite = [\"*\"]\n[api]\nbody_timeout_s = 2\n";
    let p = start("hostile-trickle", "", &format!("{keys}{PUBLIC}"));
    let before = files(&p.dir);
    let body = format!("x-oss-process=image/resize,w_10|sys/saveas,o_{}", common::b64("out.jpg"));
    let ctype = "application/x-www-form-urlencoded";
    let (date, authz) = common::sign::header_v1("AK", "SK", "POST", ctype, "/demo/example.jpg?x-oss-process");
    let head = format!(
        "POST /example.jpg?x-oss-process HTTP/1.1\r\nHost: localhost\r\nContent-Type: {ctype}\r\nDate: {date}\r\nAuthorization: {authz}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut s = TcpStream::connect(&p.addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let t = Instant::now();
    let writer = {
        let mut s = s.try_clone().unwrap();
        let body = body.clone();
        std::thread::spawn(move || {
            for b in body.bytes() {
                if s.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let took = t.elapsed();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("<Code>RequestTimeout</Code>"), "{text}");
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(5), "{took:?}");
    let _ = writer.join();
    assert_eq!(files(&p.dir), before, "a refused saveas wrote something");
    // The same request sent at once is done.
    let h = [("Content-Type", ctype), ("Date", date.as_str()), ("Authorization", authz.as_str())];
    let r =
        common::server::try_request_body(&p.addr, "POST", "/example.jpg?x-oss-process", &h, body.as_bytes())
            .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(p.dir.join("out.jpg").exists());
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_sweep_of_malformed_and_odd_files_never_fails_the_server() {
    // AT-33 through the server: every corpus file and every generated hostile file, each
    // through a few pipelines. Never a 5xx, each answer quick, no panic, memory bounded.
    let p = start("hostile-sweep", "", PUBLIC);
    let mut names = Vec::new();
    for sub in ["formats", "orient", "oss"] {
        for e in std::fs::read_dir(common::corpus(sub)).unwrap().flatten() {
            let name = format!("{sub}-{}", e.file_name().to_string_lossy());
            std::fs::copy(e.path(), p.dir.join(&name)).unwrap();
            names.push(name);
        }
    }
    let generated: Vec<(&str, Vec<u8>)> = vec![
        ("giant.jpg", common::fixtures::read("bad/giant-image.jpg")),
        ("huge.png", common::fixtures::read("bad/65536-uint32-limit.png")),
        ("corrupt.jpg", common::fixtures::read("bad/corrupt-header.jpg")),
        ("truncated.jpg", common::fixtures::read("bad/truncated.jpg")),
        ("truncated.png", common::fixtures::read("bad/truncated.png")),
        ("empty.jpg", Vec::new()),
        ("text.png", b"not an image at all".to_vec()),
        ("half-gif.gif", common::fixtures::read("formats/animated-loop-3.gif")[..200].to_vec()),
    ];
    for (name, bytes) in &generated {
        std::fs::write(p.dir.join(name), bytes).unwrap();
        names.push(name.to_string());
    }
    let pipelines =
        ["image/resize,w_64", "image/info", "image/rotate,90/format,png", "image/blur,r_3,s_2/format,webp"];
    // Warm up (fonts, codecs, allocator arenas), then measure growth across the sweep.
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_64").status, 200);
    let base = rss_kib(p.pid());
    let mut slowest = Duration::ZERO;
    for name in &names {
        for pipe in pipelines {
            let t = Instant::now();
            let r = get(&p.addr, &format!("/{name}?x-oss-process={pipe}"));
            slowest = slowest.max(t.elapsed());
            assert!(r.status < 500, "{name} {pipe}: {} {}", r.status, r.text());
            if r.status >= 400 {
                assert!(r.xml("Code").is_some(), "{name} {pipe}: not an OSS error: {}", r.text());
            }
        }
    }
    let grown_mib = rss_kib(p.pid()).saturating_sub(base) / 1024;
    // Bounded by the variant cache (default 256 MiB holds all of these) plus decoder arenas.
    assert!(grown_mib < 256, "RSS grew {grown_mib} MiB over the sweep");
    assert!(slowest < Duration::from_secs(10), "slowest answer {slowest:?}");
    let log = std::fs::read_to_string(p.dir.parent().unwrap().join("log")).unwrap();
    assert!(!log.contains("panicked"), "a panic in the log");
    assert_eq!(get(&p.addr, "/example.jpg").status, 200, "the server is alive");
}
