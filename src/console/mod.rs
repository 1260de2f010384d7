//! The browser console: a listener of its own (off unless `[console] listen` is set) serving
//! server-rendered pages and a little JavaScript, all built into the binary. A signed-in
//! browser acts as its access key: every change goes through the same bucket-API handlers and
//! the same authorization as a signed SDK request ([`crate::dispatch::serve`]), so the console
//! can do exactly what the key may do and nothing else.
//!
//! Pages: sign-in; buckets and the metrics at a glance; a bucket's image settings, Referer
//! rules, styles, purge and tasks; the style editor with its live preview.

mod actions;
mod html;
mod pages;
pub mod session;
pub mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::app::App;
use crate::config::Config;
use crate::proxy::lifecycle;
use crate::request::{self, Query};
use session::{Session, Sessions};

/// Every page's security headers: no inline script or style, nothing from elsewhere, no
/// framing, no Referer leaving the console (`same-origin`: `no-referrer` would make browsers send
/// `Origin: null` with the console's own forms), nothing kept by caches.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct Console {
    app: Arc<App>,
    sessions: Sessions,
    pub stats: Arc<stats::Stats>,
    /// Cookies get `Secure` when the console may be reached beyond loopback (behind TLS).
    secure: bool,
    /// Where each bucket's objects are reached, for the style URLs shown ready to copy.
    bases: HashMap<String, String>,
}

impl Console {
    pub fn new(app: Arc<App>, cfg: &Config) -> Console {
        // Names, as the proxy routes them, on the proxy's port (the console cannot know what a
        // load balancer in front publishes: the README says these are examples).
        let port = match cfg.server.listen.rsplit_once(':') {
            Some((_, "80")) | None => String::new(),
            Some((_, p)) => format!(":{p}"),
        };
        let bases = cfg
            .buckets
            .iter()
            .map(|b| {
                let base = match (b.custom_domains.first(), cfg.domains.first()) {
                    (Some(d), _) => format!("http://{d}{port}"),
                    (None, Some(d)) => format!("http://{}.{d}{port}", b.name),
                    (None, None) => format!("http://{}/{}", cfg.server.listen, b.name),
                };
                (b.name.clone(), base)
            })
            .collect();
        Console {
            app,
            sessions: Sessions::new(Duration::from_secs(cfg.console.session_ttl_s)),
            stats: Arc::new(stats::Stats::default()),
            secure: cfg.console.allow_remote,
            bases,
        }
    }
}

/// One console request, read whole (forms are small: the API's body cap applies).
pub struct Visit {
    pub method: String,
    pub path: String,
    pub query: Query,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub session: Option<Session>,
}

impl Visit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref())
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn fields(&self, name: &str) -> Vec<&str> {
        self.form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// A POST made by a page of this console: no foreign `Origin` (browsers send it with every
    /// POST), nothing a browser labels cross-site.
    fn same_origin(&self) -> bool {
        let host = self.header("host").unwrap_or("");
        let origin_ok = self
            .header("origin")
            .is_none_or(|o| o == format!("http://{host}") || o == format!("https://{host}"));
        let site_ok = self.header("sec-fetch-site").is_none_or(|s| matches!(s, "same-origin" | "none"));
        origin_ok && site_ok
    }
}

