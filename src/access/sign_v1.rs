//! OSS signature V1: `Authorization: OSS <ak>:<b64 HMAC-SHA1>` and presigned URLs with
//! `OSSAccessKeyId`/`Expires`/`Signature`. Rebuilds the StringToSign exactly as oss2's
//! `ProviderAuth.__get_bytes_to_sign` does and compares MACs in constant time.

use base64::Engine as _;
use hmac::Mac;

use super::sign::{self, access_denied, invalid_argument};
use super::{Auth, AuthError, Credentials, RequestParts};

/// Query parameters that V1 signs (everything else in the query is NOT covered by a V1
/// signature). Copied from oss2 2.19.1 `oss2/auth.py` `ProviderAuth._subresource_key_set`
/// (that list names `callback` and `callback-var` twice; listed once here). Matching is
/// case-sensitive, as in the SDK.
#[rustfmt::skip]
pub const V1_SUBRESOURCES: &[&str] = &[
    "response-content-type", "response-content-language", "response-cache-control", "logging",
    "response-content-encoding", "acl", "uploadId", "uploads", "partNumber", "group", "link",
    "delete", "website", "location", "objectInfo", "objectMeta", "response-expires",
    "response-content-disposition", "cors", "lifecycle", "restore", "qos", "referer", "stat",
    "bucketInfo", "append", "position", "security-token", "live", "comp", "status", "vod",
    "startTime", "endTime", "x-oss-process", "symlink", "callback", "callback-var", "tagging",
    "encryption", "versions", "versioning", "versionId", "policy", "requestPayment",
    "x-oss-traffic-limit", "qosInfo", "asyncFetch", "x-oss-request-payer", "sequential",
    "inventory", "inventoryId", "continuation-token", "worm", "wormId", "wormExtend",
    "replication", "replicationLocation", "replicationProgress", "transferAcceleration", "cname",
    "metaQuery", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow", "resourceGroup", "style", "styleName", "x-oss-async-process", "processConfiguration",
    "regionList", "x-oss-write-get-object-response", "bucketArchiveDirectRead", "httpsConfig",
    "redundancyTransition", "x-oss-target-redundancy-type", "x-oss-redundancy-transition-taskid",
    "accessPoint", "accessPointPolicy", "publicAccessBlock", "x-oss-access-point-name",
    "requesterQosInfo", "qosRequester", "resourcePoolInfo", "resourcePool", "resourcePoolBuckets",
];

/// Verifies `Authorization: OSS <ak>:<signature>`; `rest` is the part after `OSS `.
pub(super) fn verify_header(
    req: &RequestParts<'_>,
    rest: &str,
    creds: &dyn Credentials,
    now: i64,
) -> Result<Auth, AuthError> {
    let (ak, provided) = rest
        .split_once(':')
        .filter(|(ak, s)| !ak.is_empty() && !s.is_empty())
        .ok_or_else(|| invalid_argument("malformed Authorization header, want OSS <ak>:<sig>"))?;
    // The SDK puts x-oss-date in the Date slot when it is set (browsers cannot set Date).
    let date = match sign::single_header(req, "x-oss-date")? {
        Some(d) if !d.is_empty() => Some(d),
        _ => sign::single_header(req, "date")?,
    };
    let date = date
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| access_denied(Some(sign::EC_DATE_MISSING), "missing Date or x-oss-date header"))?;
    let t = sign::parse_http_date(date)
        .or_else(|| sign::parse_iso8601_basic(date))
        .ok_or_else(|| access_denied(Some(sign::EC_DATE_INVALID), "malformed date header"))?;
    sign::check_skew(t, now)?;
    let sts = string_to_sign(req, date)?;
    check(creds, ak, provided, sts)?;
    Ok(Auth::Signed { access_key_id: ak.to_string(), by_header: true, payload_sha256: None, expires: None })
}

