//! Buckets at run time: each has its object store and live settings that the bucket APIs change
//! without a restart. Readers take the current [`Settings`] with one atomic load; a change is
//! validated, persisted to the state store, then swapped in whole, so the next request sees it
//! and no request sees half of it.

pub mod settings;
pub mod state;
pub mod xml;

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{self, Acl};
use crate::error::OssError;
use crate::storage::ObjectStore;
pub use settings::{Settings, Stored};
use state::StateStore;

pub struct Bucket {
    pub name: String,
    pub acl: Acl,
    pub store: Arc<dyn ObjectStore>,
    conf: config::Bucket,
    settings: ArcSwap<Settings>,
    /// What the APIs stored; held across validate → persist → swap so changes apply in order.
    stored: tokio::sync::Mutex<Stored>,
    state: Arc<StateStore>,
    loaded_at: u64,
}

impl Bucket {
    pub fn new(
        conf: &config::Bucket,
        store: Arc<dyn ObjectStore>,
        stored: Stored,
        state: Arc<StateStore>,
    ) -> Bucket {
        let loaded_at = unix_now();
        Bucket {
            name: conf.name.clone(),
            acl: conf.acl,
            store,
            settings: ArcSwap::from_pointee(Settings::build(conf, &stored, loaded_at)),
            conf: conf.clone(),
            stored: tokio::sync::Mutex::new(stored),
            state,
            loaded_at,
        }
    }

    /// The settings in force now.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Applies `change` to the stored sections, persists them and swaps in the new settings.
    /// Nothing changes when `change` or the write fails.
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Stored) -> Result<(), OssError>,
    ) -> Result<(), OssError> {
        let mut stored = self.stored.lock().await;
        let mut next = stored.clone();
        change(&mut next)?;
        self.state.save(&self.name, &next).await?;
        self.settings.store(Arc::new(Settings::build(&self.conf, &next, self.loaded_at)));
        *stored = next;
        Ok(())
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
