//! Authorization, in one ordered function: after [`super::authenticate`] has said who signed a
//! request, [`authorize`] decides whether that caller may do what the classified request
//! intends, in this order: bucket ACL, signed-only actions, the access key's scope (read, write)
//! on every bucket touched, the Referer rules, then source protection of every object read
//! (the source and each watermark image alike). The first refusal is the answer.

use std::collections::HashMap;

use super::protect::{self, Decision};
use super::referer;
use super::{Auth, Credentials};
use crate::bucket::Settings;
use crate::config::{self, Acl};
use crate::error::OssError;
use crate::request::Action;

/// What one access key may do.
struct Scope {
    secret: String,
    /// Buckets it may read; empty: all.
    read: Vec<String>,
    /// Buckets it may write; `*`: all it may read.
    write: Vec<String>,
}

/// The configured access keys and their scopes, and what signatures must agree to.
pub struct Keys(HashMap<String, Scope>, config::Signing);

impl Keys {
    pub fn new(keys: &[config::AccessKey], signing: &config::Signing) -> Keys {
        Keys(
            keys.iter()
                .map(|k| {
                    let scope =
                        Scope { secret: k.secret.clone(), read: k.buckets.clone(), write: k.write.clone() };
                    (k.id.clone(), scope)
                })
                .collect(),
            signing.clone(),
        )
    }

    pub fn may_read(&self, id: &str, bucket: &str) -> bool {
        self.0.get(id).is_some_and(|s| s.read.is_empty() || s.read.iter().any(|b| b == bucket))
    }

    pub fn may_write(&self, id: &str, bucket: &str) -> bool {
        self.may_read(id, bucket)
            && self.0.get(id).is_some_and(|s| s.write.iter().any(|b| b == "*" || b == bucket))
    }
}

impl Credentials for Keys {
    fn secret(&self, id: &str) -> Option<String> {
        self.0.get(id).map(|s| s.secret.clone())
    }

    fn region(&self) -> Option<&str> {
        Some(self.1.region.as_str()).filter(|r| !r.is_empty())
    }

    fn max_v1_expires_s(&self) -> i64 {
        i64::try_from(self.1.max_v1_expires_s).unwrap_or(i64::MAX)
    }
}

/// What a request is about to do, as far as access is concerned.
pub struct Intent<'a> {
    pub action: &'a Action,
    pub bucket: &'a str,
    pub acl: Acl,
    pub settings: &'a Settings,
    /// Objects of `bucket` it reads, and how: the source, then watermark images.
    pub reads: Vec<(&'a str, protect::Request)>,
    /// Buckets it writes besides a bucket API's own (saveas targets).
    pub writes: Vec<&'a str>,
    /// The `Referer` header.
    pub referer: Option<&'a str>,
}

/// Who was let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub signed: bool,
    /// Signed with an `Authorization` header (not a presigned URL).
    pub by_header: bool,
    /// A presigned URL's last valid second (Unix time).
    pub expires: Option<i64>,
    /// The bucket is private: only signed requests read it.
    pub private: bool,
}

pub fn authorize(i: &Intent<'_>, auth: &Auth, keys: &Keys) -> Result<Grant, OssError> {
    let (key_id, by_header, expires) = match auth {
        Auth::Anonymous => (None, false, None),
        Auth::Signed { access_key_id, by_header, expires, .. } => {
            (Some(access_key_id.as_str()), *by_header, *expires)
        }
    };
    if i.acl == Acl::Private && key_id.is_none() {
        return Err(OssError::access_denied(
            None,
            "You have no right to access this object because of bucket acl.",
        ));
    }
    if i.action.signed_only() && key_id.is_none() {
        return Err(OssError::access_denied(None, "This request must be signed by an access key."));
    }
    if let Some(id) = key_id {
        if !keys.may_read(id, i.bucket) {
            return Err(OssError::access_denied(None, "The access key may not read this bucket."));
        }
        if i.action.changes_bucket() && !keys.may_write(id, i.bucket) {
            return Err(OssError::access_denied(None, "The access key may not change this bucket."));
        }
        if let Some(b) = i.writes.iter().find(|b| !keys.may_write(id, b)) {
            return Err(OssError::access_denied(
                None,
                format!("The access key may not write to bucket {b}."),
            ));
        }
    }
    if !by_header && matches!(i.action, Action::GetObject | Action::Process(_)) {
        // Hotlink rules apply to anonymous and presigned-URL requests alike, as in OSS.
        referer::check(&i.settings.referer, i.referer).map_err(|d| {
            let mut e = OssError::access_denied(Some(d.ec()), d.message());
            e.bucket_name = Some(i.bucket.to_string());
            e
        })?;
    }
    for (key, kind) in &i.reads {
        match protect::decide(&i.settings.protect, key, *kind, key_id.is_some()) {
            Decision::Allow => {}
            d => {
                return Err(OssError::access_denied(
                    d.ec(),
                    "You are forbidden to access the source image; use a style.",
                ))
            }
        }
    }
    Ok(Grant { signed: key_id.is_some(), by_header, expires, private: i.acl == Acl::Private })
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
