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
