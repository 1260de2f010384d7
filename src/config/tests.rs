//! Every file in conf/ loads and validates; errors name the key.

use super::*;
use crate::transform::Limits;

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf")
}

#[test]
fn every_shipped_config_is_valid() {
    let dir = base();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn the_example_documents_every_default() {
    // Each section of conf/imgedge.toml repeats the built-in defaults.
    let cfg = Config::load(&base().join("imgedge.toml")).unwrap();
    assert_eq!(cfg.server, Server::default());
    assert_eq!(cfg.limits, LimitsConf::default());
    assert_eq!(cfg.origin, OriginTimeouts::default());
    assert_eq!(cfg.cache, Cache::default());
    assert_eq!(cfg.api, Api::default());
    assert_eq!(cfg.video, Video::default());
    let mut state = State::default();
    if let Origin::Dir { path } = &mut state.store {
        *path = base().join(&*path);
    }
    assert_eq!(cfg.state, state);
    assert_eq!(cfg.buckets[0].referer, Referer::default());
    assert_eq!(cfg.buckets[0].acl, Acl::PublicRead);
    assert_eq!(cfg.limits.to_limits(), Limits::default());
    let embedded = Config::parse(EMBEDDED, &base()).unwrap();
    assert_eq!(embedded, cfg);
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, &base())
}

const MIN: &str = "[[buckets]]\nname = \"demo\"\n[buckets.origin]\ntype = \"dir\"\npath = \"../samples\"\n";

#[test]
fn unknown_keys_name_their_path() {
    let e = parse(&format!("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n{MIN}")).unwrap_err();
    assert_eq!(e.path, "server.lisen");
    let e = parse(&MIN.replace("path = ", "pth = ")).unwrap_err();
    assert!(e.path.starts_with("buckets[0].origin"), "{e}");
    let e = parse(&format!("[cache]\ncapacity_bytes = \"big\"\n{MIN}")).unwrap_err();
    assert_eq!(e.path, "cache.capacity_bytes");
}

#[test]
fn validation_names_the_key() {
    let cases = [
        ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
        ("[server]\nthreads = 0\n", "server.threads"),
        ("", "buckets"),
    ];
    for (text, path) in cases {
        let full = if text.is_empty() { String::new() } else { format!("{text}{MIN}") };
        assert_eq!(parse(&full).unwrap_err().path, path, "{text}");
    }
    let bucket = |extra: &str| parse(&format!("{MIN}{extra}"));
    assert_eq!(parse(&MIN.replace("demo", "Bad_Name")).unwrap_err().path, "buckets[0].name");
    assert_eq!(parse(&MIN.replace("../samples", "../nope")).unwrap_err().path, "buckets[0].origin.path");
    assert_eq!(
        bucket("[buckets.styles]\n\"a@b\" = \"image/resize,w_1\"\n").unwrap_err().path,
        "buckets[0].styles.a@b"
    );
    assert_eq!(
        bucket("[buckets.styles]\nx = \"image/resize,w_0\"\n").unwrap_err().path,
        "buckets[0].styles.x"
    );
    assert!(bucket("[buckets.styles]\nx = \"image/resize,w_10\"\n").is_ok());
    let keyed = |k: &str| parse(&MIN.replace("name = \"demo\"\n", &format!("name = \"demo\"\n{k}\n")));
    assert_eq!(keyed("style_delimiters = [\"#\"]").unwrap_err().path, "buckets[0].style_delimiters");
    assert!(keyed("style_delimiters = [\"@!\", \"-\", \"_\", \"/\", \"!\"]").is_ok());
    // Omitted: the README's default; an empty list turns separators off.
    assert_eq!(parse(MIN).unwrap().buckets[0].style_delimiters, ["!", "@!"]);
    assert!(keyed("style_delimiters = []").unwrap().buckets[0].style_delimiters.is_empty());
    // Resource bounds must be positive, and the shared budget must fit one large request.
    assert_eq!(parse(&format!("[limits]\nmax_frames = 0\n{MIN}")).unwrap_err().path, "limits");
    assert_eq!(
        parse(&format!("[limits]\nmemory_budget_bytes = 1000\n{MIN}")).unwrap_err().path,
        "limits.memory_budget_bytes"
    );
    assert_eq!(keyed("acl = \"secret\"").unwrap_err().path, "buckets[0].acl");
    let twice = format!("{MIN}{MIN}");
    assert_eq!(parse(&twice).unwrap_err().path, "buckets[1].name");
    let key = format!("{MIN}[[access_keys]]\nid = \"ak\"\nsecret = \"sk\"\nbuckets = [\"other\"]\n");
    assert_eq!(parse(&key).unwrap_err().path, "access_keys[0].buckets");
}

