//! The official OSS Python SDK (`oss2`, from PyPI) in a venv under target/, made on first use.

use std::path::PathBuf;
use std::process::Command;

/// The venv's python, with oss2 and requests importable.
pub fn venv_python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv");
    let py = venv.join("bin/python");
    let ready = Command::new(&py).args(["-c", "import oss2, requests"]).status().is_ok_and(|s| s.success());
    if !ready {
        // Two test binaries may get here at once: one makes the venv, the other waits for it.
        let lock = venv.with_extension("lock");
        let _ = std::fs::create_dir_all(venv.parent().unwrap());
        let mut waited = 0;
        while std::fs::create_dir(&lock).is_err() && waited < 600 {
            std::thread::sleep(std::time::Duration::from_millis(500));
            waited += 1;
        }
        let ready =
            Command::new(&py).args(["-c", "import oss2, requests"]).status().is_ok_and(|s| s.success());
        if !ready {
            let st = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3");
            assert!(st.success(), "python3 -m venv failed (Debian: apt-get install python3-venv)");
            let st =
                Command::new(venv.join("bin/pip")).args(["install", "-q", "oss2==2.19.1"]).status().unwrap();
            assert!(st.success(), "pip install oss2 failed");
        }
        let _ = std::fs::remove_dir(&lock);
    }
    py
}

/// Runs `script` (under tests/sdk/) with `env`; returns its output, failing the test if it fails.
pub fn run(script: &str, env: &[(&str, String)]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk").join(script);
    let out = Command::new(venv_python()).arg(path).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success() && text.contains("all checks passed"), "{text}");
    text
}

/// The venv's python with Selenium importable, for the browser tests (Debian's Chromium and
/// chromedriver drive the pages; `scripts/test` installs them).
pub fn browser_python() -> PathBuf {
    let py = venv_python();
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: scripts/test installs Debian's chromium and chromium-driver"
        );
    }
    let ready = Command::new(&py).args(["-c", "import selenium"]).status().is_ok_and(|s| s.success());
    if !ready {
        let lock = py.parent().unwrap().parent().unwrap().with_extension("selenium-lock");
        let mut waited = 0;
        while std::fs::create_dir(&lock).is_err() && waited < 600 {
            std::thread::sleep(std::time::Duration::from_millis(500));
            waited += 1;
        }
        let ready = Command::new(&py).args(["-c", "import selenium"]).status().is_ok_and(|s| s.success());
        if !ready {
            let pip = py.with_file_name("pip");
            let st = Command::new(pip).args(["install", "-q", "selenium==4.38.0"]).status().unwrap();
            assert!(st.success(), "pip install selenium failed");
        }
        let _ = std::fs::remove_dir(&lock);
    }
    py
}
