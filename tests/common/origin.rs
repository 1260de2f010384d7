//! A small HTTP/1.1 origin on loopback for tests: serves the files of a directory under a path
//! prefix, one request per connection, over plain TCP or TLS, and counts what it was asked.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct Origin {
    pub addr: String,
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Every request head received (request line and header lines, lower-cased names).
    pub heads: Arc<Mutex<Vec<String>>>,
    /// The directory served.
    pub root: PathBuf,
    /// Body bytes sent per path (ranges included).
    pub sent: Arc<Mutex<HashMap<String, u64>>>,
}

impl Origin {
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Body bytes sent for `path` so far.
    pub fn sent(&self, path: &str) -> u64 {
        self.sent.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// Serves `dir` at `http://addr/<prefix>/<file>`.
pub fn serve(dir: PathBuf, prefix: &'static str) -> Origin {
    listen(dir, prefix, None, "127.0.0.1:0")
}

/// [`serve`] on a given address (an origin that comes back where it was).
pub fn serve_on(dir: PathBuf, prefix: &'static str, addr: &str) -> Origin {
    listen(dir, prefix, None, addr)
}

/// Serves `dir` at `https://addr/<prefix>/<file>` with `tls` (see [`super::tls`]).
pub fn serve_tls(dir: PathBuf, prefix: &'static str, tls: Arc<rustls::ServerConfig>) -> Origin {
    listen(dir, prefix, Some(tls), "127.0.0.1:0")
}

fn listen(dir: PathBuf, prefix: &'static str, tls: Option<Arc<rustls::ServerConfig>>, at: &str) -> Origin {
    let listener = TcpListener::bind(at).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let log = Log { hits: hits.clone(), heads: heads.clone(), sent: sent.clone() };
    let root = dir.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (dir, log, tls) = (dir.clone(), log.clone(), tls.clone());
            // A small send buffer: what `sent` counts is close to what the client read, not what
            // the kernel queued for it.
            small_send_buffer(&stream);
            std::thread::spawn(move || match tls {
                None => {
                    if handle(&stream, &dir, prefix, &log) {
                        reset(&stream);
                    }
                }
                Some(cfg) => {
                    let Ok(conn) = rustls::ServerConnection::new(cfg) else { return };
                    handle(rustls::StreamOwned::new(conn, stream), &dir, prefix, &log);
                }
            });
        }
    });
    Origin { addr, hits, heads, root, sent }
}

#[derive(Clone)]
struct Log {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    heads: Arc<Mutex<Vec<String>>>,
    sent: Arc<Mutex<HashMap<String, u64>>>,
}

/// 64 KiB of send buffer instead of the kernel's megabytes.
fn small_send_buffer(stream: &std::net::TcpStream) {
    set_option(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, &((64 << 10) as libc::c_int));
}

/// Closes with a TCP RST instead of a FIN (SO_LINGER 0), as a crashing origin or a middlebox.
fn reset(stream: &std::net::TcpStream) {
    set_option(stream, libc::SOL_SOCKET, libc::SO_LINGER, &libc::linger { l_onoff: 1, l_linger: 0 });
}

fn set_option<T>(stream: &std::net::TcpStream, level: libc::c_int, name: libc::c_int, value: &T) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket and an option value of the size passed.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        );
    }
}

