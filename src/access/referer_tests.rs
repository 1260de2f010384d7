//! Referer tests: AT-24, OSS's evaluation order, wildcards, truncation, the host-boundary rules
//! and a randomized loop proving that no input panics or blows up.

use super::*;
use crate::testing::XorShift;

fn cfg(allow_empty: bool, white: &[&str], black: &[&str]) -> RefererConfig {
    RefererConfig {
        allow_empty,
        whitelist: white.iter().map(|s| s.to_string()).collect(),
        blacklist: black.iter().map(|s| s.to_string()).collect(),
        ..RefererConfig::default()
    }
}

fn ok(c: &RefererConfig, referer: &str) -> bool {
    check(c, Some(referer)).is_ok()
}

#[test]
fn defaults_allow_everything() {
    let c = RefererConfig::default();
    assert!(c.allow_empty && c.allow_truncate_query && !c.truncate_path);
    assert_eq!(check(&c, None), Ok(()));
    assert_eq!(check(&c, Some("https://anything.test/x")), Ok(()));
}

#[test]
fn at24_hotlink() {
    let c = cfg(false, &["https://a.example.com/"], &["https://*.bad.test/"]);
    assert_eq!(check(&c, Some("https://a.example.com/")), Ok(()));
    assert_eq!(check(&c, Some("https://a.example.com/?from=feed")), Ok(()));
    assert_eq!(check(&c, Some("https://a.example.com")), Ok(()), "empty path ≡ /");
    assert_eq!(check(&c, Some("https://a.example.com.evil.net/")), Err(RefererDenied::NotWhitelisted));
    assert_eq!(check(&c, Some("https://x.bad.test/")), Err(RefererDenied::Blacklisted));
    assert_eq!(check(&c, Some("https://bad.test/")), Err(RefererDenied::NotWhitelisted));
    assert_eq!(check(&c, None), Err(RefererDenied::Empty));
    // Entries are prefixes: every page under the whitelisted or blacklisted origin is covered.
    assert_eq!(check(&c, Some("https://a.example.com/x.html")), Ok(()));
    assert_eq!(check(&c, Some("https://x.bad.test/page.html")), Err(RefererDenied::Blacklisted));
    let c = RefererConfig { truncate_path: true, ..c };
    assert_eq!(check(&c, Some("https://a.example.com/x.html")), Ok(()));
    assert_eq!(check(&c, Some("https://x.bad.test/page.html")), Err(RefererDenied::Blacklisted));
    assert_eq!(RefererDenied::Empty.ec(), "0003-00000501");
    assert_eq!(RefererDenied::Blacklisted.ec(), "0003-00000502");
    assert_eq!(RefererDenied::NotWhitelisted.ec(), "0003-00000503");
    assert_eq!(RefererDenied::Empty.message(), "You are denied by bucket referer policy.");
}

#[test]
fn blacklist_beats_whitelist() {
    let c = cfg(true, &["https://*.example.com/*"], &["https://bad.example.com/*"]);
    assert_eq!(check(&c, Some("https://bad.example.com/p")), Err(RefererDenied::Blacklisted));
    assert_eq!(check(&c, Some("https://good.example.com/p")), Ok(()));
    // Blacklist alone: everything else is allowed.
    let c = cfg(true, &[], &["https://bad.test/*"]);
    assert_eq!(check(&c, Some("https://bad.test/x")), Err(RefererDenied::Blacklisted));
    assert_eq!(check(&c, Some("https://other.test/x")), Ok(()));
}

#[test]
fn empty_referer_rules() {
    // The documented trap: no whitelist means no check, even with allow_empty off.
    assert_eq!(check(&cfg(false, &[], &["https://bad.test/"]), None), Ok(()));
    assert_eq!(check(&cfg(false, &["https://a.com"], &[]), None), Err(RefererDenied::Empty));
    assert_eq!(check(&cfg(false, &["https://a.com"], &[]), Some("")), Err(RefererDenied::Empty));
    assert_eq!(check(&cfg(false, &["https://a.com"], &[]), Some("  ")), Err(RefererDenied::Empty));
    assert_eq!(check(&cfg(true, &["https://a.com"], &[]), None), Ok(()));
    // The blacklist never applies to an empty Referer.
    assert_eq!(check(&cfg(true, &[], &["*"]), None), Ok(()));
    assert_eq!(check(&cfg(true, &[], &["*"]), Some("https://x/")), Err(RefererDenied::Blacklisted));
}

#[test]
fn question_mark_wildcard() {
    let c = cfg(true, &["https://www.?.aliyuncs.com"], &[]);
    assert!(ok(&c, "https://www.a.aliyuncs.com/"));
    assert!(!ok(&c, "https://www.ab.aliyuncs.com/"));
    assert!(!ok(&c, "https://www..aliyuncs.com/"), "? does not match a dot in the host");
    assert!(!ok(&c, "https://www.aliyuncs.com/"));
    let c = cfg(true, &["https://a.com/img?.html"], &[]);
    assert!(ok(&c, "https://a.com/img1.html"));
    assert!(ok(&c, "https://a.com/img..html"), "? matches any character in the path");
    assert!(!ok(&c, "https://a.com/img.html"));
}

