//! What a transform may read besides its source: other objects of the same bucket (watermark
//! images) and fonts. Callers supply them; the core never opens a path or a socket on its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{ec, Code, Error, Result};
use super::limits::Limits;
use super::text::Fonts;

/// Objects of the bucket the request is about.
pub trait Objects: Send + Sync {
    /// The object's bytes, at most `max_bytes` (a larger object is `ImageTooLarge`), or
    /// `NoSuchKey` when it does not exist. `key` has passed [`is_safe_key`].
    fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>>;
}

/// No objects at all: every lookup is `NoSuchKey`.
pub struct NoObjects;

impl Objects for NoObjects {
    fn get(&self, _: &str, _: u64) -> Result<Vec<u8>> {
        Err(no_such_key())
    }
}

/// Objects fetched ahead of the transform (watermark images of remote buckets, whose origin
/// cannot be read from a synchronous worker).
#[derive(Default)]
pub struct Prefetched(std::collections::HashMap<String, Vec<u8>>);

impl Prefetched {
    pub fn insert(&mut self, key: &str, bytes: Vec<u8>) {
        self.0.insert(key.to_string(), bytes);
    }
}

impl Objects for Prefetched {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>> {
        match self.0.get(key) {
            Some(b) if b.len() as u64 > max_bytes => {
                Err(Error::too_large(None, "object exceeds the size limit"))
            }
            Some(b) => Ok(b.clone()),
            None => Err(no_such_key()),
        }
    }
}

pub fn no_such_key() -> Error {
    Error::new(Code::NoSuchKey, Some(ec::NO_SUCH_OBJECT), "The specified key does not exist.")
}

/// A bucket that is a local directory. Keys resolve strictly inside it: after resolving
/// symbolic links the file must still be under the root.
pub struct DirObjects {
    root: PathBuf,
}

impl DirObjects {
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<DirObjects> {
        Ok(DirObjects { root: std::fs::canonicalize(root)? })
    }
}

impl DirObjects {
    /// The file of `key`, if it exists inside the root (after resolving symbolic links).
    pub fn resolve(&self, key: &str) -> Option<PathBuf> {
        if !is_safe_key(key) {
            return None;
        }
        let path = std::fs::canonicalize(self.root.join(key)).ok()?;
        (path.starts_with(&self.root) && path.is_file()).then_some(path)
    }
}

impl Objects for DirObjects {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>> {
        let path = self.resolve(key).ok_or_else(no_such_key)?;
        read_bounded(&path, max_bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::too_large(None, "object exceeds the size limit"),
            _ => no_such_key(),
        })
    }
}

/// Reads at most `max` bytes; a larger file is an `InvalidData` error, found without reading it all.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "too large"));
    }
    Ok(buf)
}

/// An object key that names something inside its bucket and nothing else (the one key
/// validator, [`crate::names::ObjectKey`]).
pub fn is_safe_key(key: &str) -> bool {
    crate::names::ObjectKey::new(key).is_ok()
}

/// When a run must stop early: a deadline, and a flag its caller raises when nobody waits for
/// the result any more. Checked between actions and between frames, so a run ends within one
/// action of either (each action is bounded by the pipeline's cost limit).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl Stop {
    /// No deadline; only [`Stop::cancel`] stops the run.
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Stops the run once `limit` has passed from now.
    pub fn within(limit: Duration) -> Stop {
        Stop { deadline: Instant::now().checked_add(limit), cancelled: Arc::default() }
    }

    /// Asks the run (and every clone of this `Stop`) to end at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `Cancelled` or `ProcessTimeout` once the run should end.
    pub fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::new(Code::Cancelled, None, "the request was cancelled"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::new(Code::ProcessTimeout, None, "processing the image took too long"));
        }
        Ok(())
    }
}

/// Everything a transform runs with.
pub struct Env<'a> {
    pub limits: &'a Limits,
    pub objects: &'a dyn Objects,
    pub fonts: &'a Fonts,
    pub stop: Stop,
    /// `quality,auto`: the quality an earlier search chose for this source and pipeline, so
    /// this run encodes once instead of searching.
    pub known_quality: Option<u8>,
}

impl<'a> Env<'a> {
    /// No objects, the system fonts, no deadline.
    pub fn new(limits: &'a Limits) -> Env<'a> {
        Env::with_objects(limits, &NoObjects)
    }

    /// The bucket's `objects`, the system fonts, no deadline.
    pub fn with_objects(limits: &'a Limits, objects: &'a dyn Objects) -> Env<'a> {
        Env { limits, objects, fonts: Fonts::system(), stop: Stop::never(), known_quality: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_bucket() {
        for ok in ["a.png", "dir/a.png", "a..b.png", ".hidden", "中文.jpg"] {
            assert!(is_safe_key(ok), "{ok}");
        }
        for bad in crate::testing::fixtures::HOSTILE_KEYS {
            assert!(!is_safe_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn dir_objects_refuse_to_leave_the_root() {
        let base = std::env::temp_dir().join(format!("imgedge-env-{}", std::process::id()));
        let root = base.join("bucket");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(base.join("secret.png"), b"secret").unwrap();
        std::fs::write(root.join("sub/ok.png"), b"ok").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret.png"), root.join("link.png")).unwrap();
        let objects = DirObjects::new(&root).unwrap();
        assert_eq!(objects.get("sub/ok.png", 100).unwrap(), b"ok");
        assert_eq!(objects.get("sub/ok.png", 1).unwrap_err().code, Code::ImageTooLarge);
        for bad in ["../secret.png", "/etc/passwd", "link.png", "sub", "missing.png"] {
            assert_eq!(objects.get(bad, 100).unwrap_err().code, Code::NoSuchKey, "{bad}");
        }
        std::fs::remove_dir_all(base).ok();
    }
}
