//! GET/HEAD of an object: the raw bytes (streamed from a directory bucket, proxied for remote
//! ones), or the processing job of `?x-oss-process=` and of the style-separator form.

use std::sync::Arc;

use super::raw::{self, Conditional};
use crate::app::App;
use crate::bucket::{Bucket, Settings};
use crate::engine::Job;
use crate::error::OssError;
use crate::exchange::{Reply, Req};
use crate::names::ObjectKey;
use crate::request::Action;
use crate::route;
use crate::storage::RawAccess;
use crate::transform;

/// The processing job of a GET, or `None` for the raw object. `photo.jpg!thumb` is a style
/// after an enabled separator, unless the whole key is an object of a directory bucket (asking
/// a remote origin would cost a round trip on every styled request).
pub async fn job(
    app: &App,
    bucket: &Bucket,
    settings: &Settings,
    key: &ObjectKey,
    action: &Action,
) -> Result<Option<Job>, OssError> {
    let (object, process) = match action {
        Action::Process(v) => (key.clone(), v.clone()),
        _ => {
            let seps = settings.delimiters();
            let Some((object, style)) = route::split_style(key, &seps, |s| settings.styles.contains_key(s))
            else {
                return Ok(None);
            };
            if let RawAccess::Dir(d) = bucket.store.raw() {
                if d.stat(key).await.is_ok() {
                    return Ok(None);
                }
            }
            let object = ObjectKey::new(object)
                .map_err(|e| OssError::invalid("InvalidObjectName", e.ec(), e.to_string()))?;
            (object, format!("style/{style}"))
        }
    };
    let mut pipeline = transform::parse(&process, settings, &app.limits)?;
    pipeline.keep_profile = bucket.keep_profile();
    bucket.quality_policy(&mut pipeline);
    Ok(Some(Job { object, pipeline }))
}

/// The raw object.
pub async fn raw(_app: &Arc<App>, bucket: &Bucket, key: &ObjectKey, req: &Req) -> Result<Reply, OssError> {
    match bucket.store.raw() {
        RawAccess::Proxy(remote) => Ok(Reply::Proxy(remote, key.clone())),
        RawAccess::Dir(d) => {
            let (file, meta) = d.open(key).await?;
            let cond = Conditional::of(&req.headers);
            Ok(Reply::Answer(raw::raw(file, key, &meta, &cond, req.header("range"))))
        }
    }
}
