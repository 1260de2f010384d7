//! Checks of imgedge's own stores, the state store and the variant tier: each must be writable,
//! its key prefix valid, and it must never be readable as objects of a served bucket (state and
//! cached variants of private buckets would leak, and a client could plant entries).

use super::{check_url, err, Config, ConfigError, Origin};
use crate::names::ObjectKey;

pub(super) fn validate(cfg: &Config) -> Result<(), ConfigError> {
    buckets_apart(cfg)?;
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

/// No directory bucket may hold another's directory (or be the same one): the inner bucket's
/// objects would be readable through the outer one, whatever its own ACL, keys or protection.
fn buckets_apart(cfg: &Config) -> Result<(), ConfigError> {
    let roots: Vec<_> = cfg
        .buckets
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match &b.origin {
            Origin::Dir { path } => Some((i, resolved(path))),
            _ => None,
        })
        .collect();
    for (n, (i, a)) in roots.iter().enumerate() {
        for (j, b) in &roots[n + 1..] {
            if a.starts_with(b) || b.starts_with(a) {
                return Err(err(
                    format!("buckets[{j}].origin.path"),
                    format!("overlaps buckets[{i}]'s directory: objects of one would be readable through the other"),
                ));
            }
        }
    }
    Ok(())
}

/// `path` as the filesystem resolves it once `create_dir_all` has made what is missing: each
/// existing prefix canonicalised (links followed, as the kernel follows them), `.` dropped and
/// `..` applied to what was resolved so far, which is what the kernel does for folders that
/// `create_dir_all` makes on the way (`x/../a` makes `x`, then reaches `a` beside it).
pub fn resolved(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => {
                out.push(n);
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    out
}

/// Whether two endpoint URLs reach one server: scheme, host (case-insensitive; `localhost` is
/// its loopback addresses) and port (the scheme's default when absent). Other names are
/// compared as written: checking a configuration never waits on DNS.
fn same_endpoint(a: &str, b: &str) -> bool {
    server_of(a).zip(server_of(b)).is_some_and(|((sa, ha, pa), (sb, hb, pb))| {
        sa == sb && pa == pb && (ha == hb || (loopback(&ha) && loopback(&hb)))
    })
}

fn server_of(url: &str) -> Option<(String, String, u16)> {
    let u = url::Url::parse(url).ok()?;
    Some((u.scheme().to_string(), u.host_str()?.to_ascii_lowercase(), u.port_or_known_default()?))
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether an HTTP origin's URL reads from S3 bucket `bucket` at `endpoint`: the same server
/// with a path under `/<bucket>` (path style), or the host `<bucket>.<endpoint host>`.
fn http_reads_s3(url: &str, endpoint: &str, bucket: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else { return false };
    let path_style = same_endpoint(url, endpoint)
        && u.path_segments().and_then(|mut s| s.next()).is_some_and(|first| first == bucket);
    let virtual_host = server_of(endpoint).is_some_and(|(_, host, port)| {
        u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&format!("{bucket}.{host}")))
            && u.port_or_known_default() == Some(port)
    });
    path_style || virtual_host
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
            // Not created yet is fine (the server creates it); inside a bucket is not, however
            // the path reaches it (`x/../bucket/state`, a link among existing folders).
            let mine = resolved(path);
            for (i, b) in cfg.buckets.iter().enumerate() {
                if let Origin::Dir { path: root } = &b.origin {
                    let root = resolved(root);
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
                let served = match &b.origin {
                    Origin::S3 { endpoint: e, bucket: other, .. } => {
                        same_endpoint(e, endpoint) && other == bucket
                    }
                    Origin::Http { url } => http_reads_s3(url, endpoint, bucket),
                    Origin::Dir { .. } => false,
                };
                if served {
                    return Err(err(
                        format!("{section}.store.bucket"),
                        format!("is read by buckets[{i}]'s origin: {what} would be readable as objects"),
                    ));
                }
            }
            Ok(())
        }
    }
}
