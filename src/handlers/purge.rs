//! `DELETE /<key>?x-imgedge-purge` (signed, with write access to the bucket): every processed
//! variant of one source is forgotten, here at once, on the other replicas within one state poll
//! (through the purge log) and in the shared tier, whichever replica made it. The object itself
//! and saveas outputs are objects, not cache: untouched. Answers 204 with the number of tier
//! entries deleted and the source's cache tag, so a script can purge a CDN with the same tag.

use std::sync::Arc;

use super::process::cache_tag;
use crate::bucket::state::Purge;
use crate::bucket::Bucket;
use crate::error::OssError;
use crate::names::ObjectKey;
use crate::proxy::app::App;
use crate::proxy::follow::forget_source;
use crate::proxy::respond::{Answer, Body};

pub async fn purge(app: &Arc<App>, bucket: &Arc<Bucket>, key: &ObjectKey) -> Result<Answer, OssError> {
    forget_source(app, &bucket.name, key).await;
    // Logged before the tier is emptied: if the tier fails the other replicas still forget, and
    // the client, told of the failure, can simply purge again.
    let record = Purge { bucket: bucket.name.clone(), key: key.to_string() };
    app.state.log_purge(&record).await.map_err(|e| {
        tracing::warn!(code = %e.code, "purge could not be logged");
        unavailable()
    })?;
    let deleted = match &app.tier {
        Some(t) => t.purge(&bucket.name, key).await.map_err(|e| {
            tracing::warn!(code = %e.code, "variant tier purge failed");
            unavailable()
        })?,
        None => 0,
    };
    // A miss that began before the purge may have put a variant back in memory meanwhile.
    forget_source(app, &bucket.name, key).await;
    let a = Answer::new(204, Body::Empty).header("x-imgedge-purged", deleted.to_string());
    Ok(match app.tag_header {
        "" => a,
        name => a.header(name, cache_tag(&bucket.name, key)),
    })
}

fn unavailable() -> OssError {
    OssError::new(503, "ServiceUnavailable", None, "The purge could not be completed; try again.")
}
