//! The second outside probe (issue 21), each finding through the real binary: ffmpeg and the
//! origin's redirects, AVIF grids against the memory budget and the deadline, imgedge's own
//! stores resolved into a bucket, raw reads racing overwrites, an async backlog against
//! interactive requests, saveas and folders, thin HEIC outputs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::common;
use super::common::fixtures::HeifGrid;
use super::common::server::{get, metric_reaches, request, start, try_request_body, PUBLIC};

const WRITE_KEY: &str = "[[access_keys]]\nid = \"AK\"\nsecret = \"SK\"\nwrite = [\"*\"]\n";

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One second of H.264 in a single colour.
fn clip(path: &Path, colour: &str) {
    let src = format!("color=c={colour}:s=160x120:r=24:d=1");
    ffmpeg(&["-f", "lavfi", "-i", &src, "-c:v", "libx264", "-pix_fmt", "yuv420p", path.to_str().unwrap()]);
}

/// A signed POST of `form` (`x-oss-process=…` or `x-oss-async-process=…`) on `key`.
fn post(addr: &str, key: &str, sub: &str, form: &str) -> common::server::Response {
    let ctype = "application/x-www-form-urlencoded";
    let (date, auth) = common::sign::header_v1("AK", "SK", "POST", ctype, &format!("/demo/{key}?{sub}"));
    let h = [("Content-Type", ctype), ("Date", date.as_str()), ("Authorization", auth.as_str())];
    try_request_body(addr, "POST", &format!("/{key}?{sub}"), &h, form.as_bytes()).unwrap()
}

fn saveas(addr: &str, target: &str) -> common::server::Response {
    let form = format!("x-oss-process=image/resize,w_10|sys/saveas,o_{}", common::b64(target));
    post(addr, "example.jpg", "x-oss-process", &form)
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Child processes of `pid` (ffmpeg, decoders) still alive.
fn children(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("children")).unwrap_or_default())
        .map(|c| c.split_whitespace().count())
        .sum()
}

/// Finding 1: an origin that answers HEAD for a video and redirects its GET to an internal server:
/// ffmpeg reads through imgedge's relay, which refuses redirects as imgedge's fetcher does.
#[test]
fn a_video_origin_that_redirects_is_never_followed() {
    let base = common::temp_dir("h2-redirect-files");
    let (public, internal) = (base.join("public"), base.join("internal"));
    std::fs::create_dir_all(&public).unwrap();
    std::fs::create_dir_all(&internal).unwrap();
    clip(&public.join("redirect-clip.mp4"), "0x2040c0");
    clip(&public.join("plain.mp4"), "0x2040c0");
    clip(&internal.join("clip.mp4"), "0xff0000");
    let inner = common::origin::serve(internal, "/internal");
    std::fs::write(public.join("redirect-target"), format!("http://{}/internal/clip.mp4", inner.addr))
        .unwrap();
    let origin = common::origin::serve(public, "/base");
    let conf = format!(
        "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        origin.addr
    );
    let p = start("h2-redirect", "", &conf);
    let r = get(&p.addr, "/redirect-clip.mp4?x-oss-process=video/snapshot,t_500,f_jpg");
    assert_eq!((r.status, r.xml("Code").as_deref()), (502, Some("BadGateway")), "{}", r.text());
    assert!(inner.heads.lock().unwrap().is_empty(), "the internal server was asked: {:?}", inner.heads);
    // The relay serves honest origins as before: a frame of the right colour, read by range.
    let r = get(&p.addr, "/plain.mp4?x-oss-process=video/snapshot,t_500,f_png");
    assert_eq!(r.status, 200, "{}", r.text());
    let px = r.image().to_rgb8().get_pixel(80, 60).0;
    assert!(px[2] > 150 && px[0] < 80, "{px:?}");
    assert!(origin.heads.lock().unwrap().iter().any(|h| h.contains("range: bytes=")), "read by range");
    assert_eq!(children(p.pid()), 0);
}

/// A tile AVIF of `side`² pixels, made by imgedge itself.
fn tile(side: u32) -> Vec<u8> {
    let src = common::jpeg(side, side);
    common::run(&src, &format!("image/resize,m_fixed,w_{side},h_{side},limit_0/format,avif")).unwrap().body
}

