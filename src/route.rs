//! Splitting a request into bucket, object key and style (spec `oss-img.md` §1.1–1.2, §4.3;
//! `security.md` §1.6, §1.13, principle 9, AT-21): which bucket a `Host` names, how the raw path
//! becomes the object key, and whether the key ends in `<separator><style>`.
//!
//! Everything is pure: the caller supplies configuration and a style lookup. The key produced by
//! [`decode_key`] (and, for the separator form, the object part from [`split_style`]) is the one
//! string that signature checks, source protection, the cache key and the origin request must
//! all use.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

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

/// OSS bucket naming: 3–63 of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn valid_bucket(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| edge(c) || *c == b'-')
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
}

/// OSS style naming (§4.4): 1–63 of `[A-Za-z0-9_.-]`.
pub fn valid_style_name(name: &str) -> bool {
    (1..=63).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
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

/// Why a request path is not a valid object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Not an origin-form path: no leading `/`, or a `?`/`#` the caller should have split off.
    NotAPath,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    InvalidUtf8,
    /// Nothing after the leading `/` (a bucket-level request, not an object).
    Empty,
    /// More than 1023 bytes after decoding.
    TooLong,
    /// The key itself starts with `/` or `\` (e.g. `//a`, `/%2Fa`).
    LeadingSlash,
    /// NUL or another control character (U+0000–U+001F, U+007F).
    ControlChar,
}

impl KeyError {
    /// The OSS `EC` where OSS documents one (`0016-*` object-naming errors).
    pub fn ec(&self) -> Option<&'static str> {
        match self {
            Self::Empty => Some("0016-00000001"),
            Self::TooLong | Self::InvalidUtf8 => Some("0016-00000002"),
            Self::LeadingSlash => Some("0016-00000005"),
            Self::NotAPath | Self::BadEscape | Self::ControlChar => None,
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAPath => "request target is not an origin-form path",
            Self::BadEscape => "malformed percent-escape in object key",
            Self::InvalidUtf8 => "object key is not valid UTF-8",
            Self::Empty => "object key is empty",
            Self::TooLong => "object key is longer than 1023 bytes",
            Self::LeadingSlash => "object key must not start with '/' or '\\'",
            Self::ControlChar => "object key contains a control character",
        })
    }
}

impl std::error::Error for KeyError {}

/// The object key of a raw request path: `"/a%20b.jpg"` → `"a b.jpg"`.
///
/// Strips exactly one leading `/`, percent-decodes exactly once (strictly: `%zz` is an error,
/// `%252F` becomes the literal `%2F`, `%2F` becomes `/`), keeps `+` as `+`, and requires
/// UTF-8, 1..=1023 bytes, no leading `/` or `\` and no control characters. Dot segments are
/// kept: OSS keys are flat, `a/../b` is its own key.
pub fn decode_key(raw_path: &str) -> Result<String, KeyError> {
    let path = raw_path.strip_prefix('/').ok_or(KeyError::NotAPath)?;
    if path.contains(['?', '#']) {
        return Err(KeyError::NotAPath);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(KeyError::BadEscape)?;
            let digit = |b: u8| (b as char).to_digit(16).ok_or(KeyError::BadEscape);
            out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let key = String::from_utf8(out).map_err(|_| KeyError::InvalidUtf8)?;
    if key.is_empty() {
        Err(KeyError::Empty)
    } else if key.len() > 1023 {
        Err(KeyError::TooLong)
    } else if key.starts_with(['/', '\\']) {
        Err(KeyError::LeadingSlash)
    } else if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
        Err(KeyError::ControlChar)
    } else {
        Ok(key)
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
