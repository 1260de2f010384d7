//! One exchange as the handlers see it, apart from pingora: the request's head ([`Req`]), decoded
//! once, and what a handler makes of it ([`Reply`]: an [`Answer`] the proxy writes, or a raw
//! object the proxy streams from the origin).

use std::sync::Arc;

use bytes::Bytes;

use crate::error::OssError;
use crate::names::ObjectKey;
use crate::request::Query;
use crate::storage::remote::Remote;

/// A request's head, owned and decoded once.
pub struct Req {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: Query,
    /// Lower-case names, values as received.
    pub headers: Vec<(String, String)>,
    pub request_id: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What a handler produced.
pub enum Reply {
    Answer(Answer),
    /// A raw object of a remote bucket: pingora proxies the request to the origin.
    Proxy(Arc<Remote>, ObjectKey),
}

/// A response body.
pub enum Body {
    Bytes(Bytes),
    /// A byte range of a local file already open (its headers were made from its own `fstat`),
    /// streamed in chunks.
    File {
        file: std::fs::File,
        start: u64,
        len: u64,
    },
    Empty,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Answer {
    pub fn new(status: u16, body: Body) -> Answer {
        Answer { status, headers: Vec::new(), body }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    pub fn error(e: &OssError, request_id: &str, host_id: &str) -> Answer {
        let xml = e.xml(request_id, host_id);
        let mut a = Answer::new(e.status, Body::Bytes(Bytes::from(xml)))
            .header("content-type", "application/xml")
            .header("cache-control", "no-store");
        if let Some(ec) = e.ec {
            a = a.header("x-oss-ec", ec);
        }
        if e.kind.answer().retry_after {
            a = a.header("retry-after", "1");
        }
        a
    }
}

/// The `Content-Security-Policy` of an object whose type can run script (SVG, HTML): served from
/// the image domain, it must not run script or reach anything, so a user-uploaded SVG cannot
/// act with the site's origin. Images and other types get none.
pub fn sandbox_policy(content_type: &str) -> Option<&'static str> {
    let t = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        t.as_str(),
        "image/svg+xml" | "text/html" | "application/xhtml+xml" | "text/xml" | "application/xml"
    )
    .then_some("default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox")
}
