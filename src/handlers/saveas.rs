//! `POST /<key>?x-oss-process` with `x-oss-process=<pipeline>|sys/saveas,o_<b64>[,b_<b64>]`:
//! process the source and write the result through the target bucket's store (all or nothing),
//! answering OSS's JSON `{"bucket","fileSize","object","status":"OK"}`. [`execute`] is shared
//! with asynchronous tasks.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::vars;
use crate::app::App;
use crate::bucket::{Bucket, Settings};
use crate::engine::keys::meta_key;
use crate::engine::{render, Job};
use crate::error::OssError;
use crate::exchange::{Answer, Body};
use crate::metrics::metrics;
use crate::names::ObjectKey;
use crate::storage::read_only;
use crate::transform;

/// A parsed write: the job, the target bucket and the target key's template.
pub struct Plan {
    pub job: Job,
    pub target: Arc<Bucket>,
    /// `o`, variables not yet expanded.
    pub template: String,
}

/// Parses the form's pipeline (styles of `bucket` allowed) and finds the target bucket. For
/// asynchronous tasks a trailing `/notify,topic_…` (OSS's MNS notification) is accepted and
/// ignored: imgedge reports through its status endpoint instead.
pub fn plan(
    app: &App,
    bucket: &Arc<Bucket>,
    settings: &Settings,
    key: &ObjectKey,
    process: &str,
    is_async: bool,
) -> Result<Plan, OssError> {
    let process = match process.split_once("/notify,") {
        Some((head, _)) if is_async && head.contains("|sys/saveas") => head,
        _ => process,
    };
    let mut pipeline = transform::parse(process, settings, &app.limits)?;
    pipeline.keep_profile = bucket.keep_profile();
    bucket.quality_policy(&mut pipeline);
    let saveas = pipeline.saveas.clone().ok_or_else(|| {
        OssError::invalid("MissingArgument", None, "a POST process needs |sys/saveas,o_<base64 key>")
    })?;
    let target_name = match &saveas.bucket {
        None => bucket.name.clone(),
        Some(b) => b.replace("{bucket}", &bucket.name),
    };
    let target = app.bucket(&target_name).ok_or_else(OssError::no_such_bucket)?.clone();
    Ok(Plan { job: Job { object: key.clone(), pipeline }, target, template: saveas.object })
}

/// Runs a saveas and answers its JSON.
pub async fn run(app: &App, bucket: &Bucket, plan: Plan) -> Result<Answer, OssError> {
    let (object, size) = execute(app, bucket, &plan, false).await?;
    let body = serde_json::json!({
        "bucket": plan.target.name,
        "fileSize": size,
        "object": object.as_str(),
        "status": "OK",
    });
    Ok(Answer::new(200, Body::Bytes(Bytes::from(body.to_string())))
        .header("content-type", "application/json"))
}

/// Processes and writes; returns the written key and its size. Nothing is written unless the
/// whole result is ready, and a failed write leaves the target as it was.
pub async fn execute(
    app: &App,
    bucket: &Bucket,
    plan: &Plan,
    patient: bool,
) -> Result<(ObjectKey, u64), OssError> {
    if !plan.target.store.writable() {
        return Err(read_only());
    }
    let (rendered, source) = render(app, bucket, &plan.job, patient).await?;
    let autoext = rendered.format.map_or("json", |f| f.name());
    let ctx = vars::Context {
        bucket: &bucket.name,
        key: &plan.job.object,
        source_time: source.mtime(),
        task_time: SystemTime::now(),
        autoext,
    };
    let invalid = |m: String| OssError::invalid("InvalidArgument", None, format!("sys/saveas o: {m}"));
    let key = vars::expand(&plan.template, &ctx).map_err(invalid)?;
    let key = ObjectKey::new(key).map_err(|e| invalid(e.to_string()))?;
    let size = rendered.body.len() as u64;
    plan.target.store.put(&key, Bytes::from(rendered.body), rendered.content_type).await?;
    // A remote target's validators may be cached: the next GET must see the new bytes.
    app.metas.invalidate(&meta_key(&plan.target.name, &key)).await;
    metrics().objects_written.inc();
    Ok((key, size))
}
