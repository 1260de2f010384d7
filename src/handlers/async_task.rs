//! `POST /<key>?x-oss-async-process`: the same form as saveas, answered at once with OSS's JSON
//! (`EventId`, `RequestId`, `TaskId`) and run in the background on the worker pool; and
//! `GET /?x-oss-async-task=<TaskId>`, the task's state. OSS reserves asynchronous processing for
//! media (video, documents); imgedge extends it to image pipelines (docs/decisions.md).

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::saveas::{self, Plan};
use crate::app::App;
use crate::bucket::Bucket;
use crate::engine::tasks::State;
use crate::error::OssError;
use crate::exchange::{Answer, Body};
use crate::storage::read_only;

fn json(v: serde_json::Value) -> Answer {
    Answer::new(200, Body::Bytes(Bytes::from(v.to_string()))).header("content-type", "application/json")
}

/// Queues the task (503 when the table is full) and answers its ids.
pub fn submit(
    app: &Arc<App>,
    bucket: &Arc<Bucket>,
    plan: Plan,
    request_id: &str,
) -> Result<Answer, OssError> {
    if !plan.target.store.writable() {
        return Err(read_only());
    }
    let id = task_id(request_id);
    app.tasks.admit(&id, &bucket.name)?;
    let (app2, bucket2, id2) = (app.clone(), bucket.clone(), id.clone());
    tokio::spawn(async move {
        // Queued until one of the background places is free: waiting here takes nothing that
        // interactive requests need.
        let Ok(place) = app2.workers.background().await else { return };
        app2.tasks.set(&id2, State::Running);
        // Like a client request, a task's origin reads share one total_ms deadline.
        let run = crate::storage::within_request(saveas::execute(&app2, &bucket2, &plan, true));
        let state = match run.await {
            Ok((key, size)) => State::Succeeded {
                bucket: plan.target.name.clone(),
                object: key.to_string(),
                file_size: size,
            },
            Err(e) => State::Failed { code: e.code.to_string(), message: e.message.to_string() },
        };
        drop(place);
        tracing::info!(task = %id2, state = state.name(), "asynchronous task finished");
        app2.tasks.set(&id2, state);
    });
    Ok(json(serde_json::json!({ "EventId": format!("imgedge-{id}"), "RequestId": request_id, "TaskId": id })))
}

/// The state of a task submitted to this bucket.
pub fn status(app: &App, bucket: &Bucket, id: &str) -> Result<Answer, OssError> {
    let t = app.tasks.get(id).filter(|t| t.bucket == bucket.name).ok_or_else(OssError::no_such_task)?;
    let date = |t: SystemTime| httpdate::fmt_http_date(t);
    let mut v = serde_json::json!({
        "TaskId": t.id,
        "State": t.state.name(),
        "CreateTime": date(t.created),
    });
    if let Some(f) = t.finished {
        v["FinishTime"] = date(f).into();
    }
    match &t.state {
        State::Succeeded { bucket, object, file_size } => {
            v["Bucket"] = bucket.clone().into();
            v["Object"] = object.clone().into();
            v["FileSize"] = (*file_size).into();
        }
        State::Failed { code, message } => {
            v["Code"] = code.clone().into();
            v["Message"] = message.clone().into();
        }
        _ => {}
    }
    Ok(json(v))
}

/// A task id nobody can guess from another: a hash of the request id, the time and a counter.
fn task_id(request_id: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed =
        format!("{request_id}\n{nanos}\n{}\n{}", SEQ.fetch_add(1, Ordering::Relaxed), std::process::id());
    format!("ImgProcess-{}", hex::encode(&Sha256::digest(seed.as_bytes())[..16]))
}
