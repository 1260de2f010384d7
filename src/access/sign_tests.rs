//! Signature tests against fixed vectors (spec §1.7/§1.8, Go SDK, official Python SDK) plus
//! mutation, expiry, skew and ambiguity cases (security.md AT-20…AT-23).
//!
//! The `SDK_*` vectors were produced by oss2 2.19.1 (`pip install oss2`) with key `ak`/`sk`,
//! endpoint `http://example.com`, bucket `bucket`, region `cn-hangzhou`, and the clock pinned to
//! NOW = 1700000000 (2023-11-14T22:13:20Z):
//!
//! ```python
//! time.time = lambda: 1700000000.0                    # V1 Expires, V1 Date header
//! oss2.auth.datetime = FixedDatetime                  # utcnow() -> 2023-11-14 22:13:20 (V4)
//! oss2.http.Session.do_request = raise_with_request   # capture header-signed requests unsent
//! b = oss2.Bucket(oss2.Auth('ak','sk') or oss2.AuthV4('ak','sk'), 'http://example.com',
//!                 'bucket', region='cn-hangzhou')
//! b.sign_url('GET', 'example.jpg', 60, params={'x-oss-process': 'image/resize,w_100'})
//! b.sign_url('GET', '中文 photo.jpg', 60,
//!            params={'x-oss-process': 'image/resize,w_100,h_50/quality,q_80'})
//! b.sign_url('GET', 'dir/中文 photo+1.jpg', 3600)
//! b.get_object('中文 photo.jpg', process='image/resize,w_100')              # -> headers
//! b.process_object('src.jpg', 'image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA')
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::Mac;
use percent_encoding::percent_decode_str;

use super::sign::{self, EC_EXPIRED};
use super::{authenticate, sign_v1, sign_v4, Auth, AuthError, Credentials, RequestParts};

const NOW: u64 = 1_700_000_000;

