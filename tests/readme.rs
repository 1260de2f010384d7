//! The README's Quick start examples work: every `curl` in its first `sh` block after "Then, for
//! example" is sent, headers included, to a proxy serving the sample bucket with the embedded
//! configuration's bucket section, and each answer must be a 200 that decodes (through imgedge,
//! which reads AVIF and HEIC) at the width the URL asks for.

mod common;

use common::server::{request, start};
use imgedge::transform::{self, Env, Limits, NoStyles};

/// The embedded configuration's buckets, pointed at the repository's `samples/`.
fn sample_buckets() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let conf = std::fs::read_to_string(format!("{root}/conf/imgedge.toml")).unwrap();
    let buckets = &conf[conf.find("[[buckets]]").expect("a bucket")..];
    assert!(buckets.contains("path = \"../samples\""), "the default bucket is samples/");
    buckets.replace("path = \"../samples\"", &format!("path = \"{root}/samples\""))
}

/// `(path and query, headers)` of each curl example, continuation lines joined.
fn examples() -> Vec<(String, Vec<(String, String)>)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find("Then, for example").expect("the Quick start examples")..];
    let block = after.split("```sh").nth(1).and_then(|b| b.split("```").next()).expect("an sh block");
    let joined = block.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines().filter(|l| l.trim_start().starts_with("curl")) {
        // Quoted arguments: -H values and the URL.
        let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
        let url = quoted.iter().find(|q| q.starts_with("http://127.0.0.1:8080/")).expect("a local URL");
        let headers = quoted
            .iter()
            .filter(|q| !q.starts_with("http"))
            .filter_map(|h| h.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.push((url["http://127.0.0.1:8080".len()..].to_string(), headers));
    }
    out
}

/// The width an example asks for: its last `w_N`, or the `thumb` style's 100.
fn wanted_width(path: &str) -> Option<u32> {
    if path.ends_with("!thumb") {
        return Some(100);
    }
    path.rsplit("w_")
        .next()
        .filter(|_| path.contains("w_"))
        .map(|r| r.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a width"))
}

#[test]
fn the_quick_start_examples_answer_what_they_say() {
    let ex = examples();
    assert!(ex.len() >= 7, "the Quick start lost its examples: {ex:?}");
    assert!(ex.iter().any(|(p, _)| p.contains("video/snapshot")), "video is shown");
    assert!(ex.iter().any(|(p, _)| p.contains("format,heic")), "HEIC is shown");
    let p = start("readme", "", &sample_buckets());
    let limits = Limits::default();
    let to_png = transform::parse("image/format,png", &NoStyles, &limits).unwrap();
    for (path, headers) in ex {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = request(&p.addr, "GET", &path, &h);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        if path.ends_with("image/info") {
            assert!(r.text().contains("\"ImageWidth\""), "{path}: {}", r.text());
            continue;
        }
        let png =
            transform::run(&r.body, &to_png, &Env::new(&limits)).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        let img = image::load_from_memory(&png.body).unwrap();
        if let Some(w) = wanted_width(&path) {
            // rotate,90 after resize,w_300 stands the image up: its height is then 300.
            let got = if path.contains("rotate,90") { img.height() } else { img.width() };
            assert_eq!(got, w, "{path}");
        }
        if path.contains("format,auto") && h.iter().any(|(_, v)| v.contains("image/avif")) {
            assert_eq!(r.header("content-type"), Some("image/avif"), "{path}");
        }
    }
}

/// Every key of `conf/imgedge.toml`, dotted (`server.listen`, `buckets.origin.type`), including
/// those of its commented-out example tables (`# [cache.store]`, `# [[access_keys]]`).
fn config_keys() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/imgedge.toml")).unwrap();
    let mut keys = Vec::new();
    let (mut section, mut commented) = (String::new(), false);
    for line in text.lines() {
        let (hidden, body) = match line.strip_prefix("# ") {
            Some(rest) => (true, rest.trim()),
            None => (false, line.trim()),
        };
        if body.starts_with('[') && (!hidden || body.trim_start_matches('[').starts_with(char::is_lowercase))
        {
            let name = body.split(']').next().unwrap().trim_start_matches('[');
            if !name.contains(' ') {
                (section, commented) = (name.to_string(), hidden);
                continue;
            }
        }
        // A commented key counts only inside a commented table (elsewhere it is an example value).
        if hidden && !commented {
            continue;
        }
        let Some((key, _)) = body.split_once(" = ") else { continue };
        let key = key.trim();
        if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !key.is_empty() {
            keys.push(if section.is_empty() { key.to_string() } else { format!("{section}.{key}") });
        }
    }
    keys
}

/// The names README's configuration reference gives: the backticked names of each row's first
/// cell, where a bare name continues the section of the dotted one before it
/// (`server.queue` / `queue_wait_ms` names `server.queue_wait_ms`).
fn documented_keys() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("### Configuration reference").expect("the reference")..];
    let table = &table[..table[4..].find("\n#").map_or(table.len(), |i| i + 4)];
    let mut names = Vec::new();
    for row in table.lines().filter(|l| l.starts_with("| ")) {
        let cell = row.split('|').nth(1).unwrap_or("");
        let mut section = String::new();
        for token in cell.split('`').skip(1).step_by(2) {
            let token = token.trim_start_matches("[[").trim_end_matches("]]");
            if cell.contains(&format!("`[[{token}]]`")) {
                section = token.to_string();
                names.push(token.to_string());
            } else if let Some((s, _)) = token.rsplit_once('.') {
                section = s.to_string();
                names.push(token.to_string());
            } else if section.is_empty() {
                names.push(token.to_string());
            } else {
                names.push(format!("{section}.{token}"));
            }
        }
    }
    names
}

#[test]
fn the_configuration_reference_names_every_key_of_the_shipped_config() {
    let keys = config_keys();
    for expected in [
        "server.listen",
        "cache.store_prefix",
        "cache.store.endpoint",
        "access_keys.id",
        "buckets.origin.path",
    ] {
        assert!(keys.iter().any(|k| k == expected), "the key walk missed {expected}: {keys:?}");
    }
    let names = documented_keys();
    let missing: Vec<&String> =
        keys.iter().filter(|k| !names.iter().any(|n| *k == n || k.starts_with(&format!("{n}.")))).collect();
    assert!(missing.is_empty(), "README's configuration reference does not name {missing:?}");
}
