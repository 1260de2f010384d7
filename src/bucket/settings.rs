//! A bucket's live settings (styles, style separators, source protection, Referer rules), built
//! from its configuration and whatever the bucket APIs stored, and the validators that both the
//! configuration loader and the APIs use, so a value one accepts the other accepts too.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::access::protect::ProtectConfig;
use crate::access::referer::RefererConfig;
use crate::config;
use crate::route::SEPARATORS;
use crate::transform::{self, Limits, NoStyles};

/// One stored style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Style {
    /// `image/...`, as given.
    pub content: String,
    /// Unix seconds.
    pub created: u64,
    pub modified: u64,
}

impl Style {
    pub fn time(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }
}

/// The processConfiguration document as stored: OSS's fields, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// `Img` or `Both` (kept for the GET; imgedge serves images on every host).
    pub complied_host: String,
    pub source_protect: bool,
    pub suffixes: Vec<String>,
    /// Enabled separators in the canonical order of [`SEPARATORS`] (`@!` stands for OSS's
    /// `OssDomainSupportAtProcess`).
    pub delimiters: Vec<String>,
}

/// What the bucket APIs set, per section. A section present here replaces the configuration's
/// (see docs/decisions.md: the API's last word wins over the file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stored {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub styles: Option<BTreeMap<String, Style>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referer: Option<RefererConfig>,
}

/// The settings every request of a bucket reads (through an atomic pointer swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub styles: BTreeMap<String, Style>,
    pub process: Process,
    pub protect: ProtectConfig,
    pub referer: RefererConfig,
}

impl transform::Styles for Settings {
    fn get(&self, name: &str) -> Option<String> {
        self.styles.get(name).map(|s| s.content.clone())
    }
}

impl Settings {
    /// The configuration, with every section the APIs stored taking its place.
    pub fn build(conf: &config::Bucket, stored: &Stored, loaded_at: u64) -> Settings {
        let styles = stored.styles.clone().unwrap_or_else(|| {
            conf.styles
                .iter()
                .map(|(n, c)| {
                    (n.clone(), Style { content: c.clone(), created: loaded_at, modified: loaded_at })
                })
                .collect()
        });
        let process = stored.process.clone().unwrap_or_else(|| Process {
            complied_host: "Both".into(),
            source_protect: conf.source_protect,
            suffixes: if conf.source_protect { conf.source_protect_suffixes.clone() } else { Vec::new() },
            delimiters: normalise_delimiters(&conf.style_delimiters),
        });
        let referer = stored.referer.clone().unwrap_or_else(|| {
            let r = &conf.referer;
            RefererConfig {
                allow_empty: r.allow_empty,
                allow_truncate_query: r.allow_truncate_query,
                truncate_path: r.truncate_path,
                whitelist: r.whitelist.clone(),
                blacklist: r.blacklist.clone(),
            }
        });
        Settings {
            protect: ProtectConfig { enabled: process.source_protect, suffixes: process.suffixes.clone() },
            referer,
            styles,
            process,
        }
    }

    pub fn delimiters(&self) -> Vec<&str> {
        self.process.delimiters.iter().map(String::as_str).collect()
    }
}

/// Separators in the canonical order (OSS normalises `/,-` to `-,/`), duplicates dropped.
pub fn normalise_delimiters(ds: &[String]) -> Vec<String> {
    SEPARATORS.iter().filter(|s| ds.iter().any(|d| d == *s)).map(|s| s.to_string()).collect()
}

/// A style as the API and the configuration accept it: a valid name, and content that parses
/// as an `image/` (or `video/snapshot`) pipeline on its own (no style inside a style, no saveas).
pub fn validate_style(name: &str, content: &str, limits: &Limits) -> Result<(), transform::Error> {
    transform::parse::validate_style_name(name)?;
    if !transform::parse::is_style_content(content) {
        return Err(transform::Error::invalid(
            None,
            "a style's content is an image/ or video/snapshot pipeline without sys/",
        ));
    }
    transform::parse(content, &NoStyles, limits).map(drop)
}

/// Style separators: each one of `@!`, `-`, `_`, `/`, `!`.
pub fn validate_delimiter(d: &str) -> Result<(), String> {
    if SEPARATORS.contains(&d) {
        Ok(())
    } else {
        Err(format!("\"{d}\" is not one of @!, -, _, /, !"))
    }
}

/// Referer entries include their scheme, as OSS requires.
pub fn validate_referer_entry(r: &str) -> Result<(), String> {
    match crate::access::referer::valid_entry(r) {
        true => Ok(()),
        false => Err(format!("\"{r}\": not a Referer pattern (a URL prefix, or a host, with * and ?)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_sections_replace_the_configuration() {
        let conf = config::Bucket {
            name: "demo".into(),
            styles: [("thumb".to_string(), "image/resize,w_100".to_string())].into(),
            style_delimiters: vec!["!".into(), "-".into(), "!".into()],
            source_protect: false,
            source_protect_suffixes: vec!["jpg".into()],
            ..Default::default()
        };
        let s = Settings::build(&conf, &Stored::default(), 7);
        assert_eq!(s.process.delimiters, ["-", "!"]);
        assert!(s.process.suffixes.is_empty(), "suffixes are cleared while protection is off");
        assert_eq!(transform::Styles::get(&s, "thumb").as_deref(), Some("image/resize,w_100"));
        let stored = Stored {
            styles: Some(BTreeMap::new()),
            process: Some(Process {
                complied_host: "Img".into(),
                source_protect: true,
                suffixes: vec!["png".into()],
                delimiters: vec!["_".into()],
            }),
            referer: None,
        };
        let s = Settings::build(&conf, &stored, 7);
        assert!(s.styles.is_empty() && s.protect.enabled && s.protect.suffixes == ["png"]);
        assert_eq!(s.delimiters(), ["_"]);
        assert!(s.referer.allow_empty, "the configuration's referer section still applies");
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(serde_json::from_str::<Stored>(&json).unwrap(), stored);
    }

    #[test]
    fn validators() {
        let l = Limits::default();
        assert!(validate_style("thumb", "image/resize,w_100", &l).is_ok());
        assert_eq!(validate_style("a b", "image/resize,w_100", &l).unwrap_err().ec, Some("0017-00000251"));
        assert_eq!(
            validate_style(&"a".repeat(64), "image/resize,w_1", &l).unwrap_err().ec,
            Some("0017-00000250")
        );
        for bad in [
            "style/x",
            "image/resize,w_0",
            "image/resize,w_1|sys/saveas,o_dGVzdA",
            "video/convert",
            "video/snapshot,t_-1",
            "",
        ] {
            assert!(validate_style("ok", bad, &l).is_err(), "{bad}");
        }
        assert!(validate_style("poster", "video/snapshot,t_1000,f_jpg/resize,w_100", &l).is_ok());
        assert!(validate_delimiter("@!").is_ok() && validate_delimiter("#").is_err());
        assert!(validate_referer_entry("https://a").is_ok() && validate_referer_entry("a b").is_err());
    }
}
