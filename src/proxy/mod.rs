//! The edge proxy on pingora: a thin `ProxyHttp` whose `request_filter` answers every request
//! for a bucket (raw objects, processed variants, errors) and whose CPU work runs on the
//! transform worker pool. Phase by phase: request_filter → (answered) → logging.

pub mod cache;
pub mod classify;
pub mod error;
pub mod metrics;
pub mod respond;
pub mod service;
pub mod workers;

mod handle;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::Result;

pub use handle::App;

/// Per-request state.
pub struct Ctx {
    pub request_id: String,
    pub start: Instant,
    /// What happened, for metrics: hit, miss, raw, not_modified, error, busy.
    pub outcome: &'static str,
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
        Ctx { request_id: request_id(), start: Instant::now(), outcome: "error" }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let answer = self.handle(session, ctx).await;
        respond::send(session, answer, &ctx.request_id).await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        // Every request is answered in request_filter; nothing is proxied raw yet.
        Err(pingora::Error::new(pingora::ErrorType::InternalError))
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
