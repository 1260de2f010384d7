//! Building the pingora server from our configuration: pingora's own `ServerConf` is derived
//! from the TOML (one file for everything), plus the proxy service and the metrics service.

use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use pingora::services::listening::Service;

use std::sync::Arc;
use std::time::Duration;

use pingora::services::background::background_service;

use super::follow::Follower;
use super::lifecycle::{self, Bounded};
use super::Proxy;
use crate::app::App;
use crate::config::Config;
use crate::metrics::metrics;

/// The metrics listener: `/metrics` from our registry, and the load balancer's probes,
/// `/healthz` (the process serves) and `/readyz` (send it requests: every bucket's state is
/// loaded and no shutdown has begun; 503 otherwise).
pub struct MetricsApp(Arc<App>);

#[async_trait::async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let (status, ctype, body) = match session.req_header().uri.path() {
            "/healthz" => (200, "text/plain", b"ok\n".to_vec()),
            "/readyz" if self.0.ready() => (200, "text/plain", b"ready\n".to_vec()),
            "/readyz" => (503, "text/plain", b"not ready\n".to_vec()),
            _ => (200, "text/plain; version=0.0.4", metrics().render()),
        };
        http::Response::builder()
            .status(status)
            .header("content-type", ctype)
            .header("content-length", body.len())
            .body(body)
            .unwrap_or_default()
    }
}

fn server_conf(cfg: &Config) -> ServerConf {
    ServerConf {
        threads: cfg.server.threads,
        // SIGTERM's grace (serving on) is ours (`lifecycle::Signals`); what pingora calls its
        // grace period is the time in-flight requests get once the listeners are closed, and
        // `lifecycle::exit_when_drained` cuts it short. Its runtime timeout only waits for
        // blocking threads, which nothing needs by then.
        grace_period_seconds: Some(cfg.server.graceful_shutdown_timeout_s),
        graceful_shutdown_timeout_seconds: Some(1),
        // Transform workers run on tokio's blocking pool: allow it a little more than them.
        max_blocking_threads: Some(cfg.server.transform_workers.max(64) + 16),
        upgrade_sock: cfg.server.upgrade_sock.clone(),
        ..ServerConf::default()
    }
}

/// The pingora server with every service attached, ready for `run_forever`. With `upgrade`,
/// the listeners come from the running instance (pingora's graceful upgrade: start the new
/// process with `--upgrade`, then send SIGQUIT to the old one, which hands over its sockets and
/// drains).
pub fn build(cfg: &Config, upgrade: bool) -> Result<Server, String> {
    let app = Arc::new(App::new(cfg)?);
    metrics().state_loaded.set(i64::from(app.buckets().all(|b| b.is_loaded())));
    let follower = background_service("state follower", Follower(app.clone()));
    let metrics_app = MetricsApp(app.clone());
    let proxy_app = app.clone();
    let app = Proxy(app);
    let opt = Opt { upgrade, ..Opt::default() };
    let mut server = Server::new_with_opt_and_conf(opt, server_conf(cfg));
    server.bootstrap();
    let bounded = Bounded {
        inner: Arc::new(pingora::proxy::http_proxy(&server.configuration, app)),
        keepalive_s: cfg.server.keepalive_timeout_s,
        header: Duration::from_secs(cfg.server.header_timeout_s),
    };
    let mut proxy = Service::new("imgedge proxy".to_string(), bounded);
    proxy.add_tcp(&cfg.server.listen);
    server.add_service(proxy);
    server.add_service(follower);
    if !cfg.console.listen.is_empty() {
        let console = crate::console::Console::new(proxy_app.clone(), cfg);
        let sampler =
            background_service("console sampler", crate::console::stats::Sampler(console.stats.clone()));
        // The same connection loop as the proxy: each request head has its deadline.
        let bounded = Bounded {
            inner: Arc::new(console),
            keepalive_s: cfg.server.keepalive_timeout_s,
            header: Duration::from_secs(cfg.server.header_timeout_s),
        };
        let mut c = Service::new("console".to_string(), bounded);
        c.add_tcp(&cfg.console.listen);
        server.add_service(c);
        server.add_service(sampler);
    }
    if !cfg.server.metrics_listen.is_empty() {
        let mut m = Service::new("metrics".to_string(), metrics_app);
        m.add_tcp(&cfg.server.metrics_listen);
        server.add_service(m);
    }
    Ok(server)
}

/// Runs the server until it has shut down (see `lifecycle` for what the signals do).
pub fn run(server: Server, cfg: &Config) -> ! {
    lifecycle::exit_when_drained(server.watch_execution_phase());
    let signals = lifecycle::Signals { grace: Duration::from_secs(cfg.server.grace_period_s) };
    server.run(RunArgs { shutdown_signal: Box::new(signals) });
    std::process::exit(0)
}
