//! Tests of the name validators: object keys from request paths and as given (the hostile-key
//! table every entry point is also tested with), bucket names, style names.

use super::*;
use crate::testing::fixtures::HOSTILE_KEYS;
use crate::testing::XorShift;

fn key(s: &str) -> Result<ObjectKey, KeyError> {
    ObjectKey::new(s)
}

#[test]
fn decode_key_rules() {
    assert_eq!(ObjectKey::from_path("/a%20b.jpg"), key("a b.jpg"));
    assert_eq!(ObjectKey::from_path("/a+b.jpg"), key("a+b.jpg"), "+ stays +");
    assert_eq!(ObjectKey::from_path("/a%2Bb.jpg"), key("a+b.jpg"));
    assert_eq!(ObjectKey::from_path("/dir%2Fx.jpg"), key("dir/x.jpg"), "%2F is the same key as /");
    assert_eq!(ObjectKey::from_path("/%252F"), key("%2F"), "decoded exactly once");
    assert_eq!(ObjectKey::from_path("/%69mg.jpg"), key("img.jpg"));
    assert_eq!(ObjectKey::from_path("/%e7%8c%ab.jpg"), key("猫.jpg"));
    assert_eq!(ObjectKey::from_path("/猫.jpg"), key("猫.jpg"));
    assert_eq!(ObjectKey::from_path("/img.jpg/"), key("img.jpg/"));
    assert_eq!(ObjectKey::from_path(&format!("/{}", "k".repeat(1023))).map(|k| k.len()), Ok(1023));
    assert_eq!(ObjectKey::from_path(&format!("/{}", "%41".repeat(1023))).map(|k| k.len()), Ok(1023));
}

#[test]
fn decode_key_errors() {
    assert_eq!(ObjectKey::from_path("/"), Err(KeyError::Empty));
    assert_eq!(ObjectKey::from_path(""), Err(KeyError::NotAPath));
    assert_eq!(ObjectKey::from_path("a.jpg"), Err(KeyError::NotAPath));
    assert_eq!(ObjectKey::from_path("http://x/a.jpg"), Err(KeyError::NotAPath));
    assert_eq!(ObjectKey::from_path("/a.jpg?x-oss-process=image/info"), Err(KeyError::NotAPath));
    assert_eq!(ObjectKey::from_path("/a.jpg#f"), Err(KeyError::NotAPath));
    assert_eq!(ObjectKey::from_path("/a%2"), Err(KeyError::BadEscape));
    assert_eq!(ObjectKey::from_path("/a%zz"), Err(KeyError::BadEscape));
    assert_eq!(ObjectKey::from_path("/a%"), Err(KeyError::BadEscape));
    assert_eq!(ObjectKey::from_path("/a%+1"), Err(KeyError::BadEscape));
    assert_eq!(ObjectKey::from_path("/%ff.jpg"), Err(KeyError::InvalidUtf8));
    assert_eq!(ObjectKey::from_path("/%e7%8c"), Err(KeyError::InvalidUtf8));
    assert_eq!(ObjectKey::from_path(&format!("/{}", "k".repeat(1024))), Err(KeyError::TooLong));
    assert_eq!(ObjectKey::from_path("//a.jpg"), Err(KeyError::LeadingSlash));
    assert_eq!(ObjectKey::from_path("/%2Fa.jpg"), Err(KeyError::LeadingSlash));
    assert_eq!(ObjectKey::from_path("/%5Ca.jpg"), Err(KeyError::Backslash));
    assert_eq!(ObjectKey::from_path("/\\a.jpg"), Err(KeyError::Backslash));
    assert_eq!(ObjectKey::from_path("/a%00.jpg"), Err(KeyError::ControlChar));
    assert_eq!(ObjectKey::from_path("/a%0d%0a.jpg"), Err(KeyError::ControlChar));
    assert_eq!(ObjectKey::from_path("/a\t.jpg"), Err(KeyError::ControlChar));
    assert_eq!(ObjectKey::from_path("/a%7F"), Err(KeyError::ControlChar));
    assert_eq!(KeyError::Empty.ec(), Some("0016-00000001"));
    assert_eq!(KeyError::TooLong.ec(), Some("0016-00000002"));
    assert_eq!(KeyError::LeadingSlash.ec(), Some("0016-00000005"));
    assert_eq!(KeyError::BadEscape.ec(), None);
    assert_eq!(KeyError::ControlChar.to_string(), "object key contains a control character");
}

#[test]
fn hostile_keys_are_refused_as_given_and_as_paths() {
    for k in HOSTILE_KEYS {
        assert!(ObjectKey::new(*k).is_err(), "{k:?} accepted");
        let encoded: String = k.bytes().map(|b| format!("%{b:02X}")).collect();
        assert!(ObjectKey::from_path(&format!("/{encoded}")).is_err(), "{k:?} accepted as a path");
    }
    for ok in ["a.png", "dir/a.png", "a..b.png", ".hidden", "中文.jpg", "photos/", "a b+c.jpg", "x:y.png"] {
        assert_eq!(ObjectKey::new(ok).map(|k| k.to_string()), Ok(ok.to_string()), "{ok}");
    }
    assert_eq!(ObjectKey::new("a/b/c.jpg").unwrap().file_name(), "c.jpg");
    assert_eq!(ObjectKey::new("a/./b"), Err(KeyError::DotSegment));
    assert_eq!(ObjectKey::new("a//b"), Err(KeyError::DotSegment));
    assert_eq!(ObjectKey::new("a/.."), Err(KeyError::DotSegment));
}

#[test]
fn bucket_and_style_names() {
    assert!(valid_bucket("abc") && valid_bucket("a-1") && valid_bucket(&"a".repeat(63)));
    assert!(!valid_bucket("ab") && !valid_bucket(&"a".repeat(64)) && !valid_bucket("Abc"));
    assert!(!valid_bucket("abc-") && !valid_bucket("a.c") && !valid_bucket("{bucket}"));
    assert!(valid_style_name("thumb") && valid_style_name("a_b-c.D9"));
    assert_eq!(check_style_name(""), Err(StyleNameError::Length));
    assert_eq!(check_style_name(&"s".repeat(64)), Err(StyleNameError::Length));
    assert_eq!(check_style_name("a b"), Err(StyleNameError::Character));
    assert_eq!(StyleNameError::Length.ec(), "0017-00000250");
    assert_eq!(StyleNameError::Character.ec(), "0017-00000251");
    assert!(!valid_style_name("缩略图") && !valid_style_name("a/b") && !valid_style_name("a!b"));
}

#[test]
fn random_paths_never_panic_and_round_trip() {
    const ALPHABET: &[&str] =
        &["/", "%", "2", "F", "e", "7", "a", ".", ":", "!", "\\", "5C", "?", "é", "猫", "😀", "\0"];
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    for _ in 0..20_000 {
        let s = rng.string(20, ALPHABET);
        if let Ok(key) = ObjectKey::from_path(&s) {
            assert!(ObjectKey::new(key.as_str()).is_ok());
        }
        // Whatever decodes, re-encoding every byte decodes back to the same key.
        if let Ok(key) = ObjectKey::from_path(&format!("/{s}")) {
            let encoded: String = key.bytes().map(|b| format!("%{b:02x}")).collect();
            assert_eq!(ObjectKey::from_path(&format!("/{encoded}")), Ok(key));
        }
    }
}
