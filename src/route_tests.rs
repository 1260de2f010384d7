//! Routing tests: Host → bucket, the style-separator split (§1.2), and a randomized no-panic
//! loop over both. Key decoding is tested with the key type in `names_tests.rs`.

use super::*;
use crate::names::{valid_bucket, valid_style_name};
use crate::testing::XorShift;

fn hosts() -> HostMap {
    HostMap::new(
        &["oss-cn-hangzhou.aliyuncs.com".into(), "IMG.Example.NET.".into(), "".into(), "a..b".into()],
        &[("Pics.Example.com".into(), "pics-bucket".into()), ("cdn.test:8080".into(), "cdn".into())],
    )
}

fn bucket(h: &HostMap, host: &str) -> Option<String> {
    h.bucket_for(host).map(Cow::into_owned)
}

#[test]
fn host_to_bucket() {
    let h = hosts();
    assert_eq!(bucket(&h, "my-bucket.oss-cn-hangzhou.aliyuncs.com"), Some("my-bucket".into()));
    assert_eq!(bucket(&h, "my-bucket.oss-cn-hangzhou.aliyuncs.com:443"), Some("my-bucket".into()));
    assert_eq!(bucket(&h, "MY-Bucket.OSS-cn-hangzhou.aliyuncs.com."), Some("my-bucket".into()));
    assert_eq!(bucket(&h, "b01.img.example.net"), Some("b01".into()));
    assert!(matches!(h.bucket_for("abc.img.example.net"), Some(Cow::Borrowed("abc"))));
    // Custom domains: exact host, case-insensitive, port ignored (also in the config).
    assert_eq!(bucket(&h, "pics.example.com"), Some("pics-bucket".into()));
    assert_eq!(bucket(&h, "PICS.example.com:8443"), Some("pics-bucket".into()));
    assert_eq!(bucket(&h, "cdn.test"), Some("cdn".into()));
    assert_eq!(bucket(&h, "x.pics.example.com"), None);
}

#[test]
fn host_rejections() {
    let h = hosts();
    for host in [
        "oss-cn-hangzhou.aliyuncs.com",         // bare domain: path-style, unsupported
        "a.b.oss-cn-hangzhou.aliyuncs.com",     // bucket names have no dots
        "ab.oss-cn-hangzhou.aliyuncs.com",      // too short
        "-ab.oss-cn-hangzhou.aliyuncs.com",     // bad bucket edge
        "a_b.oss-cn-hangzhou.aliyuncs.com",     // bad bucket char
        ".oss-cn-hangzhou.aliyuncs.com",        // empty label
        "bkt..oss-cn-hangzhou.aliyuncs.com",    // empty label
        "bkt.oss-cn-hangzhou.aliyuncs.com..",   // empty label after the absolute dot
        "bkt.oss-cn-hangzhou.aliyuncs.com:x",   // bad port
        "bkt.oss-cn-hangzhou.aliyuncs.com:1:2", // two colons
        "bkt.oss-cn-hangzhou.aliyuncs.com:123456", // port too long
        "bkt.evil.com",                         // unknown domain
        "bkt.a..b",                             // skipped config entry
        "[::1]:8080",
        "bkt.oss-cn-hangzhou.aliyuncs.com/x",
        "bkt.oss-cn-hangzhou.aliyuncs.com@evil",
        "",
        ":80",
        "bkt.",
    ] {
        assert_eq!(bucket(&h, host), None, "{host:?}");
    }
    assert_eq!(bucket(&HostMap::default(), "bkt.oss-cn-hangzhou.aliyuncs.com"), None);
}

#[test]
fn bucket_and_style_names() {
    assert!(valid_bucket("abc") && valid_bucket("a-1") && valid_bucket(&"a".repeat(63)));
    assert!(!valid_bucket("ab") && !valid_bucket(&"a".repeat(64)) && !valid_bucket("Abc"));
    assert!(!valid_bucket("abc-") && !valid_bucket("a.c"));
    assert!(valid_style_name("thumb") && valid_style_name("a_b-c.D9"));
    assert!(!valid_style_name("") && !valid_style_name(&"s".repeat(64)) && !valid_style_name("a b"));
    assert!(!valid_style_name("缩略图") && !valid_style_name("a/b") && !valid_style_name("a!b"));
}

const ALL: [&str; 5] = SEPARATORS;