#[test]
fn the_console_listens_on_loopback_unless_told_otherwise() {
    let console = |c: &str| parse(&format!("[console]\n{c}\n{MIN}"));
    assert_eq!(console("").unwrap().console.listen, "", "off by default");
    assert!(console("listen = \"127.0.0.1:8081\"").is_ok());
    assert!(console("listen = \"[::1]:8081\"").is_ok());
    for wide in ["0.0.0.0:8081", "192.0.2.1:8081"] {
        let e = console(&format!("listen = \"{wide}\"")).unwrap_err();
        assert_eq!(e.path, "console.listen", "{wide}");
        assert!(console(&format!("listen = \"{wide}\"\nallow_remote = true")).is_ok());
    }
    assert_eq!(console("listen = \"localhost\"").unwrap_err().path, "console.listen");
    let ttl = console("listen = \"127.0.0.1:1\"\nsession_ttl_s = 5").unwrap_err();
    assert_eq!(ttl.path, "console.session_ttl_s");
}

#[test]
fn origins_of_every_kind_parse() {
    let http = "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"https://example.com/base\"\n";
    assert!(matches!(parse(http).unwrap().buckets[0].origin, Origin::Http { .. }));
    let s3 = "[[buckets]]\nname = \"s3b\"\n[buckets.origin]\ntype = \"s3\"\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"us-east-1\"\nbucket = \"photos\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n";
    assert!(matches!(parse(s3).unwrap().buckets[0].origin, Origin::S3 { path_style: false, .. }));
    assert!(parse(&http.replace("https://", "ftp://")).is_err());
    assert!(parse(&http.replace("\"http\"", "\"gopher\"")).is_err());
    for (bad, key) in [
        (http.replace("https://example.com/base", "https://"), "origin.url"),
        (http.replace("/base", "/base?x=1"), "origin.url"),
        (s3.replace("http://127.0.0.1:9000", "127.0.0.1:9000"), "origin.endpoint"),
        (s3.replace("\"us-east-1\"", "\"\""), "origin.region"),
        (s3.replace("\"photos\"", "\"\""), "origin.bucket"),
    ] {
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.path, format!("buckets[0].{key}"), "{bad}: {e}");
    }
}

#[test]
fn state_must_not_be_readable_as_objects() {
    let dir = std::env::temp_dir().join(format!("imgedge-conf-state-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bucket/inner")).unwrap();
    let conf = |state: &str| {
        format!("[[buckets]]\nname = \"demo\"\n[buckets.origin]\ntype = \"dir\"\npath = \"bucket\"\n{state}")
    };
    assert!(Config::parse(&conf(""), &dir).is_ok());
    let inside = conf("[state.store]\ntype = \"dir\"\npath = \"bucket/inner\"\n");
    assert_eq!(Config::parse(&inside, &dir).unwrap_err().path, "state.store.path");
    let http = conf("[state.store]\ntype = \"http\"\nurl = \"http://127.0.0.1:1\"\n");
    assert_eq!(Config::parse(&http, &dir).unwrap_err().path, "state.store");
    // The variant tier obeys the same rule, and its keys must not meet the state's.
    let tier = |store: &str, extra: &str| {
        conf(&format!("[cache]\n{extra}[cache.store]\ntype = \"dir\"\npath = \"{store}\"\n"))
    };
    assert!(Config::parse(&tier("variants", ""), &dir).is_ok());
    assert_eq!(Config::parse(&tier("bucket/inner", ""), &dir).unwrap_err().path, "cache.store.path");
    let clash = tier("imgedge-state", "store_prefix = \"\"\n");
    assert_eq!(Config::parse(&clash, &dir).unwrap_err().path, "cache.store_prefix");
    let clash = tier("imgedge-state", "store_prefix = \"v/\"\n");
    assert_eq!(Config::parse(&clash, &dir).unwrap_err().path, "cache.store_prefix", "\"\" holds \"v/\"");
    let apart = format!("{}[state]\nprefix = \"s/\"\n", tier("imgedge-state", "store_prefix = \"v/\"\n"));
    assert!(Config::parse(&apart, &dir).is_ok(), "one directory, separate prefixes");
    let bad = conf("[cache]\ntag_header = \"Cache Tag\"\n");
    assert_eq!(Config::parse(&bad, &dir).unwrap_err().path, "cache.tag_header");
    let key = "[[access_keys]]\nid = \"a\"\nsecret = \"b\"\nwrite = [\"nosuch\"]\n";
    assert_eq!(Config::parse(&format!("{key}{}", conf("")), &dir).unwrap_err().path, "access_keys[0].write");
    std::fs::remove_dir_all(dir).ok();
}

