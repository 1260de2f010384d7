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
    let parts = |c: &RefererConfig, r: &'static str| Url::parse(c, r).map(|u| (u.authority, u.rest));
    assert_eq!(parts(&path, "https://a.com:81/p/q?z"), Some(("a.com:81".into(), "")));
    assert_eq!(parts(&RefererConfig::default(), "https://a.com/p/q?z#f"), Some(("a.com".into(), "/p/q")));
    assert_eq!(parts(&ignored, "https://a.com/p/q?z#f"), Some(("a.com".into(), "/p/q?z#f")));
}

#[test]
fn hosts_are_normalised_on_both_sides() {
    let c = cfg(false, &["https://a.example.com/", "http://b.example.com/Img/"], &["https://*.bad.test/"]);
    for r in [
        "HTTPS://A.Example.COM/x.html",
        "https://a.example.com./x.html",
        "https://a.example.com:443/x.html",
        "https://a.example.com:0443/x.html",
        "https://a.example.com:/x.html",
        "hTTps://A.EXAMPLE.com.:443",
        "http://b.example.com:80/Img/x.png",
        "HTTP://B.EXAMPLE.COM./Img/x.png",
    ] {
        assert_eq!(check(&c, Some(r)), Ok(()), "{r}");
    }
    for r in [
        "https://a.example.com:8443/x.html",
        "https://a.example.com:80/x.html",
        "http://a.example.com/x.html",
        "https://a.example.com../x.html",
        "http://b.example.com:443/Img/x.png",
        "http://b.example.com/img/x.png",
        "http://b.example.com/IMG/x.png",
    ] {
        assert_eq!(check(&c, Some(r)), Err(RefererDenied::NotWhitelisted), "{r}");
    }
    for r in ["https://X.BAD.TEST./p", "https://x.bad.test:443/p", "HTTPS://x.Bad.Test:00443"] {
        assert_eq!(check(&c, Some(r)), Err(RefererDenied::Blacklisted), "{r}");
    }
    // Entries are normalised the same way.
    let c = cfg(true, &["HTTPS://A.EXAMPLE.com.:443/", "Http://B.example.COM:080"], &[]);
    assert!(ok(&c, "https://a.example.com/x.html"));
    assert!(ok(&c, "http://b.example.com/x.html"));
    assert!(!ok(&c, "https://b.example.com/x.html"));
    // A default port written against a wildcard scheme or matched by a wildcard port.
    assert!(ok(&cfg(true, &["*://a.com:443/"], &[]), "https://a.com/"));
    assert!(!ok(&cfg(true, &["*://a.com:443/"], &[]), "http://a.com/"));
    assert!(ok(&cfg(true, &["*://a.com:443/"], &[]), "http://a.com:443/"));
    let any_port = cfg(true, &["https://a.com:*"], &[]);
    assert!(ok(&any_port, "https://a.com/x"));
    assert!(ok(&any_port, "https://a.com:8443/x"));
    assert!(!ok(&any_port, "https://a.com.evil.net:8443/x"));
    // IPv6 literals keep their colons.
    let c = cfg(true, &["http://[::1]/", "https://[2001:DB8::1]:8443/"], &[]);
    assert!(ok(&c, "http://[::1]/x"));
    assert!(ok(&c, "http://[::1]:80/x"));
    assert!(ok(&c, "https://[2001:db8::1]:8443/x"));
    assert!(!ok(&c, "http://[::1]:8080/x"));
    assert!(!ok(&c, "https://[2001:db8::1]/x"));
}

