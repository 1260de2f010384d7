//! Modern formats through the proxy (issue 13): format by `Accept` (`format,auto` and a
//! bucket's `auto_format`), with `Vary: Accept` and a cache that holds the chosen format only.

mod common;

#[path = "formats/autoquality.rs"]
mod autoquality;
#[path = "formats/hints.rs"]
mod hints;

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

/// A JPEG whose EXIF says where it was taken (GPS latitude 48° N) and which way is up.
fn jpeg_with_gps() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: Orientation 1, GPSInfo → 38.
    tiff.extend([0, 2]);
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0]);
    tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend([0, 0, 0, 0]);
    // GPS IFD at 38: GPSLatitudeRef "N", GPSLatitude 48/1 0/1 0/1 at 68.
    tiff.extend([0, 2]);
    tiff.extend([0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend([0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 68]);
    tiff.extend([0, 0, 0, 0]);
    for (n, d) in [(48u32, 1u32), (0, 1), (0, 1)] {
        tiff.extend(n.to_be_bytes());
        tiff.extend(d.to_be_bytes());
    }
    let jpeg = common::jpeg(120, 80);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

fn gps_of(bytes: &[u8]) -> Option<String> {
    let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)).ok()?;
    exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY).map(|f| f.display_value().to_string())
}

/// Metadata policy: no public variant carries the source's EXIF (GPS above all), in any format,
/// and neither does a saved one; only the orientation it said is applied to the pixels.
#[test]
fn gps_never_leaves_with_a_variant() {
    let p = start("formats-gps", "", PUBLIC);
    let src = jpeg_with_gps();
    assert!(gps_of(&src).is_some(), "the fixture carries GPS");
    std::fs::write(p.dir.join("where.jpg"), &src).unwrap();
    for format in ["jpg", "png", "webp", "avif", "heic", "gif", "bmp"] {
        let r = request(
            &p.addr,
            "GET",
            &format!("/where.jpg?x-oss-process=image/resize,w_60/format,{format}"),
            &[],
        );
        assert_eq!(r.status, 200, "{format}: {}", r.text());
        assert_eq!(gps_of(&r.body), None, "{format} carries GPS");
        assert!(!r.body.windows(6).any(|w| w == b"Exif\0\0"), "{format} carries EXIF");
    }
    let r = request(&p.addr, "GET", "/where.jpg!thumb", &[]);
    assert_eq!((r.status, gps_of(&r.body)), (200, None));
}

/// The colour profile policy through the proxy: a Display-P3-like tagged source comes out
/// untagged (converted) from a bucket on the default, and with its profile from a bucket set
/// to `keep`; the two never share a cached variant.
#[test]
fn a_bucket_can_keep_colour_profiles() {
    let (dir, kept) = (common::temp_dir("formats-profile-files"), common::temp_dir("formats-profile-kept"));
    // A small profile-tagged PNG: Adobe RGB primaries through moxcms's own profile writer.
    let icc = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, _| {
        image::Rgb([(x * 4) as u8, 200, 30])
    }));
    let mut png = Vec::new();
    let mut e = image::codecs::png::PngEncoder::new(&mut png);
    image::ImageEncoder::set_icc_profile(&mut e, icc.clone()).unwrap();
    img.write_with_encoder(e).unwrap();
    std::fs::write(dir.join("wide.png"), &png).unwrap();
    std::fs::write(kept.join("wide.png"), &png).unwrap();
    let conf = format!(
        "[[buckets]]\nname = \"conv\"\n[buckets.origin]\ntype = \"dir\"\npath = \"{}\"\n\
         [[buckets]]\nname = \"keep\"\ncolor_profile = \"keep\"\n[buckets.origin]\ntype = \"dir\"\npath = \"{}\"\n",
        dir.display(),
        kept.display()
    );
    let p = start("formats-profile", "", &conf);
    for format in ["jpg", "png", "webp", "avif"] {
        let target = format!("/wide.png?x-oss-process=image/resize,w_32/format,{format}");
        let conv = request(&p.addr, "GET", &target, &[("Host", "conv.localhost")]);
        let keep = request(&p.addr, "GET", &target, &[("Host", "keep.localhost")]);
        assert_eq!((conv.status, keep.status), (200, 200), "{format}");
        let kind = imgedge::transform::codec::probe::probe(&keep.body).unwrap().format;
        assert_eq!(
            imgedge::transform::codec::icc::extract(&keep.body, kind),
            Some(icc.clone()),
            "{format} kept"
        );
        assert_eq!(imgedge::transform::codec::icc::extract(&conv.body, kind), None, "{format} converted");
        assert!(conv.header("etag").is_some() && keep.header("etag").is_some());
    }
}
