//! OSS signature V4 (`OSS4-HMAC-SHA256`), header and presigned-URL forms. Rebuilds the
//! CanonicalRequest / StringToSign / signing key exactly as oss2's `ProviderAuthV4` does
//! (spec §1.8) and compares MACs in constant time. V4 signs every query parameter, so the
//! only room for ambiguity is repeated parameters, which are refused.

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::sign::{self, access_denied, invalid_argument};
use super::{Auth, AuthError, Credentials, RequestParts};

pub(crate) const ALGORITHM: &str = "OSS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-oss-expires` range accepted by OSS: 1 second to 7 days.
const MAX_EXPIRES_SECS: i64 = 604_800;

/// The parsed `<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request`.
struct Credential<'a> {
    ak: &'a str,
    date: &'a str,
    region: &'a str,
}

/// Signature inputs common to both forms once their own parameters are parsed.
struct Signed<'a> {
    cred: Credential<'a>,
    datetime: &'a str,
    additional: Vec<&'a str>,
    provided: &'a str,
}

/// Verifies `Authorization: OSS4-HMAC-SHA256 Credential=…, [AdditionalHeaders=…,] Signature=…`;
/// `rest` is the part after the algorithm.
pub(super) fn verify_header(
    req: &RequestParts<'_>,
    rest: &str,
    creds: &dyn Credentials,
    now: i64,
) -> Result<Auth, AuthError> {
    let (mut credential, mut additional, mut provided) = (None, None, None);
    for field in rest.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (name, value) =
            field.split_once('=').ok_or_else(|| invalid_argument("malformed Authorization header field"))?;
        let slot = match name {
            "Credential" => &mut credential,
            "AdditionalHeaders" => &mut additional,
            "Signature" => &mut provided,
            _ => return Err(invalid_argument("unknown Authorization header field")),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(invalid_argument("repeated Authorization header field"));
        }
    }
    let cred = parse_credential(credential, creds)?;
    let provided = provided
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_argument("Authorization header lacks Signature"))?;
    let datetime = sign::single_header(req, "x-oss-date")?.map(str::trim);
    let (datetime, t) = parse_datetime(datetime, &cred)?;
    sign::check_skew(t, now)?;
    let additional = parse_additional(additional)?;
    let signed = Signed { cred, datetime, additional, provided };
    check(req, creds, signed, None)
}

/// Verifies a presigned URL (`x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=…`).
pub(super) fn verify_query(
    req: &RequestParts<'_>,
    creds: &dyn Credentials,
    now: i64,
) -> Result<Auth, AuthError> {
    if sign::unique_param(req, "x-oss-signature-version")? != Some(ALGORITHM) {
        return Err(invalid_argument("unsupported signature version (only OSS4-HMAC-SHA256 presigned URLs)"));
    }
    let cred = parse_credential(sign::unique_param(req, "x-oss-credential")?, creds)?;
    let (datetime, t) = parse_datetime(sign::unique_param(req, "x-oss-date")?, &cred)?;
    let expires = match sign::unique_param(req, "x-oss-expires")? {
        None => {
            let ec = Some(sign::EC_V4_EXPIRES_MISSING);
            return Err(access_denied(ec, "x-oss-expires is missing"));
        }
        Some(e) => Some(e)
            .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|e| e.parse::<i64>().ok())
            .ok_or_else(|| access_denied(Some(sign::EC_EXPIRES_INVALID), "bad x-oss-expires"))?,
    };
    if !(1..=MAX_EXPIRES_SECS).contains(&expires) {
        let msg = "x-oss-expires must be within 1..=604800 seconds";
        return Err(sign::invalid_argument_ec(sign::EC_V4_EXPIRES_RANGE, msg));
    }
    if t - now > sign::MAX_SKEW_SECS {
        let msg = "Request is not valid yet: x-oss-date is in the future";
        return Err(access_denied(Some(sign::EC_V4_NOT_YET_VALID), msg));
    }
    // Valid up to and including x-oss-date + x-oss-expires, like V1's Expires.
    if now > t + expires {
        return Err(access_denied(Some(sign::EC_EXPIRED), "Request has expired."));
    }
    let provided = sign::unique_param(req, "x-oss-signature")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| access_denied(None, "x-oss-signature is missing"))?;
    let additional = parse_additional(sign::unique_param(req, "x-oss-additional-headers")?)?;
    let signed = Signed { cred, datetime, additional, provided };
    check(req, creds, signed, Some(t + expires))
}

fn parse_credential<'a>(
    value: Option<&'a str>,
    creds: &dyn Credentials,
) -> Result<Credential<'a>, AuthError> {
    let value = value
        .ok_or_else(|| access_denied(Some(sign::EC_V4_CREDENTIAL_MISSING), "x-oss-credential is missing"))?;
    if value.trim().is_empty() {
        let ec = Some(sign::EC_V4_CREDENTIAL_BLANK);
        return Err(access_denied(ec, "x-oss-credential is blank"));
    }
    let parts: Vec<&str> = value.split('/').collect();
    let [ak, date, region, "oss", "aliyun_v4_request"] = parts[..] else {
        let msg = "x-oss-credential must be <ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request";
        return Err(access_denied(None, msg));
    };
    if ak.is_empty() || region.is_empty() {
        return Err(access_denied(None, "x-oss-credential has an empty field"));
    }
    if sign::parse_ymd(date).is_none() {
        let msg = "x-oss-credential date must be yyyymmdd";
        return Err(access_denied(Some(sign::EC_V4_CREDENTIAL_DATE), msg));
    }
    // The region is part of the signing key, so a valid signature for another region proves
    // the client was configured for another endpoint: say so instead of "signature mismatch".
    if let Some(want) = creds.region().filter(|want| *want != region) {
        return Err(invalid_argument(&format!(
            "The region in x-oss-credential is wrong; expecting '{want}'."
        )));
    }
    Ok(Credential { ak, date, region })
}

