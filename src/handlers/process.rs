//! Processed GETs: the variant cache in front of [`render`], which fetches the source and its
//! watermark images through the bucket's store and runs the pipeline on the worker pool. saveas
//! and asynchronous tasks call [`render`] directly (their output is an object, not a cache entry).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::raw::{etag_matches, Conditional};
use super::{accept, variant_etag, Job, Req};
use crate::access::policy::Grant;
use crate::bucket::Bucket;
use crate::error::OssError;
use crate::names::ObjectKey;
use crate::proxy::app::App;
use crate::proxy::cache::Variant;
use crate::proxy::metrics::metrics;
use crate::proxy::respond::{Answer, Body};
use crate::proxy::tier::Entry;
use crate::storage::relay::Relay;
use crate::storage::{check_size, Meta, RawAccess};
use crate::transform::video::ffmpeg::Input;
use crate::transform::{self, text::Fonts, Code, Env, Prefetched, Rendered, Stop};

/// A processed GET/HEAD, through the variant cache. Returns the answer and the outcome label.
pub async fn get(
    app: &Arc<App>,
    bucket: &Arc<Bucket>,
    mut job: Job,
    req: &Req,
    grant: &Grant,
) -> Result<(Answer, &'static str), OssError> {
    let animated = accept::maybe_animated(job.object.as_str());
    let vary = accept::negotiate(&mut job.pipeline, req.header("accept"), bucket.auto_format(), animated);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let cache_control = cache_control(&app.cache_control, grant, now);
    // The source's validator keys the variant, so a changed object gets new variants; an
    // oversized one is refused from its size without reading it.
    let meta = source_meta(app, bucket, &job.object).await?;
    check_size(meta.size.unwrap_or(0), app.limits.max_source_bytes(&job.pipeline))?;
    // Everything that changes the bytes: bucket, key, source version, canonical pipeline (a
    // style prints as its expansion, so a changed style makes new keys).
    let cache_key = format!("{}{}\n{}", source_prefix(&bucket.name, &job.object), meta.etag, job.pipeline);
    let etag = variant_etag(&cache_key);
    let headers = |a: Answer| {
        let a = variant_headers(a, &cache_control, &etag, &meta);
        let a = if vary { a.header("vary", "Accept") } else { a };
        match app.tag_header {
            "" => a,
            name => a.header(name, cache_tag(&bucket.name, &job.object)),
        }
    };
    let cond = Conditional::of(&req.headers);
    if cond.if_none_match.as_deref().is_some_and(|v| etag_matches(v, &etag)) {
        return Ok((headers(Answer::new(304, Body::Empty)), "not_modified"));
    }
    let make = async {
        // The shared tier first: another replica (or this one before a restart) may have made it.
        if let Some(tier) = &app.tier {
            if let Some(e) = tier.get(&bucket.name, &job.object, &cache_key).await {
                return Ok(Variant {
                    body: e.body,
                    content_type: e.content_type,
                    etag: etag.clone(),
                    from_store: true,
                });
            }
        }
        // Out of line: the render's state is large and a cache hit never needs it.
        let r = Box::pin(render(app, bucket, &job, false)).await?;
        let body = Bytes::from(r.body);
        if let Some(tier) = &app.tier {
            let e = Entry { body: body.clone(), content_type: r.content_type };
            tier.put_later(&bucket.name, &job.object, &cache_key, e);
        }
        Ok(Variant { body, content_type: r.content_type, etag: etag.clone(), from_store: false })
    };
    let (variant, hit) = app.cache.get_or_make(cache_key.clone(), make).await?;
    let outcome = match (hit, variant.from_store) {
        (true, _) => "hit",
        (false, true) => "store_hit",
        (false, false) => "miss",
    };
    let a = Answer::new(200, Body::Bytes(variant.body.clone())).header("content-type", variant.content_type);
    Ok((headers(a), outcome))
}

/// How every variant key of `object` begins (what purging the source drops from the cache).
pub fn source_prefix(bucket: &str, object: &str) -> String {
    format!("{bucket}\n{object}\n")
}