/// Finding 2: grids: a small file whose grid claims 8192² while its `ispe` says 64², one with 16 384
/// tiles, and an honest one that takes longer to decode than the deadline.
#[test]
fn avif_grids_are_bounded_by_their_real_size_and_tiles_and_killed_at_the_deadline() {
    let (t512, t16, t64, t192) = (tile(512), tile(16), tile(64), tile(192));
    let liar =
        HeifGrid { rows: 16, columns: 16, out: (8192, 8192), grid_ispe: (64, 64), tile_ispe: (512, 512) };
    let many =
        HeifGrid { rows: 128, columns: 128, out: (2048, 2048), grid_ispe: (2048, 2048), tile_ispe: (16, 16) };
    let slow =
        HeifGrid { rows: 32, columns: 32, out: (2048, 2048), grid_ispe: (2048, 2048), tile_ispe: (64, 64) };
    let limits = "[limits]\nmax_decode_bytes = 268435456\nmemory_budget_bytes = 268435456\n\
                  process_timeout_ms = 2000\n";
    let p = start("h2-grid", "", &format!("{limits}{PUBLIC}"));
    std::fs::write(p.dir.join("liar.avif"), liar.build(&t512)).unwrap();
    std::fs::write(p.dir.join("many.avif"), many.build(&t16)).unwrap();
    std::fs::write(p.dir.join("slow.avif"), slow.build(&t64)).unwrap();
    assert!(std::fs::metadata(p.dir.join("liar.avif")).unwrap().len() < 32 << 10);
    let rss0 = rss_kib(p.pid());
    let answers: Vec<_> = (0..4)
        .map(|_| {
            let addr = p.addr.clone();
            std::thread::spawn(move || get(&addr, "/liar.avif?x-oss-process=image/resize,w_50"))
        })
        .collect();
    for a in answers {
        let r = a.join().unwrap();
        assert_eq!((r.status, r.xml("EC").as_deref()), (400, Some("0040-00000021")), "{}", r.text());
    }
    let grown = rss_kib(p.pid()).saturating_sub(rss0);
    assert!(grown < 64 << 10, "RSS grew {grown} KiB");
    let t = Instant::now();
    let r = get(&p.addr, "/many.avif?x-oss-process=image/resize,w_50");
    assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some("ImageTooLarge")), "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // The honest grid decodes, in a child process...
    let r = get(&p.addr, "/slow.avif?x-oss-process=image/resize,w_50/format,png");
    assert_eq!((r.status, r.image().width()), (200, 50), "{}", r.text());
    // ...which is killed when the deadline comes first: 38 MP in 1 024 tiles takes seconds.
    let slower = HeifGrid { out: (6144, 6144), grid_ispe: (6144, 6144), tile_ispe: (192, 192), ..slow };
    let q = start("h2-grid-late", "", &format!("[limits]\nprocess_timeout_ms = 150\n{PUBLIC}"));
    std::fs::write(q.dir.join("slow.avif"), slower.build(&t192)).unwrap();
    let t = Instant::now();
    let r = get(&q.addr, "/slow.avif?x-oss-process=image/resize,w_60");
    assert_eq!((r.status, r.xml("Code").as_deref()), (503, Some("ProcessTimeout")), "{}", r.text());
    // Decoding it whole takes 1.4 s here; the answer comes at the deadline.
    assert!(t.elapsed() < Duration::from_millis(900), "{:?}", t.elapsed());
    assert!(metric_reaches(&q, "imgedge_requests_total{outcome=\"timeout\",status=\"503\"}", 1.0));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(children(q.pid()), 0, "the decoder was killed");
}

/// Finding 3: imgedge's own stores, configured at paths that resolve into a served bucket only once
/// created: refused by `check-config` and by `serve`, before anything is made or served.
#[test]
fn stores_that_resolve_into_a_bucket_never_start() {
    let dir = common::temp_dir("h2-stores");
    std::fs::create_dir_all(dir.join("pub")).unwrap();
    let bucket = "[[buckets]]\nname = \"pub\"\n[buckets.origin]\ntype = \"dir\"\npath = \"pub\"\n";
    for (section, key) in [("state.store", "state.store.path"), ("cache.store", "cache.store.path")] {
        let conf = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"\"\n{bucket}\
             [{section}]\ntype = \"dir\"\npath = \"x/../pub/.leak\"\n"
        );
        let file = dir.join("imgedge.toml");
        std::fs::write(&file, conf).unwrap();
        let exe = env!("CARGO_BIN_EXE_imgedge");
        let out = Command::new(exe).arg("check-config").arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(key), "{section}: {err}");
        let t = Instant::now();
        let out = Command::new(exe).args(["serve", "--config"]).arg(&file).output().unwrap();
        assert!(!out.status.success() && t.elapsed() < Duration::from_secs(10), "{section}");
        assert!(!dir.join("pub/.leak").exists() && !dir.join("x").exists(), "{section}: a folder was made");
    }
}

