//! `video/snapshot` through the proxy (issue 13) on H.264 and H.265 clips made here with ffmpeg:
//! six colours of half a second each, a keyframe every second, so that the colour of an answer
//! says which frame it is (the exact frame at t, or the keyframe at or before it).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::server::{metric, request, start, try_request_body, Proxy, PUBLIC};

/// The clip's colours, 0.5 s each; keyframes at 0, 1 and 2 s (red, blue, cyan).
const COLOURS: [[u8; 3]; 6] =
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]];
const RED: [u8; 3] = COLOURS[0];
const GREEN: [u8; 3] = COLOURS[1];
const BLUE: [u8; 3] = COLOURS[2];
const YELLOW: [u8; 3] = COLOURS[3];
const CYAN: [u8; 3] = COLOURS[4];
const MAGENTA: [u8; 3] = COLOURS[5];

fn ffmpeg(args: &[&str]) {
    let out =
        Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().expect("ffmpeg is installed");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The colour clip, 160×120 at 24 fps, as H.264 (`x264`) or H.265 (`x265`) in MP4.
fn clip(path: &Path, codec: &str) {
    let mut args: Vec<String> = Vec::new();
    for c in COLOURS {
        let hex = format!("0x{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
        args.extend(["-f", "lavfi", "-i"].map(String::from));
        args.push(format!("color=c={hex}:s=160x120:r=24:d=0.5"));
    }
    args.extend(["-filter_complex", "concat=n=6:v=1:a=0", "-pix_fmt", "yuv420p"].map(String::from));
    match codec {
        "x264" => args.extend(
            ["-c:v", "libx264", "-g", "24", "-keyint_min", "24", "-sc_threshold", "0"].map(String::from),
        ),
        _ => args.extend(
            [
                "-c:v",
                "libx265",
                "-x265-params",
                "keyint=24:min-keyint=24:scenecut=0:log-level=error",
                "-tag:v",
                "hvc1",
            ]
            .map(String::from),
        ),
    }
    args.extend(["-movflags", "+faststart"].map(String::from));
    args.push(path.display().to_string());
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
}

fn centre(r: &common::server::Response) -> [u8; 3] {
    let img = r.image().to_rgb8();
    img.get_pixel(img.width() / 2, img.height() / 2).0
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 48)
}

fn snap(p: &Proxy, key: &str, params: &str) -> common::server::Response {
    request(&p.addr, "GET", &format!("/{key}?x-oss-process=video/snapshot,{params}"), &[])
}

fn with_clips(name: &str, conf: &str) -> Proxy {
    let p = start(name, "", conf);
    clip(&p.dir.join("a264.mp4"), "x264");
    clip(&p.dir.join("a265.mp4"), "x265");
    p
}

#[test]
fn snapshots_are_the_frame_at_t_or_the_keyframe_before_it_for_h264_and_h265() {
    let p = with_clips("video-frames", PUBLIC);
    for key in ["a264.mp4", "a265.mp4"] {
        let cases = [
            ("t_0", RED),
            ("t_600", GREEN),
            ("t_1700", YELLOW),
            ("t_2900", MAGENTA),
            ("t_600,m_fast", RED),
            ("t_1700,m_fast", BLUE),
            ("t_2900,m_fast", CYAN),
            // Past the end: the last keyframe, in either mode (OSS's documented answer).
            ("t_10000", CYAN),
            ("t_10000,m_fast", CYAN),
        ];
        for (params, want) in cases {
            let r = snap(&p, key, params);
            assert_eq!(r.status, 200, "{key} {params}: {}", r.text());
            assert_eq!(r.header("content-type"), Some("image/jpeg"), "{key} {params}");
            let got = centre(&r);
            assert!(near(got, want), "{key} {params}: {got:?}, want {want:?}");
        }
    }
    // Sizes: one side keeps the aspect, two are exact, none is the video's.
    let dims = |params: &str| {
        let i = snap(&p, "a264.mp4", params).image();
        (i.width(), i.height())
    };
    assert_eq!(dims("t_0"), (160, 120));
    assert_eq!(dims("t_0,w_80"), (80, 60));
    assert_eq!(dims("t_0,h_30"), (40, 30));
    assert_eq!(dims("t_0,w_80,h_30"), (80, 30));
    // ar_h stands a landscape frame up; ar_w leaves it.
    assert_eq!(dims("t_0,ar_h"), (120, 160));
    assert_eq!(dims("t_0,ar_w"), (160, 120));
    // f_png, and image actions on the frame after it (an imgedge extension).
    let r = snap(&p, "a265.mp4", "t_1700,f_png/resize,w_40/rotate,90");
    assert_eq!(r.header("content-type"), Some("image/png"));
    let i = r.image();
    assert_eq!((i.width(), i.height()), (30, 40));
    assert!(near(centre(&r), YELLOW));
}

#[test]
fn snapshots_are_cached_like_variants_and_styles_can_hold_them() {
    let conf = PUBLIC.replace("thumb = ", "poster = \"video/snapshot,t_1700,m_fast,w_80\"\nthumb = ");
    let p = with_clips("video-cache", &conf);
    let target = "/a264.mp4?x-oss-process=video/snapshot,t_1700,w_80";
    for _ in 0..3 {
        let r = request(&p.addr, "GET", target, &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(near(centre(&r), YELLOW));
    }
    assert_eq!(metric(&p, "imgedge_transforms_total"), 1.0, "one snapshot made, two served from the cache");
    assert_eq!(metric(&p, "imgedge_cache_hits_total"), 2.0);
    // A style, through the separator URL.
    let r = request(&p.addr, "GET", "/a265.mp4!poster", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.image().width(), 80);
    assert!(near(centre(&r), BLUE), "the keyframe before 1.7 s");
}

#[test]
fn bad_parameters_get_oss_style_400s() {
    let p = with_clips("video-params", PUBLIC);
    for (params, ec) in [
        ("t_-1", "0053-00000103"),
        ("t_1000,w_-800,h_600", "0053-00000104"),
        // Beyond the video's own size ([0, video width]).
        ("t_1000,w_161", "0053-00000104"),
        ("t_1000,h_121", "0053-00000105"),
        ("t_1000,m_slow", "0053-00000106"),
        ("t_1000,f_gif", "0053-00000107"),
        ("t_1000,ar_up", "0053-00000108"),
        ("t_1000,x_1", "0053-00000102"),
    ] {
        let r = snap(&p, "a264.mp4", params);
        assert_eq!(r.status, 400, "{params}: {}", r.text());
        assert!(r.text().contains("<Code>InvalidArgument</Code>"), "{params}: {}", r.text());
        assert!(r.text().contains(&format!("<EC>{ec}</EC>")), "{params}: {}", r.text());
    }
    let r = request(&p.addr, "GET", "/a264.mp4?x-oss-process=video/convert,f_mp4", &[]);
    assert_eq!(r.status, 501, "{}", r.text());
}

#[test]
fn corrupt_and_hostile_videos_get_a_clean_error_and_the_proxy_stays_up() {
    let conf = PUBLIC.to_string() + "[limits]\nprocess_timeout_ms = 3000\n";
    let p = with_clips("video-corrupt", &conf);
    let good = std::fs::read(p.dir.join("a264.mp4")).unwrap();
    std::fs::write(p.dir.join("half.mp4"), &good[..good.len() / 2]).unwrap();
    std::fs::write(p.dir.join("head.mp4"), &good[..200]).unwrap();
    let mut noise = good.clone();
    for (i, b) in noise.iter_mut().enumerate().skip(800) {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    std::fs::write(p.dir.join("noise.mp4"), &noise).unwrap();
    // A playlist that names a local file: a classic ffmpeg file-disclosure trick.
    std::fs::write(p.dir.join("playlist.mp4"), "#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n").unwrap();
    std::fs::copy(p.dir.join("example.jpg"), p.dir.join("photo.mp4")).unwrap();
    for key in ["half.mp4", "head.mp4", "noise.mp4", "playlist.mp4", "photo.mp4", "example.jpg"] {
        let t = Instant::now();
        let r = snap(&p, key, "t_1000");
        assert!(r.status == 400 || r.status == 200, "{key}: {} {}", r.status, r.text());
        if r.status == 400 {
            assert!(r.text().contains("<Code>BadRequest</Code>"), "{key}: {}", r.text());
            assert!(!r.text().contains(&p.dir.display().to_string()), "no paths in answers: {}", r.text());
        } else {
            // What ffmpeg could still decode of a damaged clip is a real frame of it.
            assert_eq!(r.image().width(), 160, "{key}");
        }
        assert!(t.elapsed() < Duration::from_secs(4), "{key} took {:?}", t.elapsed());
    }
    assert_eq!(snap(&p, "missing.mp4", "t_0").status, 404);
    assert_eq!(snap(&p, "a264.mp4", "t_0").status, 200, "the proxy is still up");
}

#[test]
fn a_video_over_its_size_limit_is_refused_without_reading_it() {
    let conf = PUBLIC.to_string() + "[limits]\nmax_video_bytes = 1000\n";
    let p = with_clips("video-size", &conf);
    let r = snap(&p, "a264.mp4", "t_0");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>ImageTooLarge</Code>"), "{}", r.text());
    // The image limit is separate: a 4 KB video is fine for images' 20 MB too.
    assert_eq!(request(&p.addr, "GET", "/example.jpg?x-oss-process=image/resize,w_10", &[]).status, 200);
}

#[test]
fn remote_videos_are_read_in_ranges_and_a_silent_origin_is_cut_off() {
    let dir = common::temp_dir("video-origin-files");
    // 30 s of lossless 640×360 with audio: tens of MB, of which a frame at 1 s needs little.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25:d=30",
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=d=30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-g",
        "25",
        "-c:a",
        "pcm_s16le",
        "-movflags",
        "+faststart",
        dir.join("big.mov").to_str().unwrap(),
    ]);
    clip(&dir.join("late-a265.mp4"), "x265");
    let size = std::fs::metadata(dir.join("big.mov")).unwrap().len();
    let origin = common::origin::serve(dir, "/base");
    let conf = format!(
        "[limits]\nprocess_timeout_ms = 3000\n[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        origin.addr
    );
    let p = start("video-origin", "", &conf);
    let r = snap(&p, "big.mov", "t_1000,w_320");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.image().width(), 320);
    let sent = origin.sent("/base/big.mov");
    assert!(
        sent > 0 && sent < size / 4,
        "read {sent} of {size} bytes {:?}",
        origin
            .heads
            .lock()
            .unwrap()
            .iter()
            .filter_map(|h| h.lines().find(|l| l.starts_with("range")))
            .collect::<Vec<_>>()
    );
    // An origin that never answers the GET: the deadline ends it, ffmpeg included.
    let t = Instant::now();
    let r = snap(&p, "late-a265.mp4", "t_0");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(300));
    let ffmpegs = std::fs::read_dir(format!("/proc/{}/task", p.pid()))
        .unwrap()
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("children")).unwrap_or_default())
        .filter(|c| !c.trim().is_empty())
        .count();
    assert_eq!(ffmpegs, 0, "ffmpeg was killed at the deadline");
}