fn styles(name: &str) -> bool {
    ["thumb", "small", "2x", "small-2x", "my_style", "big.v2"].contains(&name)
}

#[test]
fn split_style_forms() {
    assert_eq!(split_style("example.jpg!thumb", &["!"], styles), Some(("example.jpg", "thumb")));
    assert_eq!(split_style("example.jpg@!thumb", &["@!"], styles), Some(("example.jpg", "thumb")));
    assert_eq!(split_style("example.jpg@!thumb", &ALL, styles), Some(("example.jpg", "thumb")));
    // Without `@!` enabled, `!` alone leaves the `@` in the object key.
    assert_eq!(split_style("example.jpg@!thumb", &["!"], styles), Some(("example.jpg@", "thumb")));
    assert_eq!(split_style("example.jpg@!thumb", &["-"], styles), None);
    assert_eq!(split_style("a-b-c.jpg-small", &["-"], styles), Some(("a-b-c.jpg", "small")));
    assert_eq!(split_style("example.jpg_thumb", &["_"], styles), Some(("example.jpg", "thumb")));
    assert_eq!(split_style("dir/photo.jpg/thumb", &["/"], styles), Some(("dir/photo.jpg", "thumb")));
    assert_eq!(split_style("photo.jpg-big.v2", &["-"], styles), Some(("photo.jpg", "big.v2")));
}

#[test]
fn split_style_last_separator_wins() {
    // The last of any enabled separator decides; there is no second try.
    assert_eq!(split_style("a.jpg!thumb-small", &["!", "-"], styles), Some(("a.jpg!thumb", "small")));
    assert_eq!(split_style("a.jpg-small!x", &["!", "-"], styles), None);
    assert_eq!(split_style("a.jpg-small-2x", &["-"], styles), Some(("a.jpg-small", "2x")));
    assert_eq!(split_style("a.jpg!small-2x", &["!", "-"], styles), Some(("a.jpg!small", "2x")));
    assert_eq!(split_style("a.jpg!small-2x", &["!"], styles), Some(("a.jpg", "small-2x")));
    assert_eq!(split_style("a.jpg!my_style", &["!", "_"], styles), None);
}

#[test]
fn split_style_rejections() {
    assert_eq!(split_style("example.jpg!thumb", &["-", "_", "/"], styles), None, "disabled");
    assert_eq!(split_style("example.jpg!thumb", &[], styles), None);
    assert_eq!(split_style("example.jpg!thumb", &["", "!!", "x"], styles), None, "unknown seps");
    assert_eq!(split_style("example.jpg!nostyle", &ALL, styles), None, "not a style");
    assert_eq!(split_style("example.jpg!", &ALL, |_| true), None, "empty style name");
    assert_eq!(split_style("!thumb", &ALL, styles), None, "empty object key");
    assert_eq!(split_style("@!thumb", &ALL, styles), None, "empty object key");
    assert_eq!(split_style("a.jpg!bad name", &ALL, |_| true), None, "invalid style name");
    assert_eq!(split_style("a.jpg", &ALL, |_| true), None, "no separator");
    // The lookup is not even asked about an invalid name.
    assert_eq!(split_style("a!x y", &ALL, |n: &str| panic!("asked about {n}")), None);
}

#[test]
fn split_style_unicode_keys() {
    assert_eq!(split_style("照片/猫.jpg!thumb", &ALL, styles), Some(("照片/猫.jpg", "thumb")));
    assert_eq!(split_style("😀-😀.png-small", &["-"], styles), Some(("😀-😀.png", "small")));
    assert_eq!(split_style("猫.jpg!缩略图", &ALL, |_| true), None);
    assert_eq!(split_style("é", &ALL, |_| true), None);
}

const ALPHABET: &[&str] =
    &["/", "%", "2", "F", "e", "7", "a", ".", ":", "!", "@", "-", "_", "?", "[", "é", "猫", "😀", "\0"];

#[test]
fn random_inputs_never_panic() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let h = hosts();
    for _ in 0..20_000 {
        let s = rng.string(20, ALPHABET);
        let _ = h.bucket_for(&s);
        let seps: Vec<&str> = ALL.iter().copied().filter(|_| rng.next() & 1 == 0).collect();
        if let Some((object, name)) = split_style(&s, &seps, |_| true) {
            assert!(!object.is_empty() && valid_style_name(name));
            assert!(s.starts_with(object) && s.ends_with(name));
        }
    }
}