/// The CDN cache tag of every variant of `object`: `<bucket>/<key>`, percent-encoded so that
/// neither the comma of `Cache-Tag` lists nor the space of `Surrogate-Key` lists can split it;
/// a tag longer than CDNs accept (1024 bytes) becomes `<bucket>/sha256-<hex>` of the key.
pub fn cache_tag(bucket: &str, object: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    let tag = format!("{bucket}/{}", percent_encoding::utf8_percent_encode(object, KEEP));
    if tag.len() <= 1024 {
        return tag;
    }
    use sha2::{Digest, Sha256};
    format!("{bucket}/sha256-{}", hex::encode(Sha256::digest(object.as_bytes())))
}

/// `Cache-Control` of a processed response: the configured value for anonymous reads of a public
/// bucket. What a signed request or a private bucket gets must not sit in shared caches, nor be
/// kept past the presigned URL's life: `private`, with the configured max-age cut to what is left.
fn cache_control(configured: &str, grant: &Grant, now: i64) -> String {
    if !grant.signed && !grant.private {
        return configured.to_string();
    }
    let configured_age = configured
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let age = match grant.expires {
        Some(e) => configured_age.min(e - now).max(0),
        None => configured_age.max(0),
    };
    format!("private, max-age={age}")
}

fn variant_headers(a: Answer, cache_control: &str, etag: &str, source: &Meta) -> Answer {
    let a = a.header("etag", etag).header("cache-control", cache_control.to_string());
    match &source.last_modified {
        Some(lm) => a.header("last-modified", lm.clone()),
        None => a,
    }
}

/// The validator cache's key of an object.
pub fn meta_key(bucket: &str, key: &str) -> String {
    format!("{bucket}\n{key}")
}

/// The source's size and validators: a stat for directory buckets, a HEAD for remote ones, shared
/// by concurrent requests and trusted for `origin.revalidate_s`. Directory buckets too: a stat
/// must leave the async threads, and that hand-off cost a cache hit more than the rest of its
/// work; imgedge's own writes drop the entry at once.
pub async fn source_meta(app: &App, bucket: &Bucket, key: &ObjectKey) -> Result<Meta, OssError> {
    app.metas.get_or_head(meta_key(&bucket.name, key), bucket.store.head(key)).await
}

