//! Processed GETs and HEADs: the format negotiated from `Accept`, conditional requests, the
//! variant cache and the shared tier in front of the engine's render, and the headers of a
//! variant (ETag, Cache-Control, Vary, cache tag). saveas and asynchronous tasks call the
//! render directly (their output is an object, not a cache entry).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::raw::{etag_matches, Conditional};
use super::{accept, hints};
use crate::access::policy::Grant;
use crate::app::App;
use crate::bucket::Bucket;
use crate::engine::budget::Budget;
use crate::engine::cache::Variant;
use crate::engine::keys::{cache_tag, variant_etag, variant_key};
use crate::engine::tier::Entry;
use crate::engine::{render, source, Job};
use crate::error::OssError;
use crate::exchange::{Answer, Body, Req};
use crate::storage::{check_size, Meta};

/// A processed GET/HEAD, through the variant cache. Returns the answer and the outcome label.
pub async fn get(
    app: &Arc<App>,
    bucket: &Arc<Bucket>,
    mut job: Job,
    req: &Req,
    grant: &Grant,
) -> Result<(Answer, &'static str), OssError> {
    let animated = accept::maybe_animated(job.object.as_str());
    let accept_varies =
        accept::negotiate(&mut job.pipeline, req.header("accept"), bucket.auto_format(), animated);
    let mut vary: Vec<&str> = if accept_varies { vec!["Accept"] } else { Vec::new() };
    let client_hints = bucket.client_hints();
    if client_hints {
        let header = |n: &str| req.header(n).map(str::to_string);
        vary.extend(hints::apply(&mut job.pipeline, header, app.limits.max_out_side));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let cache_control = cache_control(&app.cache_control, grant, now);
    // The source's validator keys the variant, so a changed object gets new variants; an
    // oversized one is refused from its size without reading it. While the origin fails, the
    // last confirmed validators stand in for `origin.stale_if_error_s` (`stale` holds the
    // origin's error, the answer for anything not already made).
    let source::Found { meta, stale } = source::meta_or_stale(app, bucket, &job.object).await?;
    check_size(meta.size.unwrap_or(0), Budget::of(&job.pipeline, &app.limits, &app.video).source_bytes)?;
    let cache_key = variant_key(&bucket.name, &job.object, &meta.etag, &job.pipeline);
    let etag = variant_etag(&cache_key);
    let headers = |a: Answer| {
        let a = variant_headers(a, &cache_control, &etag, &meta);
        let a = if vary.is_empty() { a } else { a.header("vary", vary.join(", ")) };
        let a = if client_hints { a.header("accept-ch", hints::ACCEPT_CH) } else { a };
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
        if let Some(e) = &stale {
            return Err(e.clone());
        }
        // Out of line: the render's state is large and a cache hit never needs it.
        let (r, _) = Box::pin(render(app, bucket, &job, false)).await?;
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
    if stale.is_some() {
        // RFC 9211's Cache-Status: a hit, served past its freshness because the origin failed.
        crate::metrics::metrics().stale_served.inc();
        let a = a.header("cache-status", "imgedge; hit; detail=stale-if-error");
        return Ok((headers(a), "stale"));
    }
    Ok((headers(a), outcome))
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