/// One request: GETs count under their path, HEADs under `HEAD <path>`. True when the
/// connection should end with a reset.
fn handle<S: Read + Write>(stream: S, dir: &Path, prefix: &str, log: &Log) -> bool {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return false;
    }
    let mut head = line.clone();
    let mut h = String::new();
    while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
        head.push_str(&h.to_ascii_lowercase());
        h.clear();
    }
    log.heads.lock().unwrap().push(head.clone());
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
    let path = target.split('?').next().unwrap_or("/").to_string();
    let counted = if method == "HEAD" { format!("HEAD {path}") } else { path.clone() };
    *log.hits.lock().unwrap().entry(counted).or_default() += 1;
    let file = path
        .strip_prefix(prefix)
        .and_then(|p| p.strip_prefix('/'))
        .map(|p| dir.join(percent_encoding::percent_decode_str(p).decode_utf8_lossy().as_ref()));
    let out = reader.get_mut();
    // Fault modes, by name.
    match path.rsplit('/').next().unwrap_or("") {
        "hang.jpg" => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            return false;
        }
        "drip.jpg" => {
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            if method == "HEAD" {
                return false;
            }
            for _ in 0..300 {
                if out.write_all(b"x").and_then(|_| out.flush()).is_err() {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            return false;
        }
        "reset.jpg" => {
            // Promises 100 000 bytes, sends 8 KiB, then resets the connection.
            let _ = out
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n");
            if method != "HEAD" {
                let _ = out.write_all(&[0xFFu8; 8192]);
                let _ = out.flush();
                std::thread::sleep(std::time::Duration::from_millis(200));
                return true;
            }
            return false;
        }
        "truncate.jpg" => {
            // Promises 100 000 bytes, sends 1 000, closes.
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            if method != "HEAD" {
                let _ = out.write_all(&[0xFFu8; 1000]);
            }
            let _ = out.flush();
            return false;
        }
        "chunked-cut.jpg" => {
            // A chunked body that dies: two chunks, a pause (so that the proxy has passed the
            // head on), then the connection closes without the terminating chunk.
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            if method != "HEAD" {
                for _ in 0..2 {
                    let _ = out.write_all(b"1000\r\n");
                    let _ = out.write_all(&[0xFFu8; 0x1000]);
                    let _ = out.write_all(b"\r\n");
                }
            }
            let _ = out.flush();
            std::thread::sleep(std::time::Duration::from_millis(300));
            return false;
        }
        "length-cut.jpg" => {
            // Like truncate.jpg, with a pause before the close (the head is passed on first).
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
            );
            if method != "HEAD" {
                let _ = out.write_all(&[0xFFu8; 8192]);
            }
            let _ = out.flush();
            std::thread::sleep(std::time::Duration::from_millis(300));
            return false;
        }
        "endless.jpg" => {
            // No Content-Length: the body runs until the connection closes.
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let chunk = vec![0xAAu8; 4096];
            for _ in 0..10_000 {
                if out.write_all(&chunk).is_err() {
                    return false;
                }
            }
            return false;
        }
        _ => {}
    }
    let name = path.rsplit('/').next().unwrap_or("");
    // redirect-*: a HEAD answers for the file; a GET is sent elsewhere, to the URL written in
    // `<dir>/redirect-target` (an origin that lures readers onto an internal address).
    if name.starts_with("redirect-") && method == "GET" {
        let to = std::fs::read_to_string(dir.join("redirect-target")).unwrap_or_default();
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            to.trim()
        );
        let _ = out.write_all(head.as_bytes());
        let _ = out.flush();
        return false;
    }
    // late-*: the file, but a GET waits 30 s before its head (a HEAD is answered at once).
    if name.starts_with("late-") && method != "HEAD" {
        std::thread::sleep(std::time::Duration::from_secs(30));
        return false;
    }
    // slow<ms>-*: the file, its body spread over <ms> milliseconds (the head comes at once).
    let slow_ms =
        name.strip_prefix("slow").and_then(|r| r.split_once('-')).and_then(|(ms, _)| ms.parse::<u64>().ok());
    // `Range: bytes=a-b` / `bytes=a-` on a GET: a 206 of that slice (what ffmpeg asks for).
    let range = head.lines().find_map(|l| l.strip_prefix("range: bytes=")).and_then(|r| {
        let (a, b) = r.trim().split_once('-')?;
        Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()))
    });
    match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) if method == "GET" && range.is_some_and(|(a, _)| a < body.len() as u64) => {
            let (a, b) = range.unwrap();
            let end = b.unwrap_or(u64::MAX).min(body.len() as u64 - 1);
            let slice = &body[a as usize..=end as usize];
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\nAccept-Ranges: bytes\r\nContent-Range: bytes {a}-{end}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len(),
                slice.len()
            );
            let _ = out.write_all(head.as_bytes());
            // Counted as written: a reader that closes early stops the count.
            for piece in slice.chunks(16 << 10) {
                if out.write_all(piece).is_err() {
                    break;
                }
                *log.sent.lock().unwrap().entry(path.clone()).or_default() += piece.len() as u64;
            }
        }
        Some(body) => {
            let ctype = if path.ends_with(".jpg") { "image/jpeg" } else { "text/plain" };
            // Files named ka-* claim keep-alive but the connection is closed all the same, as by
            // an origin whose idle timeout is shorter than ours: pooled connections go stale.
            let close = if path.contains("/ka-") { "" } else { "Connection: close\r\n" };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nETag: \"mock-{}\"\r\n{close}\r\n",
                body.len(),
                body.len()
            );
            let _ = out.write_all(head.as_bytes());
            match (method.as_str(), slow_ms) {
                ("HEAD", _) => {}
                (_, Some(ms)) => {
                    let _ = out.flush();
                    let pieces: Vec<&[u8]> = body.chunks(body.len().div_ceil(10).max(1)).collect();
                    for piece in &pieces {
                        std::thread::sleep(std::time::Duration::from_millis(ms / pieces.len() as u64));
                        if out.write_all(piece).and_then(|_| out.flush()).is_err() {
                            return false;
                        }
                    }
                }
                _ => {
                    let _ = out.write_all(&body);
                    *log.sent.lock().unwrap().entry(path.clone()).or_default() += body.len() as u64;
                }
            }
        }
        None => {
            let _ = out.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
            );
        }
    }
    let _ = out.flush();
    false
}
