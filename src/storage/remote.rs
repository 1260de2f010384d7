//! Remote origins: an HTTP(S) base URL (public bucket endpoint, nginx, public-read S3/OSS;
//! read-only) or S3-compatible storage signed with SigV4 (MinIO, Ceph, Garage, OSS's S3
//! endpoint; writable). Raw requests are proxied by pingora itself (connection reuse, streaming,
//! any content type, Range and validators as the origin gives them); sources for processing are
//! fetched here with pingora's connector, bounded in bytes and in time (`first_byte_ms` for each
//! response head, `total_ms` for all the reads of one client request: see [`Deadline`]), and
//! writes are single signed PUTs (S3 makes an object visible only once its whole body has
//! arrived).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pingora::connectors::http::Connector;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::protocols::http::client::HttpSession;
use url::Url;

use super::s3::S3Signer;
use super::{check_size, Deadline, Listed, Meta, Object, ObjectKey, ObjectStore, RawAccess};
use crate::config::{self, OriginTimeouts};
use crate::error::OssError;

/// Characters of a key that stay unescaped in the upstream path (RFC 3986 unreserved and `/`).
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// Client headers a raw object request passes on to the origin: those that shape a GET of an
/// object (ranges, validators, negotiation). Everything else stays at the edge: hop-by-hop
/// headers and those a client names in `Connection` (RFC 9110 §7.6.1), cookies, credentials,
/// and framing, since raw requests carry no body (`proxy::request_filter` refuses one).
const FORWARDED: [&str; 9] = [
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "accept",
    "accept-encoding",
    "user-agent",
];

pub struct Remote {
    /// `host:port` to connect to.
    address: String,
    tls: bool,
    /// The TLS server name (the host without port).
    sni: String,
    /// The `Host` header for the origin.
    authority: String,
    /// Path prefix of an HTTP base URL, without a trailing `/`.
    base_path: String,
    /// Set for S3 origins: every request is presigned.
    s3: Option<S3Signer>,
    timeouts: OriginTimeouts,
    connector: Connector,
}

/// What identifies a version of a remote object, from its response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteMeta {
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl RemoteMeta {
    fn of(resp: &ResponseHeader) -> RemoteMeta {
        let h = |n: &str| resp.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        RemoteMeta {
            size: h("content-length").and_then(|v| v.parse().ok()),
            etag: h("etag"),
            last_modified: h("last-modified"),
        }
    }

    /// The validator the cache keys variants by: the ETag, else Last-Modified, else unknown
    /// (then variants live for the cache TTL).
    pub fn validator(&self) -> String {
        self.etag.clone().or_else(|| self.last_modified.clone()).unwrap_or_else(|| "-".into())
    }

    pub fn to_meta(&self) -> Meta {
        Meta { size: self.size, etag: self.validator(), last_modified: self.last_modified.clone() }
    }
}

/// A fetched source object.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub meta: RemoteMeta,
}

pub(super) fn bad_gateway() -> OssError {
    OssError::bad_gateway("The origin could not be read.")
}

fn gateway_timeout() -> OssError {
    OssError::gateway_timeout()
}

impl Remote {
    /// An origin for `http`/`s3` configuration.
    pub fn from_config(origin: &config::Origin, timeouts: &OriginTimeouts) -> Result<Remote, String> {
        match origin {
            config::Origin::Dir { path } => {
                Err(format!("{}: a directory is not a remote origin", path.display()))
            }
            config::Origin::Http { url } => {
                let u = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
                Remote::new(&u, None, timeouts)
            }
            config::Origin::S3 { endpoint, region, bucket, access_key_id, secret_access_key, path_style } => {
                let signer =
                    S3Signer::new(endpoint, region, bucket, access_key_id, secret_access_key, *path_style)?;
                let base = signer.base_url().clone();
                Remote::new(&base, Some(signer), timeouts)
            }
        }
    }

    /// Whether writes are possible (S3 origins).
    pub fn writable(&self) -> bool {
        self.s3.is_some()
    }

    pub(super) fn s3(&self) -> Option<&S3Signer> {
        self.s3.as_ref()
    }

    /// The origin's `host[:port]`, for logs.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Gives a connection whose response was read to its end back to the pool.
    pub(super) async fn release(&self, session: HttpSession, peer: &HttpPeer) {
        self.connector.release_http_session(session, peer, Some(Duration::from_secs(60))).await;
    }