struct Keys;
impl Credentials for Keys {
    fn secret(&self, ak: &str) -> Option<String> {
        (ak == "ak").then(|| "sk".to_string())
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// Splits a virtual-hosted URL the way the proxy will: bucket = first host label, path and
/// query parameters percent-decoded once, `+` kept literally.
type Parts = (String, String, Vec<(String, Option<String>)>);
fn split_url(url: &str) -> Option<Parts> {
    let rest = url.strip_prefix("http://")?;
    let (host, path_query) = rest.split_once('/')?;
    let bucket = host.split_once('.')?.0.to_string();
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut params = Vec::new();
    for p in query.split('&').filter(|p| !p.is_empty()) {
        params.push(match p.split_once('=') {
            Some((k, v)) => (decode(k)?, Some(decode(v)?)),
            None => (decode(p)?, None),
        });
    }
    Some((bucket, decode(path)?, params))
}

fn auth(method: &str, url: &str, headers: &[(&str, &str)], now: u64) -> Result<Auth, AuthError> {
    let (bucket, key, query) = split_url(url).expect("test URL parses");
    let headers: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let req = RequestParts { method, bucket: &bucket, key: &key, query: &query, headers: &headers };
    authenticate(&req, &Keys, at(now))
}

fn signed(by_header: bool) -> Result<Auth, AuthError> {
    Ok(Auth::Signed { access_key_id: "ak".into(), by_header, payload_sha256: None, expires: None })
}

/// A presigned URL's success: it reports the last second it is valid (for Cache-Control).
fn presigned(expires: u64) -> Result<Auth, AuthError> {
    let expires = Some(expires as i64);
    Ok(Auth::Signed { access_key_id: "ak".into(), by_header: false, payload_sha256: None, expires })
}

fn code(r: Result<Auth, AuthError>) -> (&'static str, Option<&'static str>) {
    let e = r.expect_err("request must be rejected");
    (e.code, e.ec)
}

const SDM: (&str, Option<&str>) = ("SignatureDoesNotMatch", None);

// --- spec §1.7 and Go SDK V1 vectors (Expires 1699807420) -----------------------------------

const V1_RESIZE: &str = "http://bucket.example.com/example.jpg?x-oss-process=image%2Fresize%2Cw_100&OSSAccessKeyId=ak&Expires=1699807420&Signature=0dHkb3%2BsmQt17Wzdqmf83UC4KuE%3D";
const V1_STYLE: &str = "http://bucket.example.com/example.jpg?x-oss-process=style%2Fthumb&OSSAccessKeyId=ak&Expires=1699807420&Signature=dVgg1D2VysXCv9WIH8mSC2FWKv8%3D";
const GO_V1_VERSION: &str = "http://bucket.example.com/key?versionId=versionId&OSSAccessKeyId=ak&Expires=1699807420&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D";

#[test]
fn spec_v1_vectors_verify_until_expiry() {
    for url in [V1_RESIZE, V1_STYLE, GO_V1_VERSION] {
        assert_eq!(auth("GET", url, &[], 1_699_807_000), presigned(1_699_807_420), "{url}");
        assert_eq!(auth("GET", url, &[], 1_699_807_420), presigned(1_699_807_420), "{url}");
        let late = auth("GET", url, &[], 1_699_807_421);
        assert_eq!(code(late), ("AccessDenied", Some(EC_EXPIRED)), "{url}");
    }
    let (bucket, key, query) = split_url(V1_RESIZE).unwrap();
    let req = RequestParts { method: "GET", bucket: &bucket, key: &key, query: &query, headers: &[] };
    assert_eq!(
        sign_v1::string_to_sign(&req, "1699807420").unwrap(),
        "GET\n\n\n1699807420\n/bucket/example.jpg?x-oss-process=image/resize,w_100"
    );
}

#[test]
fn v1_one_character_mutations_fail() {
    let t = 1_699_807_000;
    let cases = [
        (V1_RESIZE.replace("w_100", "w_101"), SDM),
        (V1_RESIZE.replace("example.jpg", "example.jpeg"), SDM),
        (V1_RESIZE.replace("bucket.", "bucker."), SDM),
        (V1_RESIZE.replace("OSSAccessKeyId=ak", "OSSAccessKeyId=ak2"), ("InvalidAccessKeyId", None)),
        (V1_RESIZE.replace("0dHkb3", "1dHkb3"), SDM),
        (V1_RESIZE.replace("KuE%3D", "KuF%3D"), SDM),
        (V1_RESIZE.replace("Expires=1699807420", "Expires=1699807421"), SDM),
        // AT-20: Signature that is not base64, Expires missing / blank / not a number.
        (V1_RESIZE.replace("Signature=0dHk", "Signature=!dHk"), SDM),
        (V1_RESIZE.replace("&Expires=1699807420", ""), ("AccessDenied", Some(sign::EC_EXPIRES_MISSING))),
        (V1_RESIZE.replace("1699807420", ""), ("AccessDenied", Some(sign::EC_EXPIRES_BLANK))),
        (V1_RESIZE.replace("1699807420", "abc"), ("AccessDenied", Some(sign::EC_EXPIRES_INVALID))),
    ];
    for (url, want) in cases {
        assert_eq!(code(auth("GET", &url, &[], t)), want, "{url}");
    }
    // AT-21: `%2C` and `,` decode to the same bytes, so the same canonical form: accepted.
    let literal = V1_RESIZE.replace("%2Cw_100", ",w_100");
    assert_eq!(auth("GET", &literal, &[], t), presigned(1_699_807_420));
}

#[test]
fn ambiguous_or_duplicated_signed_params_are_refused() {
    let t = 1_699_807_000;
    let bad = [
        V1_RESIZE.replace("?x-oss-process", "?x-oss-process=image%2Fcrop&x-oss-process"),
        V1_RESIZE.replace("&Signature", "&Signature=AAAA&Signature"),
        V1_RESIZE.replace("&OSSAccessKeyId", "&X-Oss-Process=image%2Fcrop&OSSAccessKeyId"),
        V1_RESIZE.replace("example.jpg?", "example.jpg%3Fx-oss-process%3Dimage%2Fcrop?"),
        V1_RESIZE.replace("w_100", "w_100%26acl"),
        format!("{V1_RESIZE}&x-oss-signature-version=OSS4-HMAC-SHA256"),
    ];
    for url in bad {
        assert_eq!(code(auth("GET", &url, &[], t)).0, "InvalidArgument", "{url}");
    }
    let v4 = format!("{SDK_V4_URL_PROCESS}&x-oss-process=image%2Fcrop");
    assert_eq!(code(auth("GET", &v4, &[], NOW)).0, "InvalidArgument");
    // Header and URL signatures together are refused, whatever their validity.
    let mixed = auth("GET", V1_RESIZE, &[("authorization", "OSS ak:x"), ("date", "x")], t);
    assert_eq!(code(mixed).0, "InvalidArgument");
}

#[test]
fn anonymous_only_without_any_signature_trace() {
    let url = "http://bucket.example.com/example.jpg?x-oss-process=image%2Fresize%2Cw_100";
    assert_eq!(auth("GET", url, &[], NOW), Ok(Auth::Anonymous));
    assert_eq!(code(auth("GET", &format!("{url}&Signature=abc"), &[], NOW)).0, "AccessDenied");
    let odd = auth("GET", url, &[("authorization", "Bearer abc")], NOW);
    assert_eq!(code(odd).0, "InvalidArgument");
    let v2 = format!("{url}&x-oss-signature-version=OSS2&x-oss-access-key-id=ak");
    assert_eq!(code(auth("GET", &v2, &[], NOW)).0, "InvalidArgument");
}

// --- spec §1.8 V4 vector ------------------------------------------------------------------

const V4_SPEC: &str = "http://bucket.example.com/example.jpg?x-oss-process=image%2Fresize%2Cw_100&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature=38029efc21b33df96a5bc0a3500a4094263e5a34407d92edd4735ea8905eae14";
const V4_SPEC_T: u64 = 1_702_781_677; // 2023-12-17T02:54:37Z

#[test]
fn spec_v4_vector_verifies_until_expiry() {
    let (bucket, key, query) = split_url(V4_SPEC).unwrap();
    let req = RequestParts { method: "GET", bucket: &bucket, key: &key, query: &query, headers: &[] };
    let creq = sign_v4::canonical_request(&req, &[]).unwrap();
    assert_eq!(creq, "GET\n/bucket/example.jpg\nx-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-process=image%2Fresize%2Cw_100&x-oss-signature-version=OSS4-HMAC-SHA256\n\n\nUNSIGNED-PAYLOAD");
    let sts = sign_v4::string_to_sign_for_tests("20231217T025437Z", "20231217", "cn-hangzhou", &creq);
    assert!(sts.ends_with("\n5d341a5d83e9d49eae4609a5fe1fa634d61d37bc24fd01b86563b4b5e306126e"));

    assert_eq!(auth("GET", V4_SPEC, &[], V4_SPEC_T + 10), presigned(V4_SPEC_T + 599));
    assert_eq!(auth("GET", V4_SPEC, &[], V4_SPEC_T + 599), presigned(V4_SPEC_T + 599));
    assert_eq!(code(auth("GET", V4_SPEC, &[], V4_SPEC_T + 600)), ("AccessDenied", Some(EC_EXPIRED)));
    let early = auth("GET", V4_SPEC, &[], V4_SPEC_T - 901);
    assert_eq!(code(early), ("AccessDenied", Some(sign::EC_V4_NOT_YET_VALID)));
}

#[test]
fn v4_mutations_and_parameter_errors() {
    let t = V4_SPEC_T + 10;
    let cases = [
        (V4_SPEC.replace("w_100", "w_101"), SDM),
        (V4_SPEC.replace("example.jpg", "example.jpe"), SDM),
        (V4_SPEC.replace("credential=ak", "credential=ab"), ("InvalidAccessKeyId", None)),
        (V4_SPEC.replace("cn-hangzhou", "cn-shanghai"), SDM),
        (V4_SPEC.replace("=38029e", "=48029e"), SDM),
        (V4_SPEC.replace("eae14", "eae1"), SDM),
        (V4_SPEC.replace("=599", "=598"), SDM),
        (V4_SPEC.replace("=599", "=604801"), ("InvalidArgument", Some(sign::EC_V4_EXPIRES_RANGE))),
        (V4_SPEC.replace("=599", "=0"), ("InvalidArgument", Some(sign::EC_V4_EXPIRES_RANGE))),
        (V4_SPEC.replace("&x-oss-expires=599", ""), ("AccessDenied", Some(sign::EC_V4_EXPIRES_MISSING))),
        (
            V4_SPEC.replace("x-oss-credential=", "x-oss-credentia="),
            ("AccessDenied", Some(sign::EC_V4_CREDENTIAL_MISSING)),
        ),
        (
            V4_SPEC.replace("ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request", ""),
            ("AccessDenied", Some(sign::EC_V4_CREDENTIAL_BLANK)),
        ),
        (
            V4_SPEC.replace("ak%2F20231217", "ak%2F2023-12-17"),
            ("AccessDenied", Some(sign::EC_V4_CREDENTIAL_DATE)),
        ),
        // x-oss-date on another day than the credential (same instant window otherwise).
        (V4_SPEC.replace("ak%2F20231217", "ak%2F20231216"), ("AccessDenied", None)),
    ];
    for (url, want) in cases {
        assert_eq!(code(auth("GET", &url, &[], t)), want, "{url}");
    }
}

// --- vectors produced by the official Python SDK (see the module comment) -------------------

const SDK_V1_URL_PROCESS: &str = "http://bucket.example.com/example.jpg?x-oss-process=image%2Fresize%2Cw_100&OSSAccessKeyId=ak&Expires=1700000060&Signature=FiJDsXdVJVeNmP3Pl3myfzGrMPA%3D";
const SDK_V1_URL_CJK: &str = "http://bucket.example.com/%E4%B8%AD%E6%96%87%20photo.jpg?x-oss-process=image%2Fresize%2Cw_100%2Ch_50%2Fquality%2Cq_80&OSSAccessKeyId=ak&Expires=1700000060&Signature=IOMUoe7U7ZwmzYW4NB%2BVsEJwzms%3D";
const SDK_V1_URL_CJK_PLAIN: &str = "http://bucket.example.com/dir%2F%E4%B8%AD%E6%96%87%20photo%2B1.jpg?OSSAccessKeyId=ak&Expires=1700003600&Signature=N370T%2BPXJ7B55Y9zQiezkZhjWCo%3D";
const SDK_V4_URL_PROCESS: &str = "http://bucket.example.com/example.jpg?x-oss-process=image%2Fresize%2Cw_100&x-oss-date=20231114T221320Z&x-oss-expires=60&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20231114%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=b4000372d27a218ea17a8da882404eca6cc5f2287d064cf7495b1affbfc11a4a";
const SDK_V4_URL_CJK: &str = "http://bucket.example.com/%E4%B8%AD%E6%96%87%20photo.jpg?x-oss-process=image%2Fresize%2Cw_100%2Ch_50%2Fquality%2Cq_80&x-oss-date=20231114T221320Z&x-oss-expires=60&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20231114%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=30394b70e49c8fcf2d228b530788712ba1ff3370d61ab50b28563460f03c49ac";
const SDK_V4_URL_CJK_PLAIN: &str = "http://bucket.example.com/dir%2F%E4%B8%AD%E6%96%87%20photo%2B1.jpg?x-oss-date=20231114T221320Z&x-oss-expires=3600&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20231114%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=61bc12d858803fda9b2ba62665e645cc71e59f09927b135af6aa417f5e9756d1";

#[test]
fn sdk_presigned_urls_verify_until_expiry() {
    let urls = [
        (SDK_V1_URL_PROCESS, 60),
        (SDK_V1_URL_CJK, 60),
        (SDK_V1_URL_CJK_PLAIN, 3600),
        (SDK_V4_URL_PROCESS, 60),
        (SDK_V4_URL_CJK, 60),
        (SDK_V4_URL_CJK_PLAIN, 3600),
    ];
    for (url, ttl) in urls {
        assert_eq!(auth("GET", url, &[], NOW), presigned(NOW + ttl), "{url}");
        assert_eq!(auth("GET", url, &[], NOW + ttl), presigned(NOW + ttl), "{url}");
        assert_eq!(code(auth("GET", url, &[], NOW + ttl + 1)), ("AccessDenied", Some(EC_EXPIRED)));
        // The key's encoding is where implementations go wrong: `%2F` and `/` are the same
        // key, `+` is a literal plus, and a space that is not the signed one fails.
        let slash = url.replace("dir%2F", "dir/");
        assert_eq!(auth("GET", &slash, &[], NOW), presigned(NOW + ttl), "{slash}");
        for wrong in [url.replace("%2B1", "%201"), url.replace("%20photo", "+photo")] {
            if wrong != url {
                assert_eq!(code(auth("GET", &wrong, &[], NOW)), SDM, "{wrong}");
            }
        }
    }
}

const SDK_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const CJK_URL: &str =
    "http://bucket.example.com/%E4%B8%AD%E6%96%87%20photo.jpg?x-oss-process=image%2Fresize%2Cw_100";
const POST_URL: &str = "http://bucket.example.com/src.jpg?x-oss-process";

#[test]
fn sdk_v1_header_signed_get_and_post() {
    let get = [("date", SDK_DATE), ("authorization", "OSS ak:At8jFabBVDjT4w1pEKW+a3V8awE=")];
    let post = [("date", SDK_DATE), ("authorization", "OSS ak:QHHSmhJWInSpz4EKNRtn4hmClLo=")];
    assert_eq!(auth("GET", CJK_URL, &get, NOW), signed(true));
    assert_eq!(auth("POST", POST_URL, &post, NOW + 900), signed(true));
    assert_eq!(
        code(auth("GET", CJK_URL, &get, NOW + 901)),
        ("RequestTimeTooSkewed", Some(sign::EC_TIME_SKEWED))
    );
    assert_eq!(code(auth("GET", CJK_URL, &get, NOW - 901)).0, "RequestTimeTooSkewed");
    assert_eq!(code(auth("GET", CJK_URL, &post, NOW)), SDM);
    assert_eq!(code(auth("GET", POST_URL, &post, NOW)), SDM, "method is signed");
    let crop = CJK_URL.replace("w_100", "w_10");
    assert_eq!(code(auth("GET", &crop, &get, NOW)), SDM);
    // The bare `?x-oss-process` sub-resource ends the POST resource, with no `=`.
    let (bucket, key, query) = split_url(POST_URL).unwrap();
    let req = RequestParts { method: "POST", bucket: &bucket, key: &key, query: &query, headers: &[] };
    assert_eq!(sign_v1::canonical_resource(&req).unwrap(), "/bucket/src.jpg?x-oss-process");
    // Date problems.
    let no_date = auth("GET", CJK_URL, &get[1..], NOW);
    assert_eq!(code(no_date), ("AccessDenied", Some(sign::EC_DATE_MISSING)));
    let bad_date = auth("GET", CJK_URL, &[("date", "yesterday"), get[1]], NOW);
    assert_eq!(code(bad_date), ("AccessDenied", Some(sign::EC_DATE_INVALID)));
    let malformed = auth("GET", CJK_URL, &[("date", SDK_DATE), ("authorization", "OSS ak")], NOW);
    assert_eq!(code(malformed).0, "InvalidArgument");
}

#[test]
fn v1_header_x_oss_date_fills_the_date_slot() {
    // Browsers cannot set Date, so the SDK signs x-oss-date instead (it is also an x-oss-*
    // header). Signed here with the same HMAC the verifier uses, on a spec-checked layout.
    let headers = [("x-oss-date", "20231114T221320Z"), ("date", "Mon, 01 Jan 2001 00:00:00 GMT")];
    let sts = "GET\n\n\n20231114T221320Z\nx-oss-date:20231114T221320Z\n/bucket/a.jpg";
    let mac = sign::hmac_sha1(b"sk", sts.as_bytes()).finalize().into_bytes();
    let authz = format!("OSS ak:{}", base64::engine::general_purpose::STANDARD.encode(mac));
    let hdrs = [headers[0], headers[1], ("authorization", authz.as_str())];
    assert_eq!(auth("GET", "http://bucket.example.com/a.jpg", &hdrs, NOW + 60), signed(true));
}

#[test]
fn sdk_v4_header_signed_get_and_post() {
    let common = [("x-oss-date", "20231114T221320Z"), ("x-oss-content-sha256", "UNSIGNED-PAYLOAD")];
    let a = "OSS4-HMAC-SHA256 Credential=ak/20231114/cn-hangzhou/oss/aliyun_v4_request, Signature=";
    let get_authz = format!("{a}46018c6c8ac592274baecbb3d2e4f59d8e34ae738df641a2c7a5fd907a91a943");
    let post_authz = format!("{a}05004bf3565a0cbaa311f9f86ec40b2230fa9f95a5349c74c977c9447bbf6a4a");
    let get = [common[0], common[1], ("authorization", get_authz.as_str())];
    let post = [common[0], common[1], ("authorization", post_authz.as_str())];
    assert_eq!(auth("GET", CJK_URL, &get, NOW), signed(true));
    assert_eq!(auth("POST", POST_URL, &post, NOW - 900), signed(true));
    assert_eq!(code(auth("GET", CJK_URL, &get, NOW + 901)).0, "RequestTimeTooSkewed");
    assert_eq!(code(auth("GET", &CJK_URL.replace("w_100", "w_10"), &get, NOW)), SDM);
    assert_eq!(code(auth("GET", POST_URL, &post, NOW)), SDM);
    // An x-oss-* header the client did not sign is caught: V4 signs all of them.
    let extra = [get[0], get[1], get[2], ("x-oss-meta-a", "1")];
    assert_eq!(code(auth("GET", CJK_URL, &extra, NOW)), SDM);
    let no_date = [get[1], get[2]];
    assert_eq!(code(auth("GET", CJK_URL, &no_date, NOW)), ("AccessDenied", Some(sign::EC_DATE_MISSING)));
    let other_day = [("x-oss-date", "20231115T000100Z"), get[1], get[2]];
    assert_eq!(code(auth("GET", CJK_URL, &other_day, 1_700_006_460)), ("AccessDenied", None));
}

// --- AT-21: random single-byte mutations never authenticate a different request ------------

#[test]
fn random_single_byte_mutations_never_authenticate() {
    let originals = [(SDK_V1_URL_CJK, NOW), (V1_RESIZE, 1_699_807_000), (SDK_V4_URL_CJK, NOW)];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<u8> = (0x20..0x7f).chain([0x00, 0x0a, 0x80, 0xc3, 0xe4, 0xff]).collect();
    let mut tried = 0;
    for i in 0..10_000 {
        let (url, now) = originals[i % originals.len()];
        let original = split_url(url).unwrap();
        let mut bytes = url.as_bytes().to_vec();
        let pos = 7 + (next() as usize) % (bytes.len() - 7); // keep "http://"
        let byte = alphabet[(next() as usize) % alphabet.len()];
        match next() % 3 {
            0 => bytes[pos] = byte,
            1 => bytes.insert(pos, byte),
            _ => drop(bytes.remove(pos)),
        }
        let Some(parts) = String::from_utf8(bytes).ok().and_then(|u| split_url(&u)) else {
            continue; // not a request the proxy could have received
        };
        if parts == original {
            continue; // e.g. `%2f` for `%2F`, or the host after the bucket: the same request
        }
        let (bucket, key, query) = &parts;
        tried += 1;
        let req = RequestParts { method: "GET", bucket, key, query, headers: &[] };
        if let Ok(Auth::Signed { .. }) = authenticate(&req, &Keys, at(now)) {
            panic!("mutated request authenticated: {parts:?}");
        }
    }
    assert!(tried > 8_000, "only {tried} effective mutations");
}

// --- AT-23: signatures are only ever compared through Mac::verify_slice ------------------

#[test]
fn signature_comparisons_are_constant_time() {
    for (name, src) in [
        ("sign_v1.rs", include_str!("sign_v1.rs")),
        ("sign_v4.rs", include_str!("sign_v4.rs")),
        ("sign.rs", include_str!("sign.rs")),
    ] {
        let code: Vec<&str> = src.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
        for line in &code {
            let compares = line.contains("==") || line.contains("!=") || line.contains(".eq(");
            let secret = ["provided", "bytes", "mac", "finalize", "sts", "digest"]
                .iter()
                .any(|w| line.to_lowercase().contains(w));
            assert!(!(compares && secret), "{name}: non-constant-time compare? {line}");
        }
        if name != "sign.rs" {
            assert!(code.iter().any(|l| l.contains(".verify_slice(")), "{name}");
        }
    }
}

/// Credentials with a configured region (config `signing.region`).
struct Regional(&'static str);
impl Credentials for Regional {
    fn secret(&self, ak: &str) -> Option<String> {
        Keys.secret(ak)
    }
    fn region(&self) -> Option<&str> {
        Some(self.0)
    }
}

#[test]
fn v4_credentials_must_name_the_configured_region() {
    let (bucket, key, query) = split_url(V4_SPEC).unwrap();
    let req = RequestParts { method: "GET", bucket: &bucket, key: &key, query: &query, headers: &[] };
    let now = at(V4_SPEC_T + 10);
    assert_eq!(authenticate(&req, &Regional("cn-hangzhou"), now), presigned(V4_SPEC_T + 599));
    let e = authenticate(&req, &Regional("cn-beijing"), now).expect_err("another region's credential");
    assert_eq!((e.status, e.code, e.ec), (400, "InvalidArgument", None));
    assert!(e.message.contains("expecting 'cn-beijing'"), "{}", e.message);
}

#[test]
fn v1_presigned_urls_may_not_outlive_the_cap() {
    // V1_RESIZE expires at 1699807420; the default cap is 7 days.
    let cap = 604_800;
    assert_eq!(auth("GET", V1_RESIZE, &[], 1_699_807_420 - cap), presigned(1_699_807_420));
    let early = auth("GET", V1_RESIZE, &[], 1_699_807_420 - cap - 1);
    assert_eq!(code(early), ("AccessDenied", Some(sign::EC_EXPIRES_INVALID)));
}
