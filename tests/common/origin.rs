//! A small HTTP/1.1 origin on loopback for tests: serves the files of a directory under a path
//! prefix, one request per connection, and counts what it was asked.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub struct Origin {
    pub addr: String,
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Origin {
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// Serves `dir` at `http://addr/<prefix>/<file>`.
pub fn serve(dir: PathBuf, prefix: &'static str) -> Origin {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (dir, counter) = (dir.clone(), counter.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    h.clear();
                }
                let mut parts = line.split(' ');
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/").to_string());
                let path = target.split('?').next().unwrap_or("/").to_string();
                *counter.lock().unwrap().entry(path.clone()).or_default() += 1;
                let file = path
                    .strip_prefix(prefix)
                    .and_then(|p| p.strip_prefix('/'))
                    .map(|p| dir.join(percent_encoding::percent_decode_str(p).decode_utf8_lossy().as_ref()));
                let mut out = stream;
                // Fault modes, by name.
                match path.rsplit('/').next().unwrap_or("") {
                    "hang.jpg" => {
                        std::thread::sleep(std::time::Duration::from_secs(30));
                        return;
                    }
                    "drip.jpg" => {
                        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                        for _ in 0..300 {
                            if out.write_all(b"x").is_err() {
                                return;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                        return;
                    }
                    "endless.jpg" => {
                        // No Content-Length: the body runs until the connection closes.
                        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                        let chunk = vec![0xAAu8; 4096];
                        for _ in 0..10_000 {
                            if out.write_all(&chunk).is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    _ => {}
                }
                match file.and_then(|f| std::fs::read(f).ok()) {
                    Some(body) => {
                        let ctype = if path.ends_with(".jpg") { "image/jpeg" } else { "text/plain" };
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nETag: \"mock-{}\"\r\nConnection: close\r\n\r\n",
                            body.len(),
                            body.len()
                        );
                        let _ = out.write_all(head.as_bytes());
                        if method != "HEAD" {
                            let _ = out.write_all(&body);
                        }
                    }
                    None => {
                        let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
                    }
                }
            });
        }
    });
    Origin { addr, hits }
}