    fn new(u: &Url, s3: Option<S3Signer>, timeouts: &OriginTimeouts) -> Result<Remote, String> {
        let tls = match u.scheme() {
            "http" => false,
            "https" => true,
            s => return Err(format!("{u}: scheme {s} is not http or https")),
        };
        let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("{u}: no host"))?;
        let port = u.port_or_known_default().ok_or_else(|| format!("{u}: no port"))?;
        let authority = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        Ok(Remote {
            address: format!("{host}:{port}"),
            tls,
            sni: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            authority,
            base_path: u.path().trim_end_matches('/').to_string(),
            s3,
            timeouts: timeouts.clone(),
            connector: Connector::new(None),
        })
    }

    /// The pingora peer, with the configured connect and read timeouts. HTTPS origins are
    /// verified against the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` override them).
    pub fn peer(&self) -> HttpPeer {
        let mut peer = HttpPeer::new(self.address.as_str(), self.tls, self.sni.clone());
        peer.options.connection_timeout = Some(Duration::from_millis(self.timeouts.connect_ms));
        peer.options.total_connection_timeout = Some(Duration::from_millis(self.timeouts.connect_ms));
        peer.options.read_timeout = Some(Duration::from_millis(self.timeouts.first_byte_ms));
        peer
    }

    /// The upstream path and query for `method` on `key` (presigned for S3 origins).
    pub fn path_for(&self, method: &str, key: &str) -> Result<String, OssError> {
        match &self.s3 {
            Some(s) => s.presign(method, key).ok_or_else(OssError::internal),
            None => Ok(format!("{}/{}", self.base_path, utf8_percent_encode(key, KEEP))),
        }
    }

    /// Turns the client's request, as pingora copied it, into the origin's: its path (no client
    /// query: OSS signatures and processing parameters are ours), its Host, and none of the
    /// client's credentials.
    /// Rewrites a raw request for the origin; see [`FORWARDED`] for what it keeps.
    pub fn rewrite(&self, upstream: &mut RequestHeader, key: &str) -> Result<(), OssError> {
        let method = upstream.method.as_str().to_string();
        let uri = self.path_for(&method, key)?.parse().map_err(|_| OssError::internal())?;
        upstream.set_uri(uri);
        let dropped: Vec<_> =
            upstream.headers.keys().filter(|k| !FORWARDED.contains(&k.as_str())).cloned().collect();
        for k in dropped {
            upstream.remove_header(&k);
        }
        upstream.insert_header("host", &self.authority).map_err(|_| OssError::internal())?;
        Ok(())
    }

    pub(super) fn total(&self) -> Duration {
        Duration::from_millis(self.timeouts.total_ms)
    }

    /// HEADs `key`: its size and validators, without the body; within the request's deadline.
    pub async fn head(&self, key: &str) -> Result<RemoteMeta, OssError> {
        let exchange = async {
            let (session, peer) = self.exchange("HEAD", key).await?;
            let meta = session.response_header().map(RemoteMeta::of).ok_or_else(bad_gateway)?;
            self.release(session, &peer).await;
            Ok(meta)
        };
        by(Deadline::of_request(self.total()), exchange).await
    }

    /// GETs `key` for processing: at most `max_bytes` (a larger object is refused from its
    /// Content-Length, or as soon as the body passes the limit), within the request's deadline.
    pub async fn fetch(&self, key: &str, max_bytes: u64) -> Result<Fetched, OssError> {
        by(Deadline::of_request(self.total()), self.fetch_inner(key, max_bytes)).await
    }

    async fn fetch_inner(&self, key: &str, max_bytes: u64) -> Result<Fetched, OssError> {
        let (mut session, peer) = self.exchange("GET", key).await?;
        let meta = session.response_header().map(RemoteMeta::of).ok_or_else(bad_gateway)?;
        check_size(meta.size.unwrap_or(0), max_bytes)?;
        let mut body = BytesMut::with_capacity(meta.size.unwrap_or(64 * 1024).min(max_bytes) as usize);
        while let Some(chunk) = session.read_response_body().await.map_err(|_| bad_gateway())? {
            check_size(body.len() as u64 + chunk.len() as u64, max_bytes)?;
            body.extend_from_slice(&chunk);
        }
        if meta.size.is_some_and(|n| n != body.len() as u64) {
            return Err(bad_gateway());
        }
        self.release(session, &peer).await;
        Ok(Fetched { bytes: body.to_vec(), meta })
    }

    /// Sends `method key` and reads the response header, waiting at most `first_byte_ms` for it
    /// once the request is sent (then 504); anything but 200 becomes the OSS error. A pooled
    /// connection the origin closed meanwhile fails before any response: such failures are
    /// retried (the methods are idempotent), until a fresh connection fails.
    async fn exchange(&self, method: &str, key: &str) -> Result<(HttpSession, HttpPeer), OssError> {
        self.exchange_with(method, key, None).await
    }

    /// [`Remote::exchange`] with a request body (PUT): `(bytes, content type)`.
    async fn exchange_with(
        &self,
        method: &str,
        key: &str,
        body: Option<(&Bytes, &str)>,
    ) -> Result<(HttpSession, HttpPeer), OssError> {
        let path = self.path_for(method, key)?;
        self.exchange_at(method, &path, body, &[]).await
    }

    /// GETs `range` (`bytes=a-` or `bytes=a-b`) of `key`, only while its ETag is still
    /// `if_match` (then a changed object is a 412, not bytes of two versions): the response
    /// head, 200 or 206, and the session to read the body from. Within `total_ms` of its own.
    pub async fn open_range(
        &self,
        key: &str,
        range: &str,
        if_match: Option<&str>,
    ) -> Result<(HttpSession, RemoteMeta, u16), OssError> {
        let path = self.path_for("GET", key)?;
        let mut headers = vec![("range", range)];
        headers.extend(if_match.map(|e| ("if-match", e)));
        let exchange = async {
            let (session, _) = self.exchange_at("GET", &path, None, &headers).await?;
            let head = session.response_header().ok_or_else(bad_gateway)?;
            let (meta, status) = (RemoteMeta::of(head), head.status.as_u16());
            Ok((session, meta, status))
        };
        by(Deadline::after(self.total()), exchange).await
    }

    /// [`Remote::exchange_with`] on an upstream path and query already made, with `headers`
    /// added (a `range` makes 206 an answer too).
    pub(super) async fn exchange_at(
        &self,
        method: &str,
        path: &str,
        body: Option<(&Bytes, &str)>,
        headers: &[(&'static str, &str)],
    ) -> Result<(HttpSession, HttpPeer), OssError> {
        let peer = self.peer();
        // The whole exchange is under the caller's total deadline; the pool is finite, so stale
        // connections run out.
        let session = loop {
            let (mut session, reused) = self.connector.get_http_session(&peer).await.map_err(|e| {
                tracing::debug!(error = %e, origin = %self.authority, "origin connection failed");
                bad_gateway()
            })?;
            match self.send(&mut session, method, path, body, headers).await {
                Ok(()) => break session,
                Err(e) if e.etype() == &pingora::ErrorType::ReadTimedout => {
                    tracing::debug!(origin = %self.authority, "no response head within first_byte_ms");
                    return Err(gateway_timeout());
                }
                Err(e) if reused => {
                    tracing::debug!(error = %e, origin = %self.authority, "stale pooled connection, retrying");
                }
                Err(e) => {
                    tracing::debug!(error = %e, origin = %self.authority, "origin request failed");
                    return Err(bad_gateway());
                }
            }
        };
        let status = session.response_header().ok_or_else(bad_gateway)?.status.as_u16();
        match status {
            200 => Ok((session, peer)),
            204 if method == "DELETE" => Ok((session, peer)),
            206 if headers.iter().any(|(n, _)| *n == "range") => Ok((session, peer)),
            412 => Err(OssError::bad_gateway("The object changed while it was read.")),
            404 => Err(OssError::no_such_key()),
            403 => Err(OssError::access_denied(None, "The origin refused access to the object.")),
            _ => {
                tracing::debug!(status, origin = %self.authority, "origin answered an error");
                Err(bad_gateway())
            }
        }
    }

    /// Writes the request (and its body) and reads the response header, for at most
    /// `first_byte_ms` (then a `ReadTimedout` error).
    async fn send(
        &self,
        session: &mut HttpSession,
        method: &str,
        path: &str,
        body: Option<(&Bytes, &str)>,
        headers: &[(&'static str, &str)],
    ) -> pingora::Result<()> {
        let mut req = RequestHeader::build(method, path.as_bytes(), Some(4 + headers.len()))?;
        req.insert_header("host", &self.authority)?;
        req.insert_header("user-agent", "imgedge")?;
        for (name, value) in headers {
            req.insert_header(*name, *value)?;
        }
        if let Some((bytes, ctype)) = body {
            req.insert_header("content-length", bytes.len().to_string())?;
            req.insert_header("content-type", ctype)?;
        } else if method == "PUT" || method == "DELETE" {
            req.insert_header("content-length", "0")?;
        }
        session.write_request_header(Box::new(req)).await?;
        if let Some((bytes, _)) = body {
            session.write_request_body(bytes.clone(), true).await?;
        }
        session.finish_request_body().await?;
        let first_byte = Duration::from_millis(self.timeouts.first_byte_ms);
        match tokio::time::timeout(first_byte, session.read_response_header()).await {
            Ok(r) => r,
            Err(_) => Err(pingora::Error::new(pingora::ErrorType::ReadTimedout)),
        }
    }

    /// PUTs `body` at `key` (S3 origins), within `total_ms` of its own: a write follows the
    /// transform, it is not part of the request's reads.
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<RemoteMeta, OssError> {
        let len = body.len() as u64;
        let exchange = async {
            let (mut session, peer) = self.exchange_with("PUT", key, Some((&body, content_type))).await?;
            let mut meta = session.response_header().map(RemoteMeta::of).ok_or_else(bad_gateway)?;
            while session.read_response_body().await.map_err(|_| bad_gateway())?.is_some() {}
            self.release(session, &peer).await;
            meta.size = Some(len);
            Ok(meta)
        };
        by(Deadline::after(self.total()), exchange).await
    }

    /// DELETEs `key` (S3 origins), within `total_ms` of its own; a missing object is not an
    /// error.
    pub async fn delete(&self, key: &str) -> Result<(), OssError> {
        let exchange = async {
            match self.exchange("DELETE", key).await {
                Ok((mut session, peer)) => {
                    while session.read_response_body().await.map_err(|_| bad_gateway())?.is_some() {}
                    self.release(session, &peer).await;
                    Ok(())
                }
                Err(e) if e.kind == crate::error::Kind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        };
        by(Deadline::after(self.total()), exchange).await
    }
}

/// `exchange`, or 504 GatewayTimeout once `deadline` passes.
pub(super) async fn by<T>(
    deadline: Deadline,
    exchange: impl std::future::Future<Output = Result<T, OssError>>,
) -> Result<T, OssError> {
    tokio::time::timeout_at(deadline.instant(), exchange).await.unwrap_or_else(|_| Err(gateway_timeout()))
}

/// A bucket on a remote origin.
pub struct RemoteStore {
    remote: Arc<Remote>,
}

impl RemoteStore {
    pub fn new(remote: Remote) -> RemoteStore {
        RemoteStore { remote: Arc::new(remote) }
    }
}

#[async_trait]
impl ObjectStore for RemoteStore {
    async fn head(&self, key: &ObjectKey) -> Result<Meta, OssError> {
        self.remote.head(key).await.map(|m| m.to_meta())
    }

    async fn get(&self, key: &ObjectKey, max_bytes: u64) -> Result<Object, OssError> {
        let f = self.remote.fetch(key, max_bytes).await?;
        Ok(Object { bytes: f.bytes, meta: f.meta.to_meta() })
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, content_type: &str) -> Result<Meta, OssError> {
        if !self.remote.writable() {
            return Err(super::read_only());
        }
        self.remote.put(key, body, content_type).await.map(|m| m.to_meta())
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), OssError> {
        if !self.remote.writable() {
            return Err(super::read_only());
        }
        self.remote.delete(key).await
    }

    async fn list(&self, prefix: &str, max: usize) -> Result<Vec<Listed>, OssError> {
        self.remote.list(prefix, max).await
    }

    fn raw(&self) -> RawAccess<'_> {
        RawAccess::Proxy(self.remote.clone())
    }

    fn writable(&self) -> bool {
        self.remote.writable()
    }
}
