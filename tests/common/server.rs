//! Starts the real `imgedge serve` binary on free loopback ports with a config written for the
//! test, and a minimal HTTP/1.1 client (the proxy always sends Content-Length).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Proxy {
    child: Child,
    pub addr: String,
    pub metrics: String,
    pub dir: PathBuf,
}

impl Proxy {
    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its exit time.
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let t = Instant::now();
        // The shell's built-in kill: /bin/kill (procps) is missing on minimal Debian images.
        let cmd = format!("kill -TERM {}", self.child.id());
        Command::new("sh").args(["-c", &cmd]).status().unwrap();
        while t.elapsed() < within {
            if self.child.try_wait().unwrap().is_some() {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Proxy {
    /// Sends a signal (by name: QUIT, TERM, ...) with the shell's built-in kill.
    pub fn signal(&self, sig: &str) {
        let cmd = format!("kill -{sig} {}", self.child.id());
        Command::new("sh").args(["-c", &cmd]).status().unwrap();
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Starts `imgedge serve --upgrade` with this instance's configuration: the new process
    /// takes the listeners once this one gets SIGQUIT.
    pub fn upgrade(&self) -> Proxy {
        let root = self.dir.parent().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_imgedge"))
            .arg("serve")
            .arg("--config")
            .arg(root.join("imgedge.toml"))
            .arg("--upgrade")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(root.join("log.upgraded")).unwrap()))
            .spawn()
            .unwrap();
        Proxy { child, addr: self.addr.clone(), metrics: self.metrics.clone(), dir: self.dir.clone() }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the proxy. `extra` is TOML inserted in `[server]`; `buckets` is the bucket TOML
/// (use `{dir}` for the bucket directory, which holds copies of the OSS sample images).
pub fn start(name: &str, server_extra: &str, rest: &str) -> Proxy {
    start_with_env(name, server_extra, rest, &[])
}

/// [`start`] with environment variables for the proxy process (such as `SSL_CERT_FILE`).
pub fn start_with_env(name: &str, server_extra: &str, rest: &str, env: &[(&str, &str)]) -> Proxy {
    let dir = super::temp_dir(name);
    let bucket = dir.join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    for f in ["example.jpg", "f.jpg", "example.gif", "aws_logo.png"] {
        std::fs::copy(super::corpus(&format!("oss/{f}")), bucket.join(f)).unwrap();
    }
    let (port, mport) = (free_port(), free_port());
    let conf = format!(
        "domains = [\"localhost\"]\n[server]\nlisten = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:{mport}\"\n{server_extra}\n{}",
        rest.replace("{dir}", &bucket.display().to_string())
    );
    std::fs::write(dir.join("imgedge.toml"), conf).unwrap();
    spawn(&dir, format!("127.0.0.1:{port}"), format!("127.0.0.1:{mport}"), bucket, env, "log")
}

impl Proxy {
    /// Kills this instance (SIGKILL) and starts a new one on the same configuration and ports.
    pub fn restart(mut self) -> Proxy {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let root = self.dir.parent().unwrap().to_path_buf();
        spawn(&root, self.addr.clone(), self.metrics.clone(), self.dir.clone(), &[], "log.restarted")
    }

    /// The process id (for /proc inspection and signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn spawn(root: &Path, addr: String, metrics: String, dir: PathBuf, env: &[(&str, &str)], log: &str) -> Proxy {
    let child = Command::new(env!("CARGO_BIN_EXE_imgedge"))
        .arg("serve")
        .arg("--config")
        .arg(root.join("imgedge.toml"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(root.join(log)).unwrap()))
        .spawn()
        .unwrap();
    let proxy = Proxy { child, addr, metrics, dir };
    let dir = root;
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&proxy.addr).is_err() || TcpStream::connect(&proxy.metrics).is_err() {
        assert!(
            Instant::now() < deadline,
            "proxy did not start: {}",
            std::fs::read_to_string(dir.join(log)).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    proxy
}

/// The usual public bucket.
pub const PUBLIC: &str = "[[buckets]]\nname = \"demo\"\nstyle_delimiters = [\"!\", \"@!\"]\n[buckets.origin]\ntype = \"dir\"\npath = \"{dir}\"\n[buckets.styles]\nthumb = \"image/resize,w_100\"\n";

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn image(&self) -> image::DynamicImage {
        image::load_from_memory(&self.body).unwrap_or_else(|e| panic!("not an image ({e}): {}", self.text()))
    }

    /// `<Tag>` of an OSS XML error body.
    pub fn xml(&self, tag: &str) -> Option<String> {
        let t = self.text();
        let open = format!("<{tag}>");
        let start = t.find(&open)? + open.len();
        let end = t[start..].find(&format!("</{tag}>"))? + start;
        Some(t[start..end].to_string())
    }
}

/// One request on a fresh connection.
pub fn request(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    try_request(addr, method, target, headers).unwrap()
}

/// [`request`], with connection and protocol failures as errors instead of panics.
pub fn try_request(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    try_request_body(addr, method, target, headers, b"")
}

/// [`try_request`] with a body (sent with its Content-Length when not empty).
pub fn try_request_body(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let host = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).map_or("localhost", |(_, v)| *v);
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no complete head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response { status, headers, body: raw[split + 4..].to_vec() })
}

pub fn get(addr: &str, target: &str) -> Response {
    request(addr, "GET", target, &[])
}

/// A counter or gauge from the metrics listener.
pub fn metric(p: &Proxy, name: &str) -> f64 {
    let text = get(&p.metrics, "/metrics").text();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whether `name` reaches `want` within two seconds: a request is counted when it is logged,
/// just after its answer is written.
pub fn metric_reaches(p: &Proxy, name: &str, want: f64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while metric(p, name) < want {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}
