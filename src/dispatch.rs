//! What the proxy does with a request, outside pingora and apart from the handlers: [`route`] finds the bucket and key,
//! classifies the request into one [`Action`] and authenticates it; [`serve`] works out what the
//! action will read and write, authorizes that in one place ([`policy::authorize`]) and runs the
//! action's handler (one file each). The pingora glue only reads the request and writes the reply.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::access::policy::{self, Intent};
use crate::access::{self, protect, Auth, RequestParts};
use crate::app::App;
use crate::bucket::Bucket;
use crate::engine::Job;
use crate::error::OssError;
use crate::exchange::{Reply, Req};
use crate::handlers::{async_task, bucket_conf, object, process, purge, saveas, style};
use crate::names::ObjectKey;
use crate::request::{self, Action};

/// A request routed to its bucket, classified and authenticated; not yet authorized.
pub struct Routed {
    pub bucket: Arc<Bucket>,
    pub key: Option<ObjectKey>,
    pub action: Action,
    pub auth: Auth,
}

/// Bucket, key, action and signature of `req`.
pub fn route(app: &App, req: &Req) -> Result<Routed, OssError> {
    let (bucket, path) = app.bucket_and_path(&req.host, &req.path)?;
    let key = match path {
        "/" => None,
        p => Some(
            ObjectKey::from_path(p)
                .map_err(|e| OssError::invalid("InvalidObjectName", e.ec(), e.to_string()))?,
        ),
    };
    let action = request::classify(&req.method, key.is_some(), &req.query)?;
    let parts = RequestParts {
        method: &req.method,
        bucket: &bucket.name,
        key: key.as_deref().unwrap_or(""),
        query: &req.query,
        headers: &req.headers,
    };
    let auth = access::authenticate(&parts, &app.keys, SystemTime::now()).map_err(OssError::from)?;
    Ok(Routed { bucket: bucket.clone(), key, action, auth })
}

/// Works out what `r` reads and writes, authorizes it and runs its handler. `body` is the
/// request body for actions that have one (already bounded and checked against the signature).
pub async fn serve(
    app: &Arc<App>,
    req: &Req,
    r: Routed,
    body: Bytes,
) -> Result<(Reply, &'static str), OssError> {
    if !r.bucket.is_loaded() {
        return Err(OssError::unavailable("The bucket's settings are not loaded yet."));
    }
    let settings = r.bucket.settings();
    let authorize = |reads, writes| {
        let i = Intent {
            action: &r.action,
            bucket: &r.bucket.name,
            acl: r.bucket.acl,
            settings: &settings,
            reads,
            writes,
            referer: req.header("referer"),
        };
        policy::authorize(&i, &r.auth, &app.keys)
    };
    match (&r.action, &r.key) {
        (Action::GetObject | Action::Process(_), Some(key)) => {
            let job = object::job(app, &r.bucket, &settings, key, &r.action).await?;
            let Some(job) = job else {
                authorize(vec![(key.as_str(), protect::Request::Raw)], vec![])?;
                return object::raw(app, &r.bucket, key, req).await.map(|a| (a, "raw"));
            };
            if job.pipeline.saveas.is_some() {
                return Err(OssError::invalid(
                    "InvalidArgument",
                    None,
                    "sys/saveas is only allowed with POST",
                ));
            }
            let grant = authorize(reads(&job), vec![])?;
            process::get(app, &r.bucket, job, req, &grant).await.map(|(a, o)| (Reply::Answer(a), o))
        }
        (Action::PurgeVariants, Some(key)) => {
            authorize(vec![], vec![])?;
            purge::purge(app, &r.bucket, key).await.map(|a| (Reply::Answer(a), "api"))
        }
        (Action::SaveAs | Action::AsyncProcess, Some(key)) => {
            let is_async = r.action == Action::AsyncProcess;
            let field = if is_async { "x-oss-async-process" } else { "x-oss-process" };
            let process = request::form_field(&body, field)?;
            let plan = saveas::plan(app, &r.bucket, &settings, key, &process, is_async)?;
            authorize(reads(&plan.job), vec![plan.target.name.as_str()])?;
            let answer = match is_async {
                false => saveas::run(app, &r.bucket, plan).await?,
                true => async_task::submit(app, &r.bucket, plan, &req.request_id)?,
            };
            Ok((Reply::Answer(answer), "write"))
        }
        (action, None) => {
            authorize(vec![], vec![])?;
            let answer = match action {
                Action::PutStyle(n) => style::put(app, &r.bucket, n, &body).await?,
                Action::GetStyle(n) => style::get(&settings, n)?,
                Action::DeleteStyle(n) => style::delete(&r.bucket, n).await?,
                Action::ListStyles => style::list(&settings),
                Action::PutProcessConfig => bucket_conf::put_process(&r.bucket, &body).await?,
                Action::GetProcessConfig => bucket_conf::get_process(&settings),
                Action::PutReferer => bucket_conf::put_referer(&r.bucket, &body).await?,
                Action::GetReferer => bucket_conf::get_referer(&settings),
                Action::AsyncStatus(id) => async_task::status(app, &r.bucket, id)?,
                _ => return Err(OssError::method_not_allowed()),
            };
            Ok((Reply::Answer(answer), "api"))
        }
        // An object action without an object is classified as a bucket action above.
        (_, Some(_)) => Err(OssError::method_not_allowed()),
    }
}

/// The objects `job` reads, and how: its source (through a style or an ad-hoc `image/`
/// pipeline), then each watermark image.
fn reads(job: &Job) -> Vec<(&str, protect::Request)> {
    let kind = if job.pipeline.style.is_some() { protect::Request::Style } else { protect::Request::Image };
    let marks = job.pipeline.object_keys().into_iter().map(|k| (k, mark_kind(kind)));
    std::iter::once((job.object.as_str(), kind)).chain(marks).collect()
}

/// How a watermark image is read: as part of a style when the request is one (the bucket
/// owner chose it), otherwise as an ad-hoc image request of its own.
fn mark_kind(source: protect::Request) -> protect::Request {
    match source {
        protect::Request::Style => protect::Request::Style,
        _ => protect::Request::Image,
    }
}