#[test]
fn star_wildcard_and_host_boundaries() {
    let c = cfg(true, &["https://*.example.com"], &[]);
    assert!(ok(&c, "https://x.example.com/"));
    assert!(ok(&c, "https://a.b.example.com"), "a leading * spans labels");
    assert!(!ok(&c, "https://evil.com/"));
    assert!(!ok(&c, "https://example.com/"));
    assert!(!ok(&c, "https://a.example.com.evil.net/"));
    // A plain glob would let these through: the host wildcard must stay inside the host.
    let loose = RefererConfig { allow_truncate_query: false, ..c.clone() };
    assert!(!ok(&loose, "https://evil.com/.example.com"));
    assert!(!ok(&loose, "https://evil.com?.example.com"));
    assert!(!ok(&c, "https://x.example.com@evil.net/"));

    let c = cfg(true, &["https://a.example.com*"], &[]);
    assert!(ok(&c, "https://a.example.com/x.html"), "a trailing * covers the path");
    assert!(ok(&c, "https://a.example.com:8443/x"));
    assert!(!ok(&c, "https://a.example.com.evil.net/"));
    let c = RefererConfig { truncate_path: true, ..c };
    assert!(!ok(&c, "https://a.example.com.evil.net/x"));

    let c = cfg(true, &["http://www.*.com"], &[]);
    assert!(ok(&c, "http://www.shop.com/"));
    assert!(!ok(&c, "http://www.evil.net.com/"), "an inner * stays inside one label");
    let c = cfg(true, &["https://a.com/*"], &[]);
    assert!(ok(&c, "https://a.com/"));
    assert!(ok(&c, "https://a.com/deep/page.html"));
    assert!(!ok(&c, "https://a.com.evil.net/x"));
}

#[test]
fn case_scheme_port_userinfo() {
    let c = cfg(true, &["HTTPS://A.Example.COM/Img/*"], &[]);
    assert!(ok(&c, "https://a.example.com/Img/x.png"), "scheme and host are case-insensitive");
    assert!(!ok(&c, "https://a.example.com/img/x.png"), "the path is case-sensitive");
    let c = cfg(true, &["https://a.com"], &[]);
    assert!(!ok(&c, "http://a.com/"));
    assert!(!ok(&c, "https://a.com:8080/"));
    assert!(ok(&c, "https://user:pw@a.com/"), "userinfo is ignored");
    assert!(!ok(&c, "a.com"), "a Referer without a scheme never matches a schemed entry");
    assert!(ok(&cfg(true, &["https://a.com:*"], &[]), "https://a.com:8080/"));
    assert!(ok(&cfg(true, &["*://a.com/"], &[]), "ftp://a.com/"));
}

#[test]
fn entries_without_a_path_name_a_whole_site() {
    let c = cfg(false, &["https://a.com", "https://*.example.com"], &[]);
    assert!(ok(&c, "https://a.com/x.html"));
    assert!(ok(&c, "https://b.example.com/deep/page.html"));
    assert!(!ok(&c, "https://a.com.evil.net/"));
    assert!(!ok(&c, "https://a.example.com.evil.net/x"));
    assert!(!ok(&c, "https://evil.com/a.com"));
}

#[test]
fn path_entries_are_prefixes() {
    // The defect: an entry ending in `/` matched only that exact path.
    let c = cfg(true, &[], &["https://*.bad.test/"]);
    for r in [
        "https://x.bad.test/page.html",
        "https://x.bad.test/",
        "https://x.bad.test",
        "https://a.b.bad.test/p/q",
    ] {
        assert_eq!(check(&c, Some(r)), Err(RefererDenied::Blacklisted), "{r}");
    }
    assert!(ok(&c, "https://bad.test/page.html"), "`*.` needs a label");
    assert!(ok(&c, "https://x.bad.test.evil.net/page.html"), "the entry's `/` ends the host");
    let c = cfg(false, &["https://a.example.com/"], &[]);
    assert!(ok(&c, "https://a.example.com/deep/page.html"));
    assert!(!ok(&c, "https://a.example.com.evil.net/"));
    assert!(!ok(&c, "https://a.example.com.evil.net/page.html"));
    assert!(!ok(&c, "https://a.example.comx/"));
    // The path is a plain prefix, as in OSS: `/img` also covers `/img2`, `/img/` does not.
    assert!(ok(&cfg(true, &["https://a.com/img"], &[]), "https://a.com/img2/x.png"));
    let c = cfg(true, &["https://a.com/img/"], &[]);
    assert!(ok(&c, "https://a.com/img/x.png"));
    assert!(!ok(&c, "https://a.com/img2/x.png"));
    assert!(!ok(&c, "https://a.com/"));
    // Wildcards expand inside the prefix.
    let c = cfg(true, &["https://a.com/*/thumbs/", "https://a.com/v?/"], &[]);
    assert!(ok(&c, "https://a.com/u/1/thumbs/x.png"));
    assert!(ok(&c, "https://a.com/v2/page"));
    assert!(!ok(&c, "https://a.com/u/x.png"));
    assert!(!ok(&c, "https://a.com/v/page"));
}