/// A console response.
pub struct Page {
    pub status: u16,
    pub ctype: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Page {
    pub fn html(status: u16, body: String) -> Page {
        Page { status, ctype: "text/html; charset=utf-8", body: body.into_bytes(), headers: Vec::new() }
    }

    pub fn json(body: String) -> Page {
        Page { status: 200, ctype: "application/json", body: body.into_bytes(), headers: Vec::new() }
    }

    pub fn redirect(to: &str) -> Page {
        Page {
            status: 303,
            ctype: "text/plain",
            body: Vec::new(),
            headers: vec![("location", to.to_string())],
        }
    }

    /// A short plain-text refusal (for requests no page of ours makes).
    pub fn refuse(status: u16, why: &str) -> Page {
        Page {
            status,
            ctype: "text/plain; charset=utf-8",
            body: format!("{why}\n").into_bytes(),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: String) -> Page {
        self.headers.push((name, value));
        self
    }

    fn response(self) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder()
            .status(self.status)
            .header("content-type", self.ctype)
            .header("content-length", self.body.len())
            .header("content-security-policy", CSP)
            .header("x-content-type-options", "nosniff")
            .header("x-frame-options", "DENY")
            .header("referrer-policy", "same-origin");
        if !self.headers.iter().any(|(k, _)| *k == "cache-control") {
            b = b.header("cache-control", "no-store");
        }
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        b.body(self.body).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ServeHttp for Console {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        // Counts the request for the drain, and tells the connection loop its head has come.
        let _in_flight = lifecycle::InFlight::enter();
        let page = match self.read(session).await {
            Ok(v) => self.route(v).await,
            Err(p) => p,
        };
        page.response()
    }
}

impl Console {
    /// The request head, and its form body on POST: at most `api.max_body_bytes`, within
    /// `api.body_timeout_s`.
    async fn read(&self, s: &mut ServerSession) -> Result<Visit, Page> {
        let h = s.req_header();
        let method = h.method.as_str().to_string();
        let path = h.uri.path().to_string();
        let query = request::parse_query(h.uri.query()).map_err(|e| Page::refuse(400, &e.message))?;
        let headers: Vec<(String, String)> = h
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect();
        let mut form = Vec::new();
        if method == "POST" {
            let body = self.body(s).await?;
            form = url::form_urlencoded::parse(&body).into_owned().collect();
        }
        let cookie = headers.iter().find(|(k, _)| k == "cookie").map(|(_, v)| v.as_str());
        let session = self.sessions.find(cookie, Instant::now());
        Ok(Visit { method, path, query, headers, form, session })
    }

    async fn body(&self, s: &mut ServerSession) -> Result<Bytes, Page> {
        let max = self.app.api.max_body_bytes;
        let declared =
            s.req_header().headers.get("content-length").and_then(|v| v.to_str().ok()?.parse().ok());
        if declared.is_some_and(|n: u64| n > max) {
            return Err(Page::refuse(413, "The form is too large."));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.app.api.body_timeout_s);
        let mut out = Vec::new();
        loop {
            let chunk = tokio::time::timeout_at(deadline, s.read_request_body())
                .await
                .map_err(|_| Page::refuse(408, "The form did not arrive in time."))?
                .map_err(|_| Page::refuse(400, "The form could not be read."))?;
            let Some(chunk) = chunk else { break };
            if out.len() as u64 + chunk.len() as u64 > max {
                return Err(Page::refuse(413, "The form is too large."));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }

    async fn route(&self, v: Visit) -> Page {
        let segs: Vec<&str> = v.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let segs: Vec<String> = segs.into_iter().map(str::to_string).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (v.method.as_str(), segs.as_slice()) {
            ("GET", ["assets", name]) => return html::asset(name),
            ("GET", ["login"]) => {
                return match v.session {
                    Some(_) => Page::redirect("/"),
                    None => Page::html(200, pages::login(None)),
                }
            }
            ("POST", ["login"]) if !v.same_origin() => {
                return Page::refuse(403, "Cross-site sign-in refused.")
            }
            ("POST", ["login"]) => return self.sign_in(&v).await,
            _ => {}
        }
        let Some(s) = v.session.clone() else {
            return match v.method.as_str() {
                "GET"
                    if !segs.last().is_some_and(|l| l.ends_with(".json"))
                        && !segs.ends_with(&["preview"]) =>
                {
                    Page::redirect("/login")
                }
                _ => Page::refuse(401, "Sign in first."),
            };
        };
        if v.method == "POST" && (!v.same_origin() || !session::csrf_ok(&s, v.field("csrf"))) {
            return Page::refuse(
                403,
                "This form has expired or did not come from the console: reload the page.",
            );
        }
        match (v.method.as_str(), segs.as_slice()) {
            ("POST", ["logout"]) => {
                self.sessions.end(&s.token);
                Page::redirect("/login").with("set-cookie", session::clear_cookie())
            }
            ("GET", []) => self.overview(&s),
            ("GET", ["stats.json"]) => Page::json(self.stats.json()),
            (_, ["b", bucket, rest @ ..]) => self.bucket(&v, &s, bucket, rest).await,
            _ => Page::refuse(404, "No such page."),
        }
    }

    async fn sign_in(&self, v: &Visit) -> Page {
        let (id, secret) = (v.field("id").unwrap_or(""), v.field("secret").unwrap_or(""));
        match self.sessions.sign_in(&self.app.keys, id, secret, Instant::now()) {
            Ok(s) => Page::redirect("/").with("set-cookie", self.sessions.set_cookie(&s, self.secure)),
            Err(session::SignIn::Throttled) => {
                Page::html(429, pages::login(Some("Too many failed sign-ins: wait a minute.")))
            }
            Err(session::SignIn::Refused) => {
                // A wrong guess costs the guesser time, not the server a thread.
                tokio::time::sleep(Duration::from_millis(300)).await;
                Page::html(401, pages::login(Some("Unknown access key or wrong secret.")))
            }
        }
    }

    fn overview(&self, s: &Session) -> Page {
        let mut names: Vec<(&str, bool)> = self
            .app
            .buckets()
            .filter(|b| self.app.keys.may_read(&s.key_id, &b.name))
            .map(|b| (b.name.as_str(), self.app.keys.may_write(&s.key_id, &b.name)))
            .collect();
        names.sort();
        Page::html(200, pages::overview(s, &names))
    }
}