/// Verifies a presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`).
pub(super) fn verify_query(
    req: &RequestParts<'_>,
    creds: &dyn Credentials,
    now: i64,
) -> Result<Auth, AuthError> {
    let ak = sign::unique_param(req, "OSSAccessKeyId")?;
    let provided = sign::unique_param(req, "Signature")?;
    let expires = match sign::unique_param(req, "Expires")? {
        None => return Err(access_denied(Some(sign::EC_EXPIRES_MISSING), "Expires is missing")),
        Some("") => return Err(access_denied(Some(sign::EC_EXPIRES_BLANK), "Expires is blank")),
        Some(e) => e,
    };
    let (Some(ak), Some(provided)) = (ak.filter(|a| !a.is_empty()), provided) else {
        return Err(access_denied(None, "OSSAccessKeyId and Signature are both required"));
    };
    let deadline = Some(expires)
        .filter(|e| e.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or_else(|| access_denied(Some(sign::EC_EXPIRES_INVALID), "Expires is invalid"))?;
    // OSS: a URL is usable up to and including its Expires second.
    if now > deadline {
        return Err(access_denied(Some(sign::EC_EXPIRED), "Request has expired."));
    }
    // A URL valid for years cannot be revoked short of rotating the key: bounded like V4's.
    if deadline - now > creds.max_v1_expires_s() {
        let msg = format!("Expires is more than {} seconds in the future.", creds.max_v1_expires_s());
        return Err(access_denied(Some(sign::EC_EXPIRES_INVALID), &msg));
    }
    // The text as received fills the Date slot: that is what the client signed.
    let sts = string_to_sign(req, expires)?;
    check(creds, ak, provided, sts)?;
    Ok(Auth::Signed {
        access_key_id: ak.to_string(),
        by_header: false,
        payload_sha256: None,
        expires: Some(deadline),
    })
}

/// Looks the key up and compares base64(HMAC-SHA1(secret, sts)) with `provided`.
fn check(creds: &dyn Credentials, ak: &str, provided: &str, sts: String) -> Result<(), AuthError> {
    let secret = creds.secret(ak).ok_or_else(sign::invalid_access_key)?;
    // STANDARD decoding is canonical (padding required, no stray trailing bits), so exactly
    // one text decodes to the expected bytes; verify_slice compares in constant time.
    let ok = match base64::engine::general_purpose::STANDARD.decode(provided) {
        Ok(bytes) => sign::hmac_sha1(secret.as_bytes(), sts.as_bytes()).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(sign::signature_mismatch(sts))
    }
}

/// VERB\nContent-MD5\nContent-Type\n<date_slot>\n + CanonicalizedOSSHeaders +
/// CanonicalizedResource.
pub(crate) fn string_to_sign(req: &RequestParts<'_>, date_slot: &str) -> Result<String, AuthError> {
    let md5 = sign::single_header(req, "content-md5")?.unwrap_or("").trim();
    let ctype = sign::single_header(req, "content-type")?.unwrap_or("").trim();
    let oss_headers = sign::canonical_headers(req, |k| k.starts_with("x-oss-"))?;
    let resource = canonical_resource(req)?;
    Ok(format!("{}\n{md5}\n{ctype}\n{date_slot}\n{oss_headers}{resource}", req.method))
}

/// imgedge's own sub-resources, signed by V1 like OSS's: a V1 signature of a purge must not
/// also be the signature of the same method on the bare object. SDKs sign them once told to
/// (oss2: add the name to `oss2.auth.ProviderAuth._subresource_key_set`); V4 signs every
/// parameter anyway.
pub const IMGEDGE_SUBRESOURCES: &[&str] = &["x-imgedge-purge"];

fn signed_subresources() -> impl Iterator<Item = &'static &'static str> {
    V1_SUBRESOURCES.iter().chain(IMGEDGE_SUBRESOURCES)
}

/// `/bucket/key[?sorted sub-resources]`, `/bucket/` for the bucket, `/` for the service.
pub(crate) fn canonical_resource(req: &RequestParts<'_>) -> Result<String, AuthError> {
    let mut subs: Vec<(&str, &str)> = Vec::new();
    for (k, v) in req.query {
        if signed_subresources().any(|s| s == k) {
            subs.push((k, v.as_deref().unwrap_or("")));
        } else if signed_subresources().any(|s| s.eq_ignore_ascii_case(k)) {
            // `X-Oss-Process` is unsigned in V1; refuse it rather than risk a case-insensitive
            // consumer executing it.
            return Err(invalid_argument(&format!("query parameter {k} has non-canonical case")));
        }
    }
    subs.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = subs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid_argument(&format!("duplicate query parameter {}", w[0].0)));
    }
    // The resource is joined without escaping, so `?name`/`&name` inside the key or a value
    // could re-parse as another sub-resource (key `a?x-oss-process=x` ≡ key `a` + process
    // `x`): one signature would then cover two different requests.
    let parts = std::iter::once(req.key).chain(subs.iter().map(|s| s.1));
    if let Some(p) = parts.into_iter().find(|p| smuggles_subresource(p)) {
        return Err(invalid_argument(&format!("ambiguous signed resource: {p:?} embeds a sub-resource")));
    }
    let mut out =
        if req.bucket.is_empty() { "/".to_string() } else { format!("/{}/{}", req.bucket, req.key) };
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    Ok(out)
}

/// Whether `s` contains `?name` or `&name` for a sub-resource `name` ending at `=`, `&` or the
/// end of `s`, i.e. text that reads as a sub-resource once placed in the resource string.
fn smuggles_subresource(s: &str) -> bool {
    s.match_indices(['?', '&']).any(|(i, _)| {
        let tail = &s[i + 1..];
        signed_subresources()
            .any(|name| tail.strip_prefix(name).is_some_and(|r| r.is_empty() || r.starts_with(['=', '&'])))
    })
}
