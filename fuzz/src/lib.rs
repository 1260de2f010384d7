//! The fuzz targets' bodies, one function each, so a target file is one line and the harnesses
//! can share their helpers. Every function must return normally for every input: a panic, an
//! abort, a failed assertion or an allocation past libFuzzer's `-malloc_limit_mb` is a finding.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use imgedge::access::{authenticate, Auth, Credentials, RequestParts};
use imgedge::transform::codec::SourceInfo;
use imgedge::transform::{self, Format, Limits};

/// Styles a process string may name (`style/<name>`), including ones whose content is refused.
pub fn styles() -> HashMap<String, String> {
    [
        ("thumb", "image/resize,w_100"),
        ("wm", "image/watermark,text_SGVsbG8,size_20/format,png"),
        ("nested", "style/thumb"),
        ("saver", "image/resize,w_1|sys/saveas,o_dGVzdA"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn source(format: Format, width: u32, height: u32, frames: u32, orientation: u8) -> SourceInfo {
    SourceInfo {
        format,
        width,
        height,
        frames,
        orientation,
        jpeg_quality: (format == Format::Jpeg).then_some(85),
        file_size: 100_000,
        has_alpha: format == Format::Png,
        jpeg_ycbcr: format == Format::Jpeg,
        icc: imgedge::transform::codec::probe::Icc::None,
    }
}

/// `process_string`: the first byte picks the entry point (decoded string or raw query value),
/// the rest is the process string. Every pipeline that parses is planned against small still,
/// rotated, animated and 1×1 sources, and its cost is checked against the default limits.
pub fn process_string(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let limits = Limits::default();
    let st = styles();
    let parsed = if mode & 1 == 0 {
        transform::parse(text, &st, &limits)
    } else {
        transform::parse_query_value(text, &st, &limits)
    };
    let Ok(pipeline) = parsed else { return };
    let sources = [
        source(Format::Jpeg, 640, 480, 1, 1),
        source(Format::Jpeg, 480, 640, 1, 6),
        source(Format::Png, 1, 1, 1, 1),
        source(Format::Gif, 120, 80, 12, 1),
        source(Format::Webp, 16_383, 2, 3, 1),
    ];
    for src in &sources {
        if let Ok(plan) = transform::plan::plan(&pipeline, src, &limits) {
            assert!(plan.cost.peak_bytes <= limits.max_decode_bytes, "planned past max_decode_bytes");
        }
    }
}

/// `IMGEDGE_FUZZ_VERBOSE=1` prints what the signature harness decided (replaying seeds).
fn verbose() -> bool {
    static V: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V.get_or_init(|| std::env::var_os("IMGEDGE_FUZZ_VERBOSE").is_some())
}

/// Fixed clock of the signature harness: the oss2 test vectors' NOW (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;
/// Where a harness input asks for the signature the server computes.
pub const PLACEHOLDER: &str = "{SIG}";

struct Keys;
impl Credentials for Keys {
    fn secret(&self, ak: &str) -> Option<String> {
        (ak == "ak").then(|| "sk".to_string())
    }
}

/// Which verifier a request reaches (the dispatch rule of `access::authenticate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    V1,
    V4,
    Other,
}

/// A request as the proxy hands it to `authenticate`, read from a line-oriented text:
/// line 1 the method, line 2 the bucket, line 3 the key (percent-decoded once, as the proxy
/// decodes the path), then `?<raw query>` lines (split and decoded by `request::parse_query`,
/// the proxy's own query parser) and `name: value` header lines (names lower-cased, as the
/// proxy does). Other lines are ignored.
pub struct SignInput {
    pub method: String,
    pub bucket: String,
    pub key: String,
    pub query: Vec<(String, Option<String>)>,
    pub headers: Vec<(String, String)>,
}

fn pct(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

impl SignInput {
    pub fn read(text: &str) -> Option<SignInput> {
        let mut lines = text.split('\n');
        let method = lines.next()?.to_string();
        let bucket = pct(lines.next()?)?;
        let key = pct(lines.next().unwrap_or(""))?;
        let (mut query, mut headers) = (Vec::new(), Vec::new());
        for line in lines {
            if let Some(raw) = line.strip_prefix('?') {
                query.extend(imgedge::request::parse_query(Some(raw)).ok()?);
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim_start().to_string()));
            }
        }
        Some(SignInput { method, bucket, key, query, headers })
    }

    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            bucket: &self.bucket,
            key: &self.key,
            query: &self.query,
            headers: &self.headers,
        }
    }

    pub fn scheme(&self) -> Scheme {
        let authz: Vec<&str> =
            self.headers.iter().filter(|(k, _)| k == "authorization").map(|(_, v)| v.trim()).collect();
        let has = |names: &[&str]| self.query.iter().any(|(k, _)| names.contains(&k.as_str()));
        match authz.as_slice() {
            [a] if a.starts_with("OSS4-HMAC-SHA256 ") => Scheme::V4,
            [a] if a.starts_with("OSS ") => Scheme::V1,
            [_] | [_, _, ..] => Scheme::Other,
            [] if has(&["x-oss-signature-version", "x-oss-credential", "x-oss-signature"]) => Scheme::V4,
            [] if has(&["OSSAccessKeyId", "Signature", "Expires"]) => Scheme::V1,
            [] => Scheme::Other,
        }
    }

    /// Whether `{SIG}` occurs exactly once in the request, as the whole signature a verifier of
    /// `scheme` reads (`OSS <ak>:{SIG}`, `Signature={SIG}`, `Signature`/`x-oss-signature` in
    /// the query). Only then does filling it in give the request a client would send.
    fn placeholder_is_the_signature(&self, scheme: Scheme) -> bool {
        let count = |s: &str| s.matches(PLACEHOLDER).count();
        let total = count(&self.method)
            + count(&self.bucket)
            + count(&self.key)
            + self.query.iter().map(|(k, v)| count(k) + v.as_deref().map_or(0, count)).sum::<usize>()
            + self.headers.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>();
        if total != 1 {
            return false;
        }
        let param =
            |name: &str| self.query.iter().any(|(k, v)| k == name && v.as_deref() == Some(PLACEHOLDER));
        let authz = self.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.trim());
        match scheme {
            Scheme::V1 => {
                param("Signature")
                    || authz
                        .and_then(|a| a.strip_prefix("OSS "))
                        .and_then(|rest| rest.split_once(':'))
                        .is_some_and(|(_, sig)| sig == PLACEHOLDER)
            }
            Scheme::V4 => {
                param("x-oss-signature")
                    || authz.and_then(|a| a.strip_prefix("OSS4-HMAC-SHA256 ")).is_some_and(|rest| {
                        rest.split(',').any(|f| {
                            f.trim()
                                .split_once('=')
                                .is_some_and(|(n, v)| n == "Signature" && v.trim() == PLACEHOLDER)
                        })
                    })
            }
            Scheme::Other => false,
        }
    }

    /// Every `{SIG}` in a query value or header value replaced by `sig`.
    fn with_signature(&self, sig: &str) -> SignInput {
        let fill = |s: &str| s.replace(PLACEHOLDER, sig);
        SignInput {
            method: self.method.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            query: self.query.iter().map(|(k, v)| (k.clone(), v.as_deref().map(fill))).collect(),
            headers: self.headers.iter().map(|(k, v)| (k.clone(), fill(v))).collect(),
        }
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The signature a client holding `sk` computes over `sts` (spec §1.7 / §1.8), written
/// independently of imgedge's verifier.
fn client_signature(scheme: Scheme, sts: &str) -> Option<String> {
    match scheme {
        Scheme::V1 => {
            Some(base64::engine::general_purpose::STANDARD.encode(hmac_sha1(b"sk", sts.as_bytes())))
        }
        Scheme::V4 => {
            // OSS4-HMAC-SHA256\n<16-byte datetime>\n<date>/<region>/oss/aliyun_v4_request\n<hex>
            let rest = sts.strip_prefix("OSS4-HMAC-SHA256\n")?.get(17..)?;
            let (scope, _hash) = rest.rsplit_once('\n')?;
            let (date, region) = scope.strip_suffix("/oss/aliyun_v4_request")?.split_once('/')?;
            let mut key = b"aliyun_v4sk".to_vec();
            for part in [date, region, "oss", "aliyun_v4_request"] {
                key = hmac_sha256(&key, part.as_bytes());
            }
            Some(hex::encode(hmac_sha256(&key, sts.as_bytes())))
        }
        Scheme::Other => None,
    }
}

/// `sign_v1` / `sign_v4`: a request of the given scheme goes through `authenticate` at a clock
/// the first line may shift (`@<seconds>` as line 0, relative to [`NOW`]). It must return Ok or
/// Err. When it is refused only for its signature and the input marks the signature with
/// `{SIG}`, the request is signed again with the string-to-sign the error echoes, exactly as a
/// client would: that request must then verify (the verifier and its echoed StringToSign agree).
pub fn sign(data: &[u8], want: Scheme) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (shift, text) = match text.strip_prefix('@').and_then(|t| t.split_once('\n')) {
        Some((n, rest)) => (n.trim().parse::<i32>().unwrap_or(0), rest),
        None => (0, text),
    };
    // Any i32 shift, even one before the epoch (a broken clock), is a valid SystemTime.
    let t = NOW as i64 + i64::from(shift);
    let now = match u64::try_from(t) {
        Ok(t) => UNIX_EPOCH + Duration::from_secs(t),
        Err(_) => UNIX_EPOCH - Duration::from_secs(t.unsigned_abs()),
    };
    let Some(input) = SignInput::read(text) else { return };
    if input.scheme() != want {
        return;
    }
    let first = authenticate(&input.parts(), &Keys, now);
    if verbose() {
        eprintln!("authenticate: {first:?}");
    }
    let err = match first {
        Ok(auth) => {
            assert!(matches!(auth, Auth::Signed { ref access_key_id, .. } if access_key_id == "ak"));
            return;
        }
        Err(e) => e,
    };
    assert!((400..=403).contains(&err.status), "unexpected status {err:?}");
    let (Some(sts), true) = (err.string_to_sign.as_deref(), err.code == "SignatureDoesNotMatch") else {
        return;
    };
    // A signature that signs itself (V4 AdditionalHeaders naming authorization, V1's signed
    // x-oss-* headers holding it) cannot be produced by any client; skip the oracle there.
    if !input.placeholder_is_the_signature(want) || sts.contains(PLACEHOLDER) {
        return;
    }
    let Some(sig) = client_signature(want, sts) else { return };
    let resigned = input.with_signature(&sig);
    if resigned.scheme() != want {
        return;
    }
    let second = authenticate(&resigned.parts(), &Keys, now);
    if verbose() {
        eprintln!("re-signed: {second:?}");
    }
    if let Err(e) = second {
        panic!("re-signed request refused: {e:?}\nfirst string-to-sign: {sts:?}");
    }
}

