//! Buckets at run time: each has its object store and live settings that the bucket APIs change
//! without a restart. Readers take the current [`Settings`] with one atomic load; a change is
//! validated, persisted to the state store, then swapped in whole, so the next request sees it
//! and no request sees half of it. Changes other replicas made arrive through [`Bucket::apply`]
//! (the state poller); a bucket whose state could not be loaded yet serves nothing.

pub mod settings;
pub mod state;
pub mod xml;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{self, Acl};
use crate::error::OssError;
use crate::storage::ObjectStore;
pub use settings::{Settings, Stored};
use state::{Loaded, StateStore};

pub struct Bucket {
    pub name: String,
    pub acl: Acl,
    pub store: Arc<dyn ObjectStore>,
    conf: config::Bucket,
    settings: ArcSwap<Settings>,
    /// What the APIs stored and the state store's validator of it; held across validate →
    /// persist → swap so changes apply in order.
    stored: tokio::sync::Mutex<Loaded>,
    state: Arc<StateStore>,
    loaded_at: u64,
    /// False until the state document has been read once.
    loaded: AtomicBool,
}

impl Bucket {
    /// `loaded` is `None` when the state store could not be read: the bucket then waits for
    /// [`Bucket::apply`] before serving.
    pub fn new(
        conf: &config::Bucket,
        store: Arc<dyn ObjectStore>,
        loaded: Option<Loaded>,
        state: Arc<StateStore>,
    ) -> Bucket {
        let loaded_at = unix_now();
        let ready = loaded.is_some();
        let loaded = loaded.unwrap_or(Loaded { stored: Stored::default(), version: String::new() });
        Bucket {
            name: conf.name.clone(),
            acl: conf.acl,
            store,
            settings: ArcSwap::from_pointee(Settings::build(conf, &loaded.stored, loaded_at)),
            conf: conf.clone(),
            stored: tokio::sync::Mutex::new(loaded),
            state,
            loaded_at,
            loaded: AtomicBool::new(ready),
        }
    }

    /// `auto_format` of the bucket's configuration (src/handlers/accept.rs).
    pub fn auto_format(&self) -> bool {
        self.conf.auto_format
    }

    /// `client_hints` of the bucket's configuration (src/handlers/hints.rs).
    pub fn client_hints(&self) -> bool {
        self.conf.client_hints
    }

    /// Whether processed answers keep the source's colour profile (`color_profile = "keep"`)
    /// instead of converting to sRGB.
    pub fn keep_profile(&self) -> bool {
        self.conf.color_profile == Some(crate::config::ColorProfile::Keep)
    }

    /// The bucket's quality policy on a parsed pipeline: its perceptual target, and
    /// `quality,auto` for pipelines that name no quality when `auto_quality` is on.
    pub fn quality_policy(&self, p: &mut crate::transform::Pipeline) {
        p.quality_target = self.conf.quality_target.unwrap_or(crate::transform::codec::autoq::DEFAULT_TARGET);
        if self.conf.auto_quality && p.quality.is_none() {
            p.quality = Some(crate::transform::ops::quality::Quality::Auto);
        }
    }

    /// Whether the bucket's state has been loaded (until then it answers 503).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The state store's validator of the document in force (empty: none).
    pub async fn version(&self) -> String {
        self.stored.lock().await.version.clone()
    }

    /// Puts a document read from the state store in force (a change another replica made, or
    /// the first load after the store was unreachable).
    pub async fn apply(&self, loaded: Loaded) {
        let mut stored = self.stored.lock().await;
        if stored.stored != loaded.stored || !self.is_loaded() {
            self.settings.store(Arc::new(Settings::build(&self.conf, &loaded.stored, self.loaded_at)));
        }
        *stored = loaded;
        self.loaded.store(true, Ordering::Release);
    }

    /// The settings in force now.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Applies `change` to the stored sections, persists them and swaps in the new settings.
    /// Nothing changes when `change` or the write fails. The change applies to the document as
    /// the store holds it now, not as this replica last saw it, so a change another replica made
    /// meanwhile is kept (only changes within one round trip of each other can race: the last
    /// write wins, see docs/decisions.md).
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Stored) -> Result<(), OssError>,
    ) -> Result<(), OssError> {
        let mut stored = self.stored.lock().await;
        let latest = self.state.load(&self.name).await.map_err(|e| {
            tracing::warn!(bucket = %self.name, error = %e, "state could not be read before a change");
            OssError::unavailable("The bucket's settings cannot be read now.")
        })?;
        let mut next = latest.stored;
        change(&mut next)?;
        let version = self.state.save(&self.name, &next).await?;
        self.settings.store(Arc::new(Settings::build(&self.conf, &next, self.loaded_at)));
        *stored = Loaded { stored: next, version };
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