/// Paths that reach a bucket only once resolved: through a folder that does not exist yet (the
/// server makes `x`, then `..` leads into the bucket), or through a link among existing folders.
#[test]
fn stores_are_checked_where_their_paths_resolve_not_as_written() {
    let dir = std::env::temp_dir().join(format!("imgedge-conf-resolve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pub")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("pub"), dir.join("alias")).unwrap();
    let conf = |section: &str, path: &str| {
        format!(
            "[[buckets]]\nname = \"pub\"\n[buckets.origin]\ntype = \"dir\"\npath = \"pub\"\n{section}type = \"dir\"\npath = \"{path}\"\n"
        )
    };
    for (section, key) in [("[state.store]\n", "state.store.path"), ("[cache.store]\n", "cache.store.path")] {
        for path in ["x/../pub/.imgedge-state", "./y/z/../../pub/.t", "alias/.state", "alias/new/../.s"] {
            let e = Config::parse(&conf(section, path), &dir).unwrap_err();
            assert_eq!(e.path, key, "{section} {path}: {e}");
        }
        assert!(Config::parse(&conf(section, "x/../elsewhere"), &dir).is_ok(), "{section}");
    }
    assert!(!dir.join("x").exists(), "checking makes no folder");
    std::fs::remove_dir_all(dir).ok();
}

/// Two directory buckets never share files: nested, equal, or equal through a link.
#[test]
fn directory_buckets_never_overlap() {
    let dir = std::env::temp_dir().join(format!("imgedge-conf-nest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pub/private")).unwrap();
    std::fs::create_dir_all(dir.join("other")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("pub"), dir.join("alias")).unwrap();
    let two = |a: &str, b: &str| {
        format!(
            "[[buckets]]\nname = \"one\"\n[buckets.origin]\ntype = \"dir\"\npath = \"{a}\"\n[[buckets]]\nname = \"two\"\nacl = \"private\"\n[buckets.origin]\ntype = \"dir\"\npath = \"{b}\"\n"
        )
    };
    for (a, b) in [("pub", "pub/private"), ("pub/private", "pub"), ("pub", "alias"), ("pub", "./pub")] {
        assert_eq!(Config::parse(&two(a, b), &dir).unwrap_err().path, "buckets[1].origin.path", "{a} {b}");
    }
    assert!(Config::parse(&two("pub", "other"), &dir).is_ok());
    std::fs::remove_dir_all(dir).ok();
}

/// An S3 store is readable through a bucket whose origin reaches the same S3 bucket by another
/// spelling of the endpoint, or through a plain HTTP origin on that server.
#[test]
fn s3_stores_are_compared_by_server_not_by_spelling() {
    let dir = std::env::temp_dir();
    let s3 = |endpoint: &str, bucket: &str| {
        format!("type = \"s3\"\nendpoint = \"{endpoint}\"\nregion = \"r\"\nbucket = \"{bucket}\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n")
    };
    let conf = |origin: String, store: String| {
        format!("[[buckets]]\nname = \"pub\"\n[buckets.origin]\n{origin}[state.store]\n{store}")
    };
    let http = |url: &str| format!("type = \"http\"\nurl = \"{url}\"\n");
    let store = s3("http://127.0.0.1:9000", "pub");
    for origin in [
        s3("http://localhost:9000/", "pub"),
        s3("HTTP://127.0.0.1:9000", "pub"),
        http("http://localhost:9000/pub/"),
        http("http://127.0.0.1:9000/pub"),
    ] {
        let e = Config::parse(&conf(origin.clone(), store.clone()), &dir).unwrap_err();
        assert_eq!(e.path, "state.store.bucket", "{origin}: {e}");
    }
    let virtual_host = conf(http("http://pub.s3.example:80/"), s3("http://s3.example", "pub"));
    assert_eq!(Config::parse(&virtual_host, &dir).unwrap_err().path, "state.store.bucket");
    for origin in [
        s3("http://127.0.0.1:9001", "pub"),
        s3("http://127.0.0.1:9000", "other"),
        http("http://127.0.0.1:9000/other/"),
    ] {
        assert!(Config::parse(&conf(origin.clone(), store.clone()), &dir).is_ok(), "{origin}");
    }
}
