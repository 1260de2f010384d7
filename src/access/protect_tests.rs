//! Source-protection tests: AT-25's request kinds and key tricks, suffix rules, and a randomized
//! no-panic loop.

use super::*;
use crate::testing::XorShift;

fn on(suffixes: &[&str]) -> ProtectConfig {
    ProtectConfig { enabled: true, suffixes: suffixes.iter().map(|s| s.to_string()).collect() }
}

#[test]
fn at25_request_kinds() {
    let c = on(&["jpg", "png"]);
    assert_eq!(decide(&c, "img.jpg", Request::Raw, false), Decision::DenyRaw);
    assert_eq!(decide(&c, "img.jpg", Request::Image, false), Decision::DenyImage);
    assert_eq!(Decision::DenyImage.ec(), Some("0040-00000031"));
    assert_eq!(Decision::DenyRaw.ec(), None);
    // `?x-oss-process=style/thumb` and `img.jpg!thumb` both arrive as Style.
    assert_eq!(decide(&c, "img.jpg", Request::Style, false), Decision::Allow);
    for req in [Request::Raw, Request::Image, Request::Style] {
        assert_eq!(decide(&c, "img.jpg", req, true), Decision::Allow, "signed: never restricted");
    }
    assert_eq!(decide(&c, "doc.txt", Request::Raw, false), Decision::Allow);
    let off = ProtectConfig { enabled: false, ..c };
    assert_eq!(decide(&off, "img.jpg", Request::Raw, false), Decision::Allow);
}

#[test]
fn at25_key_tricks() {
    let c = on(&["jpg"]);
    // Case: protected, the safe side.
    assert_eq!(decide(&c, "IMG.JPG", Request::Raw, false), Decision::DenyRaw);
    assert_eq!(decide(&c, "img.Jpg", Request::Image, false), Decision::DenyImage);
    // `./img.jpg` is its own flat key; its last segment still ends in .jpg.
    assert_eq!(decide(&c, "./img.jpg", Request::Raw, false), Decision::DenyRaw);
    assert_eq!(decide(&c, "a/../img.jpg", Request::Raw, false), Decision::DenyRaw);
    // `%69mg.jpg` reaches us decoded (route::decode_key): it is `img.jpg`.
    assert_eq!(decide(&c, "img.jpg", Request::Raw, false), Decision::DenyRaw);
    // `img.jpg/` is a different object with no suffix: not protected, nothing of img.jpg leaks.
    assert_eq!(decide(&c, "img.jpg/", Request::Raw, false), Decision::Allow);
    // The suffix is taken from the last segment only.
    assert_eq!(decide(&c, "dir.jpg/readme", Request::Raw, false), Decision::Allow);
    assert_eq!(decide(&c, "dir/x.jpg", Request::Raw, false), Decision::DenyRaw);
    // Different keys with different extensions are not protected by `jpg`.
    assert_eq!(decide(&c, "img.jpg.", Request::Raw, false), Decision::Allow);
    assert_eq!(decide(&c, "img.jpeg", Request::Raw, false), Decision::Allow);
    assert_eq!(decide(&c, "imgjpg", Request::Raw, false), Decision::Allow);
    assert_eq!(decide(&c, ".jpg", Request::Raw, false), Decision::DenyRaw);
}

#[test]
fn suffix_list_forms() {
    assert!(is_protected(&on(&["*"]), "anything"));
    assert!(is_protected(&on(&["*"]), "dir/"));
    assert!(is_protected(&on(&[" .PNG "]), "a.png"));
    assert!(is_protected(&on(&["tar.gz"]), "x.TAR.GZ"));
    assert!(!is_protected(&on(&["tar.gz"]), "x.gz"));
    assert!(!is_protected(&on(&[""]), "a."));
    assert!(!is_protected(&on(&["."]), "a.."));
    assert!(!is_protected(&on(&[]), "a.jpg"));
    assert!(is_protected(&on(&["jpg"]), "照片.jpg"));
    assert!(!is_protected(&on(&["jpg"]), "照片"));
}

const ALPHABET: &[&str] = &[".", "/", "*", "j", "P", "g", " ", "é", "照", "😀", "\0"];

#[test]
fn random_inputs_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let kinds = [Request::Raw, Request::Image, Request::Style];
    for _ in 0..20_000 {
        let c = ProtectConfig {
            enabled: rng.next() & 3 != 0,
            suffixes: (0..rng.next() % 3).map(|_| rng.string(4, ALPHABET)).collect(),
        };
        let key = rng.string(16, ALPHABET);
        let req = kinds[(rng.next() % 3) as usize];
        let signed = rng.next() & 1 == 0;
        let d = decide(&c, &key, req, signed);
        if signed || req == Request::Style || !c.enabled {
            assert_eq!(d, Decision::Allow);
        } else {
            assert_eq!(d == Decision::Allow, !is_protected(&c, &key));
        }
    }
}
