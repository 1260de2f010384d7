//! The console's "at a glance" charts: a sample of the proxy's own counters every few seconds,
//! kept for the last ten minutes, and turned into per-interval figures (requests per second,
//! hit ratio, latency percentiles from the histograms' buckets, 503s) as JSON for the page.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use prometheus::core::Collector;

use crate::metrics::metrics;

pub const EVERY: Duration = Duration::from_secs(5);
const KEPT: usize = 120;

/// A histogram's cumulative bucket counts (the last is +Inf: the sample count).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hist {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub unix_s: u64,
    pub requests: u64,
    pub unavailable: u64,
    pub hits: u64,
    pub misses: u64,
    pub latency: Hist,
    pub transform: Hist,
}

/// The samples, oldest first.
#[derive(Default)]
pub struct Stats(Mutex<VecDeque<Sample>>);

impl Stats {
    pub fn push(&self, s: Sample) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == KEPT {
            q.pop_front();
        }
        q.push_back(s);
    }

    /// The series as JSON: one point per interval between consecutive samples.
    pub fn json(&self) -> String {
        let q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let points: Vec<serde_json::Value> =
            q.iter().zip(q.iter().skip(1)).map(|(a, b)| point(a, b)).collect();
        serde_json::json!({ "interval_s": EVERY.as_secs(), "points": points }).to_string()
    }
}

fn point(a: &Sample, b: &Sample) -> serde_json::Value {
    let secs = b.unix_s.saturating_sub(a.unix_s).max(1) as f64;
    let (hits, misses) = (b.hits.saturating_sub(a.hits), b.misses.saturating_sub(a.misses));
    let ratio = (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64);
    let q = |h: (&Hist, &Hist), p: f64| quantile(h.0, h.1, p).map(|s| (s * 1e4).round() / 10.0);
    serde_json::json!({
        "t": b.unix_s,
        "rps": ((b.requests.saturating_sub(a.requests)) as f64 / secs * 100.0).round() / 100.0,
        "hit_ratio": ratio,
        "unavailable": b.unavailable.saturating_sub(a.unavailable),
        "latency_ms": [q((&a.latency, &b.latency), 0.5), q((&a.latency, &b.latency), 0.95), q((&a.latency, &b.latency), 0.99)],
        "transform_ms": [q((&a.transform, &b.transform), 0.5), q((&a.transform, &b.transform), 0.95), q((&a.transform, &b.transform), 0.99)],
    })
}

/// The `p` quantile (seconds) of what was observed between two snapshots of one histogram,
/// interpolated within its bucket as Prometheus's `histogram_quantile` does; `None` when
/// nothing was observed.
pub fn quantile(a: &Hist, b: &Hist, p: f64) -> Option<f64> {
    let delta: Vec<u64> = b
        .counts
        .iter()
        .enumerate()
        .map(|(i, c)| c.saturating_sub(a.counts.get(i).copied().unwrap_or(0)))
        .collect();
    let total = *delta.last()?;
    if total == 0 {
        return None;
    }
    let rank = p * total as f64;
    let i = delta.iter().position(|&c| c as f64 >= rank)?;
    let upper = b.bounds.get(i).copied().unwrap_or(f64::INFINITY);
    let lower = if i == 0 { 0.0 } else { b.bounds[i - 1] };
    if upper.is_infinite() {
        return Some(lower);
    }
    let below = if i == 0 { 0 } else { delta[i - 1] };
    let inside = (delta[i] - below).max(1) as f64;
    Some(lower + (upper - lower) * (rank - below as f64) / inside)
}

/// Reads the counters the charts need, now.
pub fn sample() -> Sample {
    let m = metrics();
    let (mut requests, mut unavailable) = (0, 0);
    for fam in m.requests.collect() {
        for metric in fam.get_metric() {
            let n = metric.get_counter().get_value() as u64;
            requests += n;
            if metric.get_label().iter().any(|l| l.name() == "status" && l.value() == "503") {
                unavailable += n;
            }
        }
    }
    Sample {
        unix_s: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        requests,
        unavailable,
        hits: m.cache_hits.get(),
        misses: m.cache_misses.get(),
        latency: hist("total"),
        transform: hist("transform"),
    }
}

fn hist(stage: &str) -> Hist {
    let h = metrics().stage_seconds.with_label_values(&[stage]);
    let mut out = Hist::default();
    for fam in h.collect() {
        for metric in fam.get_metric() {
            let h = metric.get_histogram();
            for b in h.get_bucket() {
                out.bounds.push(b.upper_bound());
                out.counts.push(b.cumulative_count());
            }
            out.bounds.push(f64::INFINITY);
            out.counts.push(h.get_sample_count());
        }
    }
    out
}

/// Samples every [`EVERY`] while the server runs.
pub struct Sampler(pub std::sync::Arc<Stats>);

#[async_trait]
impl BackgroundService for Sampler {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            self.0.push(sample());
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(counts: &[u64]) -> Hist {
        Hist { bounds: vec![0.01, 0.1, 1.0, f64::INFINITY], counts: counts.to_vec() }
    }

    #[test]
    fn quantiles_come_from_the_interval_only() {
        // Before: 100 fast requests. During: 10 more, all between 0.1 and 1 s.
        let (a, b) = (h(&[100, 100, 100, 100]), h(&[100, 100, 110, 110]));
        let p50 = quantile(&a, &b, 0.5).unwrap();
        assert!((p50 - 0.55).abs() < 1e-9, "{p50}");
        assert!((quantile(&a, &b, 0.99).unwrap() - 0.991).abs() < 1e-9);
        assert_eq!(quantile(&a, &a, 0.5), None, "nothing observed");
        let slow = h(&[0, 0, 0, 4]);
        assert_eq!(quantile(&h(&[0, 0, 0, 0]), &slow, 0.5), Some(1.0), "past the last bound: its lower edge");
    }

    #[test]
    fn points_are_rates_and_ratios_between_samples() {
        let s = Stats::default();
        let base = Sample { unix_s: 100, requests: 10, hits: 1, misses: 1, ..Default::default() };
        s.push(base.clone());
        s.push(Sample { unix_s: 105, requests: 60, unavailable: 3, hits: 4, misses: 2, ..base });
        let v: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        let p = &v["points"][0];
        assert_eq!(p["rps"], 10.0);
        assert_eq!(p["hit_ratio"], 0.75);
        assert_eq!(p["unavailable"], 3);
        assert!(p["latency_ms"][0].is_null());
        for i in 0..KEPT + 5 {
            s.push(Sample { unix_s: 200 + i as u64, ..Default::default() });
        }
        let v: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        assert_eq!(v["points"].as_array().unwrap().len(), KEPT - 1, "bounded");
    }
}
