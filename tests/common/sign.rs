//! OSS V1 presigned URLs for tests, computed from the documented string to sign (spec §1.6):
//! `GET\n\n\n<Expires>\n/<bucket>/<key>[?x-oss-process=<value>]`, HMAC-SHA1, base64.

#![allow(dead_code)]

use base64::Engine;
use hmac::{KeyInit, Mac};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// `/<key>?[x-oss-process=…&]OSSAccessKeyId=…&Expires=…&Signature=…`, valid for ten minutes.
pub fn presign_v1(ak: &str, sk: &str, bucket: &str, key: &str, process: Option<&str>) -> String {
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let sub = process.map(|p| format!("?x-oss-process={p}")).unwrap_or_default();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(format!("GET\n\n\n{expires}\n/{bucket}/{key}{sub}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let process = process.map(|p| format!("x-oss-process={}&", enc(p))).unwrap_or_default();
    format!("/{key}?{process}OSSAccessKeyId={}&Expires={expires}&Signature={}", enc(ak), enc(&sig))
}

/// The `Date` and `Authorization` headers of an OSS V1 header-signed request:
/// `VERB\nContent-MD5\nContent-Type\nDate\n/<bucket>/<key>[?sub-resource]`.
pub fn header_v1(ak: &str, sk: &str, method: &str, content_type: &str, resource: &str) -> (String, String) {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(format!("{method}\n\n{content_type}\n{date}\n{resource}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (date, format!("OSS {ak}:{sig}"))
}
