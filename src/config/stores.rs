//! Checks of imgedge's own stores, the state store and the variant tier: each must be writable,
//! its key prefix valid, and it must never be readable as objects of a served bucket (state and
//! cached variants of private buckets would leak, and a client could plant entries).

use super::{check_url, err, Config, ConfigError, Origin};
use crate::names::ObjectKey;

pub(super) fn validate(cfg: &Config) -> Result<(), ConfigError> {
    private_store(cfg, "state", &cfg.state.store, &cfg.state.prefix)?;
    let c = &cfg.cache;
    if let Some(store) = &c.store {
        private_store(cfg, "cache", store, &c.store_prefix)?;
        if c.store_prefix.is_empty() {
            return Err(err("cache.store_prefix", "must not be empty: the sweeper deletes under it"));
        }
        for (key, v) in [
            ("cache.store_ttl_s", c.store_ttl_s),
            ("cache.store_wait_ms", c.store_wait_ms),
            ("cache.store_max_entry_bytes", c.store_max_entry_bytes),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1"));
            }
        }
        // Both stores may be one bucket, but their keys must not meet.
        let same = match (&cfg.state.store, store) {
            (Origin::Dir { path: a }, Origin::Dir { path: b }) => a == b,
            (Origin::S3 { endpoint: e1, bucket: b1, .. }, Origin::S3 { endpoint: e2, bucket: b2, .. }) => {
                same_endpoint(e1, e2) && b1 == b2
            }
            _ => false,
        };
        let (sp, vp) = (&cfg.state.prefix, &c.store_prefix);
        if same && (sp.starts_with(vp.as_str()) || vp.starts_with(sp.as_str())) {
            return Err(err("cache.store_prefix", "overlaps state.prefix in the same store"));
        }
    }
    let h = &c.tag_header;
    if !h.is_empty() && http::HeaderName::from_bytes(h.as_bytes()).is_err() {
        return Err(err("cache.tag_header", format!("\"{h}\" is not a header name")));
    }
    Ok(())
}

fn same_endpoint(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `section.store` with keys under `prefix`: writable, and outside every bucket's origin.
fn private_store(cfg: &Config, section: &str, store: &Origin, prefix: &str) -> Result<(), ConfigError> {
    let prefix_key = if section == "state" { "state.prefix" } else { "cache.store_prefix" };
    if !prefix.is_empty() && ObjectKey::new(format!("{prefix}x.json")).is_err() {
        return Err(err(prefix_key, "must be a valid object-key prefix (e.g. \"imgedge/\")"));
    }
    let what = if section == "state" { "state" } else { "cached variants" };
    match store {
        Origin::Http { .. } => {
            Err(err(format!("{section}.store"), "an HTTP origin is read-only: use a dir or s3 store"))
        }
        Origin::Dir { path } => {
            // Not created yet is fine (the server creates it); inside a bucket is not.
            let mine = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            for (i, b) in cfg.buckets.iter().enumerate() {
                if let Origin::Dir { path: root } = &b.origin {
                    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                    if mine.starts_with(&root) || root.starts_with(&mine) {
                        return Err(err(
                            format!("{section}.store.path"),
                            format!("overlaps buckets[{i}]'s directory: {what} would be readable as objects"),
                        ));
                    }
                }
            }
            Ok(())
        }
        Origin::S3 { endpoint, bucket, .. } => {
            check_url(endpoint).map_err(|m| err(format!("{section}.store.endpoint"), m))?;
            for (i, b) in cfg.buckets.iter().enumerate() {
                if let Origin::S3 { endpoint: e, bucket: other, .. } = &b.origin {
                    if same_endpoint(e, endpoint) && other == bucket {
                        return Err(err(
                            format!("{section}.store.bucket"),
                            format!("is buckets[{i}]'s origin: {what} would be readable as objects"),
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}