#[test]
fn malformed_referers_match_nothing_and_never_panic() {
    let white = cfg(true, &["https://a.com/", "*://*"], &[]);
    let black = cfg(true, &[], &["https://a.com/", "*://*", "*a.com"]);
    let long_ok = format!("https://a.com/{}", "p".repeat(MAX_REFERER_LEN - "https://a.com/".len()));
    assert!(ok(&white, &long_ok), "a Referer of exactly MAX_REFERER_LEN is read");
    let long = format!("{long_ok}p");
    let malformed = [
        "a.com/x",
        "/relative/page.html",
        "//a.com/x",
        "://a.com/",
        "1https://a.com/",
        "ht tp://a.com/",
        "not a url",
        "https://a.com/\u{1}",
        "https://a.com/\tx",
        "https://a.com/\u{7f}",
        "https://a.com/\0",
        "https://a.com/ x",
        "https://a.com/é",
        "https://ä.com/",
        "https://a.com:x/",
        "https://a.com:-1/",
        "https://a.com:😀/",
        &long,
    ];
    for r in malformed {
        assert_eq!(Url::parse(&RefererConfig::default(), r), None, "{r:?}");
        assert_eq!(check(&white, Some(r)), Err(RefererDenied::NotWhitelisted), "{r:?}");
        assert_eq!(check(&black, Some(r)), Ok(()), "{r:?}");
        // ...but an all-`*` entry matches anything non-empty, as in OSS.
        assert_eq!(check(&cfg(true, &[], &["*"]), Some(r)), Err(RefererDenied::Blacklisted), "{r:?}");
        assert_eq!(check(&cfg(false, &["**"], &[]), Some(r)), Ok(()), "{r:?}");
    }
    // Odd but well-formed values are read without panicking.
    for r in [
        "https://",
        "https://@",
        "https://[",
        "https://]:",
        "https://:443",
        "https://a.com?",
        "x://#",
        "https://a.com:443:443/",
    ] {
        assert!(Url::parse(&RefererConfig::default(), r).is_some(), "{r:?}");
        let _ = check(&white, Some(r));
        let _ = check(&black, Some(r));
    }
    assert!(!ok(&cfg(true, &["https://a.com/"], &[]), "https://:443/"));
    assert!(!ok(&cfg(true, &["https://a.com/"], &[]), "https://a.com:443:443/"));
}

#[test]
fn schemeless_entries_are_hosts_under_any_scheme() {
    let c = cfg(true, &["*"], &["*evil.test"]);
    assert!(ok(&c, "https://good.test/x"));
    assert!(ok(&c, "not a url"));
    assert_eq!(check(&c, Some("https://www.EVIL.test")), Err(RefererDenied::Blacklisted));
    assert_eq!(check(&c, Some("http://evil.test/page.html")), Err(RefererDenied::Blacklisted));
    assert!(ok(&c, "https://evil.test.good.test/"));
    // OSS's console example: a prefix, so pages of the console match.
    let c = cfg(false, &["*.console.aliyun.com"], &[]);
    assert!(ok(&c, "https://oss.console.aliyun.com"));
    assert!(ok(&c, "https://oss.console.aliyun.com/x"), "a prefix, as in OSS");
    assert!(ok(&c, "http://OSS.Console.Aliyun.com./x"));
    assert!(!ok(&c, "https://console.aliyun.com/"));
    assert!(!ok(&c, "https://evil.net/.console.aliyun.com"), "a host pattern stays in the host");
    assert!(!ok(&c, "https://oss.console.aliyun.com.evil.net/"));
    // OSS's WeChat mini-program example.
    let c = cfg(false, &["*servicewechat.com"], &[]);
    assert!(ok(&c, "https://servicewechat.com/wx0123456789abcdef/0/page-frame.html"));
    assert!(!ok(&c, "https://evil.net/servicewechat.com"));
    // OSS's `*www.aliyun.com/`: both schemes, every page.
    let c = cfg(false, &["*www.aliyun.com/"], &[]);
    assert!(ok(&c, "http://www.aliyun.com/"));
    assert!(ok(&c, "https://www.aliyun.com/123"));
    assert!(!ok(&c, "https://www.aliyun.com.cn/"));
    // A bare domain: that host, any scheme, any page; not its subdomains, not a longer name.
    let c = cfg(false, &["example.com", "a.test/img/"], &[]);
    assert!(ok(&c, "https://example.com/x"));
    assert!(ok(&c, "http://EXAMPLE.com.:80"));
    assert!(!ok(&c, "https://www.example.com/"));
    assert!(!ok(&c, "https://example.com.cn/"));
    assert!(!ok(&c, "https://example.com:8443/"));
    assert!(ok(&c, "https://a.test/img/1.png"));
    assert!(!ok(&c, "https://a.test/1.png"));
    assert!(!ok(&cfg(true, &[""], &[]), "https://a/"), "a blank entry matches nothing");
    assert!(!ok(&cfg(true, &["  "], &[]), "https://a/"), "a blank entry matches nothing");
}

