//! Where the bucket APIs' changes persist: one JSON document per bucket in a state store, which
//! is any [`ObjectStore`]: by default a directory next to the configuration file, optionally an
//! S3-compatible bucket and prefix shared by several replicas. Beside the documents, the purge
//! log: one small object per purge of a source (`<prefix>purges/<ms>-<id>`), which every
//! replica reads to drop that source's variants from its memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::settings::Stored;
use crate::error::OssError;
use crate::storage::{Listed, ObjectKey, ObjectStore};

/// State documents are small; a larger one is damage, not state.
const MAX_STATE_BYTES: u64 = 4 << 20;
/// A purge record names a bucket and a key: well under this.
const MAX_PURGE_BYTES: u64 = 4096;
/// Purge records read per look; more wait for the next one.
pub const MAX_PURGES_LISTED: usize = 10_000;

/// A document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The store did not answer: try again later.
    Unreachable(String),
    /// The document is there but is not state: starting from the configuration instead would
    /// silently undo what the APIs set.
    Damaged(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreachable(m) | LoadError::Damaged(m) => f.write_str(m),
        }
    }
}

/// A loaded document and the store's validator of it (empty: no document yet).
pub struct Loaded {
    pub stored: Stored,
    pub version: String,
}

/// One purge: every variant of `key` in `bucket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    pub bucket: String,
    pub key: String,
}

pub struct StateStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl StateStore {
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> StateStore {
        StateStore { store, prefix: prefix.to_string() }
    }

    fn key(&self, bucket: &str) -> Result<ObjectKey, OssError> {
        ObjectKey::new(format!("{}{bucket}.json", self.prefix)).map_err(|_| OssError::internal())
    }

    /// The stored sections of `bucket`; nothing stored yet is the empty document.
    pub async fn load(&self, bucket: &str) -> Result<Loaded, LoadError> {
        let key = self.key(bucket).map_err(|e| LoadError::Damaged(e.message.to_string()))?;
        match self.store.get(&key, MAX_STATE_BYTES).await {
            Ok(o) => match serde_json::from_slice(&o.bytes) {
                Ok(stored) => Ok(Loaded { stored, version: o.meta.etag }),
                Err(e) => Err(LoadError::Damaged(format!("state of bucket {bucket}: {e}"))),
            },
            Err(e) if e.kind == crate::error::Kind::NotFound => {
                Ok(Loaded { stored: Stored::default(), version: String::new() })
            }
            Err(e) => {
                Err(LoadError::Unreachable(format!("state of bucket {bucket}: {} {}", e.code, e.message)))
            }
        }
    }

    /// The validator of `bucket`'s document now (empty: none), without reading it.
    pub async fn version(&self, bucket: &str) -> Result<String, OssError> {
        match self.store.head(&self.key(bucket)?).await {
            Ok(m) => Ok(m.etag),
            Err(e) if e.kind == crate::error::Kind::NotFound => Ok(String::new()),
            Err(e) => Err(e),
        }
    }

    /// Writes `bucket`'s document; returns its new validator.
    pub async fn save(&self, bucket: &str, stored: &Stored) -> Result<String, OssError> {
        let body = serde_json::to_vec_pretty(stored).map_err(|_| OssError::internal())?;
        let meta = self.store.put(&self.key(bucket)?, Bytes::from(body), "application/json").await?;
        Ok(meta.etag)
    }

    fn purge_prefix(&self) -> String {
        format!("{}purges/", self.prefix)
    }

    /// Appends a purge to the log. Names sort by time, and carry a process-unique part so two
    /// replicas purging in the same millisecond never overwrite each other.
    pub async fn log_purge(&self, p: &Purge) -> Result<(), OssError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let id = format!("{:x}-{:x}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let key = ObjectKey::new(format!("{}{ms:013}-{id}-{:08x}", self.purge_prefix(), rand32()))
            .map_err(|_| OssError::internal())?;
        let body = serde_json::to_vec(p).map_err(|_| OssError::internal())?;
        self.store.put(&key, Bytes::from(body), "application/json").await.map(drop)
    }

    /// The purge log, oldest first.
    pub async fn purges(&self) -> Result<Vec<Listed>, OssError> {
        self.store.list(&self.purge_prefix(), MAX_PURGES_LISTED).await
    }

    /// What one record of the log purges; `None` for a record that is not one (skipped).
    pub async fn read_purge(&self, key: &str) -> Result<Option<Purge>, OssError> {
        let Ok(k) = ObjectKey::new(key) else { return Ok(None) };
        match self.store.get(&k, MAX_PURGE_BYTES).await {
            Ok(o) => Ok(serde_json::from_slice(&o.bytes).ok()),
            Err(e) if e.kind == crate::error::Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a record old enough that no replica's memory can hold what it purged.
    pub async fn drop_purge(&self, key: &str) -> Result<(), OssError> {
        match ObjectKey::new(key) {
            Ok(k) => self.store.delete(&k).await,
            Err(_) => Ok(()),
        }
    }
}

/// 32 bits that differ between processes started in the same instant (not for secrets).
fn rand32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::dir::DirStore;

    #[tokio::test]
    async fn documents_have_versions_and_purges_form_a_log() {
        let root = std::env::temp_dir().join(format!("imgedge-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let s = StateStore::new(Arc::new(DirStore::new(&root).unwrap()), "st/");
        let empty = s.load("demo").await.unwrap();
        assert_eq!((empty.stored, empty.version.as_str()), (Stored::default(), ""));
        assert_eq!(s.version("demo").await.unwrap(), "");
        let v1 = s.save("demo", &Stored::default()).await.unwrap();
        assert_eq!(s.version("demo").await.unwrap(), v1);
        assert_eq!(s.load("demo").await.unwrap().version, v1);
        let v2 =
            s.save("demo", &Stored { styles: Some(Default::default()), ..Default::default() }).await.unwrap();
        assert_ne!(v1, v2, "every write is a new version");
        std::fs::write(root.join("st/demo.json"), b"{ not json").unwrap();
        assert!(matches!(s.load("demo").await, Err(LoadError::Damaged(_))));

        let (a, b) = (
            Purge { bucket: "demo".into(), key: "a.jpg".into() },
            Purge { bucket: "demo".into(), key: "b c.jpg".into() },
        );
        s.log_purge(&a).await.unwrap();
        s.log_purge(&b).await.unwrap();
        let log = s.purges().await.unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(s.read_purge(&log[0].key).await.unwrap(), Some(a));
        assert_eq!(s.read_purge(&log[1].key).await.unwrap(), Some(b));
        s.drop_purge(&log[0].key).await.unwrap();
        assert_eq!(s.purges().await.unwrap().len(), 1);
        assert_eq!(s.read_purge(&log[0].key).await.unwrap(), None);
        std::fs::remove_dir_all(root).ok();
    }
}