/// `bucket_xml`: the same bytes go to each bucket-API body parser (PutStyle, PutBucketReferer,
/// PutBucketProcessConfiguration). A document that parses must serialise back to one that
/// parses to the same value, because GET answers with that serialisation.
pub fn bucket_xml(data: &[u8]) {
    use imgedge::bucket::xml;
    if let Ok(content) = xml::parse_style(data) {
        let info = xml::StyleInfo { name: "s".into(), content: content.clone(), ..Default::default() };
        let again = xml::parse_style(xml::style_xml(&info).as_bytes());
        assert_eq!(again.as_ref(), Ok(&content), "style round trip");
    }
    if let Ok(doc) = xml::parse_referer(data) {
        let again = xml::parse_referer(xml::referer_xml(&doc).as_bytes());
        assert_eq!(again.as_ref(), Ok(&doc), "referer round trip");
    }
    if let Ok(doc) = xml::parse_process(data) {
        let again = xml::parse_process(xml::process_xml(&doc).as_bytes());
        assert_eq!(again.as_ref(), Ok(&doc), "processConfiguration round trip");
    }
}

/// `write_form`: the write path of POST `?x-oss-process` / `?x-oss-async-process`. The first
/// line is the raw query string, classified with the method the first byte picks; the rest is
/// the form body, whose process field goes through the process-string parser.
pub fn write_form(data: &[u8]) {
    use imgedge::request;
    let Some((&sel, rest)) = data.split_first() else { return };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let method = ["POST", "GET", "PUT", "DELETE", "HEAD"][(sel as usize >> 1) % 5];
    if let Ok(q) = std::str::from_utf8(query) {
        if let Ok(q) = request::parse_query(Some(q)) {
            let _ = request::classify(method, sel & 1 == 0, &q);
        }
    }
    let limits = Limits::default();
    let st = styles();
    for field in ["x-oss-process", "x-oss-async-process"] {
        if let Ok(process) = request::form_field(body, field) {
            if let Ok(p) = transform::parse(&process, &st, &limits) {
                let _ = transform::plan::plan(&p, &source(Format::Jpeg, 400, 300, 1, 1), &limits);
            }
        }
    }
}

