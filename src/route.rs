//! Splitting a request into bucket and style (spec `oss-img.md` §1.1–1.2, §4.3; `security.md`
//! §1.6, §1.13, principle 9, AT-21): which bucket a `Host` names, and whether the object key ends
//! in `<separator><style>`. The key itself comes from [`crate::names::ObjectKey::from_path`].
//!
//! Everything is pure: the caller supplies configuration and a style lookup. The key produced by
//! `ObjectKey::from_path` (and, for the separator form, the object part from [`split_style`]) is
//! the one string that signature checks, source protection, the cache key and the origin request
//! must all use.

use crate::names::{valid_bucket, valid_style_name};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// The style separators OSS knows: the four of `StyleDelimiters` plus `@!`, the legacy IMG
/// channel's form, which is matched as one unit before `!`.
pub const SEPARATORS: [&str; 5] = ["@!", "-", "_", "/", "!"];

/// Which bucket a Host header names: `<bucket>.<domain>` for each configured domain, or a custom
/// domain bound to a bucket.
///
/// Hosts are compared ASCII case-insensitively, without the port and without one trailing `.`
/// (the absolute DNS form). Hosts with empty labels, characters outside `[A-Za-z0-9._-]`, or a
/// bracketed IP literal name no bucket. A custom binding wins over the `<bucket>.<domain>`
/// reading of the same host. A bare domain (path-style addressing) names no bucket.
#[derive(Debug, Clone, Default)]
pub struct HostMap {
    domains: HashSet<String>,
    custom: HashMap<String, String>,
}

impl HostMap {
    /// Invalid domain or custom-host entries are skipped (the config loader reports them).
    pub fn new(domains: &[String], custom: &[(String, String)]) -> Self {
        let norm = |h: &str| normalize_host(h.trim().trim_start_matches('.')).map(Cow::into_owned);
        Self {
            domains: domains.iter().filter_map(|d| norm(d)).collect(),
            custom: custom.iter().filter_map(|(h, b)| Some((norm(h)?, b.clone()))).collect(),
        }
    }

    /// The bucket `host` names. Borrowed unless the bucket label had to be lower-cased.
    pub fn bucket_for<'a>(&'a self, host: &'a str) -> Option<Cow<'a, str>> {
        let host = normalize_host(host)?;
        if let Some(bucket) = self.custom.get(host.as_ref()) {
            return Some(Cow::Borrowed(bucket));
        }
        let (label, domain) = host.split_once('.')?;
        if !self.domains.contains(domain) || !valid_bucket(label) {
            return None;
        }
        let len = label.len();
        Some(match host {
            Cow::Borrowed(h) => Cow::Borrowed(&h[..len]),
            Cow::Owned(mut h) => {
                h.truncate(len);
                Cow::Owned(h)
            }
        })
    }
}

/// Host without port and trailing dot, lower-cased; `None` when it cannot name a bucket.
fn normalize_host(host: &str) -> Option<Cow<'_, str>> {
    if host.starts_with('[') {
        return None;
    }
    let name = match host.split_once(':') {
        Some((name, port)) if port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if name.len() > 253 || name.split('.').any(|l| l.is_empty() || !l.bytes().all(ok_char)) {
        return None;
    }
    Some(if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    })
}

/// Splits `key` into `(object key, style name)` for the style-separator form (§1.2).
///
/// Only `separators` that are among [`SEPARATORS`] count (the bucket's enabled ones). The text
/// after the **last** occurrence of any of them is the candidate name; when `@!` and `!` end at
/// the same place, `@!` wins. The split happens only when the candidate is a valid style name,
/// the object part is not empty and `style_exists(name)`; otherwise `None`: the whole path is
/// the key. Exactly one candidate is tried (spec §1.2 OPEN, our choice: "last separator wins"),
/// so a key has at most one reading: a style whose name contains an enabled separator
/// (`small-2x` with `-` on) is reachable only through `?x-oss-process=style/`. Whether a real
/// object with the full key should win is the caller's decision.
pub fn split_style<'k>(
    key: &'k str,
    separators: &[&str],
    style_exists: impl Fn(&str) -> bool,
) -> Option<(&'k str, &'k str)> {
    let mut best: Option<(usize, usize)> = None; // (separator position, separator length)
    for sep in separators.iter().filter(|s| SEPARATORS.contains(s)) {
        let Some(pos) = key.rfind(sep) else { continue };
        let better = match best {
            None => true,
            Some((p, len)) => pos + sep.len() > p + len || (pos + sep.len() == p + len && sep.len() > len),
        };
        if better {
            best = Some((pos, sep.len()));
        }
    }
    let (pos, len) = best?;
    let (object, name) = (&key[..pos], &key[pos + len..]);
    (!object.is_empty() && valid_style_name(name) && style_exists(name)).then_some((object, name))
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