#[test]
fn snapshots_can_be_saved_as_avif_and_heic() {
    let (ak, sk) = ("LTAI5tVideoWriter", "video-writer-secret");
    let conf = format!("[[access_keys]]\nid = \"{ak}\"\nsecret = \"{sk}\"\nwrite = [\"*\"]\n{PUBLIC}");
    let p = with_clips("video-saveas", &conf);
    for (process, target, fmt) in [
        ("video/snapshot,t_1700/format,avif", "poster.avif", "avif"),
        ("image/resize,w_64/format,heic", "photo.heic", "heic"),
    ] {
        let key = if process.starts_with("video") { "a264.mp4" } else { "example.jpg" };
        let body = format!("x-oss-process={process}|sys/saveas,o_{}", common::b64(target));
        let ctype = "application/x-www-form-urlencoded";
        let (date, authz) =
            common::sign::header_v1(ak, sk, "POST", ctype, &format!("/demo/{key}?x-oss-process"));
        let h = [("Content-Type", ctype), ("Date", date.as_str()), ("Authorization", authz.as_str())];
        let r =
            try_request_body(&p.addr, "POST", &format!("/{key}?x-oss-process"), &h, body.as_bytes()).unwrap();
        assert_eq!(r.status, 200, "{process}: {}", r.text());
        assert!(p.dir.join(target).is_file(), "{target} written");
        // Read back through imgedge itself (the image crate reads neither format).
        let r = request(&p.addr, "GET", &format!("/{target}?x-oss-process=image/format,png"), &[]);
        assert_eq!(r.status, 200, "{fmt}: {}", r.text());
        if fmt == "avif" {
            assert_eq!(r.image().width(), 160);
            assert!(near(centre(&r), YELLOW), "{:?}", centre(&r));
        } else {
            assert_eq!(r.image().width(), 64);
        }
    }
}

