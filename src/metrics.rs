//! Every Prometheus metric of the proxy, registered once in its own registry and served on the
//! metrics listener. Labels are bounded (outcome, status class, stage), never keys or URLs.

use std::sync::OnceLock;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

pub struct Metrics {
    pub registry: Registry,
    /// Requests by outcome (what was served, or whose fault the error was: see
    /// `error::Kind::answer`) and status.
    pub requests: IntCounterVec,
    /// Seconds per stage: origin, decode+transform+encode ("transform"), total.
    pub stage_seconds: HistogramVec,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    pub cache_bytes: IntGauge,
    pub cache_evictions: IntCounter,
    pub queue_depth: IntGauge,
    pub workers_busy: IntGauge,
    pub origin_fetches: IntCounter,
    pub transforms: IntCounter,
    /// Transforms stopped early, by reason: deadline, cancelled (nobody waits any more).
    pub transforms_stopped: IntCounterVec,
    /// Connections the server closed on its own, by reason: header_timeout.
    pub connections_closed: IntCounterVec,
    /// Objects written by saveas and asynchronous tasks.
    pub objects_written: IntCounter,
    pub async_tasks: IntGauge,
    /// Variant-tier (L2) operations by op (get, put, delete, list) and result (hit, miss,
    /// stale, ok, error, timeout, dropped).
    pub store_ops: IntCounterVec,
    /// Looks at the shared state by what they found: unchanged, applied, purge, error.
    pub state_polls: IntCounterVec,
    /// Whether every bucket's state has been loaded (readiness needs it).
    pub state_loaded: IntGauge,
    /// Variants served while their origin failed, within `origin.stale_if_error_s`.
    pub stale_served: IntCounter,
    /// `quality,auto` searches run (a remembered quality is not a search).
    pub quality_searches: IntCounter,
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new_custom(Some("imgedge".into()), None).expect("static prefix");
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Requests by outcome and status"),
            &["outcome", "status"],
        )
        .expect("static metric");
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new("stage_seconds", "Time spent per stage").buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["stage"],
        )
        .expect("static metric");
        let transforms_stopped = IntCounterVec::new(
            Opts::new("transforms_stopped_total", "Transforms stopped before they ended, by reason"),
            &["reason"],
        )
        .expect("static metric");
        let connections_closed = IntCounterVec::new(
            Opts::new("connections_closed_total", "Connections closed by the server, by reason"),
            &["reason"],
        )
        .expect("static metric");
        let store_ops = IntCounterVec::new(
            Opts::new("store_ops_total", "Variant-tier operations by op and result"),
            &["op", "result"],
        )
        .expect("static metric");
        let state_polls = IntCounterVec::new(
            Opts::new("state_polls_total", "Looks at the shared state by what they found"),
            &["result"],
        )
        .expect("static metric");
        let counter = |n: &str, h: &str| IntCounter::new(n, h).expect("static metric");
        let gauge = |n: &str, h: &str| IntGauge::new(n, h).expect("static metric");
        let m = Metrics {
            requests,
            stage_seconds,
            transforms_stopped,
            connections_closed,
            cache_hits: counter("cache_hits_total", "Processed variants served from the cache"),
            cache_misses: counter("cache_misses_total", "Processed variants that had to be made"),
            cache_bytes: gauge("cache_bytes", "Bytes of variants in the cache"),
            cache_evictions: counter("cache_evictions_total", "Variants evicted for size or age"),
            queue_depth: gauge("transform_queue_depth", "Transforms waiting for a worker"),
            workers_busy: gauge("transform_workers_busy", "Transform workers running"),
            origin_fetches: counter("origin_fetches_total", "Source objects fetched for processing"),
            transforms: counter("transforms_total", "Transforms executed"),
            objects_written: counter("objects_written_total", "Objects written by saveas and async tasks"),
            async_tasks: gauge("async_tasks", "Asynchronous tasks queued or running"),
            store_ops,
            state_polls,
            state_loaded: gauge("state_loaded", "1 once every bucket's state is loaded"),
            stale_served: counter("stale_served_total", "Variants served stale while their origin failed"),
            quality_searches: counter("quality_searches_total", "quality,auto searches run"),
            registry,
        };
        let r = &m.registry;
        for c in [
            &m.cache_hits,
            &m.cache_misses,
            &m.cache_evictions,
            &m.origin_fetches,
            &m.transforms,
            &m.objects_written,
            &m.stale_served,
            &m.quality_searches,
        ] {
            r.register(Box::new(c.clone())).expect("unique metric");
        }
        for g in [&m.cache_bytes, &m.queue_depth, &m.workers_busy, &m.async_tasks, &m.state_loaded] {
            r.register(Box::new(g.clone())).expect("unique metric");
        }
        r.register(Box::new(m.requests.clone())).expect("unique metric");
        r.register(Box::new(m.transforms_stopped.clone())).expect("unique metric");
        r.register(Box::new(m.connections_closed.clone())).expect("unique metric");
        r.register(Box::new(m.stage_seconds.clone())).expect("unique metric");
        r.register(Box::new(m.store_ops.clone())).expect("unique metric");
        r.register(Box::new(m.state_polls.clone())).expect("unique metric");
        m
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::new)
}
