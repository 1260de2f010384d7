//! Every input that once made a fuzz target fail (fuzz/README.md), replayed through the very same
//! harness: `fuzz/src/lib.rs` is included here by path, so a regression file exercises the same
//! entry points and checks as the fuzzer did. Files live in `tests/fuzz-regressions/<target>/`.

use std::path::Path;

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use harness::Scheme;

/// Runs every file of `tests/fuzz-regressions/<target>/` through `body`; a panic fails the test.
fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let data = std::fs::read(&file).unwrap();
        eprintln!("{target}: {}", file.display());
        body(&data);
    }
}

#[test]
fn process_string() {
    replay("process_string", harness::process_string);
}

#[test]
fn sign_v1() {
    replay("sign_v1", |d| harness::sign(d, Scheme::V1));
}

#[test]
fn sign_v4() {
    replay("sign_v4", |d| harness::sign(d, Scheme::V4));
}

#[test]
fn bucket_xml() {
    replay("bucket_xml", harness::bucket_xml);
}

#[test]
fn write_form() {
    replay("write_form", harness::write_form);
}

#[test]
fn pipeline() {
    replay("pipeline", harness::pipeline);
}
