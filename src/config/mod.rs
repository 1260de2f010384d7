//! The TOML configuration of `imgedge serve`: its serde surface (every key has a default, unknown
//! keys are refused with their path) and `validate()`, which checks what serde cannot: names,
//! ranges, references between sections. `conf/imgedge.toml` documents every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bucket::settings;

mod sections;
mod stores;
pub use sections::*;

/// The configuration embedded in the binary: a local-directory bucket of sample images on
/// 127.0.0.1:8080, the same text as `conf/imgedge.toml`.
pub const EMBEDDED: &str = include_str!("../../conf/imgedge.toml");

/// A configuration error, naming the key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// An origin URL: http or https, with a host, no query or fragment.
fn check_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("{u}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{u}: no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{u}: no query or fragment allowed"));
    }
    Ok(())
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub limits: LimitsConf,
    pub origin: OriginTimeouts,
    pub cache: Cache,
    /// Service domains: a request for `<bucket>.<domain>` goes to that bucket (OSS virtual-host style).
    pub domains: Vec<String>,
    pub access_keys: Vec<AccessKey>,
    pub signing: Signing,
    pub buckets: Vec<Bucket>,
    pub state: State,
    pub api: Api,
    pub video: Video,
    /// What happens to a source's colour profile, for buckets that do not say.
    pub color_profile: ColorProfile,
    pub console: Console,
}

/// What happens to a source's ICC colour profile (docs/decisions.md, "Colour").
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColorProfile {
    /// Convert the pixels to sRGB with the profile, and drop it (what browsers assume).
    #[default]
    Srgb,
    /// Keep the numbers and embed the profile in the output (the wide gamut survives, for
    /// clients that manage colour).
    Keep,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    /// Buckets this key may read; empty: all.
    pub buckets: Vec<String>,
    /// Buckets this key may also write (saveas targets, bucket API changes); empty: none,
    /// `["*"]`: every bucket it may read.
    pub write: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    /// Custom domains bound to this bucket.
    pub custom_domains: Vec<String>,
    pub acl: Acl,
    pub origin: Origin,
    /// Style name → `image/...` content.
    pub styles: BTreeMap<String, String>,
    /// Enabled style separators: any of "@!", "-", "_", "/", "!" (default `!` and `@!`, as the
    /// README documents; `[]` turns separators off).
    #[serde(default = "default_delimiters")]
    pub style_delimiters: Vec<String>,
    pub source_protect: bool,
    /// Suffixes protected when `source_protect` is on (e.g. ["jpg", "png"], or ["*"]).
    pub source_protect_suffixes: Vec<String>,
    pub referer: Referer,
    /// Processed answers whose pipeline names no format pick AVIF, WebP or the source's
    /// format from `Accept`, as `format,auto` does (an imgedge extension; off like OSS).
    pub auto_format: bool,
    /// This bucket's colour profile policy; unset: the top-level `color_profile`.
    pub color_profile: Option<ColorProfile>,
    /// Resizes follow the client's `Sec-CH-DPR` / `Sec-CH-Width` hints (src/handlers/hints.rs).
    pub client_hints: bool,
    /// Lossy answers whose pipeline names no quality search theirs (`quality,auto`).
    pub auto_quality: bool,
    /// The SSIMULACRA2 score `quality,auto` aims at; unset: `autoq::DEFAULT_TARGET`.
    pub quality_target: Option<u8>,
}