/// Pipelines the `pipeline` target picks from with its first byte: every encoder, every pixel
/// action, and both JSON outputs.
pub const PIPELINES: &[&str] = &[
    "image/resize,w_100",
    "image/resize,m_fill,w_64,h_48/format,png",
    "image/resize,m_pad,w_80,h_80,color_FF0000/format,webp",
    "image/resize,p_50/format,gif",
    "image/format,jpg/interlace,1/quality,q_50",
    "image/format,bmp",
    "image/format,tiff",
    "image/rotate,90/format,png",
    "image/rotate,45",
    "image/crop,x_10,y_10,w_50,h_50,g_se",
    "image/circle,r_50/format,png",
    "image/rounded-corners,r_20/format,webp",
    "image/indexcrop,x_10,i_1",
    "image/blur,r_3,s_2/bright,20/contrast,-30/sharpen,100",
    "image/auto-orient,1/resize,l_64",
    "image/watermark,text_SGVsbG8,size_20,g_se/format,png",
    "image/info",
    "image/average-hue",
];

/// The limits the `pipeline` target runs under: small enough that a decompression bomb or an
/// over-wide plan is refused long before it nears libFuzzer's memory limits.
pub fn pipeline_limits() -> Limits {
    Limits {
        max_src_bytes: 1 << 20,
        max_src_side: 4096,
        max_src_pixels: 4_000_000,
        max_tiff_side: 4096,
        max_out_side: 4096,
        max_out_pixels: 4_000_000,
        max_frames: 32,
        max_decode_bytes: 64 << 20,
        max_work_mpx: 64,
        ..Limits::default()
    }
}

