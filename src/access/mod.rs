//! Access control for incoming requests. This file holds request authentication: it decides
//! whether a request is anonymous or carries a valid OSS signature (V1 `OSS ak:sig` /
//! `OSSAccessKeyId…Signature`, V4 `OSS4-HMAC-SHA256`, each in header and presigned-URL form), so
//! the official OSS SDKs can talk to imgedge unchanged. `referer` and `protect` are the checks
//! applied after it.
//!
//! The caller splits the request and percent-decodes path and query exactly once; everything
//! here works on those decoded parts and rebuilds the canonical forms the SDKs sign. Whatever the
//! caller then executes (key, `x-oss-process`, …) must be read from the very same
//! [`RequestParts`], so the verified bytes and the executed bytes cannot drift apart.
//!
//! Spec: `shared/spec/oss-img.md` §1.7–1.8, `shared/spec/security.md` §3.1–3.2, AT-20…AT-23.

use std::time::SystemTime;

pub mod policy;
pub mod protect;
pub mod referer;
pub mod sign;
#[cfg(test)]
mod sign_tests;
mod sign_v1;
mod sign_v4;

pub use sign_v1::V1_SUBRESOURCES;

/// A request as the proxy saw it, already split and percent-decoded once.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Upper-case HTTP method as sent (`GET`, `POST`, …).
    pub method: &'a str,
    /// Bucket name; `""` only for service-level requests (then `key` must be empty too).
    pub bucket: &'a str,
    /// Decoded object key without the leading `/`; `""` for bucket-level requests.
    pub key: &'a str,
    /// Decoded query parameters in order; `None` = present without `=` (`?x-oss-process`).
    /// Keys are case-sensitive, as in OSS: `X-Oss-Process` is not `x-oss-process`.
    pub query: &'a [(String, Option<String>)],
    /// Lower-case header names, values as received (repeated headers as repeated entries).
    pub headers: &'a [(String, String)],
}

/// Looks up the secret of an access key; `None` = unknown key.
pub trait Credentials {
    fn secret(&self, access_key_id: &str) -> Option<String>;

    /// The region V4 credentials must name; `None`: any.
    fn region(&self) -> Option<&str> {
        None
    }

    /// The longest a V1 presigned URL may still be valid for, in seconds.
    fn max_v1_expires_s(&self) -> i64 {
        604_800
    }
}

/// Outcome of a successful [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Neither an `Authorization` header nor any signature query parameter.
    Anonymous,
    /// The signature verified for `access_key_id`.
    Signed {
        access_key_id: String,
        /// `true` for the `Authorization` header form, `false` for a presigned URL.
        by_header: bool,
        /// V4 only: the body hash the client signed in `x-oss-content-sha256` when it is not
        /// `UNSIGNED-PAYLOAD`. The signature covers only this claim, so a caller that reads a
        /// body must compare the body's SHA-256 with it before trusting the body.
        payload_sha256: Option<[u8; 32]>,
        /// Presigned URLs: the last second (Unix time) the URL is valid, which bounds how long
        /// a response to it may be kept.
        expires: Option<i64>,
    },
}

/// A rejection in OSS terms: HTTP status, error `Code`, optional `EC`, message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub ec: Option<&'static str>,
    pub message: String,
    /// For `SignatureDoesNotMatch`: the string the server signed. OSS echoes it in the error
    /// body (`<StringToSign>`) so SDK users can debug; it holds no secret.
    pub string_to_sign: Option<String>,
}

/// Query parameters that mark a V1 presigned URL.
const V1_QUERY_AUTH: [&str; 3] = ["OSSAccessKeyId", "Signature", "Expires"];
/// Query parameters that mark a V4 (or, unsupported, V2) presigned URL.
const V4_QUERY_AUTH: [&str; 4] =
    ["x-oss-signature-version", "x-oss-credential", "x-oss-signature", "x-oss-access-key-id"];

/// Authenticates `req` at time `now`.
///
/// Any trace of a signature (header or query) makes the request "signed": it then verifies or
/// fails, and never falls back to anonymous, so a broken signature cannot be silently ignored.
pub fn authenticate(
    req: &RequestParts<'_>,
    creds: &dyn Credentials,
    now: SystemTime,
) -> Result<Auth, AuthError> {
    if req.bucket.is_empty() && !req.key.is_empty() {
        // The SDKs drop the key from the signed resource when there is no bucket; accepting
        // that would let a service-level signature authorise any key.
        return Err(sign::invalid_argument("object key without bucket"));
    }
    let now = sign::unix_seconds(now);
    let authz = sign::single_header(req, "authorization")?;
    let has = |names: &[&str]| req.query.iter().any(|(k, _)| names.contains(&k.as_str()));
    let v1_query = has(&V1_QUERY_AUTH);
    let v4_query = has(&V4_QUERY_AUTH);

    match authz {
        Some(_) if v1_query || v4_query => {
            Err(sign::invalid_argument("only one auth mechanism allowed: Authorization header or signed URL"))
        }
        Some(value) => {
            let value = value.trim();
            if let Some(rest) = value.strip_prefix("OSS4-HMAC-SHA256 ") {
                sign_v4::verify_header(req, rest, creds, now)
            } else if let Some(rest) = value.strip_prefix("OSS ") {
                sign_v1::verify_header(req, rest, creds, now)
            } else {
                Err(sign::invalid_argument(
                    "unsupported Authorization scheme (OSS and OSS4-HMAC-SHA256 are supported)",
                ))
            }
        }
        None if v1_query && v4_query => {
            Err(sign::invalid_argument("V1 and V4 signature parameters in one URL"))
        }
        None if v1_query => sign_v1::verify_query(req, creds, now),
        None if v4_query => sign_v4::verify_query(req, creds, now),
        None => Ok(Auth::Anonymous),
    }
}
