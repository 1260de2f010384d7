//! The shared variant tier (L2): processed variants kept in an object store every replica reads,
//! so a variant is made once for all replicas and survives restarts. Looked up on an L1 miss for
//! at most `store_wait_ms`; written behind the response; never an error to the client (a store
//! that is down or slow costs a transform, and the metrics say so).
//!
//! Keys are `<prefix><bucket>/<hash of the source key>/<hash of the variant key>`: the variant
//! key holds the source's validator and the canonical pipeline, so a replaced source or a changed
//! style never meets an old entry, and every variant of one source shares one prefix, which is
//! what purging a source lists. An entry is self-describing (a magic line and its content type
//! before the body), so any store, even a directory, can hold it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::config;
use crate::error::OssError;
use crate::metrics::metrics;
use crate::names::ObjectKey;
use crate::storage::{self, ObjectStore};
use crate::transform::Format;

/// First line of every entry; a different version of the layout is a miss, not garbage served.
const MAGIC: &[u8] = b"imgedge-variant-1\n";
/// Writes behind responses in flight at once; more are dropped (and counted): a slow store must
/// not pile up variants in memory.
const MAX_PENDING_WRITES: usize = 64;
/// Entries of one source a purge deletes at most (the listing's bound).
const MAX_PER_SOURCE: usize = 100_000;

pub struct Tier {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    ttl: Duration,
    wait: Duration,
    max_entry: u64,
    writes: Arc<Semaphore>,
}

/// A variant found in the tier.
pub struct Entry {
    pub body: Bytes,
    pub content_type: &'static str,
}

fn hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..16])
}

/// The content types a variant can have, as `'static` strings.
fn known_type(t: &[u8]) -> Option<&'static str> {
    let all = Format::ALL.iter().map(|f| f.mime()).chain(["application/json"]);
    all.into_iter().find(|m| m.as_bytes() == t)
}

impl Tier {
    /// The tier of `[cache.store]`, if configured.
    pub fn open(c: &config::Cache, timeouts: &config::OriginTimeouts) -> Result<Option<Tier>, String> {
        let Some(origin) = &c.store else { return Ok(None) };
        if let config::Origin::Dir { path } = origin {
            std::fs::create_dir_all(path).map_err(|e| format!("cache.store {}: {e}", path.display()))?;
        }
        let store = storage::open(origin, timeouts).map_err(|e| format!("cache.store: {e}"))?;
        Ok(Some(Tier::new(store, c)))
    }

    pub fn new(store: Arc<dyn ObjectStore>, c: &config::Cache) -> Tier {
        Tier {
            store,
            prefix: c.store_prefix.clone(),
            ttl: Duration::from_secs(c.store_ttl_s),
            wait: Duration::from_millis(c.store_wait_ms),
            max_entry: c.store_max_entry_bytes,
            writes: Arc::new(Semaphore::new(MAX_PENDING_WRITES)),
        }
    }

    /// Where every variant of `object` in `bucket` lives.
    pub fn source_prefix(&self, bucket: &str, object: &str) -> String {
        format!("{}{bucket}/{}/", self.prefix, hash(object))
    }

    fn key(&self, bucket: &str, object: &str, variant_key: &str) -> Option<ObjectKey> {
        ObjectKey::new(format!("{}{}", self.source_prefix(bucket, object), hash(variant_key))).ok()
    }

    /// The entry of `variant_key`, if the tier answers within `store_wait_ms` and holds a fresh
    /// one; anything else is a miss.
    pub async fn get(&self, bucket: &str, object: &str, variant_key: &str) -> Option<Entry> {
        let count = |r: &str| metrics().store_ops.with_label_values(&["get", r]).inc();
        let key = self.key(bucket, object, variant_key)?;
        // Bounded by the entry limit plus the header: a larger object is not ours.
        let max = self.max_entry + 256;
        let o = match tokio::time::timeout(self.wait, self.store.get(&key, max)).await {
            Err(_) => {
                count("timeout");
                return None;
            }
            Ok(Err(e)) if e.kind == crate::error::Kind::NotFound => {
                count("miss");
                return None;
            }
            Ok(Err(e)) => {
                tracing::debug!(code = %e.code, "variant tier read failed");
                count("error");
                return None;
            }
            Ok(Ok(o)) => o,
        };
        let age = SystemTime::now().duration_since(o.meta.mtime()).unwrap_or_default();
        if o.meta.last_modified.is_some() && age > self.ttl {
            count("stale");
            return None;
        }
        let Some(entry) = parse(o.bytes) else {
            count("error");
            return None;
        };
        count("hit");
        Some(entry)
    }

