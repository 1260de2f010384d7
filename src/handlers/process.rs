//! Processed GETs: the variant cache in front of [`render`], which fetches the source and its
//! watermark images through the bucket's store and runs the pipeline on the worker pool. saveas
//! and asynchronous tasks call [`render`] directly (their output is an object, not a cache entry).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::raw::{etag_matches, Conditional};
use super::{variant_etag, Job, Req};
use crate::access::policy::Grant;
use crate::bucket::Bucket;
use crate::error::OssError;
use crate::names::ObjectKey;
use crate::proxy::app::App;
use crate::proxy::cache::Variant;
use crate::proxy::metrics::metrics;
use crate::proxy::respond::{Answer, Body};
use crate::storage::{check_size, Meta, RawAccess};
use crate::transform::{self, text::Fonts, Env, Prefetched, Rendered};

/// A processed GET/HEAD, through the variant cache. Returns the answer and the outcome label.
pub async fn get(
    app: &Arc<App>,
    bucket: &Arc<Bucket>,
    job: Job,
    req: &Req,
    _grant: &Grant,
) -> Result<(Answer, &'static str), OssError> {
    // The source's validator keys the variant, so a changed object gets new variants; an
    // oversized one is refused from its size without reading it.
    let meta = source_meta(app, bucket, &job.object).await?;
    check_size(meta.size.unwrap_or(0), app.limits.max_src_bytes)?;
    // Everything that changes the bytes: bucket, key, source version, canonical pipeline (a
    // style prints as its expansion, so a changed style makes new keys).
    let cache_key = format!("{}\n{}\n{}\n{}", bucket.name, job.object, meta.etag, job.pipeline);
    let etag = variant_etag(&cache_key);
    let cond = Conditional::of(&req.headers);
    if cond.if_none_match.as_deref().is_some_and(|v| etag_matches(v, &etag)) {
        return Ok((variant_headers(app, Answer::new(304, Body::Empty), &etag, &meta), "not_modified"));
    }
    let make = async {
        let r = render(app, bucket, &job, false).await?;
        Ok(Variant { body: Bytes::from(r.body), content_type: r.content_type, etag: etag.clone() })
    };
    let (variant, hit) = app.cache.get_or_make(cache_key, make).await?;
    let a = Answer::new(200, Body::Bytes(variant.body.clone())).header("content-type", variant.content_type);
    Ok((variant_headers(app, a, &variant.etag, &meta), if hit { "hit" } else { "miss" }))
}

fn variant_headers(app: &App, a: Answer, etag: &str, source: &Meta) -> Answer {
    let a = a.header("etag", etag).header("cache-control", app.cache_control.clone());
    match &source.last_modified {
        Some(lm) => a.header("last-modified", lm.clone()),
        None => a,
    }
}

/// The validator cache's key of an object.
pub fn meta_key(bucket: &str, key: &str) -> String {
    format!("{bucket}\n{key}")
}

/// The source's size and validators: a stat for directory buckets, a HEAD for remote ones
/// (shared by concurrent requests and trusted for `origin.revalidate_s`).
pub async fn source_meta(app: &App, bucket: &Bucket, key: &ObjectKey) -> Result<Meta, OssError> {
    match bucket.store.raw() {
        RawAccess::Proxy(_) => {
            app.metas.get_or_head(meta_key(&bucket.name, key), bucket.store.head(key)).await
        }
        RawAccess::Dir(_) => bucket.store.head(key).await,
    }
}

/// Fetches the source and its watermark images and runs the pipeline on a worker. `patient`
/// waits for a worker as long as it takes (asynchronous tasks) instead of the queue's bound.
pub async fn render(app: &App, bucket: &Bucket, job: &Job, patient: bool) -> Result<Rendered, OssError> {
    let m = metrics();
    let t0 = Instant::now();
    m.origin_fetches.inc();
    let max = app.limits.max_src_bytes;
    let src = bucket.store.get(&job.object, max).await?.bytes;
    // The transform reads watermark images synchronously on a worker: fetch them here first. A
    // missing (or unnamable) one is left out, and the transform reports it as OSS does.
    let mut marks = Prefetched::default();
    for k in job.pipeline.object_keys() {
        let Ok(key) = ObjectKey::new(k) else { continue };
        match bucket.store.get(&key, max).await {
            Ok(o) => marks.insert(k, o.bytes),
            Err(e) if e.status == 404 => {}
            Err(e) => return Err(e),
        }
    }
    m.stage_seconds.with_label_values(&["origin"]).observe(t0.elapsed().as_secs_f64());
    let (limits, pipeline) = (app.limits.clone(), job.pipeline.clone());
    let work = move || {
        metrics().transforms.inc();
        let env = Env { limits: &limits, objects: &marks, fonts: Fonts::system() };
        transform::run(&src, &pipeline, &env)
    };
    let rendered =
        if patient { app.workers.run_patient(work).await?? } else { app.workers.run(work).await?? };
    let t = &rendered.timings;
    for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
        m.stage_seconds.with_label_values(&[stage]).observe(d.as_secs_f64());
    }
    Ok(rendered)
}