/// Parses `x-oss-date` and checks it falls on the credential's day (the signing key is derived
/// from that day, so a mismatch means a forged or confused request).
fn parse_datetime<'a>(value: Option<&'a str>, cred: &Credential<'_>) -> Result<(&'a str, i64), AuthError> {
    let value = value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| access_denied(Some(sign::EC_DATE_MISSING), "x-oss-date is missing"))?;
    let t = sign::parse_iso8601_basic(value)
        .ok_or_else(|| access_denied(Some(sign::EC_DATE_INVALID), "x-oss-date must be yyyymmddTHHMMSSZ"))?;
    if &value[..8] != cred.date {
        return Err(access_denied(None, "x-oss-date is not on the x-oss-credential date"));
    }
    Ok((value, t))
}

/// `a;b` → sorted names. The SDK always lists them lower-case and only once.
fn parse_additional(value: Option<&str>) -> Result<Vec<&str>, AuthError> {
    let mut names: Vec<&str> = match value {
        None | Some("") => return Ok(Vec::new()),
        Some(v) => v.split(';').map(str::trim).collect(),
    };
    names.sort_unstable();
    let bad = names.iter().any(|n| n.is_empty() || n.bytes().any(|b| b.is_ascii_uppercase()));
    if bad || names.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid_argument("malformed additional headers list"));
    }
    Ok(names)
}

fn check(
    req: &RequestParts<'_>,
    creds: &dyn Credentials,
    signed: Signed<'_>,
    // Presigned URLs: their last valid second; `None` for the Authorization header.
    expires: Option<i64>,
) -> Result<Auth, AuthError> {
    let by_header = expires.is_none();
    let payload = sign::single_header(req, "x-oss-content-sha256")?.map(str::trim);
    let payload_sha256 = match payload {
        None | Some(UNSIGNED_PAYLOAD) => None,
        Some(h) => {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out)
                .map_err(|_| invalid_argument("x-oss-content-sha256 must be 64 hex digits"))?;
            Some(out)
        }
    };
    let creq = canonical_request(req, &signed.additional)?;
    let sts = string_to_sign(signed.datetime, &signed.cred, &creq);
    let secret = creds.secret(signed.cred.ak).ok_or_else(sign::invalid_access_key)?;
    let key = signing_key(&secret, signed.cred.date, signed.cred.region);
    // Lower-case hex only, as the SDKs write it: one text per signature, like V1's base64.
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let ok = match hex::decode(signed.provided) {
        Ok(bytes) if signed.provided.bytes().all(lower_hex) => {
            sign::hmac_sha256(&key, sts.as_bytes()).verify_slice(&bytes).is_ok()
        }
        _ => false,
    };
    if !ok {
        return Err(sign::signature_mismatch(sts));
    }
    Ok(Auth::Signed { access_key_id: signed.cred.ak.to_string(), by_header, payload_sha256, expires })
}

/// VERB\nURI\nQUERY\nHEADERS\nADDITIONAL\nPAYLOAD, spec §1.8.
pub(crate) fn canonical_request(req: &RequestParts<'_>, additional: &[&str]) -> Result<String, AuthError> {
    let uri = if req.bucket.is_empty() {
        "/".to_string()
    } else {
        uri_encode(&format!("/{}/{}", req.bucket, req.key), true)
    };
    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "x-oss-signature")
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v.as_deref().unwrap_or(""), false)))
        .collect();
    query.sort();
    // Everything is signed, but a consumer could still read a different copy than we did.
    if let Some(w) = query.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid_argument(&format!("duplicate query parameter {}", w[0].0)));
    }
    let query: Vec<String> =
        query.into_iter().map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") }).collect();
    let headers = sign::canonical_headers(req, |k| {
        k.starts_with("x-oss-") || k == "content-type" || k == "content-md5" || additional.contains(&k)
    })?;
    let payload = sign::single_header(req, "x-oss-content-sha256")?.map_or(UNSIGNED_PAYLOAD, str::trim);
    Ok(format!("{}\n{uri}\n{}\n{headers}\n{}\n{payload}", req.method, query.join("&"), additional.join(";")))
}

fn string_to_sign(datetime: &str, cred: &Credential<'_>, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    let scope = format!("{}/{}/oss/aliyun_v4_request", cred.date, cred.region);
    format!("{ALGORITHM}\n{datetime}\n{scope}\n{hash}")
}

/// HMAC chain "aliyun_v4"+secret → date → region → "oss" → "aliyun_v4_request".
pub(crate) fn signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let mut key = format!("aliyun_v4{secret}").into_bytes();
    for part in [date, region, "oss", "aliyun_v4_request"] {
        key = sign::hmac_sha256(&key, part.as_bytes()).finalize().into_bytes().to_vec();
    }
    key
}

/// RFC 3986 unreserved characters stay, everything else becomes `%XX` (upper-case), per byte
/// of UTF-8; `/` stays too when `keep_slash` (the path).
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub(crate) fn string_to_sign_for_tests(datetime: &str, date: &str, region: &str, creq: &str) -> String {
    let cred = Credential { ak: "", date, region };
    string_to_sign(datetime, &cred, creq)
}
