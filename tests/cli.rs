//! The `imgedge process` command, run as a real process.

mod common;

use std::process::Command;

use common::corpus;

fn imgedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imgedge"))
}

#[test]
fn processes_a_file() {
    let out = std::env::temp_dir().join(format!("imgedge-cli-{}.webp", std::process::id()));
    let st = imgedge()
        .arg("process")
        .arg(corpus("oss/example.jpg"))
        .arg("image/resize,w_300/rotate,90/format,webp")
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (200, 300));
    std::fs::remove_file(out).ok();
}

/// A snapshot of the sample clip (320×180) takes the same path as in the proxy.
#[test]
fn snapshots_a_video_file() {
    let out = std::env::temp_dir().join(format!("imgedge-cli-{}.png", std::process::id()));
    let clip = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/clip.mp4");
    let st = imgedge()
        .args(["process", clip, "video/snapshot,t_1500,w_160,ar_h/format,png", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    // ar_h stands the landscape frame up before w_160 applies.
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (160, 284));
    std::fs::remove_file(out).ok();
}

#[test]
fn styles_and_json_to_stdout() {
    let o = imgedge()
        .arg("process")
        .arg(corpus("oss/example.jpg"))
        .arg("style/info")
        .args(["--style", "info=image/info", "-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ImageWidth"]["value"], "400");
}

#[test]
fn errors_print_code_and_ec_and_exit_non_zero() {
    let o = imgedge()
        .arg("process")
        .arg(corpus("oss/example.jpg"))
        .arg("image%2Fresize%2Cw_0")
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Code: InvalidArgument") && err.contains("EC: 0040-00000312"), "{err}");
    let o = imgedge()
        .arg("process")
        .arg(corpus("bad/giant-image.jpg"))
        .arg("image/resize,w_10")
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Code: ImageTooLarge"));
}

#[test]
fn help_explains_the_command() {
    let o = imgedge().arg("--help").output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("process"), "{text}");
    let o = imgedge().args(["process", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("x-oss-process"));
}

#[test]
fn check_config_accepts_the_shipped_files_and_names_bad_keys() {
    let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    for entry in std::fs::read_dir(&conf).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let o = imgedge().arg("check-config").arg(&path).output().unwrap();
            assert!(o.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
        }
    }
    let bad = std::env::temp_dir().join(format!("imgedge-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[server]\nthreads = 2\ncolour = 1\n").unwrap();
    let o = imgedge().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("server.colour"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_file(bad).ok();
}
