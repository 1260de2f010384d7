//! A real S3-compatible server on loopback for origin tests: `s3s-fs` (crates.io), installed by
//! `scripts/deps.sh` into `target/tools` (or named by `IMGEDGE_S3S_FS`). Buckets are
//! directories under its root and objects are files, so tests arrange data with `std::fs`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "imgedge-test-ak";
pub const SECRET_KEY: &str = "imgedge-test-secret-key";

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub root: PathBuf,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// The directory of `bucket` (created).
    pub fn bucket(&self, bucket: &str) -> PathBuf {
        let d = self.root.join(bucket);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("IMGEDGE_S3S_FS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs")
}

/// Starts s3s-fs on a free loopback port with [`ACCESS_KEY`] / [`SECRET_KEY`].
pub fn start(root: &Path) -> S3Server {
    std::fs::create_dir_all(root).unwrap();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = spawn(root, &addr);
        if still_running(&mut child) {
            return S3Server { child, endpoint: format!("http://{addr}"), root: root.to_path_buf() };
        }
    }
    panic!("s3s-fs found no free port in five tries");
}

impl S3Server {
    /// Stops the server; [`S3Server::resume`] starts it again on the same port and root.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn resume(&mut self) {
        let addr = self.endpoint.trim_start_matches("http://").to_string();
        self.child = spawn(&self.root, &addr);
    }
}

/// Runs s3s-fs on `addr` over `root` and waits (bounded) until it accepts connections.
fn spawn(root: &Path, addr: &str) -> Child {
    let bin = binary();
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/test (or `. scripts/deps.sh && ensure_s3_server`) to install s3s-fs",
        bin.display()
    );
    let (host, port) = addr.split_once(':').unwrap();
    let child = Command::new(&bin)
        .args(["--host", host, "--port", port])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Whether `child` is still running a moment after its port answered: another test's server
/// may have taken the port between our probe and the bind (then ours exits, and the answer
/// came from the other one).
fn still_running(child: &mut Child) -> bool {
    std::thread::sleep(Duration::from_millis(150));
    matches!(child.try_wait(), Ok(None))
}