#[test]
fn truncation_flags() {
    // With prefix matching, truncation matters once an entry reaches past the path.
    let spelled = cfg(true, &["https://a.com/page?x=1"], &[]);
    assert!(!ok(&spelled, "https://a.com/page?x=1"), "the query is cut before matching by default");
    let keep_query = RefererConfig { allow_truncate_query: false, ..spelled.clone() };
    assert!(ok(&keep_query, "https://a.com/page?x=1"));
    assert!(ok(&keep_query, "https://a.com/page?x=1&y=2"));
    assert!(!ok(&keep_query, "https://a.com/page"));
    let html = cfg(true, &["https://a.com/*.html"], &[]);
    assert!(!ok(&html, "https://a.com/x?f=.html"), "a wildcard does not reach into a cut query");
    assert!(!ok(&html, "https://a.com/x#.html"), "nor into a fragment");
    assert!(ok(&RefererConfig { allow_truncate_query: false, ..html }, "https://a.com/x?f=.html"));
    // TruncatePath: only scheme://host[:port] is compared, so an entry with a deeper path never
    // matches, and `https://a.com/` (or no path) matches every page.
    let c = cfg(true, &["https://a.com/img/", "https://b.com/"], &[]);
    assert!(ok(&c, "https://a.com/img/x"));
    let path = RefererConfig { truncate_path: true, ..c.clone() };
    assert!(!ok(&path, "https://a.com/img/x"));
    assert!(ok(&path, "https://b.com/deep/page?x=1"));
    assert!(ok(&path, "https://b.com?x=1"));
    // truncate_path only acts together with allow_truncate_query.
    let ignored = RefererConfig { truncate_path: true, allow_truncate_query: false, ..c };
    assert!(ok(&ignored, "https://a.com/img/x"));
    assert_eq!(truncate(&path, "https://a.com:81/p/q?z"), "https://a.com:81");
    assert_eq!(truncate(&path, "a.com/p"), "a.com");
}

#[test]
fn schemeless_entries_are_plain_globs() {
    let c = cfg(true, &["*"], &["*evil.test"]);
    assert!(ok(&c, "https://good.test/x"));
    assert!(ok(&c, "not a url"));
    assert_eq!(check(&c, Some("https://www.EVIL.test")), Err(RefererDenied::Blacklisted));
    let c = cfg(true, &["*.console.aliyun.com"], &[]);
    assert!(ok(&c, "https://oss.console.aliyun.com"));
    assert!(ok(&c, "https://oss.console.aliyun.com/x"), "a prefix, as in OSS");
    assert!(!ok(&cfg(true, &[""], &[]), "https://a/"), "a blank entry matches nothing");
}

#[test]
fn entry_validation() {
    assert!(valid_entry("https://a.com"));
    assert!(valid_entry(" http://*.a.com/* "));
    assert!(valid_entry("*"));
    assert!(valid_entry("**"));
    assert!(!valid_entry("*.a.com"));
    assert!(!valid_entry("a.com"));
    assert!(!valid_entry("://a.com"));
    assert!(!valid_entry(""));
}

#[test]
fn star_heavy_patterns_stay_fast() {
    let referer = format!("https://a.com/{}", "a".repeat(4096));
    let stars = format!("https://a.com/{}b", "*a".repeat(50));
    let only = "*".repeat(50);
    let started = std::time::Instant::now();
    for _ in 0..10 {
        assert!(!ok(&cfg(true, &[&stars], &[]), &referer));
        assert!(!ok(&cfg(true, &[&format!("{}b", "*a".repeat(50))], &[]), &referer));
        assert!(ok(&cfg(true, &[&only], &[]), &referer));
        assert!(ok(&cfg(true, &[&format!("https://*.*.*{}", "*".repeat(50))], &[]), "https://a.b.c/x"));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

const ALPHABET: &[&str] =
    &["*", "?", ".", "/", ":", "://", "@", "#", "a", "B", "-", "é", "😀", "\0", " ", "https://"];

#[test]
fn random_inputs_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let c = RefererConfig {
            allow_empty: rng.next() & 1 == 0,
            allow_truncate_query: rng.next() & 1 == 0,
            truncate_path: rng.next() & 1 == 0,
            whitelist: (0..rng.next() % 3).map(|_| rng.string(12, ALPHABET)).collect(),
            blacklist: (0..rng.next() % 3).map(|_| rng.string(12, ALPHABET)).collect(),
        };
        let referer = rng.string(24, ALPHABET);
        let _ = check(&c, Some(&referer));
        let _ = valid_entry(&referer);
        // An entry equal to the (untruncated, trimmed) Referer made only of literals matches it.
        let trimmed = referer.trim();
        if !trimmed.is_empty() && !trimmed.contains(['*', '?']) {
            let c = RefererConfig { allow_truncate_query: false, ..cfg(true, &[trimmed], &[]) };
            assert!(ok(&c, &referer), "{referer:?}");
        }
    }
}