/// `pipeline`: arbitrary bytes as the source image (first byte: which of [`PIPELINES`]),
/// estimated, then decoded, transformed and encoded under [`pipeline_limits`]. It must answer Ok
/// or Err; an estimate that is accepted must stay within `max_decode_bytes`.
pub fn pipeline(data: &[u8]) {
    let Some((&sel, src)) = data.split_first() else { return };
    let limits = pipeline_limits();
    let p = transform::parse(PIPELINES[sel as usize % PIPELINES.len()], &transform::NoStyles, &limits)
        .expect("the fixed pipelines parse");
    if let Ok(peak) = transform::estimate(src, &p, &limits) {
        assert!(peak <= limits.max_decode_bytes, "estimate {peak} past max_decode_bytes");
    }
    let env = transform::Env::new(&limits);
    let _ = transform::run(src, &p, &env);
}

/// Panics in third-party codecs are caught by `transform::run` (they become InternalError) and
/// are reported once per location on stderr rather than ending the run; a panic anywhere else,
/// imgedge's own code above all, aborts as libFuzzer's default hook would.
pub fn tolerate_caught_codec_panics() {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        if loc.contains("/.cargo/registry/") && !loc.contains("/imgedge") {
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if !seen.contains(&loc) {
                eprintln!("caught third-party panic at {loc}: {info}");
                seen.push(loc);
            }
            return;
        }
        previous(info);
    }));
}
