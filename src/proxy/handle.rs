//! What the proxy does with one request: route it to a bucket and an object key, decide raw or
//! processed, apply the bucket's rules, and produce an [`Answer`] (or hand a raw request of a
//! remote bucket to pingora). Processed variants go through the cache and the worker pool.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use pingora::proxy::Session;

use super::cache::{MetaCache, Variant, VariantCache};
use super::classify;
use super::error::OssError;
use super::metrics::metrics;
use super::origin::Remote;
use super::raw::{self, etag_matches, Conditional, SourceMeta};
use super::respond::{Answer, Body};
use super::workers::Workers;
use super::Ctx;
use crate::access::protect::{self, Decision, ProtectConfig};
use crate::access::referer::{self, RefererConfig};
use crate::access::{self, Auth, Credentials, RequestParts};
use crate::config::{self, Acl, Config};
use crate::route::{self, HostMap};
use crate::transform::{self, text::Fonts, DirObjects, Env, Limits, Objects, Pipeline, Prefetched};

/// Where a bucket's objects live.
enum Store {
    Dir(Arc<DirObjects>),
    /// HTTP(S) or S3: raw requests are proxied by pingora, sources fetched for processing.
    Remote(Arc<Remote>),
}

/// A bucket at run time.
struct BucketRt {
    conf: config::Bucket,
    /// The bucket's styles, built once (looked up on every styled request).
    styles: HashMap<String, String>,
    store: Store,
    referer: RefererConfig,
    protect: ProtectConfig,
}

/// The proxy application: configuration and shared state.
pub struct App {
    keys: Keys,
    limits: Limits,
    hosts: HostMap,
    /// Requests whose Host names no bucket go here (so `127.0.0.1:8080` works out of the box).
    default_bucket: String,
    buckets: HashMap<String, BucketRt>,
    workers: Workers,
    cache: VariantCache,
    /// Validators of remote sources, trusted for `origin.revalidate_s`.
    metas: MetaCache,
    cache_control: String,
    host_id: String,
}

impl App {
    pub fn new(cfg: &Config) -> Result<App, String> {
        let mut buckets = HashMap::new();
        let mut custom = Vec::new();
        for b in &cfg.buckets {
            let remote =
                Remote::from_config(&b.origin, &cfg.origin).map_err(|e| format!("bucket {}: {e}", b.name))?;
            let store = match (&b.origin, remote) {
                (_, Some(r)) => Store::Remote(Arc::new(r)),
                (config::Origin::Dir { path }, None) => Store::Dir(Arc::new(
                    DirObjects::new(path)
                        .map_err(|e| format!("bucket {}: {}: {e}", b.name, path.display()))?,
                )),
                (_, None) => return Err(format!("bucket {}: origin without a store", b.name)),
            };
            custom.extend(b.custom_domains.iter().map(|d| (d.clone(), b.name.clone())));
            let r = &b.referer;
            let referer = RefererConfig {
                allow_empty: r.allow_empty,
                allow_truncate_query: r.allow_truncate_query,
                truncate_path: r.truncate_path,
                whitelist: r.whitelist.clone(),
                blacklist: r.blacklist.clone(),
            };
            let protect =
                ProtectConfig { enabled: b.source_protect, suffixes: b.source_protect_suffixes.clone() };
            buckets.insert(
                b.name.clone(),
                BucketRt {
                    conf: b.clone(),
                    styles: b.styles.clone().into_iter().collect(),
                    store,
                    referer,
                    protect,
                },
            );
        }
        Ok(App {
            keys: Keys(
                cfg.access_keys
                    .iter()
                    .map(|k| (k.id.clone(), (k.secret.clone(), k.buckets.clone())))
                    .collect(),
            ),
            limits: cfg.limits.to_limits(),
            hosts: HostMap::new(&cfg.domains, &custom),
            default_bucket: cfg.buckets.first().map(|b| b.name.clone()).unwrap_or_default(),
            buckets,
            workers: Workers::new(
                cfg.server.transform_workers,
                cfg.server.queue,
                Duration::from_millis(cfg.server.queue_wait_ms),
            ),
            cache: VariantCache::new(cfg.cache.capacity_bytes, Duration::from_secs(cfg.cache.ttl_s)),
            metas: MetaCache::new(Duration::from_secs(cfg.origin.revalidate_s)),
            cache_control: cfg.cache.cache_control.clone(),
            host_id: cfg.server.host_id.clone(),
        })
    }

