//! HTTP origins: a base URL (public bucket endpoint, nginx, public-read S3/OSS) in front of which
//! imgedge sits. Raw requests are proxied by pingora itself (connection reuse, streaming, any
//! content type, Range and validators as the origin gives them); sources for processing are
//! fetched here with pingora's connector, bounded in bytes and in total time.

use std::time::Duration;

use bytes::BytesMut;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;

use super::error::OssError;
use crate::config::OriginTimeouts;
use crate::transform;

/// Characters of a key that stay unescaped in the upstream path (RFC 3986 unreserved and `/`).
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

pub struct HttpOrigin {
    /// `host:port` to connect to.
    address: String,
    /// The `Host` header for the origin.
    authority: String,
    /// Path prefix of the base URL, without a trailing `/`.
    base_path: String,
    timeouts: OriginTimeouts,
    connector: Connector,
}

/// A fetched source object.
pub struct Fetched {
    pub bytes: Vec<u8>,
}

impl HttpOrigin {
    pub fn new(url: &str, timeouts: &OriginTimeouts) -> Result<HttpOrigin, String> {
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err("https origins need TLS, which this build does not include yet".into())
            }
            _ => return Err(format!("{url}: not an http:// URL")),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let address = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(HttpOrigin {
            address,
            authority: authority.to_string(),
            base_path: path.trim_end_matches('/').to_string(),
            timeouts: timeouts.clone(),
            connector: Connector::new(None),
        })
    }

    /// The pingora peer, with the configured connect and read timeouts.
    pub fn peer(&self) -> HttpPeer {
        let mut peer = HttpPeer::new(self.address.as_str(), false, String::new());
        peer.options.connection_timeout = Some(Duration::from_millis(self.timeouts.connect_ms));
        peer.options.read_timeout = Some(Duration::from_millis(self.timeouts.first_byte_ms));
        peer
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The upstream path of a client's raw request path (already encoded by the client).
    pub fn upstream_path(&self, client_path_and_query: &str) -> String {
        format!("{}{}", self.base_path, client_path_and_query)
    }

    /// GETs `key` for processing: at most `max_bytes` (a larger object is refused from its
    /// Content-Length, or as soon as the body passes the limit), within the total deadline.
    pub async fn fetch(&self, key: &str, max_bytes: u64) -> Result<Fetched, OssError> {
        let total = Duration::from_millis(self.timeouts.total_ms);
        match tokio::time::timeout(total, self.fetch_inner(key, max_bytes)).await {
            Ok(r) => r,
            Err(_) => Err(OssError::new(504, "GatewayTimeout", None, "The origin did not answer in time.")),
        }
    }

    async fn fetch_inner(&self, key: &str, max_bytes: u64) -> Result<Fetched, OssError> {
        let bad_gateway = || OssError::new(502, "BadGateway", None, "The origin could not be read.");
        let peer = self.peer();
        let (mut session, _reused) =
            self.connector.get_http_session(&peer).await.map_err(|_| bad_gateway())?;
        let path = format!("{}/{}", self.base_path, utf8_percent_encode(key, KEEP));
        let mut req = RequestHeader::build("GET", path.as_bytes(), Some(2)).map_err(|_| bad_gateway())?;
        req.insert_header("host", &self.authority).map_err(|_| bad_gateway())?;
        req.insert_header("user-agent", "imgedge").map_err(|_| bad_gateway())?;
        session.write_request_header(Box::new(req)).await.map_err(|_| bad_gateway())?;
        session.finish_request_body().await.map_err(|_| bad_gateway())?;
        session.read_response_header().await.map_err(|_| bad_gateway())?;
        let resp = session.response_header().ok_or_else(bad_gateway)?;
        match resp.status.as_u16() {
            200 => {}
            404 => return Err(OssError::no_such_key()),
            403 => return Err(OssError::access_denied(None, "The origin refused access to the object.")),
            _ => return Err(bad_gateway()),
        }
        let too_large =
            || OssError::from(transform::Error::too_large(None, "source image exceeds the size limit"));
        let declared = resp.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_bytes) {
            return Err(too_large());
        }
        let mut body = BytesMut::with_capacity(declared.unwrap_or(64 * 1024).min(max_bytes) as usize);
        while let Some(chunk) = session.read_response_body().await.map_err(|_| bad_gateway())? {
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if declared.is_some_and(|n| n != body.len() as u64) {
            return Err(bad_gateway());
        }
        self.connector.release_http_session(session, &peer, Some(Duration::from_secs(60))).await;
        Ok(Fetched { bytes: body.to_vec() })
    }
}
