//! The official OSS Python SDK (`oss2`, from PyPI, in a venv under target/) as the client of the
//! real proxy: tests/sdk/oss2_client.py does the talking; this test starts the proxy, makes the
//! venv on first use and fails if the script does.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::sdk::venv_python;
use common::server::start;

#[test]
fn the_official_python_sdk_works_unchanged() {
    let conf = "[[access_keys]]\nid = \"LTAI5tImgedgeTest\"\nsecret = \"sdk-secret-123\"\n\
        [[buckets]]\nname = \"demo\"\nacl = \"private\"\nsource_protect = true\nsource_protect_suffixes = [\"jpg\"]\n\
        [buckets.origin]\ntype = \"dir\"\npath = \"{dir}\"\n";
    let p = start("sdk", "", conf);
    std::fs::copy(p.dir.join("example.jpg"), p.dir.join("中文 photo.jpg")).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/oss2_client.py");
    let out = Command::new(venv_python())
        .arg(script)
        .env("IMGEDGE_ENDPOINT", format!("http://{}", p.addr))
        .env("IMGEDGE_AK", "LTAI5tImgedgeTest")
        .env("IMGEDGE_SK", "sdk-secret-123")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all checks passed"));
}