/// Fetches the source and its watermark images and runs the pipeline on a worker. Admission
/// comes first: a slot among the renders in flight, a turn (first come first served) and memory
/// for the source, before a byte is fetched; then the plan's memory estimate, before the worker
/// decodes. `patient` (asynchronous tasks) waits for a turn, a worker and memory as long as it
/// takes instead of the queue's bound.
/// Dropping the future (the client left) stops the transform at its next check.
pub async fn render(app: &App, bucket: &Bucket, job: &Job, patient: bool) -> Result<Rendered, OssError> {
    let m = metrics();
    let t0 = Instant::now();
    let max = app.limits.max_source_bytes(&job.pipeline);
    let mut ticket = app.workers.admit(patient)?;
    let meta = source_meta(app, bucket, &job.object).await?;
    check_size(meta.size.unwrap_or(0), max)?;
    app.workers.turn(&mut ticket, patient).await?;
    // A video is never held whole (ffmpeg reads the ranges it needs): nothing to reserve for it.
    let held = if job.pipeline.snapshot.is_some() { 0 } else { meta.size.unwrap_or(0) };
    app.workers.reserve(&mut ticket, held, patient).await?;
    m.origin_fetches.inc();
    let (src, pipeline, mut ticket) = match &job.pipeline.snapshot {
        None => (bucket.store.get(&job.object, max).await?.bytes, job.pipeline.clone(), ticket),
        Some(_) => {
            // The relay (remote origins) serves ffmpeg until the grab has ended.
            let (input, relay) = video_input(bucket, &job.object, &meta).await?;
            // ffmpeg gets its own deadline and is killed if this future is dropped.
            let stop = Stop::within(app.process_timeout);
            let _stop_on_drop = StopOnDrop(stop.clone());
            let (grabber, p) = (app.video.clone(), job.pipeline.clone());
            // The worker keeps the ticket until ffmpeg has really ended, then hands it back.
            let grab = move || {
                let frame = transform::video::snapshot(&grabber, &input, &p, &stop);
                (ticket, frame)
            };
            let (ticket, frame) =
                if patient { app.workers.run_patient(grab).await? } else { app.workers.run(grab).await? };
            // When the origin failed ffmpeg, that is the answer, not "not a video".
            let (bmp, pipeline) = frame.map_err(|e| match relay.as_ref().and_then(|r| r.failure()) {
                Some(origin) => origin,
                None => e.into(),
            })?;
            drop(relay);
            (bmp, pipeline, ticket)
        }
    };
    // The transform reads watermark images synchronously on a worker: fetch them here first. A
    // missing (or unnamable) one is left out, and the transform reports it as OSS does.
    let mut marks = Prefetched::default();
    let mut fetched = src.len() as u64;
    for k in job.pipeline.object_keys() {
        let Ok(key) = ObjectKey::new(k) else { continue };
        match bucket.store.get(&key, max).await {
            Ok(o) => {
                fetched += o.bytes.len() as u64;
                marks.insert(k, o.bytes);
            }
            Err(e) if e.status == 404 => {}
            Err(e) => return Err(e),
        }
    }
    m.stage_seconds.with_label_values(&["origin"]).observe(t0.elapsed().as_secs_f64());
    // The header and the plan say how much memory the run needs (a bomb or an over-costly
    // pipeline is refused here, undecoded); the run starts once that much is reserved.
    let limits = app.limits.clone();
    let (need, src, pipeline) = tokio::task::spawn_blocking(move || {
        let need = transform::estimate(&src, &pipeline, &limits);
        (need, src, pipeline)
    })
    .await
    .map_err(|_| OssError::internal())?;
    app.workers.reserve(&mut ticket, fetched.saturating_add(need?), patient).await?;
    let stop = Stop::within(app.process_timeout);
    let _stop_on_drop = StopOnDrop(stop.clone());
    let limits = app.limits.clone();
    let work = move || {
        // Held until the transform has really ended, even if nobody waits for it any more.
        let _ticket = ticket;
        metrics().transforms.inc();
        let env = Env { limits: &limits, objects: &marks, fonts: Fonts::system(), stop };
        // Counted here: a cancelled run's caller is gone and never sees the result.
        transform::run(&src, &pipeline, &env).inspect_err(|e| {
            let reason = match e.code {
                Code::ProcessTimeout => "deadline",
                Code::Cancelled => "cancelled",
                _ => return,
            };
            metrics().transforms_stopped.with_label_values(&[reason]).inc();
        })
    };
    let rendered =
        if patient { app.workers.run_patient(work).await?? } else { app.workers.run(work).await?? };
    let t = &rendered.timings;
    for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
        m.stage_seconds.with_label_values(&[stage]).observe(d.as_secs_f64());
    }
    Ok(rendered)
}

/// Where ffmpeg reads a video from: the file of a directory bucket (resolved inside it, off the
/// async threads), else a relay on loopback that reads the origin's ranges for it (ffmpeg
/// never dials an origin itself: no redirect it could follow, no address we would not use).
async fn video_input(
    bucket: &Bucket,
    key: &ObjectKey,
    meta: &Meta,
) -> Result<(Input, Option<Relay>), OssError> {
    match bucket.store.raw() {
        RawAccess::Dir(d) => Ok((Input::File(d.stat(key).await?.0), None)),
        RawAccess::Proxy(remote) => {
            let relay = Relay::start(remote, key, meta).await?;
            Ok((Input::Url(relay.url().to_string()), Some(relay)))
        }
    }
}

/// Stops a transform whose render future is dropped: its client is gone, or a shared miss was
/// abandoned by every waiter.
struct StopOnDrop(Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tags_survive_tag_lists_and_stay_short() {
        assert_eq!(cache_tag("demo", "a/b c,d.jpg"), "demo/a/b%20c%2Cd.jpg");
        assert_eq!(cache_tag("demo", "照片.jpg"), "demo/%E7%85%A7%E7%89%87.jpg");
        let long = "x,".repeat(400);
        let t = cache_tag("demo", &long);
        assert!(t.starts_with("demo/sha256-") && t.len() == 5 + 7 + 64, "{t}");
        assert_ne!(t, cache_tag("demo", &"y,".repeat(400)));
    }
}
