//! Serves one object of a remote origin to a local reader (ffmpeg, for a video snapshot) over
//! loopback HTTP, by byte range, through imgedge's own origin reads. ffmpeg never dials the
//! origin: it cannot follow a redirect or reach an address imgedge's fetcher would not, and
//! every range is read under the fetcher's rules (the configured origin only, no redirects, its
//! timeouts, `If-Match` on the version the request was keyed by). The relay listens on an
//! ephemeral loopback port, answers only the one unguessable path it was made for, and stops
//! (with every connection it serves) when dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::stream::Stream;

use super::remote::Remote;
use super::{Meta, ObjectKey};
use crate::error::OssError;

/// How long the reader has to send a request head on a connection it opened.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes asked of the origin at a time, and the most sent ahead of the reader: a demuxer
/// reads the index, then jumps to the frame, and every byte past where it stops is wasted.
const CHUNK: u64 = 256 << 10;

/// A fixed send window towards the reader, as ffmpeg keeps a fixed receive window: the kernel
/// would otherwise take megabytes that the reader never reads.
fn small_send_buffer(tcp: &tokio::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let size = CHUNK as libc::c_int;
    // SAFETY: a valid socket and an option value of the size passed.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

struct Shared {
    remote: Arc<Remote>,
    key: ObjectKey,
    path: String,
    size: u64,
    /// The validator the request was keyed by: a changed object fails instead of mixing versions.
    etag: Option<String>,
    /// Bytes handed to the reader, in all.
    relayed: AtomicU64,
    /// Most a reader may be handed: a seeking demuxer rereads some, a looping one is cut off.
    budget: u64,
    /// The first origin failure, to answer instead of the reader's own complaint.
    failure: Mutex<Option<OssError>>,
}

/// A running relay; see the module comment.
pub struct Relay {
    url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts a relay of `key`, whose size and validator are `meta` (from the HEAD the request
    /// was admitted by).
    pub async fn start(remote: Arc<Remote>, key: &ObjectKey, meta: &Meta) -> Result<Relay, OssError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            tracing::warn!(error = %e, "cannot open the video relay");
            OssError::internal()
        })?;
        let port = listener.local_addr().map_err(|_| OssError::internal())?.port();
        let path = format!("/{}", token()?);
        let size = meta
            .size
            .ok_or_else(|| OssError::bad_gateway("The origin did not say how large the video is."))?;
        let shared = Arc::new(Shared {
            remote,
            key: key.clone(),
            path: path.clone(),
            size,
            etag: Some(meta.etag.clone()).filter(|e| e.starts_with('"')),
            relayed: AtomicU64::new(0),
            budget: size.saturating_mul(2).saturating_add(1 << 20),
            failure: Mutex::new(None),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            // Dropped with the accept loop: aborting the relay aborts every connection it serves.
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                conns.spawn(serve(s.clone(), tcp));
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(Relay { url: format!("http://127.0.0.1:{port}{path}"), shared, task })
    }

    /// The URL the reader is given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The origin's failure, if reading it failed: the real reason a reader gave up.
    pub fn failure(&self) -> Option<OssError> {
        self.shared.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Bytes handed to the reader so far.
    pub fn relayed(&self) -> u64 {
        self.shared.relayed.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// 128 random bits, hex: the relay's path, so that another local process cannot read through it.
fn token() -> Result<String, OssError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| OssError::internal())?;
    Ok(hex::encode(b))
}

/// One connection: one request (ffmpeg opens a connection per seek), one answer.
async fn serve(s: Arc<Shared>, tcp: tokio::net::TcpStream) {
    small_send_buffer(&tcp);
    let mut session = ServerSession::new_http1(Box::new(Stream::from(tcp)));
    match tokio::time::timeout(HEAD_TIMEOUT, session.read_request()).await {
        Ok(Ok(true)) => {}
        _ => return,
    }
    let req = session.req_header();
    if req.method != "GET" || req.raw_path() != s.path.as_bytes() {
        let _ = answer(&mut session, 404, &[]).await;
        return;
    }
    let range = req.headers.get("range").and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some((start, end)) = wanted(range.as_deref(), s.size) else {
        let _ = answer(&mut session, 416, &[("content-range", format!("bytes */{}", s.size))]).await;
        return;
    };
    if s.relayed.load(Ordering::Relaxed) >= s.budget {
        fail(&s, OssError::bad_gateway("The video was read more than twice over."));
        let _ = answer(&mut session, 502, &[]).await;
        return;
    }
    // The reader seeks by closing its connection and opening another: what was read ahead of
    // it is wasted, so the origin is read in bounded ranges, not one to the end of the file.
    let mut first = true;
    let mut pos = start;
    while pos <= end {
        let last = end.min(pos + CHUNK - 1);
        let spec = format!("bytes={pos}-{last}");
        let (mut upstream, status) = match s.remote.open_range(&s.key, &spec, s.etag.as_deref()).await {
            Ok((up, _, status)) => (up, status),
            Err(e) => {
                let origin = s.remote.authority();
                tracing::debug!(code = %e.code, origin, "video relay: origin refused a range");
                fail(&s, e);
                if first {
                    let _ = answer(&mut session, 502, &[]).await;
                }
                return;
            }
        };
        if first {
            let headers = [
                ("content-range", format!("bytes {start}-{end}/{}", s.size)),
                ("content-length", (end - start + 1).to_string()),
                ("accept-ranges", "bytes".to_string()),
            ];
            if answer_head(&mut session, 206, &headers).await.is_err() {
                return;
            }
            first = false;
        }
        // An origin that ignores Range sends the whole object: skip to `pos`, then relay the
        // rest of it from this one response.
        let (mut skip, until) = if status == 200 { (pos, end) } else { (0, last) };
        let mut left = until - pos + 1;
        while left > 0 {
            let chunk = match upstream.read_response_body().await {
                Ok(Some(c)) => c,
                Ok(None) | Err(_) => {
                    fail(&s, OssError::bad_gateway("The origin cut the video short."));
                    return;
                }
            };
            let from = skip.min(chunk.len() as u64) as usize;
            skip -= from as u64;
            let part = chunk.slice(from..chunk.len().min(from + left as usize));
            if part.is_empty() {
                continue;
            }
            left -= part.len() as u64;
            s.relayed.fetch_add(part.len() as u64, Ordering::Relaxed);
            let done = left == 0 && until == end;
            // The reader went away (it seeks, or it has its frame): stop reading.
            if session.write_response_body(part, done).await.is_err() {
                return;
            }
        }
        if status == 200 {
            break;
        }
        // Read to its end: the connection can serve the next range.
        if matches!(upstream.read_response_body().await, Ok(None)) {
            s.remote.release(upstream, &s.remote.peer()).await;
        }
        pos = last + 1;
    }
    let _ = session.finish().await;
}

fn fail(s: &Shared, e: OssError) {
    let mut f = s.failure.lock().unwrap_or_else(|p| p.into_inner());
    if f.is_none() {
        *f = Some(e);
    }
}

/// The first and last byte asked for: `bytes=a-`, `bytes=a-b`, or the whole object.
fn wanted(range: Option<&str>, size: u64) -> Option<(u64, u64)> {
    if size == 0 {
        return None;
    }
    let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) else {
        return Some((0, size - 1));
    };
    let (a, b) = spec.trim().split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => size - 1,
        b => b.parse::<u64>().ok()?.min(size - 1),
    };
    (start <= end).then_some((start, end))
}

