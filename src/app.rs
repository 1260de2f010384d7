//! The proxy application's shared state, built once from the configuration: buckets (stores and
//! live settings, loaded from the state store), access keys, the worker pool, the variant cache
//! and its shared tier, the validator cache, the asynchronous task table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::access::policy::Keys;
use crate::bucket::state::{LoadError, StateStore};
use crate::bucket::Bucket;
use crate::config::{self, Config};
use crate::engine::cache::{MetaCache, VariantCache};
use crate::engine::tasks::Tasks;
use crate::engine::tier::Tier;
use crate::engine::workers::Workers;
use crate::error::OssError;
use crate::route::HostMap;
use crate::storage::{self, dir::DirStore};
use crate::transform::video::ffmpeg::Grabber;
use crate::transform::Limits;

/// Searched qualities remembered (a key and a byte each: a few MiB at most).
const QUALITY_MEMO: u64 = 65_536;

pub struct App {
    pub keys: Keys,
    pub limits: Limits,
    /// Longest a transform may run.
    pub process_timeout: Duration,
    /// How `video/snapshot` runs ffmpeg.
    pub video: Grabber,
    pub api: config::Api,
    hosts: HostMap,
    /// Requests whose Host names no bucket go here (so `127.0.0.1:8080` works out of the box).
    default_bucket: String,
    buckets: HashMap<String, Arc<Bucket>>,
    pub workers: Workers,
    pub cache: VariantCache,
    /// The shared variant tier (L2), when `[cache.store]` names one.
    pub tier: Option<Arc<Tier>>,
    /// Header carrying each processed response's cache tag; empty: none.
    pub tag_header: &'static str,
    pub state: Arc<StateStore>,
    /// Between looks at the shared state; `None`: never.
    pub poll: Option<Duration>,
    /// How long purge records are kept: as long as a variant can live in memory.
    pub purge_retention: Duration,
    pub sweep: Option<Duration>,
    /// Validators of sources (remote HEADs, directory stats), trusted for `origin.revalidate_s`.
    pub metas: MetaCache,
    pub tasks: Tasks,
    /// `quality,auto`: the quality each searched variant key settled on. Entries are a few
    /// bytes and outlive the variants (an evicted or purged variant is re-encoded, not searched).
    pub quality_memo: moka::future::Cache<String, u8>,
    pub cache_control: String,
    pub host_id: String,
}

impl App {
    /// Opens every bucket's store and the state store, and loads what the APIs stored. Runs
    /// before the server starts, on a runtime of its own.
    pub fn new(cfg: &Config) -> Result<App, String> {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let state = Arc::new(open_state(&cfg.state, &cfg.origin)?);
        let tier = Tier::open(&cfg.cache, &cfg.origin)?.map(Arc::new);
        // Again now that the stores' folders exist: what they resolve to is no longer a guess.
        cfg.check_stores().map_err(|e| e.to_string())?;
        let mut buckets = HashMap::new();
        let mut custom = Vec::new();
        for b in &cfg.buckets {
            let b =
                &config::Bucket { color_profile: b.color_profile.or(Some(cfg.color_profile)), ..b.clone() };
            let store =
                storage::open(&b.origin, &cfg.origin).map_err(|e| format!("bucket {}: {e}", b.name))?;
            // An unreachable store is waited for (the bucket answers 503 and readiness stays
            // false until the poller loads it); a damaged document stops the start.
            let loaded = match rt.block_on(state.load(&b.name)) {
                Ok(l) => Some(l),
                Err(LoadError::Unreachable(m)) => {
                    tracing::warn!(bucket = %b.name, error = %m, "state store unreachable: waiting for it");
                    None
                }
                Err(LoadError::Damaged(m)) => return Err(m),
            };
            custom.extend(b.custom_domains.iter().map(|d| (d.clone(), b.name.clone())));
            buckets.insert(b.name.clone(), Arc::new(Bucket::new(b, store, loaded, state.clone())));
        }
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Ok(App {
            keys: Keys::new(&cfg.access_keys, &cfg.signing),
            limits: cfg.limits.to_limits(),
            api: cfg.api.clone(),
            hosts: HostMap::new(&cfg.domains, &custom),
            default_bucket: cfg.buckets.first().map(|b| b.name.clone()).unwrap_or_default(),
            buckets,
            workers: Workers::new(
                cfg.server.transform_workers,
                cfg.server.queue,
                Duration::from_millis(cfg.server.queue_wait_ms),
                cfg.limits.memory_budget_bytes,
                cfg.api.async_workers,
            ),
            process_timeout: Duration::from_millis(cfg.limits.process_timeout_ms),
            video: grabber(cfg),
            cache: VariantCache::new(cfg.cache.capacity_bytes, Duration::from_secs(cfg.cache.ttl_s)),
            tier,
            // Answers name headers with static strings; one small string per process.
            tag_header: Box::leak(cfg.cache.tag_header.clone().into_boxed_str()),
            state,
            poll: secs(cfg.state.poll_s),
            purge_retention: Duration::from_secs(cfg.cache.ttl_s + cfg.origin.revalidate_s + 60),
            sweep: cfg.cache.store.as_ref().and(secs(cfg.cache.store_sweep_s)),
            metas: MetaCache::new(
                Duration::from_secs(cfg.origin.revalidate_s),
                Duration::from_secs(cfg.origin.stale_if_error_s),
            ),
            tasks: Tasks::new(cfg.api.async_queue, cfg.api.async_kept),
            quality_memo: moka::future::Cache::new(QUALITY_MEMO),
            cache_control: cfg.cache.cache_control.clone(),
            host_id: cfg.server.host_id.clone(),
        })
    }