    /// Stores a variant made here, in the background: the response never waits for it.
    pub fn put_later(self: &Arc<Self>, bucket: &str, object: &str, variant_key: &str, e: Entry) {
        let count = |r: &str| metrics().store_ops.with_label_values(&["put", r]).inc();
        let Some(key) = self.key(bucket, object, variant_key) else { return };
        if e.body.len() as u64 > self.max_entry {
            return;
        }
        let Ok(permit) = self.writes.clone().try_acquire_owned() else {
            count("dropped");
            return;
        };
        let tier = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut body = Vec::with_capacity(MAGIC.len() + e.content_type.len() + 1 + e.body.len());
            body.extend_from_slice(MAGIC);
            body.extend_from_slice(e.content_type.as_bytes());
            body.push(b'\n');
            body.extend_from_slice(&e.body);
            match tier.store.put(&key, Bytes::from(body), "application/octet-stream").await {
                Ok(_) => count("ok"),
                Err(err) => {
                    tracing::debug!(code = %err.code, "variant tier write failed");
                    count("error");
                }
            }
        });
    }

    /// Deletes every entry of one source, whichever replica made it; returns how many.
    pub async fn purge(&self, bucket: &str, object: &str) -> Result<usize, OssError> {
        let listed = self.list(&self.source_prefix(bucket, object), MAX_PER_SOURCE).await?;
        let n = listed.len();
        self.delete_all(listed.into_iter().map(|l| l.key)).await?;
        Ok(n)
    }

    /// Deletes entries older than the TTL, at most `max` listed per sweep; returns how many.
    pub async fn sweep(&self, max: usize) -> Result<usize, OssError> {
        let now = SystemTime::now();
        let listed = self.list(&self.prefix, max).await?;
        let old: Vec<String> = listed
            .into_iter()
            .filter(|l| now.duration_since(l.modified).unwrap_or_default() > self.ttl)
            .map(|l| l.key)
            .collect();
        let n = old.len();
        self.delete_all(old.into_iter()).await?;
        Ok(n)
    }

    async fn list(&self, prefix: &str, max: usize) -> Result<Vec<storage::Listed>, OssError> {
        let r = self.store.list(prefix, max).await;
        metrics().store_ops.with_label_values(&["list", if r.is_ok() { "ok" } else { "error" }]).inc();
        r
    }

    async fn delete_all(&self, keys: impl Iterator<Item = String>) -> Result<(), OssError> {
        for k in keys {
            let Ok(key) = ObjectKey::new(k) else { continue };
            let r = self.store.delete(&key).await;
            metrics().store_ops.with_label_values(&["delete", if r.is_ok() { "ok" } else { "error" }]).inc();
            r?;
        }
        Ok(())
    }
}

/// The body and content type of a stored entry; `None` for anything that is not one.
fn parse(bytes: Vec<u8>) -> Option<Entry> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let content_type = known_type(&rest[..nl])?;
    let start = MAGIC.len() + nl + 1;
    Some(Entry { body: Bytes::from(bytes).slice(start..), content_type })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::dir::DirStore;

    fn tier(name: &str, ttl_s: u64) -> (Arc<Tier>, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!("imgedge-tier-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let c = config::Cache { store_ttl_s: ttl_s, ..Default::default() };
        (Arc::new(Tier::new(Arc::new(DirStore::new(&root).unwrap()), &c)), root)
    }

    async fn settle(t: &Tier) {
        // Background writes hold a permit until they end.
        let _all = t.writes.acquire_many(MAX_PENDING_WRITES as u32).await.unwrap();
    }

    fn entry(body: &'static [u8]) -> Entry {
        Entry { body: Bytes::from_static(body), content_type: "image/webp" }
    }

    #[tokio::test]
    async fn entries_round_trip_and_purge_by_source() {
        let (t, root) = tier("purge", 3600);
        assert!(t.get("demo", "a.jpg", "k1").await.is_none());
        t.put_later("demo", "a.jpg", "k1", entry(b"one"));
        t.put_later("demo", "a.jpg", "k2", entry(b"two"));
        t.put_later("demo", "b.jpg", "k1", entry(b"three"));
        settle(&t).await;
        let e = t.get("demo", "a.jpg", "k1").await.unwrap();
        assert_eq!((&e.body[..], e.content_type), (&b"one"[..], "image/webp"));
        assert_eq!(&t.get("demo", "b.jpg", "k1").await.unwrap().body[..], b"three");
        assert!(t.get("other", "a.jpg", "k1").await.is_none(), "buckets do not share entries");
        assert_eq!(t.purge("demo", "a.jpg").await.unwrap(), 2);
        assert!(t.get("demo", "a.jpg", "k1").await.is_none() && t.get("demo", "a.jpg", "k2").await.is_none());
        assert!(t.get("demo", "b.jpg", "k1").await.is_some(), "other sources stay");
        std::fs::remove_dir_all(root).ok();
    }

    #[tokio::test]
    async fn foreign_or_old_entries_are_misses_and_old_ones_are_swept() {
        let (t, root) = tier("sweep", 1);
        t.put_later("demo", "a.jpg", "k", entry(b"x"));
        settle(&t).await;
        let file = std::fs::read_dir(root.join("variants/demo")).unwrap().next().unwrap().unwrap().path();
        let file = std::fs::read_dir(file).unwrap().next().unwrap().unwrap().path();
        let good = std::fs::read(&file).unwrap();
        std::fs::write(&file, b"not an entry").unwrap();
        assert!(t.get("demo", "a.jpg", "k").await.is_none());
        let mut odd = good.clone();
        odd.splice(MAGIC.len()..MAGIC.len() + 10, b"text/html;".iter().copied());
        std::fs::write(&file, &odd).unwrap();
        assert!(t.get("demo", "a.jpg", "k").await.is_none(), "unknown content types are not served");
        std::fs::write(&file, &good).unwrap();
        assert!(t.get("demo", "a.jpg", "k").await.is_some());
        let old = SystemTime::now() - Duration::from_secs(5);
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(old).unwrap();
        assert!(t.get("demo", "a.jpg", "k").await.is_none(), "past the TTL");
        assert_eq!(t.sweep(1000).await.unwrap(), 1);
        assert!(!file.exists());
        std::fs::remove_dir_all(root).ok();
    }
}