async fn answer_head(
    session: &mut ServerSession,
    status: u16,
    headers: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build(status, Some(headers.len() + 1))?;
    for (k, v) in headers {
        resp.insert_header(*k, v.as_str())?;
    }
    resp.insert_header("connection", "close")?;
    session.write_response_header(Box::new(resp)).await
}

async fn answer(
    session: &mut ServerSession,
    status: u16,
    headers: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut h = headers.to_vec();
    h.push(("content-length", "0".to_string()));
    answer_head(session, status, &h).await?;
    session.write_response_body(Bytes::new(), true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn ask(url: &str, method: &str, path: &str) -> std::io::Result<String> {
        let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(format!("{method} {path} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n").as_bytes())
            .await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The relay answers its own path only, reports the origin's failure rather than serving
    /// anything, and is gone once dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_relay_serves_one_path_reports_origin_failures_and_dies_with_its_owner() {
        let origin = crate::config::Origin::Http { url: "http://127.0.0.1:1/base".into() };
        let remote = Arc::new(Remote::from_config(&origin, &Default::default()).unwrap());
        let meta = Meta { size: Some(1000), etag: "\"v1\"".into(), last_modified: None };
        let relay = Relay::start(remote, &ObjectKey::new("v.mp4").unwrap(), &meta).await.unwrap();
        let url = relay.url().to_string();
        let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        assert_eq!(path.len(), 33, "{path}");
        for (method, p) in
            [("GET", "/"), ("GET", "/v.mp4"), ("GET", "/../base/v.mp4"), ("POST", path.as_str())]
        {
            let a = ask(&url, method, p).await.unwrap();
            assert!(a.starts_with("HTTP/1.1 404"), "{method} {p}: {a}");
        }
        assert!(relay.failure().is_none());
        let a = ask(&url, "GET", &path).await.unwrap();
        assert!(a.starts_with("HTTP/1.1 502"), "{a}");
        assert_eq!(relay.failure().map(|e| e.status), Some(502));
        assert_eq!(relay.relayed(), 0);
        drop(relay);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(ask(&url, "GET", &path).await.is_err(), "the listener is closed");
    }

    #[test]
    fn ranges_are_what_a_demuxer_asks_for() {
        assert_eq!(wanted(None, 100), Some((0, 99)));
        assert_eq!(wanted(Some("bytes=0-"), 100), Some((0, 99)));
        assert_eq!(wanted(Some("bytes=40-"), 100), Some((40, 99)));
        assert_eq!(wanted(Some("bytes=40-49"), 100), Some((40, 49)));
        assert_eq!(wanted(Some("bytes=40-4000"), 100), Some((40, 99)));
        assert_eq!(wanted(Some("bytes=100-"), 100), None);
        assert_eq!(wanted(Some("bytes=-5"), 100), None);
        assert_eq!(wanted(Some("bytes=0-"), 0), None);
    }
}