    /// Drops this replica's memory of one source: its variants and its validators.
    pub async fn forget_source(&self, bucket: &str, key: &str) {
        self.cache.invalidate_prefix(crate::engine::keys::source_prefix(bucket, key));
        self.metas.invalidate(&crate::engine::keys::meta_key(bucket, key)).await;
    }

    pub fn bucket(&self, name: &str) -> Option<&Arc<Bucket>> {
        self.buckets.get(name)
    }

    pub fn buckets(&self) -> impl Iterator<Item = &Arc<Bucket>> {
        self.buckets.values()
    }

    /// Whether a load balancer should send requests here: every bucket's state is loaded and
    /// no shutdown has begun.
    pub fn ready(&self) -> bool {
        !crate::proxy::lifecycle::draining() && self.buckets.values().all(|b| b.is_loaded())
    }

    /// The bucket and the object path. Virtual-host style (`<bucket>.<domain>`, custom domains)
    /// first; for an IP-address Host, path style (`/<bucket>/<key>`) as the OSS SDKs send it to IP
    /// endpoints; otherwise the default bucket.
    pub fn bucket_and_path<'p>(
        &self,
        host: &str,
        path: &'p str,
    ) -> Result<(&Arc<Bucket>, &'p str), OssError> {
        if let Some(name) = self.hosts.bucket_for(host) {
            return self.buckets.get(name.as_ref()).map(|b| (b, path)).ok_or_else(OssError::no_such_bucket);
        }
        let bare =
            host.rsplit_once(':').map_or(host, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok() {
            let rest = path.strip_prefix('/').unwrap_or(path);
            let (first, tail) = rest.split_once('/').map_or((rest, ""), |(f, t)| (f, t));
            if let Some(b) = self.buckets.get(first) {
                let key_path = &path[1 + first.len()..];
                let key_path = if tail.is_empty() && key_path.is_empty() { "/" } else { key_path };
                return Ok((b, key_path));
            }
        }
        self.buckets.get(&self.default_bucket).map(|b| (b, path)).ok_or_else(OssError::no_such_bucket)
    }
}

/// The state store of the configuration; a directory is created on first use.
fn open_state(st: &config::State, timeouts: &config::OriginTimeouts) -> Result<StateStore, String> {
    let store: Arc<dyn storage::ObjectStore> = match &st.store {
        config::Origin::Dir { path } => {
            std::fs::create_dir_all(path).map_err(|e| format!("state directory {}: {e}", path.display()))?;
            Arc::new(DirStore::new(path).map_err(|e| format!("state directory {}: {e}", path.display()))?)
        }
        other => storage::open(other, timeouts).map_err(|e| format!("state store: {e}"))?,
    };
    Ok(StateStore::new(store, &st.prefix))
}

/// ffmpeg as configured; remote videos reach it through a relay, whose reads wait at most the
/// origin's first-byte timeout.
fn grabber(cfg: &Config) -> Grabber {
    Grabber {
        program: cfg.video.ffmpeg.clone(),
        memory_bytes: cfg.video.memory_bytes,
        max_pixels: cfg.video.max_pixels,
        io_timeout: Duration::from_millis(cfg.origin.first_byte_ms),
    }
}
