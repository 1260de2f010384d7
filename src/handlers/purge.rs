//! `DELETE /<key>?x-imgedge-purge` (signed, with write access to the bucket): every processed
//! variant of one source is forgotten, here at once, on the other replicas within one state poll
//! (through the purge log) and in the shared tier, whichever replica made it. The object itself
//! and saveas outputs are objects, not cache: untouched. Answers 204 with the number of tier
//! entries deleted and the source's cache tag, so a script can purge a CDN with the same tag.

use std::sync::Arc;

use crate::app::App;
use crate::bucket::state::Purge;
use crate::bucket::Bucket;
use crate::engine::keys::cache_tag;
use crate::error::OssError;
use crate::exchange::{Answer, Body};
use crate::names::ObjectKey;

pub async fn purge(app: &Arc<App>, bucket: &Arc<Bucket>, key: &ObjectKey) -> Result<Answer, OssError> {
    app.forget_source(&bucket.name, key).await;
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
    app.forget_source(&bucket.name, key).await;
    let a = Answer::new(204, Body::Empty).header("x-imgedge-purged", deleted.to_string());
    Ok(match app.tag_header {
        "" => a,
        name => a.header(name, cache_tag(&bucket.name, key)),
    })
}

fn unavailable() -> OssError {
    OssError::unavailable("The purge could not be completed; try again.")
}
