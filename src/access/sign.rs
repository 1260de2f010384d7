//! Pieces shared by the V1 and V4 verifiers: OSS error values, strict (duplicate-refusing)
//! lookups of query parameters and headers, HMAC helpers, and the few date formats OSS uses.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::{AuthError, RequestParts};

/// Allowed distance between a header-signed request's date and our clock (OSS: 15 minutes).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

pub const EC_EXPIRES_MISSING: &str = "0002-00000067";
pub const EC_EXPIRES_BLANK: &str = "0002-00000068";
pub const EC_EXPIRED: &str = "0002-00000069";
pub const EC_EXPIRES_INVALID: &str = "0002-00000070";
pub const EC_V4_EXPIRES_MISSING: &str = "0002-00000215";
pub const EC_V4_CREDENTIAL_MISSING: &str = "0002-00000217";
pub const EC_V4_CREDENTIAL_BLANK: &str = "0002-00000218";
pub const EC_V4_CREDENTIAL_DATE: &str = "0002-00000223";
pub const EC_V4_EXPIRES_RANGE: &str = "0002-00000232";
pub const EC_V4_NOT_YET_VALID: &str = "0002-00000235";
pub const EC_DATE_INVALID: &str = "0002-00000502";
pub const EC_DATE_MISSING: &str = "0002-00000503";
pub const EC_TIME_SKEWED: &str = "0002-00000504";

fn error(status: u16, code: &'static str, ec: Option<&'static str>, msg: &str) -> AuthError {
    AuthError { status, code, ec, message: msg.to_string(), string_to_sign: None }
}

/// 400 InvalidArgument: the request is malformed or ambiguous.
pub fn invalid_argument(msg: &str) -> AuthError {
    error(400, "InvalidArgument", None, msg)
}

/// 400 InvalidArgument with an OSS EC.
pub fn invalid_argument_ec(ec: &'static str, msg: &str) -> AuthError {
    error(400, "InvalidArgument", Some(ec), msg)
}

/// 403 AccessDenied, optionally with an OSS EC.
pub fn access_denied(ec: Option<&'static str>, msg: &str) -> AuthError {
    error(403, "AccessDenied", ec, msg)
}

pub fn invalid_access_key() -> AuthError {
    error(
        403,
        "InvalidAccessKeyId",
        None,
        "The OSS Access Key Id you provided does not exist in our records.",
    )
}

pub fn time_skewed() -> AuthError {
    error(
        403,
        "RequestTimeTooSkewed",
        Some(EC_TIME_SKEWED),
        "The difference between the request time and the current time is too large.",
    )
}

pub fn signature_mismatch(string_to_sign: String) -> AuthError {
    AuthError {
        string_to_sign: Some(string_to_sign),
        ..error(
            403,
            "SignatureDoesNotMatch",
            None,
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        )
    }
}

/// The value of query parameter `name` (`""` when present without `=`), refusing repeats:
/// with two copies the verifier and the executor could each pick a different one.
pub fn unique_param<'a>(req: &RequestParts<'a>, name: &str) -> Result<Option<&'a str>, AuthError> {
    let mut found = None;
    for (k, v) in req.query {
        if k == name {
            if found.is_some() {
                return Err(invalid_argument(&format!("duplicate query parameter {name}")));
            }
            found = Some(v.as_deref().unwrap_or(""));
        }
    }
    Ok(found)
}

/// The value of header `name` (lower-case), refusing repeats for the same reason.
pub fn single_header<'a>(req: &RequestParts<'a>, name: &str) -> Result<Option<&'a str>, AuthError> {
    let mut found = None;
    for (k, v) in req.headers {
        if k == name {
            if found.is_some() {
                return Err(invalid_argument(&format!("duplicate header {name}")));
            }
            found = Some(v.as_str());
        }
    }
    Ok(found)
}

/// Canonical header lines `k:v\n` for every header `pick` selects, sorted by name. Values are
/// trimmed (HTTP strips optional whitespace on the wire anyway); repeated names are refused
/// because the SDKs sign one value per name.
pub fn canonical_headers(req: &RequestParts<'_>, pick: impl Fn(&str) -> bool) -> Result<String, AuthError> {
    let mut picked: Vec<(&str, &str)> =
        req.headers.iter().filter(|(k, _)| pick(k)).map(|(k, v)| (k.as_str(), v.trim())).collect();
    picked.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = picked.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid_argument(&format!("duplicate header {}", w[0].0)));
    }
    Ok(picked.iter().map(|(k, v)| format!("{k}:{v}\n")).collect())
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Hmac<Sha1> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac
}

