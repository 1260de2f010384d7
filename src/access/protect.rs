//! Source-image ("原图") protection (spec `oss-img.md` §1.6/§4.3, `security.md` §3.4, AT-25):
//! when a bucket enables it, anonymous requests for a protected object may only go through a
//! style; the raw object and ad-hoc `image/...` pipelines are refused.
//!
//! # Choices
//!
//! * The rule is applied to the exact key the origin will be asked for (the decoded key from
//!   `route::decode_key`, after any style-separator split), never to a normalised
//!   form: OSS keys are flat strings, so `./img.jpg` is its own key and is judged as such.
//! * A key is protected when its last path segment (after the last `/`) ends in `.<suffix>` for
//!   a listed suffix, or when the list holds `*` (every key, with or without an extension).
//!   For a plain suffix that is exactly "the extension after the last `.` is the suffix"; a
//!   dotted suffix such as `tar.gz` also works.
//! * The comparison is ASCII case-insensitive (`jpg` protects `IMG.JPG`): OSS does not document
//!   it, and protecting more is the safe side. Listed suffixes may carry a leading `.`; blank
//!   ones are ignored.
//! * `img.jpg/` has an empty last segment, so no suffix: it is not protected, but it is also a
//!   different object from `img.jpg`, so nothing of `img.jpg` leaks.
//! * Signed requests (header or presigned URL) are never restricted, as in OSS.

/// A bucket's `SourceFileProtect` / `SourceFileProtectSuffix` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectConfig {
    /// `SourceFileProtect=Enabled`.
    pub enabled: bool,
    /// Protected extensions without the dot (`["jpg", "png"]`), or `["*"]` for every object.
    pub suffixes: Vec<String>,
}

/// What an anonymous request wants from the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The object's bytes as stored (no processing).
    Raw,
    /// An ad-hoc `x-oss-process=image/...` pipeline (including `info`, `average-hue`).
    Image,
    /// `x-oss-process=style/<name>` or the style-separator form (`img.jpg!thumb`).
    Style,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// HTTP 403 `AccessDenied` (raw GET of a protected object).
    DenyRaw,
    /// HTTP 403 `AccessDenied`, EC `0040-00000031` (`image/...` on a protected object).
    DenyImage,
}

impl Decision {
    /// The OSS `EC` of a denial, if OSS documents one.
    pub fn ec(&self) -> Option<&'static str> {
        match self {
            Self::DenyImage => Some("0040-00000031"),
            Self::Allow | Self::DenyRaw => None,
        }
    }
}

/// Decides whether a request for `key` may proceed under `cfg`; `signed` = the request carried
/// a valid signature (already verified by the caller).
pub fn decide(cfg: &ProtectConfig, key: &str, req: Request, signed: bool) -> Decision {
    match req {
        _ if signed || !cfg.enabled || !is_protected(cfg, key) => Decision::Allow,
        Request::Style => Decision::Allow,
        Request::Raw => Decision::DenyRaw,
        Request::Image => Decision::DenyImage,
    }
}

/// Whether `key` falls under the suffix list (regardless of `enabled`).
pub fn is_protected(cfg: &ProtectConfig, key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    cfg.suffixes.iter().any(|suffix| {
        let suffix = suffix.trim();
        if suffix == "*" {
            return true;
        }
        let suffix = suffix.strip_prefix('.').unwrap_or(suffix);
        !suffix.is_empty() && has_dotted_suffix(name, suffix)
    })
}

/// `name` ends with `.` + `suffix`, ASCII case-insensitively. Works on bytes so that a
/// multi-byte character can never make a slice boundary panic.
fn has_dotted_suffix(name: &str, suffix: &str) -> bool {
    let (name, suffix) = (name.as_bytes(), suffix.as_bytes());
    name.len() > suffix.len()
        && name[name.len() - suffix.len() - 1] == b'.'
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
#[path = "protect_tests.rs"]
mod tests;
