//! The edge proxy on pingora, kept thin: `request_filter` turns the session into a [`Req`],
//! reads a bounded body when the action has one, and writes what [`dispatch`] answers (or lets
//! pingora proxy a raw object of a remote bucket). CPU work runs on the transform worker pool.
//! Phase by phase: request_filter → (answered | upstream_peer → response filters) → logging.

pub mod body;
pub mod follow;
pub mod lifecycle;
pub mod respond;
pub mod service;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::Result;

use crate::app::App;
use crate::dispatch;
use crate::error::OssError;
use crate::exchange::{Answer, Reply, Req};
use crate::storage::remote::Remote;

/// The pingora application: the shared state, cheap to hand to background tasks.
pub struct Proxy(pub Arc<App>);

/// Per-request state.
pub struct Ctx {
    pub request_id: String,
    pub start: Instant,
    /// What happened, for metrics: hit, miss, raw, not_modified, write, api, error, busy, aborted.
    pub outcome: &'static str,
    /// Set when the request is proxied to a remote origin as it is: the origin and the object key.
    pub upstream: Option<(Arc<Remote>, String)>,
    /// The origin's 200 became our 304: its body is not forwarded.
    pub drop_body: bool,
    /// Counts this request as in flight until its context is dropped (the drain waits for it).
    pub _in_flight: lifecycle::InFlight,
}

/// OSS-style request ids: 24 upper-case hex digits, time then a process-wide counter.
pub(crate) fn request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // getpid is a system call; the id is the process's for its whole life.
    static PID: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(|| u64::from(std::process::id()));
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{:08X}{:016X}", t as u32, n ^ (pid << 40))
}

/// The request head as handlers see it: decoded once, owned.
fn req_of(session: &Session, request_id: &str) -> Result<Req, OssError> {
    let h = session.req_header();
    let host = h.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let headers = h
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect();
    Ok(Req {
        method: h.method.as_str().to_string(),
        host,
        path: h.uri.path().to_string(),
        query: crate::request::parse_query(h.uri.query())?,
        headers,
        request_id: request_id.to_string(),
    })
}

/// Whether the request head announces a body (any Transfer-Encoding, or a non-zero length).
fn has_body(session: &Session) -> bool {
    let h = &session.req_header().headers;
    h.contains_key("transfer-encoding")
        || h.get_all("content-length").iter().any(|v| v.to_str().map_or(true, |v| v.trim() != "0"))
}

