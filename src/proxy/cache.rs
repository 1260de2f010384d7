//! Processed variants in memory: moka, bounded in bytes, with a TTL. Concurrent misses of one
//! key share a single fetch and transform (moka runs one initialiser per key; the others wait
//! for its result). Errors are never cached. Authorization happens before the cache, always.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use moka::notification::RemovalCause;

use super::metrics::metrics;
use crate::error::OssError;
use crate::storage::Meta;

/// A processed response body.
#[derive(Debug)]
pub struct Variant {
    pub body: bytes::Bytes,
    pub content_type: &'static str,
    pub etag: String,
    /// Read from the shared variant tier, not made here.
    pub from_store: bool,
}

pub struct VariantCache {
    inner: Option<Cache<String, Arc<Variant>>>,
}

impl VariantCache {
    /// `capacity_bytes` 0 disables caching (every request computes).
    pub fn new(capacity_bytes: u64, ttl: Duration) -> VariantCache {
        if capacity_bytes == 0 {
            return VariantCache { inner: None };
        }
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|k: &String, v: &Arc<Variant>| {
                (k.len() + v.body.len() + v.etag.len() + 64).min(u32::MAX as usize) as u32
            })
            .time_to_live(ttl)
            .support_invalidation_closures()
            .eviction_listener(|k: Arc<String>, v: Arc<Variant>, cause| {
                metrics().cache_bytes.sub((k.len() + v.body.len()) as i64);
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    metrics().cache_evictions.inc();
                }
            })
            .build();
        VariantCache { inner: Some(cache) }
    }

    /// The variant for `key`, computing it with `make` on a miss (once for concurrent misses).
    /// Returns whether it was a hit.
    pub async fn get_or_make<F>(&self, key: String, make: F) -> Result<(Arc<Variant>, bool), OssError>
    where
        F: std::future::Future<Output = Result<Variant, OssError>>,
    {
        let Some(cache) = &self.inner else {
            metrics().cache_misses.inc();
            return make.await.map(|v| (Arc::new(v), false));
        };
        let klen = key.len();
        let entry = cache
            .entry(key)
            .or_try_insert_with(async {
                let v = make.await?;
                metrics().cache_bytes.add((klen + v.body.len()) as i64);
                Ok::<_, OssError>(Arc::new(v))
            })
            .await
            .map_err(|e: Arc<OssError>| (*e).clone())?;
        let hit = !entry.is_fresh();
        if hit {
            metrics().cache_hits.inc();
        } else {
            metrics().cache_misses.inc();
        }
        Ok((entry.into_value(), hit))
    }
}

impl VariantCache {
    /// Drops every variant whose key starts with `prefix` (all variants of one source: keys
    /// begin with its bucket and key). Lazy in moka: gone for readers at once, freed soon after.
    pub fn invalidate_prefix(&self, prefix: String) {
        if let Some(c) = &self.inner {
            if let Err(e) = c.invalidate_entries_if(move |k, _| k.starts_with(&prefix)) {
                tracing::warn!(error = %e, "variant invalidation failed");
            }
        }
    }
}

/// Validators of remote sources (from a HEAD), trusted for a while so that a cache hit costs no
/// origin round trip; concurrent lookups of one key share one HEAD. Errors are not kept.
pub struct MetaCache {
    inner: Option<Cache<String, Meta>>,
}

impl MetaCache {
    /// `ttl` zero: ask the origin on every request.
    pub fn new(ttl: Duration) -> MetaCache {
        if ttl.is_zero() {
            return MetaCache { inner: None };
        }
        MetaCache { inner: Some(Cache::builder().max_capacity(100_000).time_to_live(ttl).build()) }
    }

    pub async fn get_or_head<F>(&self, key: String, head: F) -> Result<Meta, OssError>
    where
        F: std::future::Future<Output = Result<Meta, OssError>>,
    {
        match &self.inner {
            None => head.await,
            Some(c) => c.try_get_with(key, head).await.map_err(|e: Arc<OssError>| (*e).clone()),
        }
    }
}

impl MetaCache {
    /// Forgets `key`'s validators: after imgedge itself wrote the object, the next request must
    /// see the new version at once, not after `revalidate_s`.
    pub async fn invalidate(&self, key: &str) {
        if let Some(c) = &self.inner {
            c.invalidate(key).await;
        }
    }
}
