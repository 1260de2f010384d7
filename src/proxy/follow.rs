//! Following the shared state: every `state.poll_s` a replica asks the state store for each
//! bucket's document validator (one HEAD; the document itself only when it changed) and lists
//! the purge log, then applies what other replicas changed: new settings are swapped in, purged
//! sources lose their variants and validators from memory. A change made through any replica is
//! thus in force everywhere within one poll interval plus one round trip. The same loop retries
//! buckets whose state could not be loaded at start, drops purge records older than any memory
//! can hold, and sweeps the variant tier.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::app::App;
use crate::metrics::metrics;

/// How often a bucket whose state was never loaded is retried when polling is off.
const RETRY: Duration = Duration::from_secs(2);
/// Tier entries a sweep lists at most (the rest wait for the next sweep).
const SWEEP_LISTED: usize = 100_000;

pub struct Follower(pub Arc<App>);

#[async_trait]
impl BackgroundService for Follower {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let app = &self.0;
        // Records already there predate this process: its memory holds nothing they purge.
        let mut seen: HashSet<String> = match app.state.purges().await {
            Ok(l) => l.into_iter().map(|p| p.key).collect(),
            Err(_) => HashSet::new(),
        };
        let mut last_sweep = Instant::now();
        let tick = app.poll.unwrap_or(RETRY);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            if app.poll.is_some() || app.buckets().any(|b| !b.is_loaded()) {
                follow_settings(app).await;
            }
            if app.poll.is_some() {
                follow_purges(app, &mut seen).await;
            }
            if let (Some(every), Some(tier)) = (app.sweep, &app.tier) {
                if last_sweep.elapsed() >= every {
                    last_sweep = Instant::now();
                    match tier.sweep(SWEEP_LISTED).await {
                        Ok(n) => tracing::debug!(deleted = n, "variant tier swept"),
                        Err(e) => tracing::warn!(code = %e.code, "variant tier sweep failed"),
                    }
                }
            }
        }
    }
}

/// Loads every bucket's document whose validator changed (or that was never loaded).
async fn follow_settings(app: &App) {
    let m = metrics();
    let mut all_loaded = true;
    for b in app.buckets() {
        let current = b.version().await;
        let changed = match app.state.version(&b.name).await {
            Ok(v) => v != current || !b.is_loaded(),
            Err(e) => {
                tracing::debug!(bucket = %b.name, code = %e.code, "state store unreachable");
                m.state_polls.with_label_values(&["error"]).inc();
                all_loaded &= b.is_loaded();
                continue;
            }
        };
        if !changed {
            m.state_polls.with_label_values(&["unchanged"]).inc();
            continue;
        }
        match app.state.load(&b.name).await {
            Ok(loaded) => {
                b.apply(loaded).await;
                m.state_polls.with_label_values(&["applied"]).inc();
                tracing::info!(bucket = %b.name, "bucket settings reloaded from the state store");
            }
            Err(e) => {
                // A damaged document keeps the settings in force: never fall back to the file.
                tracing::warn!(bucket = %b.name, error = %e, "state not applied");
                m.state_polls.with_label_values(&["error"]).inc();
            }
        }
        all_loaded &= b.is_loaded();
    }
    m.state_loaded.set(i64::from(all_loaded));
}

/// Applies purge records not seen yet; drops records past their retention.
async fn follow_purges(app: &App, seen: &mut HashSet<String>) {
    let m = metrics();
    let Ok(log) = app.state.purges().await else {
        m.state_polls.with_label_values(&["error"]).inc();
        return;
    };
    let now = SystemTime::now();
    let mut listed = HashSet::with_capacity(log.len());
    for rec in log {
        listed.insert(rec.key.clone());
        if now.duration_since(rec.modified).unwrap_or_default() > app.purge_retention {
            let _ = app.state.drop_purge(&rec.key).await;
            continue;
        }
        if seen.contains(&rec.key) {
            continue;
        }
        match app.state.read_purge(&rec.key).await {
            Ok(Some(p)) => {
                app.forget_source(&p.bucket, &p.key).await;
                m.state_polls.with_label_values(&["purge"]).inc();
            }
            Ok(None) => {}
            // Not marked seen: read again next time.
            Err(_) => continue,
        }
        seen.insert(rec.key);
    }
    // Forget records that are gone, so the set stays as small as the log.
    seen.retain(|k| listed.contains(k));
}