fn default_delimiters() -> Vec<String> {
    vec!["!".into(), "@!".into()]
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Acl {
    #[default]
    PublicRead,
    Private,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Origin {
    /// A local directory; keys never escape it.
    Dir { path: PathBuf },
    /// Any HTTP(S) base URL; the object key is appended.
    Http { url: String },
    /// S3-compatible storage signed with SigV4.
    S3 {
        endpoint: String,
        region: String,
        bucket: String,
        access_key_id: String,
        secret_access_key: String,
        #[serde(default)]
        path_style: bool,
    },
}

impl Default for Origin {
    fn default() -> Self {
        Origin::Dir { path: PathBuf::new() }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Referer {
    pub allow_empty: bool,
    pub allow_truncate_query: bool,
    pub truncate_path: bool,
    pub whitelist: Vec<String>,
    pub blacklist: Vec<String>,
}

impl Default for Referer {
    fn default() -> Self {
        Referer {
            allow_empty: true,
            allow_truncate_query: true,
            truncate_path: false,
            whitelist: Vec::new(),
            blacklist: Vec::new(),
        }
    }
}

impl Config {
    /// Parses TOML; unknown keys and type errors name the key's path. `base` resolves relative
    /// directory origins (the config file's directory).
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| err("(file)", e.message().to_string()))?;
        let mut cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            err(if path == "." { "(file)".to_string() } else { path }, e.inner().message().to_string())
        })?;
        let origins = cfg
            .buckets
            .iter_mut()
            .map(|b| &mut b.origin)
            .chain([&mut cfg.state.store])
            .chain(cfg.cache.store.as_mut());
        for origin in origins {
            if let Origin::Dir { path } = origin {
                if path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(file).map_err(|e| err(file.display().to_string(), e.to_string()))?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::parse(&text, &base)
    }

    /// The embedded default, with directories relative to the working directory.
    pub fn embedded() -> Result<Config, ConfigError> {
        Config::parse(EMBEDDED, Path::new("conf"))
    }

    fn validate_console(&self) -> Result<(), ConfigError> {
        let c = &self.console;
        if c.listen.is_empty() {
            return Ok(());
        }
        let addr = c
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| err("console.listen", format!("\"{}\" is not an address:port", c.listen)))?;
        if !addr.ip().is_loopback() && !c.allow_remote {
            return Err(err(
                "console.listen",
                "must be a loopback address (the console speaks plain HTTP); set console.allow_remote = true behind TLS",
            ));
        }
        if !(60..=7 * 86_400).contains(&c.session_ttl_s) {
            return Err(err("console.session_ttl_s", "must be between 60 and 604800"));
        }
        Ok(())
    }

    /// The checks that keep imgedge's own stores (state, variant tier) out of every bucket.
    pub fn check_stores(&self) -> Result<(), ConfigError> {
        stores::validate(self)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in
            [("server.listen", &self.server.listen), ("server.metrics_listen", &self.server.metrics_listen)]
        {
            if !(v.is_empty() && key == "server.metrics_listen") && v.parse::<std::net::SocketAddr>().is_err()
            {
                return Err(err(key, format!("\"{v}\" is not an address:port")));
            }
        }
        self.validate_console()?;
        if self.server.threads == 0 {
            return Err(err("server.threads", "must be at least 1"));
        }
        if self.signing.max_v1_expires_s == 0 {
            return Err(err("signing.max_v1_expires_s", "must be at least 1"));
        }
        let s = &self.server;
        for (key, v) in [
            ("server.queue_wait_ms", s.queue_wait_ms),
            ("server.keepalive_timeout_s", s.keepalive_timeout_s),
            ("server.header_timeout_s", s.header_timeout_s),
            ("api.body_timeout_s", self.api.body_timeout_s),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1"));
            }
        }
        let l = &self.limits;
        if [
            l.max_src_bytes,
            l.max_video_bytes,
            l.max_out_side.into(),
            l.max_frames.into(),
            l.max_decode_bytes,
            l.max_work_mpx,
        ]
        .contains(&0)
            || l.process_timeout_ms == 0
        {
            return Err(err("limits", "limits must be positive"));
        }
        if l.memory_budget_bytes < l.max_decode_bytes.max(l.max_src_bytes) {
            return Err(err(
                "limits.memory_budget_bytes",
                "must be at least max_decode_bytes and max_src_bytes, or no large request could run",
            ));
        }
        // ffmpeg's shared libraries alone map a few hundred MiB of address space.
        if self.video.memory_bytes < 256 << 20 {
            return Err(err(
                "video.memory_bytes",
                "must be at least 268435456 (ffmpeg cannot start below it)",
            ));
        }
        if self.video.max_pixels == 0 || self.video.ffmpeg.as_os_str().is_empty() {
            return Err(err("video", "ffmpeg and max_pixels must be set"));
        }
        if self.buckets.is_empty() {
            return Err(err("buckets", "at least one bucket is needed"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, b) in self.buckets.iter().enumerate() {
            let at = |k: &str| format!("buckets[{i}].{k}");
            if !crate::names::valid_bucket(&b.name) {
                return Err(err(at("name"), format!("\"{}\" is not an OSS bucket name", b.name)));
            }
            if !names.insert(&b.name) {
                return Err(err(at("name"), format!("bucket \"{}\" is defined twice", b.name)));
            }
            let limits = self.limits.to_limits();
            if b.styles.len() > self.api.max_styles {
                return Err(err(at("styles"), format!("more than api.max_styles = {}", self.api.max_styles)));
            }
            for (name, content) in &b.styles {
                settings::validate_style(name, content, &limits)
                    .map_err(|e| err(at(&format!("styles.{name}")), e.message.to_string()))?;
            }
            if b.quality_target.is_some_and(|t| !(30..=95).contains(&t)) {
                return Err(err(at("quality_target"), "must be between 30 and 95 (SSIMULACRA2 score)"));
            }
            for d in &b.style_delimiters {
                settings::validate_delimiter(d).map_err(|m| err(at("style_delimiters"), m))?;
            }
            match &b.origin {
                Origin::Dir { path } if !path.is_dir() => {
                    return Err(err(at("origin.path"), format!("{} is not a directory", path.display())))
                }
                Origin::Http { url } => check_url(url).map_err(|m| err(at("origin.url"), m))?,
                Origin::S3 { endpoint, region, bucket, .. } => {
                    check_url(endpoint).map_err(|m| err(at("origin.endpoint"), m))?;
                    if region.is_empty() {
                        return Err(err(at("origin.region"), "must not be empty (us-east-1 if unsure)"));
                    }
                    if bucket.is_empty() {
                        return Err(err(at("origin.bucket"), "must not be empty"));
                    }
                }
                _ => {}
            }
            for (j, r) in b.referer.whitelist.iter().chain(&b.referer.blacklist).enumerate() {
                settings::validate_referer_entry(r).map_err(|m| err(at(&format!("referer[{j}]")), m))?;
            }
        }
        stores::validate(self)?;
        for (i, k) in self.access_keys.iter().enumerate() {
            if k.id.is_empty() || k.secret.is_empty() {
                return Err(err(format!("access_keys[{i}]"), "id and secret are required"));
            }
            for b in &k.buckets {
                if !names.contains(b) {
                    return Err(err(format!("access_keys[{i}].buckets"), format!("no bucket \"{b}\"")));
                }
            }
            for b in &k.write {
                if b != "*" && !names.contains(b) {
                    return Err(err(format!("access_keys[{i}].write"), format!("no bucket \"{b}\"")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