#[test]
fn entry_validation() {
    assert!(valid_entry("https://a.com"));
    assert!(valid_entry(" http://*.a.com/* "));
    assert!(valid_entry("*"));
    assert!(valid_entry("**"));
    // OSS's own examples name hosts without a scheme.
    assert!(valid_entry("*.console.aliyun.com"));
    assert!(valid_entry("a.com"));
    assert!(valid_entry("HTTPS://A.com"));
    assert!(!valid_entry("a .com"));
    assert!(!valid_entry("a\u{1}.com"));
    assert!(!valid_entry("://a.com"));
    assert!(!valid_entry(""));
}

#[test]
fn star_heavy_patterns_stay_fast() {
    let referer = format!("https://a.com/{}", "a".repeat(MAX_REFERER_LEN - 20));
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

const ALPHABET: &[&str] = &[
    "*", "?", ".", "/", ":", "://", "@", "#", "a", "B", "-", "é", "😀", "\0", " ", "https://", "[", "]", "0",
    "80", "443", "\t", "%2F", "\u{7f}",
];

#[test]
fn random_inputs_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut self_matched = 0;
    for round in 0..20_000 {
        let c = RefererConfig {
            allow_empty: rng.next() & 1 == 0,
            allow_truncate_query: rng.next() & 1 == 0,
            truncate_path: rng.next() & 1 == 0,
            whitelist: (0..rng.next() % 3).map(|_| rng.string(12, ALPHABET)).collect(),
            blacklist: (0..rng.next() % 3).map(|_| rng.string(12, ALPHABET)).collect(),
        };
        // Half the Referers are URL-shaped, so that parsing gets past the scheme.
        let mut referer = rng.string(24, ALPHABET);
        if round % 2 == 0 {
            referer = format!("{}://{referer}", SCHEMES[(rng.next() % SCHEMES.len() as u64) as usize]);
        }
        let _ = check(&c, Some(&referer));
        let _ = valid_entry(&referer);
        // An entry equal to the (untruncated, trimmed) Referer made only of literals matches it.
        let trimmed = referer.trim();
        let keep = RefererConfig { allow_truncate_query: false, ..cfg(true, &[trimmed], &[]) };
        if !trimmed.is_empty() && !trimmed.contains(['*', '?']) && Url::parse(&keep, trimmed).is_some() {
            assert!(ok(&keep, &referer), "{referer:?}");
            // So does the same entry with its scheme and host upper-cased.
            let (scheme, after) = trimmed.split_once("://").expect("parsed Referers have a scheme");
            let end = after.find(['/', '#']).unwrap_or(after.len());
            let upper =
                format!("{}://{}{}", scheme.to_uppercase(), after[..end].to_uppercase(), &after[end..]);
            let c = RefererConfig { whitelist: vec![upper.clone()], ..keep };
            assert!(ok(&c, &referer), "{referer:?} vs {upper:?}");
            self_matched += 1;
        }
    }
    assert!(self_matched > 500, "the property ran {self_matched} times");
}

const SCHEMES: &[&str] = &["https", "http", "HTTP", "ftp", "x+y.z", "", "1a", "*"];