/// Seconds since the Unix epoch (negative before it, which only a broken clock produces).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unix_from_parts(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let valid = (1..=12).contains(&mo)
        && (1..=month_days[(mo.clamp(1, 12) - 1) as usize]).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..60).contains(&s);
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `yyyymmdd` (the V4 credential date) → Unix seconds at midnight UTC.
pub fn parse_ymd(s: &str) -> Option<i64> {
    // ASCII first: the slices below are byte ranges, and `202é1114` would split the `é`.
    if s.len() != 8 || !s.is_ascii() {
        return None;
    }
    let (y, m, d) = (digits(&s[..4])?, digits(&s[4..6])?, digits(&s[6..])?);
    unix_from_parts(y, m, d, 0, 0, 0)
}

/// ISO 8601 basic `yyyymmddTHHMMSSZ` (V4 `x-oss-date`) → Unix seconds.
pub fn parse_iso8601_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || !s.is_ascii() || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let day = parse_ymd(&s[..8])?;
    let (h, mi, sec) = (digits(&s[9..11])?, digits(&s[11..13])?, digits(&s[13..15])?);
    Some(day + unix_from_parts(1970, 1, 1, h, mi, sec)?)
}

/// IMF-fixdate `Tue, 14 Nov 2023 22:13:20 GMT` (HTTP `Date`) → Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 29 || &s[3..5] != ", " || &s[25..] != " GMT" {
        return None;
    }
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let mo = MONTHS.iter().position(|m| *m == &s[8..11])? as i64 + 1;
    let (d, y) = (digits(&s[5..7])?, digits(&s[12..16])?);
    let (h, mi, sec) = (digits(&s[17..19])?, digits(&s[20..22])?, digits(&s[23..25])?);
    unix_from_parts(y, mo, d, h, mi, sec)
}

/// A header-signed request's date must lie within [`MAX_SKEW_SECS`] of `now`, either way.
pub fn check_skew(request_time: i64, now: i64) -> Result<(), AuthError> {
    if request_time.abs_diff(now) > MAX_SKEW_SECS as u64 {
        return Err(time_skewed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_the_same_instant() {
        let t = 1_700_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"), Some(t));
        assert_eq!(parse_iso8601_basic("20231114T221320Z"), Some(t));
        assert_eq!(parse_ymd("20231114"), Some(t - 22 * 3600 - 13 * 60 - 20));
        assert_eq!(parse_iso8601_basic("20240229T000000Z"), Some(1_709_164_800));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "20231114T221320",
            "20231314T221320Z",
            "20230229T000000Z",
            "20231114T246000Z",
            "2023111XT221320Z",
            "+0231114T221320Z",
            // Multi-byte characters where digits belong (fuzz regressions: these panicked).
            "20231114T2é320Z",
            "2023é14T221320Z",
        ] {
            assert_eq!(parse_iso8601_basic(bad), None, "{bad}");
        }
        for bad in [
            "Tue, 14 Nov 2023 22:13:20 UTC",
            "Tue, 14 Foo 2023 22:13:20 GMT",
            "Tue, 32 Nov 2023 22:13:20 GMT",
            "Tue 14 Nov 2023 22:13:20 GMT ",
            "1700000000",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        assert_eq!(parse_ymd("2022-12-20"), None);
        assert_eq!(parse_ymd("202é1114"), None);
        assert_eq!(parse_ymd("202é111"), None);
    }

    #[test]
    fn skew_is_fifteen_minutes_both_ways() {
        assert!(check_skew(1000 + 900, 1000).is_ok());
        assert!(check_skew(1000 - 900, 1000).is_ok());
        assert_eq!(check_skew(1000 + 901, 1000).unwrap_err().code, "RequestTimeTooSkewed");
        assert_eq!(check_skew(1000 - 901, 1000).unwrap_err().ec, Some(EC_TIME_SKEWED));
    }
}
