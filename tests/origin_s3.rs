//! A bucket in front of real S3-compatible storage (s3s-fs on loopback) with SigV4 credentials:
//! raw objects proxied with validators and ranges, processed variants keyed by the source's
//! ETag, watermark images read from the same bucket, and the origin's refusals as OSS errors.

mod common;

use common::s3::{self, S3Server};
use common::server::{get, request, start, Proxy};

fn bucket_conf(s3: &S3Server, secret: &str) -> String {
    format!(
        "[[buckets]]\nname = \"cloud\"\nstyle_delimiters = [\"!\"]\n[buckets.origin]\ntype = \"s3\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nbucket = \"photos\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{secret}\"\npath_style = true\n[buckets.styles]\nthumb = \"image/resize,w_100\"\n",
        s3.endpoint,
        s3::ACCESS_KEY,
    )
}

fn setup(name: &str, extra: &str) -> (Proxy, S3Server) {
    let dir = common::temp_dir(&format!("{name}-s3"));
    let s3 = s3::start(&dir.join("root"));
    let b = s3.bucket("photos");
    std::fs::copy(common::corpus("oss/example.jpg"), b.join("example.jpg")).unwrap();
    std::fs::copy(common::corpus("oss/aws_logo.png"), b.join("logo.png")).unwrap();
    std::fs::create_dir_all(b.join("dir")).unwrap();
    std::fs::write(b.join("dir/notes.txt"), b"plain text, not an image").unwrap();
    let conf = format!("{extra}{}", bucket_conf(&s3, s3::SECRET_KEY));
    (start(name, "", &conf), s3)
}

#[test]
fn raw_objects_stream_with_validators_and_ranges() {
    let (p, _s3) = setup("s3-raw", "");
    let file = common::read("oss/example.jpg");
    let r = get(&p.addr, "/example.jpg");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, file);
    assert!(r.header("x-oss-request-id").is_some());
    let etag = r.header("etag").expect("the origin's ETag").to_string();
    let nm = request(&p.addr, "GET", "/example.jpg", &[("if-none-match", &etag)]);
    assert_eq!(nm.status, 304);
    let part = request(&p.addr, "GET", "/example.jpg", &[("range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &file[10..20]);
    let head = request(&p.addr, "HEAD", "/example.jpg", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(file.len().to_string().as_str()));
    assert!(head.body.is_empty());
    let t = get(&p.addr, "/dir/notes.txt");
    assert_eq!((t.status, t.body.as_slice()), (200, &b"plain text, not an image"[..]));
    assert_eq!(get(&p.addr, "/missing.jpg").status, 404);
}

#[test]
fn processed_variants_follow_the_source_version() {
    // revalidate_s = 0: every processed request asks the origin for the ETag (a HEAD).
    let (p, s3) = setup("s3-process", "[origin]\nrevalidate_s = 0\n");
    let r = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.image().width(), r.image().height()), (100, 67));
    let styled = get(&p.addr, "/example.jpg!thumb");
    assert_eq!((styled.status, styled.image().width()), (200, 100));
    assert!(common::server::metric(&p, "imgedge_cache_hits_total") >= 1.0);
    // Replace the object with a square image: the next variant comes from the new version.
    let square = image::RgbImage::from_pixel(300, 300, image::Rgb([10, 200, 10]));
    square.save(s3.bucket("photos").join("example.jpg").with_extension("png")).unwrap();
    std::fs::rename(s3.root.join("photos/example.png"), s3.root.join("photos/example.jpg")).unwrap();
    let r2 = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!(r2.status, 200, "{}", r2.text());
    assert_eq!((r2.image().width(), r2.image().height()), (100, 100), "a stale variant was served");
    assert_ne!(r.header("etag"), r2.header("etag"));
    let e = get(&p.addr, "/missing.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("Code").as_deref()), (404, Some("NoSuchKey")));
    let e = get(&p.addr, "/dir/notes.txt?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("EC").as_deref()), (400, Some("0040-00000005")));
}

#[test]
fn watermark_images_come_from_the_bucket() {
    let (p, _s3) = setup("s3-watermark", "");
    let mark = common::b64("logo.png");
    let r = get(&p.addr, &format!("/example.jpg?x-oss-process=image/watermark,image_{mark},g_nw,x_0,y_0"));
    assert_eq!(r.status, 200, "{}", r.text());
    let plain = get(&p.addr, "/example.jpg?x-oss-process=image/format,png").image().to_rgb8();
    let marked = r.image().to_rgb8();
    assert_eq!(marked.dimensions(), plain.dimensions());
    let diff = |x0: u32, y0: u32| -> u64 {
        let mut d = 0u64;
        for y in y0..y0 + 20 {
            for x in x0..x0 + 20 {
                let (a, b) = (marked.get_pixel(x, y), plain.get_pixel(x, y));
                d += (0..3).map(|c| (a[c] as i64 - b[c] as i64).unsigned_abs()).sum::<u64>();
            }
        }
        d
    };
    let (w, h) = marked.dimensions();
    assert!(diff(5, 5) > 20 * 20 * 30, "no mark in the north-west corner");
    assert!(diff(w - 25, h - 25) < 20 * 20 * 6, "the south-east corner changed");
    let missing = common::b64("nope.png");
    let e = get(&p.addr, &format!("/example.jpg?x-oss-process=image/watermark,image_{missing}"));
    assert_eq!((e.status, e.xml("EC").as_deref()), (400, Some("0040-00000024")));
}

#[test]
fn sources_over_the_limit_are_refused_from_the_head() {
    let (p, _s3) = setup("s3-big", "[limits]\nmax_src_bytes = 10000\n");
    let e = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("Code").as_deref()), (400, Some("ImageTooLarge")));
    assert_eq!(common::server::metric(&p, "imgedge_origin_fetches_total"), 0.0, "the body was fetched");
}

#[test]
fn wrong_credentials_are_refused_by_the_origin() {
    let dir = common::temp_dir("s3-badkey-s3");
    let s3 = s3::start(&dir.join("root"));
    std::fs::copy(common::corpus("oss/example.jpg"), s3.bucket("photos").join("example.jpg")).unwrap();
    let p = start("s3-badkey", "", &bucket_conf(&s3, "not-the-secret"));
    let e = get(&p.addr, "/example.jpg?x-oss-process=image/resize,w_100");
    assert_eq!((e.status, e.xml("Code").as_deref()), (403, Some("AccessDenied")), "{}", e.text());
    assert_eq!(get(&p.addr, "/example.jpg").status, 403);
}

/// A video in S3: ffmpeg reads it through imgedge's relay, whose ranged GETs are presigned and
/// carry `If-Match` on the version the request was keyed by.
#[test]
fn videos_in_s3_are_snapshotted_through_the_relay() {
    let (p, s3) = setup("s3-video", "");
    let clip = s3.bucket("photos").join("clip.mp4");
    let src = "color=c=0x20c040:s=160x120:r=24:d=1";
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", src, "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = get(&p.addr, "/clip.mp4?x-oss-process=video/snapshot,t_500,f_png");
    assert_eq!(r.status, 200, "{}", r.text());
    let px = r.image().to_rgb8().get_pixel(80, 60).0;
    assert!(px[1] > 150 && px[0] < 80, "{px:?}");
}