    /// The answer, or `None` when pingora should proxy the request to the bucket's remote origin
    /// (`ctx.upstream` is set then).
    pub(super) async fn handle(&self, session: &mut Session, ctx: &mut Ctx) -> Option<Answer> {
        Some(match self.route(session, ctx).await {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(e) => {
                ctx.outcome = if e.status == 503 { "busy" } else { "error" };
                let host =
                    session.req_header().headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
                let host_id = if self.host_id.is_empty() { host } else { &self.host_id };
                Answer::error(&e, &ctx.request_id, host_id)
            }
        })
    }

    async fn route(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Option<Answer>, OssError> {
        let req = session.req_header();
        let method = req.method.as_str();
        if method == "POST" {
            return Err(OssError::new(501, "NotImplemented", None, "POST (sys/saveas) is not provided yet."));
        }
        if method != "GET" && method != "HEAD" {
            return Err(OssError::method_not_allowed());
        }
        let host = req.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
        let (bucket, path) = self.bucket_and_path(host, req.uri.path())?;
        if path == "/" {
            return Err(OssError::new(
                501,
                "NotImplemented",
                None,
                "Bucket-level APIs are not provided yet.",
            ));
        }
        let key = route::decode_key(path)
            .map_err(|e| OssError::new(400, "InvalidObjectName", e.ec(), e.to_string()))?;
        let query = classify::parse_query(req.uri.query())?;
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect();
        let parts =
            RequestParts { method, bucket: &bucket.conf.name, key: &key, query: &query, headers: &headers };
        let auth = access::authenticate(&parts, &self.keys, SystemTime::now()).map_err(|e| OssError {
            status: e.status,
            code: e.code.into(),
            ec: e.ec,
            message: e.message.into(),
            bucket_name: None,
            string_to_sign: e.string_to_sign,
        })?;
        let (signed, by_header) = match &auth {
            Auth::Anonymous => (false, false),
            Auth::Signed { access_key_id, by_header, .. } => {
                if !self.keys.may_read(access_key_id, &bucket.conf.name) {
                    return Err(OssError::access_denied(None, "The access key may not read this bucket."));
                }
                (true, *by_header)
            }
        };
        if bucket.conf.acl == Acl::Private && !signed {
            return Err(OssError::access_denied(
                None,
                "You have no right to access this object because of bucket acl.",
            ));
        }
        let conditional = Conditional::of(req);
        let styles = &bucket.styles;
        let (object, pipeline) = match classify::single(&query, "x-oss-process")? {
            Some(Some(v)) => (key.clone(), Some(transform::parse(v, styles, &self.limits)?)),
            Some(None) => {
                return Err(OssError::new(
                    400,
                    "InvalidArgument",
                    None,
                    "x-oss-process needs a value on GET",
                ));
            }
            None => match self.separator_style(bucket, &key, styles)? {
                Some((object, p)) => (object, Some(p)),
                None => (key.clone(), None),
            },
        };
        if pipeline.as_ref().is_some_and(|p| p.saveas.is_some()) {
            return Err(OssError::new(400, "InvalidArgument", None, "sys/saveas is only allowed with POST"));
        }
        if !by_header {
            // Hotlink rules apply to anonymous and presigned-URL requests alike.
            let referer = session.req_header().headers.get("referer").and_then(|v| v.to_str().ok());
            referer::check(&bucket.referer, referer).map_err(|d| {
                let mut e = OssError::access_denied(Some(d.ec()), d.message());
                e.bucket_name = Some(bucket.conf.name.clone());
                e
            })?;
        }
        let kind = match &pipeline {
            None => protect::Request::Raw,
            Some(p) if p.style.is_some() => protect::Request::Style,
            Some(_) => protect::Request::Image,
        };
        match protect::decide(&bucket.protect, &object, kind, signed) {
            Decision::Allow => {}
            d => {
                return Err(OssError::access_denied(
                    d.ec(),
                    "You are forbidden to access the source image; use a style.",
                ))
            }
        }
        let store = match &bucket.store {
            Store::Remote(origin) => {
                return match pipeline {
                    None => {
                        ctx.outcome = "raw";
                        ctx.upstream = Some((origin.clone(), object));
                        Ok(None)
                    }
                    Some(p) => {
                        // The source's validator (a HEAD, trusted for `revalidate_s`) keys the
                        // variant, so a changed object gets new variants; an oversized one is
                        // refused from its Content-Length without reading it.
                        let meta_key = format!("{}\n{object}", bucket.conf.name);
                        let meta = self.metas.get_or_head(meta_key, origin.head(&object)).await?;
                        if meta.size.is_some_and(|n| n > self.limits.max_src_bytes) {
                            return Err(transform::Error::source_too_large().into());
                        }
                        let source = SourceMeta::remote(&meta);
                        let src = Source::Remote(origin.clone(), object.clone());
                        self.processed(bucket, object, src, source, p, &conditional, ctx).await.map(Some)
                    }
                };
            }
            Store::Dir(d) => d,
        };
        let path = store.resolve(&object).ok_or_else(OssError::no_such_key)?;
        let meta = std::fs::metadata(&path).map_err(|_| OssError::no_such_key())?;
        let source = SourceMeta::of(&meta);
        match pipeline {
            None => {
                ctx.outcome = "raw";
                Ok(Some(raw::raw(
                    &path,
                    &object,
                    &source,
                    &conditional,
                    session.req_header().headers.get("range"),
                )))
            }
            Some(p) => {
                if source.size > self.limits.max_src_bytes {
                    return Err(transform::Error::source_too_large().into());
                }
                let src = Source::File(path, store.clone());
                self.processed(bucket, object, src, source, p, &conditional, ctx).await.map(Some)
            }
        }
    }

    /// The bucket and the object path. Virtual-host style (`<bucket>.<domain>`, custom domains)
    /// first; for an IP-address Host, path style (`/<bucket>/<key>`) as the OSS SDKs send it to IP
    /// endpoints; otherwise the default bucket.
    fn bucket_and_path<'p>(&self, host: &str, path: &'p str) -> Result<(&BucketRt, &'p str), OssError> {
        if let Some(name) = self.hosts.bucket_for(host) {
            return self.buckets.get(name.as_ref()).map(|b| (b, path)).ok_or_else(OssError::no_such_bucket);
        }
        let bare =
            host.rsplit_once(':').map_or(host, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok() {
            let rest = path.strip_prefix('/').unwrap_or(path);
            let (first, tail) = rest.split_once('/').map_or((rest, ""), |(f, t)| (f, t));
            if let Some(b) = self.buckets.get(first) {
                let key_path = &path[1 + first.len()..];
                let key_path = if tail.is_empty() && key_path.is_empty() { "/" } else { key_path };
                return Ok((b, key_path));
            }
        }
        self.buckets.get(&self.default_bucket).map(|b| (b, path)).ok_or_else(OssError::no_such_bucket)
    }

    /// `photo.jpg!thumb`: a style after an enabled separator, unless the whole key is an object.
    fn separator_style(
        &self,
        bucket: &BucketRt,
        key: &str,
        styles: &HashMap<String, String>,
    ) -> Result<Option<(String, Pipeline)>, OssError> {
        let seps: Vec<&str> = bucket.conf.style_delimiters.iter().map(String::as_str).collect();
        match route::split_style(key, &seps, |s| styles.contains_key(s)) {
            Some((object, style)) if !matches!(&bucket.store, Store::Dir(d) if d.resolve(key).is_some()) => {
                let p = transform::parse(&format!("style/{style}"), styles, &self.limits)?;
                Ok(Some((object.to_string(), p)))
            }
            _ => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn processed(
        &self,
        bucket: &BucketRt,
        object: String,
        src: Source,
        source: SourceMeta,
        pipeline: Pipeline,
        cond: &Conditional,
        ctx: &mut Ctx,
    ) -> Result<Answer, OssError> {
        // Everything that changes the bytes: bucket, key, source version, canonical pipeline.
        let cache_key = format!("{}\n{}\n{}\n{}", bucket.conf.name, object, source.etag, pipeline);
        let etag = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            cache_key.hash(&mut h);
            format!("\"{:016x}\"", h.finish())
        };
        if cond.if_none_match.as_deref().is_some_and(|v| etag_matches(v, &etag)) {
            ctx.outcome = "not_modified";
            return Ok(self.variant_headers(Answer::new(304, Body::Empty), &etag, &source));
        }
        let limits = self.limits.clone();
        let make = async move {
            let m = metrics();
            let t0 = Instant::now();
            m.origin_fetches.inc();
            let max = limits.max_src_bytes;
            let (src, objects): (Vec<u8>, Arc<dyn Objects>) = match src {
                Source::File(path, dir) => {
                    let bytes = tokio::task::spawn_blocking(move || transform::env::read_bounded(&path, max))
                        .await
                        .map_err(|_| OssError::internal())?
                        .map_err(|e| match e.kind() {
                            std::io::ErrorKind::InvalidData => {
                                OssError::from(transform::Error::source_too_large())
                            }
                            _ => OssError::no_such_key(),
                        })?;
                    (bytes, dir)
                }
                Source::Remote(origin, key) => {
                    let bytes = origin.fetch(&key, max).await?.bytes;
                    // The transform reads watermark images synchronously on a worker: fetch
                    // them here first. A missing one is left out (the transform reports it).
                    let mut marks = Prefetched::default();
                    for k in pipeline.object_keys() {
                        match origin.fetch(k, max).await {
                            Ok(f) => marks.insert(k, f.bytes),
                            Err(e) if e.status == 404 => {}
                            Err(e) => return Err(e),
                        }
                    }
                    (bytes, Arc::new(marks))
                }
            };
            m.stage_seconds.with_label_values(&["origin"]).observe(t0.elapsed().as_secs_f64());
            let rendered = self
                .workers
                .run(move || {
                    metrics().transforms.inc();
                    let env = Env { limits: &limits, objects: objects.as_ref(), fonts: Fonts::system() };
                    transform::run(&src, &pipeline, &env)
                })
                .await??;
            let t = &rendered.timings;
            for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
                m.stage_seconds.with_label_values(&[stage]).observe(d.as_secs_f64());
            }
            Ok(Variant {
                body: Bytes::from(rendered.body),
                content_type: rendered.content_type,
                etag: etag.clone(),
            })
        };
        let (variant, hit) = self.cache.get_or_make(cache_key, make).await?;
        ctx.outcome = if hit { "hit" } else { "miss" };
        let a =
            Answer::new(200, Body::Bytes(variant.body.clone())).header("content-type", variant.content_type);
        Ok(self.variant_headers(a, &variant.etag, &source))
    }

    fn variant_headers(&self, a: Answer, etag: &str, source: &SourceMeta) -> Answer {
        let a = a.header("etag", etag).header("cache-control", self.cache_control.clone());
        match source.last_modified.is_empty() {
            true => a,
            false => a.header("last-modified", source.last_modified.clone()),
        }
    }
}

impl From<transform::Error> for Box<OssError> {
    fn from(e: transform::Error) -> Self {
        Box::new(e.into())
    }
}

/// The configured access keys: id → (secret, buckets it may read; empty = all).
struct Keys(HashMap<String, (String, Vec<String>)>);

impl Credentials for Keys {
    fn secret(&self, id: &str) -> Option<String> {
        self.0.get(id).map(|(s, _)| s.clone())
    }
}

impl Keys {
    fn may_read(&self, id: &str, bucket: &str) -> bool {
        self.0.get(id).is_some_and(|(_, b)| b.is_empty() || b.iter().any(|x| x == bucket))
    }
}

/// Where the source of a processed request comes from.
enum Source {
    File(PathBuf, Arc<DirObjects>),
    Remote(Arc<Remote>, String),
}