impl Proxy {
    async fn reply(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Reply, OssError> {
        let req = req_of(session, &ctx.request_id)?;
        let routed = dispatch::route(&self.0, &req)?;
        let has_body = routed.action.has_body();
        let body = match has_body {
            true => {
                let api = &self.0.api;
                let deadline = std::time::Duration::from_secs(api.body_timeout_s);
                body::read(session, &req, &routed.auth, api.max_body_bytes, deadline).await?
            }
            false => bytes::Bytes::new(),
        };
        // Boxed: every handler's future lives in it (a render's is large), and pingora moves the
        // request filter's future whole, so keeping it out of line makes each move small.
        let serve = Box::pin(dispatch::serve(&self.0, &req, routed, body));
        // A read nobody waits for any more is dropped, which stops its transform (and frees its
        // worker) at the next action. Writes run to the end: they are all or nothing anyway.
        let (reply, outcome) = match has_body {
            true => serve.await?,
            false => tokio::select! {
                r = serve => r?,
                _ = session.downstream_session.read_body_or_idle(true) => return Err(OssError::client_gone()),
            },
        };
        ctx.outcome = outcome;
        Ok(reply)
    }

    fn host_id<'a>(&'a self, session: &'a Session) -> &'a str {
        match self.0.host_id.is_empty() {
            false => &self.0.host_id,
            true => session.req_header().headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or(""),
        }
    }
}

#[async_trait]
impl ProxyHttp for Proxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            request_id: request_id(),
            start: Instant::now(),
            outcome: "error",
            upstream: None,
            drop_body: false,
            _in_flight: lifecycle::InFlight::enter(),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        // Requests a client sends back to back on one connection are answered in turn (RFC
        // 9112 §9.3.2) instead of the first one only.
        session.downstream_session.set_pipelining_enabled(true);
        if lifecycle::draining() {
            // Shutting down: answer, then close, so the client reconnects elsewhere.
            session.set_keepalive(None);
        }
        // One client request: its origin reads share one total_ms deadline.
        let answer = match crate::storage::within_request(self.reply(session, ctx)).await {
            Ok(Reply::Answer(a)) => Some(a),
            Ok(Reply::Proxy(..)) if has_body(session) => {
                // A body on an object GET is either a mistake or a framing trick: not forwarded.
                session.set_keepalive(None);
                let e = OssError::invalid("InvalidRequest", None, "A request for an object has no body.");
                Some(Answer::error(&e, &ctx.request_id, self.host_id(session)))
            }
            Ok(Reply::Proxy(remote, key)) => {
                ctx.outcome = "raw";
                ctx.upstream = Some((remote, key.to_string()));
                None
            }
            Err(e) if e.kind == crate::error::Kind::ClientGone => {
                ctx.outcome = "aborted";
                session.set_keepalive(None);
                return Ok(true);
            }
            Err(e) => {
                ctx.outcome = e.kind.answer().label;
                Some(Answer::error(&e, &ctx.request_id, self.host_id(session)))
            }
        };
        match answer {
            Some(answer) => {
                if let Err(e) = respond::send(session, answer, &ctx.request_id).await {
                    // The client left mid-response (or a file shrank under us): nothing more can
                    // be said on this connection. Not a server error, and no 500 to send.
                    tracing::debug!(request_id = %ctx.request_id, error = %e, "response not delivered");
                    ctx.outcome = "aborted";
                    session.set_keepalive(None);
                    return Ok(true);
                }
                body::linger(session, std::time::Duration::from_secs(self.0.api.body_timeout_s)).await;
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
        let ct = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if let Some(csp) = crate::exchange::sandbox_policy(ct) {
            resp.insert_header("content-security-policy", csp)?;
        }
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

    /// Failures while proxying raw requests to a remote origin become OSS XML errors too, as
    /// long as nothing was sent. Once the response head has gone downstream, the only honest
    /// signal is to abort: no error body after the object's bytes, no terminating chunk, so the
    /// client (or a CDN) sees a truncated response (a short Content-Length body, or a chunked
    /// one without its last chunk) and never caches it as complete.
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut Ctx,
    ) -> pingora::proxy::FailToProxy {
        use pingora::{ErrorSource, ErrorType};
        if session.response_written().is_some() {
            tracing::debug!(request_id = %ctx.request_id, error = %e, "response aborted after its head");
            if *e.esource() != ErrorSource::Downstream {
                ctx.outcome = "error";
            }
            return pingora::proxy::FailToProxy { error_code: 0, can_reuse_downstream: false };
        }
        let err = match (e.etype(), e.esource()) {
            (ErrorType::HTTPStatus(code), _) if *code < 500 => {
                OssError::invalid("InvalidRequest", None, "The request could not be served.")
            }
            (ErrorType::HTTPStatus(_), _) => OssError::internal(),
            (
                ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout,
                ErrorSource::Upstream,
            ) => OssError::gateway_timeout(),
            (_, ErrorSource::Upstream) => OssError::bad_gateway("The origin could not be read."),
            (
                ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed,
                ErrorSource::Downstream,
            ) => {
                // The client is gone: nothing to answer.
                return pingora::proxy::FailToProxy { error_code: 0, can_reuse_downstream: false };
            }
            (_, ErrorSource::Downstream) => {
                OssError::invalid("InvalidRequest", None, "The request could not be read.")
            }
            _ => OssError::internal(),
        };
        ctx.outcome = "error";
        let answer = Answer::error(&err, &ctx.request_id, self.host_id(session));
        let status = err.status;
        if respond::send(session, answer, &ctx.request_id).await.is_err() {
            tracing::debug!(request_id = %ctx.request_id, "could not send the error response");
        }
        pingora::proxy::FailToProxy { error_code: status, can_reuse_downstream: false }
    }

    async fn logging(&self, session: &mut Session, e: Option<&pingora::Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let m = crate::metrics::metrics();
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
