//! What a job reads, through the bucket's store: the source's validators (shared and cached),
//! its bytes or, for a video, an input ffmpeg can read (the one place that matches
//! [`RawAccess`]), and its watermark images, each sized and refused before it is fetched.

use super::budget::Budget;
use super::keys::meta_key;
use crate::app::App;
use crate::bucket::Bucket;
pub use crate::engine::cache::Found;
use crate::error::{Kind, OssError};
use crate::names::ObjectKey;
use crate::storage::relay::Relay;
use crate::storage::{check_size, Meta, RawAccess};
use crate::transform::video::ffmpeg::Input;
use crate::transform::{Pipeline, Prefetched};

/// The source's size and validators: a stat for directory buckets, a HEAD for remote ones, shared
/// by concurrent requests and trusted for `origin.revalidate_s`. Directory buckets too: a stat
/// must leave the async threads, and that hand-off cost a cache hit more than the rest of its
/// work; imgedge's own writes drop the entry at once.
pub async fn meta(app: &App, bucket: &Bucket, key: &ObjectKey) -> Result<Meta, OssError> {
    app.metas.get_or_head(meta_key(&bucket.name, key), bucket.store.head(key)).await
}

/// As [`meta`], for a processed GET: while the origin fails, the source's last confirmed
/// validators within `origin.stale_if_error_s`, marked stale (only cached variants may be served).
pub async fn meta_or_stale(app: &App, bucket: &Bucket, key: &ObjectKey) -> Result<Found, OssError> {
    app.metas.get_or_stale(meta_key(&bucket.name, key), bucket.store.head(key)).await
}

/// Where ffmpeg reads a video from: the file of a directory bucket (resolved inside it, off the
/// async threads), else a relay on loopback that reads the origin's ranges for it (ffmpeg
/// never dials an origin itself: no redirect it could follow, no address we would not use).
pub async fn video_input(
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

/// The watermark images a pipeline names, sized before anything is fetched: each one's
/// validators (cached as a source's), refused past the mark cap. A missing or unnamable one is
/// left out, and the transform reports it as OSS does.
pub struct Marks(Vec<(ObjectKey, u64)>);

impl Marks {
    pub async fn size(app: &App, bucket: &Bucket, p: &Pipeline, budget: &Budget) -> Result<Marks, OssError> {
        let mut found = Vec::new();
        for k in p.object_keys() {
            let Ok(key) = ObjectKey::new(k) else { continue };
            match meta(app, bucket, &key).await {
                Ok(m) => {
                    let size = m.size.unwrap_or(0);
                    check_size(size, budget.mark_bytes)?;
                    found.push((key, size));
                }
                Err(e) if e.kind == Kind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Marks(found))
    }

    /// The bytes they will hold once fetched, as far as the store said.
    pub fn bytes(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// Fetches them, each under the mark cap (a store that said no size, or an object that grew
    /// since, cannot bring more). Returns them and the bytes they hold.
    pub async fn fetch(self, bucket: &Bucket, budget: &Budget) -> Result<(Prefetched, u64), OssError> {
        let mut marks = Prefetched::default();
        let mut held = 0;
        for (key, _) in self.0 {
            match bucket.store.get(&key, budget.mark_bytes).await {
                Ok(o) => {
                    held += o.bytes.len() as u64;
                    marks.insert(key.as_str(), o.bytes);
                }
                Err(e) if e.kind == Kind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok((marks, held))
    }
}