/// Finding 4: raw GETs while the object is replaced over and over: every 200 is one whole version, its
/// length the Content-Length and its ETag that version's.
#[test]
fn raw_reads_during_overwrites_are_whole_images() {
    let p = start("h2-overwrite", "", PUBLIC);
    let small = std::fs::read(p.dir.join("example.jpg")).unwrap();
    let large = common::jpeg(900, 700);
    assert!(large.len() > small.len() * 2);
    let (target, stop) =
        (p.dir.join("x.jpg"), std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
    std::fs::write(&target, &small).unwrap();
    let writer = {
        let (dir, stop, versions) = (p.dir.clone(), stop.clone(), [small.clone(), large.clone()]);
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = dir.join(format!(".tmp{}", i % 2));
                std::fs::write(&tmp, &versions[i % 2]).unwrap();
                std::fs::rename(&tmp, dir.join("x.jpg")).unwrap();
                i += 1;
            }
            i
        })
    };
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (addr, small, large) = (p.addr.clone(), small.clone(), large.clone());
            std::thread::spawn(move || {
                let (mut whole, mut bad) = (0, Vec::new());
                let until = Instant::now() + Duration::from_secs(3);
                while Instant::now() < until {
                    let Ok(r) = common::server::try_request(&addr, "GET", "/x.jpg", &[]) else { continue };
                    if r.status != 200 {
                        continue;
                    }
                    let cl: usize = r.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    if (r.body == small || r.body == large) && cl == r.body.len() {
                        whole += 1;
                    } else {
                        bad.push((cl, r.body.len()));
                    }
                }
                (whole, bad)
            })
        })
        .collect();
    let mut whole = 0;
    for r in readers {
        let (w, bad) = r.join().unwrap();
        assert!(bad.is_empty(), "answers that are not one whole version (Content-Length, bytes): {bad:?}");
        whole += w;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(whole > 100 && writes > 100, "{whole} reads, {writes} writes");
}

/// Finding 5: a backlog of asynchronous tasks, then interactive misses one second apart: each miss is
/// served, because tasks wait for their own share of the workers.
#[test]
fn an_async_backlog_leaves_room_for_interactive_misses() {
    let server = "transform_workers = 2\nqueue_wait_ms = 2000\n";
    let p = start("h2-async", server, &format!("{WRITE_KEY}{PUBLIC}"));
    let heavy = "image/resize,w_1600,limit_0/blur,r_50,s_50/blur,r_50,s_50/sharpen,300";
    for i in 0..64 {
        let form =
            format!("x-oss-async-process={heavy}|sys/saveas,o_{}", common::b64(&format!("async/{i}.jpg")));
        let r = post(&p.addr, "example.jpg", "x-oss-async-process", &form);
        assert_eq!(r.status, 200, "task {i}: {}", r.text());
    }
    for w in [101, 102, 103] {
        std::thread::sleep(Duration::from_secs(1));
        let t = Instant::now();
        let r = get(&p.addr, &format!("/f.jpg?x-oss-process=image/resize,w_{w}"));
        assert_eq!(r.status, 200, "miss w_{w} after {:?}: {}", t.elapsed(), r.text());
    }
}

/// Finding 6: saveas through a link to a folder outside the bucket makes nothing there; keys that a
/// folder cannot hold are OSS 4xx errors, not 500s.
#[test]
fn saveas_never_makes_folders_outside_the_bucket() {
    let p = start("h2-saveas-dirs", "", &format!("{WRITE_KEY}{PUBLIC}"));
    let outside = p.dir.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, p.dir.join("link")).unwrap();
    for key in ["link/newdir/x.jpg", "link/a/b/c/x.jpg", "link/x.jpg"] {
        let r = saveas(&p.addr, key);
        assert_eq!((r.status, r.xml("Code").as_deref()), (403, Some("AccessDenied")), "{key}: {}", r.text());
    }
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none(), "something was made outside");
    std::fs::create_dir_all(p.dir.join("oss")).unwrap();
    std::fs::copy(p.dir.join("example.jpg"), p.dir.join("oss/example.jpg")).unwrap();
    for (key, status, code) in [
        ("oss", 409, "FileAlreadyExists"),
        ("oss/", 400, "InvalidObjectName"),
        ("oss/example.jpg/x.jpg", 409, "FileAlreadyExists"),
    ] {
        let r = saveas(&p.addr, key);
        assert_eq!((r.status, r.xml("Code").as_deref()), (status, Some(code)), "{key}: {}", r.text());
    }
    assert_eq!(saveas(&p.addr, "oss/new/y.jpg").status, 200, "an ordinary nested key still works");
}

/// Finding 7: a HEIC output thinner than x265 can code: a 4xx with HEIC's size EC, never a 500.
#[test]
fn thin_heic_outputs_are_refused_not_failed() {
    let p = start("h2-heic-thin", "", PUBLIC);
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,m_fixed,w_1,h_9000,limit_0/format,heic");
    assert_eq!((r.status, r.xml("EC").as_deref()), (400, Some("0040-00000013")), "{}", r.text());
    let r = request(
        &p.addr,
        "GET",
        "/example.jpg?x-oss-process=image/resize,m_fixed,w_31,h_4208,limit_0/format,heic",
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
}
