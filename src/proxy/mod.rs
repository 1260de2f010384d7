//! The edge proxy on pingora: a thin `ProxyHttp` whose `request_filter` answers every request
//! for a bucket (raw objects, processed variants, errors) and whose CPU work runs on the
//! transform worker pool. Phase by phase: request_filter → (answered) → logging.

pub mod cache;
pub mod classify;
pub mod error;
pub mod metrics;
pub mod origin;
pub mod respond;
pub mod s3;
pub mod service;
pub mod workers;

mod handle;
mod raw;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::Result;

use error::OssError;
pub use handle::App;

/// Per-request state.
pub struct Ctx {
    pub request_id: String,
    pub start: Instant,
    /// What happened, for metrics: hit, miss, raw, not_modified, error, busy, aborted.
    pub outcome: &'static str,
    /// Set when the request is proxied to a remote origin as it is: the origin and the object key.
    pub upstream: Option<(std::sync::Arc<origin::Remote>, String)>,
    /// The origin's 200 became our 304: its body is not forwarded.
    pub drop_body: bool,
}

/// OSS-style request ids: 24 upper-case hex digits, time then a process-wide counter.
fn request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{:08X}{:016X}", t as u32, n ^ (u64::from(std::process::id()) << 40))
}

#[async_trait]
impl ProxyHttp for App {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            request_id: request_id(),
            start: Instant::now(),
            outcome: "error",
            upstream: None,
            drop_body: false,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        match self.handle(session, ctx).await {
            Some(answer) => {
                if let Err(e) = respond::send(session, answer, &ctx.request_id).await {
                    // The client left mid-response (or a file shrank under us): nothing more can
                    // be said on this connection. Not a server error, and no 500 to send.
                    tracing::debug!(request_id = %ctx.request_id, error = %e, "response not delivered");
                    ctx.outcome = "aborted";
                    session.set_keepalive(None);
                }
                Ok(true)
            }
            // A raw object of a remote origin: pingora proxies it (streaming, validators, ranges).
            None => Ok(false),
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        match &ctx.upstream {
            Some((o, _)) => Ok(Box::new(o.peer())),
            None => Err(pingora::Error::new(pingora::ErrorType::InternalError)),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut pingora::http::RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Some((o, key)) = &ctx.upstream {
            o.rewrite(upstream, key).map_err(|_| pingora::Error::new(pingora::ErrorType::InternalError))?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        resp: &mut pingora::http::ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        use pingora::protocols::http::conditional_filter::{not_modified_filter, to_304};
        // Validators are answered here too, so that conditional requests work the same in
        // front of origins that ignore them (s3s-fs, some object stores, static servers).
        if ctx.upstream.is_some() && not_modified_filter(session.req_header(), resp) {
            to_304(resp);
            ctx.outcome = "not_modified";
            ctx.drop_body = true;
        }
        resp.insert_header("x-oss-request-id", &ctx.request_id)?;
        resp.insert_header("x-content-type-options", "nosniff")?;
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<bytes::Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<std::time::Duration>> {
        if ctx.drop_body {
            *body = None;
        }
        Ok(None)
    }

    /// Failures while proxying raw requests to a remote origin become OSS XML errors too.
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut Ctx,
    ) -> pingora::proxy::FailToProxy {
        use pingora::{ErrorSource, ErrorType};
        let err = match (e.etype(), e.esource()) {
            (ErrorType::HTTPStatus(code), _) => {
                OssError::new(*code, "InternalError", None, "The request failed.")
            }
            (
                ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout,
                ErrorSource::Upstream,
            ) => OssError::new(504, "GatewayTimeout", None, "The origin did not answer in time."),
            (_, ErrorSource::Upstream) => {
                OssError::new(502, "BadGateway", None, "The origin could not be read.")
            }
            (
                ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed,
                ErrorSource::Downstream,
            ) => {
                // The client is gone: nothing to answer.
                return pingora::proxy::FailToProxy { error_code: 0, can_reuse_downstream: false };
            }
            (_, ErrorSource::Downstream) => {
                OssError::new(400, "InvalidRequest", None, "The request could not be read.")
            }
            _ => OssError::internal(),
        };
        ctx.outcome = "error";
        let host =
            session.req_header().headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
        let answer = respond::Answer::error(&err, &ctx.request_id, &host);
        let status = err.status;
        if respond::send(session, answer, &ctx.request_id).await.is_err() {
            tracing::debug!(request_id = %ctx.request_id, "could not send the error response");
        }
        pingora::proxy::FailToProxy { error_code: status, can_reuse_downstream: false }
    }

    async fn logging(&self, session: &mut Session, e: Option<&pingora::Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let m = metrics::metrics();
        m.requests.with_label_values(&[ctx.outcome, &status.to_string()]).inc();
        let secs = ctx.start.elapsed().as_secs_f64();
        m.stage_seconds.with_label_values(&["total"]).observe(secs);
        let req = session.req_header();
        tracing::info!(
            request_id = %ctx.request_id,
            method = %req.method,
            path = %req.uri.path(),
            status,
            outcome = ctx.outcome,
            ms = secs * 1000.0,
            error = e.map(|e| e.to_string()),
            "request"
        );
    }
}
