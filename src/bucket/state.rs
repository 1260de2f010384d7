//! Where the bucket APIs' changes persist: one JSON document per bucket in a state store, which
//! is any [`ObjectStore`]: by default a directory next to the configuration file, optionally an
//! S3-compatible bucket and prefix (so that several replicas can share it).

use std::sync::Arc;

use bytes::Bytes;

use super::settings::Stored;
use crate::error::OssError;
use crate::storage::{ObjectKey, ObjectStore};

/// State documents are small; a larger one is damage, not state.
const MAX_STATE_BYTES: u64 = 4 << 20;

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

    /// The stored sections of `bucket`; nothing stored yet is the empty document. A document that
    /// does not parse is an error: starting with the configuration instead would silently undo
    /// what the APIs set.
    pub async fn load(&self, bucket: &str) -> Result<Stored, String> {
        let key = self.key(bucket).map_err(|e| e.message.to_string())?;
        match self.store.get(&key, MAX_STATE_BYTES).await {
            Ok(o) => serde_json::from_slice(&o.bytes).map_err(|e| format!("state of bucket {bucket}: {e}")),
            Err(e) if e.status == 404 => Ok(Stored::default()),
            Err(e) => Err(format!("state of bucket {bucket}: {} {}", e.code, e.message)),
        }
    }

    pub async fn save(&self, bucket: &str, stored: &Stored) -> Result<(), OssError> {
        let body = serde_json::to_vec_pretty(stored).map_err(|_| OssError::internal())?;
        self.store.put(&self.key(bucket)?, Bytes::from(body), "application/json").await.map(drop)
    }
}
