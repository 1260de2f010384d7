//! Processed variants in memory: moka, bounded in bytes, with a TTL. Concurrent misses of one
//! key share a single fetch and transform (moka runs one initialiser per key; the others wait
//! for its result). Errors are never cached. Authorization happens before the cache, always.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use moka::notification::RemovalCause;

use crate::error::{Kind, OssError};
use crate::metrics::metrics;
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
/// The last validators each source was confirmed with are kept longer, for the stale window:
/// what its cached variants are served under while the origin fails.
pub struct MetaCache {
    inner: Option<Cache<String, Meta>>,
    /// Confirmed validators, each kept `revalidate_s + stale_if_error_s` after its confirmation.
    last_good: Option<Cache<String, Meta>>,
}

/// Validators found for a processed GET: fresh, or the last good ones while the origin fails
/// (with the origin's error, the answer for anything not already cached).
pub struct Found {
    pub meta: Meta,
    pub stale: Option<OssError>,
}

impl MetaCache {
    /// `ttl` zero: ask the origin on every request. `stale` zero: no stale window.
    pub fn new(ttl: Duration, stale: Duration) -> MetaCache {
        let cache = |ttl| Cache::builder().max_capacity(100_000).time_to_live(ttl).build();
        MetaCache {
            inner: (!ttl.is_zero()).then(|| cache(ttl)),
            last_good: (!stale.is_zero()).then(|| cache(ttl + stale)),
        }
    }

    pub async fn get_or_head<F>(&self, key: String, head: F) -> Result<Meta, OssError>
    where
        F: std::future::Future<Output = Result<Meta, OssError>>,
    {
        let confirm = async {
            let got = head.await;
            if let Some(l) = &self.last_good {
                match &got {
                    Ok(m) => l.insert(key.clone(), m.clone()).await,
                    // The origin's own word that the object is gone or closed ends the window.
                    Err(e) if matches!(e.kind, Kind::NotFound | Kind::Denied) => l.invalidate(&key).await,
                    Err(_) => {}
                }
            }
            got
        };
        match &self.inner {
            None => confirm.await,
            Some(c) => c.try_get_with(key.clone(), confirm).await.map_err(|e: Arc<OssError>| (*e).clone()),
        }
    }

    /// As [`MetaCache::get_or_head`], but while the origin is unreachable or failing (502, 504)
    /// the last validators confirmed within the stale window stand in, marked stale.
    pub async fn get_or_stale<F>(&self, key: String, head: F) -> Result<Found, OssError>
    where
        F: std::future::Future<Output = Result<Meta, OssError>>,
    {
        match self.get_or_head(key.clone(), head).await {
            Ok(meta) => Ok(Found { meta, stale: None }),
            Err(e) if matches!(e.kind, Kind::Upstream | Kind::UpstreamTimeout) => match &self.last_good {
                Some(l) => match l.get(&key).await {
                    Some(meta) => Ok(Found { meta, stale: Some(e) }),
                    None => Err(e),
                },
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

impl MetaCache {
    /// Forgets `key`'s validators: after imgedge itself wrote the object, the next request must
    /// see the new version at once, not after `revalidate_s`.
    pub async fn invalidate(&self, key: &str) {
        for c in [&self.inner, &self.last_good].into_iter().flatten() {
            c.invalidate(key).await;
        }
    }
}