/// A 4K frame (24.9 MB as a BMP) is bounded by `video.max_pixels`, not by the image source cap;
/// a snapshot's watermark image is an image, held to the image cap and refused from its size
/// before a byte of it is fetched (it used to be fetched under the video's cap).
#[test]
fn a_4k_frame_runs_and_a_snapshots_watermark_is_held_to_the_image_cap() {
    let dir = common::temp_dir("video-4k-files");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x00ff00:s=3840x2160:r=1:d=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        dir.join("uhd.mp4").to_str().unwrap(),
    ]);
    // 700×700 of noise: about 1.5 MB of PNG, over a 1 MB image cap.
    let mut seed = 0x2545_f491_u32;
    let noise = image::RgbImage::from_fn(700, 700, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    let mark = common::png(&image::DynamicImage::ImageRgb8(noise));
    assert!(mark.len() > 1_000_000);
    std::fs::write(dir.join("mark.png"), mark).unwrap();
    std::fs::write(dir.join("small.jpg"), common::jpeg(64, 64)).unwrap();
    let origin = common::origin::serve(dir, "/base");
    let conf = format!(
        "[limits]\nmax_src_bytes = 1000000\n[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        origin.addr
    );
    let p = start("video-4k", "", &conf);
    let r = snap(&p, "uhd.mp4", "t_0,f_jpg,w_400");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.image().width(), r.image().height()), (400, 225));
    assert!(near(centre(&r), GREEN));
    let mark = common::b64("mark.png");
    for target in [
        format!("/uhd.mp4?x-oss-process=video/snapshot,t_0,f_jpg,w_400/watermark,image_{mark}"),
        format!("/small.jpg?x-oss-process=image/watermark,image_{mark}"),
    ] {
        let r = request(&p.addr, "GET", &target, &[]);
        assert_eq!(
            (r.status, r.xml("Code").as_deref()),
            (400, Some("ImageTooLarge")),
            "{target}: {}",
            r.text()
        );
    }
    assert_eq!(origin.sent("/base/mark.png"), 0, "the oversized watermark was fetched");
}
