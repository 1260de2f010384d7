//! Object storage: one async interface ([`ObjectStore`]) over the three
//! kinds of bucket origin, a local directory ([`dir`]), any HTTP(S) endpoint (read-only) and
//! S3-compatible storage ([`remote`], signed by [`s3`]). Keys arrive validated ([`ObjectKey`]);
//! the source-size limit is checked by [`check_size`] alone; blocking file I/O runs on tokio's
//! blocking pool, never on pingora's async threads. Origin reads of one client request share
//! one [`Deadline`].

pub mod dir;
mod listing;
pub mod relay;
pub mod remote;
pub mod s3;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::OssError;
pub use crate::names::ObjectKey;
use crate::transform;

/// What identifies one version of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Bytes, when the store says (a remote origin may not).
    pub size: Option<u64>,
    /// The validator variants are keyed by: the store's ETag (quoted), or one derived from size
    /// and modification time, or `-` when the store gives none.
    pub etag: String,
    /// `Last-Modified` as an HTTP date, when known.
    pub last_modified: Option<String>,
}

impl Meta {
    pub fn mtime(&self) -> SystemTime {
        self.last_modified
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// An object read whole, for processing.
#[derive(Debug)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub meta: Meta,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// How a store's raw objects are answered: streamed from a local file by us, or proxied to the
/// origin by pingora (streaming, ranges and validators as the origin gives them).
pub enum RawAccess<'a> {
    Dir(&'a dir::DirStore),
    Proxy(Arc<remote::Remote>),
}

/// Object bytes of one bucket.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Size and validators, without the body. A missing object is `NoSuchKey`.
    async fn head(&self, key: &ObjectKey) -> Result<Meta, OssError>;
    /// The whole object, at most `max_bytes` (a larger one is refused by [`check_size`], from its
    /// declared size where known, else as soon as the bytes pass the limit).
    async fn get(&self, key: &ObjectKey, max_bytes: u64) -> Result<Object, OssError>;
    /// Stores `body` at `key`, all or nothing: readers see the old object or the new one.
    async fn put(&self, key: &ObjectKey, body: Bytes, content_type: &str) -> Result<Meta, OssError>;
    /// Removes `key`; a missing object is not an error.
    async fn delete(&self, key: &ObjectKey) -> Result<(), OssError>;
    /// Up to `max` objects whose keys start with `prefix`, in key order. What imgedge's own
    /// stores (variant tier, state) need; HTTP origins cannot list.
    async fn list(&self, prefix: &str, max: usize) -> Result<Vec<Listed>, OssError>;
    fn raw(&self) -> RawAccess<'_>;
    /// Whether `put`/`delete` can succeed at all (HTTP origins are read-only).
    fn writable(&self) -> bool;
}

/// The one source-size check: `len` bytes against the configured limit.
pub fn check_size(len: u64, max_bytes: u64) -> Result<(), OssError> {
    if len > max_bytes {
        return Err(transform::Error::source_too_large().into());
    }
    Ok(())
}

/// The answer to a write on a read-only (HTTP) bucket.
pub fn read_only() -> OssError {
    OssError::access_denied(None, "The bucket's origin is read-only: objects cannot be written to it.")
}

/// When an origin exchange must be over. The reads one client request makes (a source's HEAD,
/// its GET, every watermark image's GET) share one: `origin.total_ms` after the first of them
/// began, so a request never waits on origins for longer than that in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(tokio::time::Instant);

tokio::task_local! {
    /// The deadline of the client request being served, set by its first origin read.
    static REQUEST_DEADLINE: std::cell::Cell<Option<Deadline>>;
}

impl Deadline {
    /// `total` from now.
    pub fn after(total: std::time::Duration) -> Deadline {
        Deadline(tokio::time::Instant::now() + total)
    }

    /// The deadline of the current client request's origin reads: `total` after its first one
    /// (this call, if it is the first). Outside [`within_request`] (background work such as
    /// asynchronous tasks and loading state), every call gets `total` from now.
    pub fn of_request(total: std::time::Duration) -> Deadline {
        REQUEST_DEADLINE
            .try_with(|d| match d.get() {
                Some(d) => d,
                None => {
                    let new = Deadline::after(total);
                    d.set(Some(new));
                    new
                }
            })
            .unwrap_or_else(|_| Deadline::after(total))
    }

    pub fn instant(self) -> tokio::time::Instant {
        self.0
    }
}

/// Runs `f`, one client request, so that its origin reads share one [`Deadline`]. Futures it
/// polls share it too (a fetch other requests wait for runs under the deadline of the request
/// that started it, which ends no later than theirs).
pub async fn within_request<F: std::future::Future>(f: F) -> F::Output {
    REQUEST_DEADLINE.scope(std::cell::Cell::new(None), f).await
}

/// The store of a configured origin.
pub fn open(
    origin: &crate::config::Origin,
    timeouts: &crate::config::OriginTimeouts,
) -> Result<Arc<dyn ObjectStore>, String> {
    match origin {
        crate::config::Origin::Dir { path } => {
            Ok(Arc::new(dir::DirStore::new(path).map_err(|e| format!("{}: {e}", path.display()))?))
        }
        other => Ok(Arc::new(remote::RemoteStore::new(remote::Remote::from_config(other, timeouts)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_has_one_deadline_and_background_work_one_per_call() {
        let total = Duration::from_secs(5);
        let later = || tokio::time::sleep(Duration::from_millis(20));
        let (first, second) = within_request(async {
            let first = Deadline::of_request(total);
            later().await;
            (first, Deadline::of_request(total))
        })
        .await;
        assert_eq!(first, second, "the second read of a request does not get a fresh total");
        let outside = Deadline::of_request(total);
        later().await;
        assert_ne!(outside, Deadline::of_request(total), "outside a request each call starts its own");
    }
}
