//! The render: from an authorized job to its bytes. Admission comes first (a slot among the
//! renders in flight, a turn, memory for what will be fetched), then the fetches, then the
//! plan's memory estimate, then the run on a worker.

use std::time::Instant;

use super::budget::Budget;
use super::source::{self, Marks};
use super::Job;
use crate::app::App;
use crate::bucket::Bucket;
use crate::error::OssError;
use crate::metrics::metrics;
use crate::storage::{check_size, Meta};
use crate::transform::text::Fonts;
use crate::transform::{self, Code, Env, Rendered, Stop};

/// Fetches the source and its watermark images and runs the pipeline on a worker; returns the
/// result and the source's validators (saveas names its output from them). Nothing is
/// fetched before its bytes are known to be within the budget and reserved: the source's and
/// every watermark image's size come from their (cached) validators first. `patient`
/// (asynchronous tasks) waits for a turn, a worker and memory as long as it takes instead of
/// the queue's bound. Dropping the future (the client left) stops the transform at its next
/// check.
pub async fn render(
    app: &App,
    bucket: &Bucket,
    job: &Job,
    patient: bool,
) -> Result<(Rendered, Meta), OssError> {
    let m = metrics();
    let t0 = Instant::now();
    let budget = Budget::of(&job.pipeline, &app.limits, &app.video);
    let mut ticket = app.workers.admit(patient)?;
    let meta = source::meta(app, bucket, &job.object).await?;
    check_size(meta.size.unwrap_or(0), budget.source_bytes)?;
    let marks = Marks::size(app, bucket, &job.pipeline, &budget).await?;
    app.workers.turn(&mut ticket, patient).await?;
    let fetching = budget.held(meta.size.unwrap_or(0)).saturating_add(marks.bytes());
    app.workers.reserve(&mut ticket, fetching, patient).await?;
    m.origin_fetches.inc();
    let (src, pipeline, mut ticket) = match &job.pipeline.snapshot {
        None => {
            (bucket.store.get(&job.object, budget.source_bytes).await?.bytes, job.pipeline.clone(), ticket)
        }
        Some(_) => {
            // The relay (remote origins) serves ffmpeg until the grab has ended.
            let (input, relay) = source::video_input(bucket, &job.object, &meta).await?;
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
    // The transform reads watermark images synchronously on a worker: they are fetched here.
    let (marks, marks_held) = marks.fetch(bucket, &budget).await?;
    let fetched = (src.len() as u64).saturating_add(marks_held);
    m.stage_seconds.with_label_values(&["origin"]).observe(t0.elapsed().as_secs_f64());
    // The header and the plan say how much memory the run needs (a bomb or an over-costly
    // pipeline is refused here, undecoded); the run starts once that much is reserved.
    let limits = budget.run;
    let (need, src, pipeline, limits) = tokio::task::spawn_blocking(move || {
        let need = transform::estimate(&src, &pipeline, &limits);
        (need, src, pipeline, limits)
    })
    .await
    .map_err(|_| OssError::internal())?;
    app.workers.reserve(&mut ticket, fetched.saturating_add(need?), patient).await?;
    // `quality,auto`: what an earlier search of this source and pipeline chose (per format:
    // the key holds the output format), so this run encodes once.
    let auto = pipeline.quality == Some(transform::ops::quality::Quality::Auto);
    let memo_key = auto.then(|| super::keys::variant_key(&bucket.name, &job.object, &meta.etag, &pipeline));
    let known_quality = match &memo_key {
        Some(k) => app.quality_memo.get(k).await,
        None => None,
    };
    let stop = Stop::within(app.process_timeout);
    let _stop_on_drop = StopOnDrop(stop.clone());
    let work = move || {
        // Held until the transform has really ended, even if nobody waits for it any more.
        let _ticket = ticket;
        metrics().transforms.inc();
        let env = Env { limits: &limits, objects: &marks, fonts: Fonts::system(), stop, known_quality };
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
    if let (Some(key), Some((quality, probes))) = (memo_key, rendered.auto_quality) {
        if probes > 0 {
            m.quality_searches.inc();
            app.quality_memo.insert(key, quality).await;
        }
    }
    let t = &rendered.timings;
    for (stage, d) in [("decode", t.decode), ("transform", t.transform), ("encode", t.encode)] {
        m.stage_seconds.with_label_values(&[stage]).observe(d.as_secs_f64());
    }
    Ok((rendered, meta))
}

/// Stops a transform whose render future is dropped: its client is gone, or a shared miss was
/// abandoned by every waiter.
struct StopOnDrop(Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
