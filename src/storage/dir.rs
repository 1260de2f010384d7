//! A bucket that is a local directory. Keys resolve strictly inside the root (after symbolic
//! links); every filesystem call runs on tokio's blocking pool. Writes are all or nothing: the
//! bytes go to an unnamed file (`O_TMPFILE`) in the target's directory, are synced, linked under
//! a temporary name no object key can spell (it holds a backslash) and renamed over the target,
//! then the directory is synced. A process killed mid-write leaves the old object, or the new
//! one, and nothing else (the unnamed file vanishes with the process).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use super::{check_size, Listed, Meta, Object, ObjectKey, ObjectStore, RawAccess};
use crate::error::OssError;

pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<DirStore> {
        Ok(DirStore { root: std::fs::canonicalize(root)? })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, if it exists inside the root (blocking: call from a blocking thread).
    pub fn resolve_blocking(&self, key: &ObjectKey) -> Option<PathBuf> {
        let path = std::fs::canonicalize(self.root.join(key.as_str())).ok()?;
        (path.starts_with(&self.root) && path.is_file()).then_some(path)
    }

    /// The file and its metadata, off the async threads; `NoSuchKey` when absent.
    pub async fn stat(&self, key: &ObjectKey) -> Result<(PathBuf, Meta), OssError> {
        let (root, key) = (self.root.clone(), key.clone());
        blocking(move || {
            let store = DirStore { root };
            let path = store.resolve_blocking(&key).ok_or_else(OssError::no_such_key)?;
            let md = std::fs::metadata(&path).map_err(|_| OssError::no_such_key())?;
            Ok((path, meta_of(&md)))
        })
        .await
    }

    /// The file of `key`, opened, with the metadata of that very file (one open, one `fstat`):
    /// a write renames a new file over the key, and headers taken from a `stat` before the open
    /// could describe the old file while the bytes come from the new one. Off the async threads.
    pub async fn open(&self, key: &ObjectKey) -> Result<(std::fs::File, Meta), OssError> {
        let (root, key) = (self.root.clone(), key.clone());
        blocking(move || (DirStore { root }).open_blocking(&key)).await
    }

    fn open_blocking(&self, key: &ObjectKey) -> Result<(std::fs::File, Meta), OssError> {
        let path = self.resolve_blocking(key).ok_or_else(OssError::no_such_key)?;
        let f = std::fs::File::open(&path).map_err(|_| OssError::no_such_key())?;
        let md = f.metadata().map_err(|_| OssError::no_such_key())?;
        if !md.is_file() {
            return Err(OssError::no_such_key());
        }
        Ok((f, meta_of(&md)))
    }
}

/// Validators of a file: inode, size and modification time, as web servers make them. The inode
/// matters: two writes within one tick of the filesystem clock keep size and mtime, but every
/// write of ours renames a new file into place.
pub fn meta_of(md: &std::fs::Metadata) -> Meta {
    let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let nanos = mtime.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(md);
    #[cfg(not(unix))]
    let ino = 0u64;
    Meta {
        size: Some(md.len()),
        etag: format!("\"{ino:x}-{:x}-{:x}\"", md.len(), nanos),
        last_modified: Some(httpdate::fmt_http_date(mtime)),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OssError> + Send + 'static,
) -> Result<T, OssError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| OssError::internal())?
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn head(&self, key: &ObjectKey) -> Result<Meta, OssError> {
        self.stat(key).await.map(|(_, m)| m)
    }

    async fn get(&self, key: &ObjectKey, max_bytes: u64) -> Result<Object, OssError> {
        let (root, key) = (self.root.clone(), key.clone());
        blocking(move || {
            use std::io::Read;
            // The bytes and the validator of one file (see [`DirStore::open`]).
            let (f, meta) = (DirStore { root }).open_blocking(&key)?;
            check_size(meta.size.unwrap_or(0), max_bytes)?;
            // Sized from the fstat: growing by doubling would copy the object about log₂ n times.
            let mut buf = Vec::with_capacity((meta.size.unwrap_or(0).min(max_bytes) + 1) as usize);
            // A file written in place (not by us) may grow: never read past the limit.
            f.take(max_bytes + 1).read_to_end(&mut buf).map_err(|_| OssError::no_such_key())?;
            check_size(buf.len() as u64, max_bytes)?;
            Ok(Object { bytes: buf, meta })
        })
        .await
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, _content_type: &str) -> Result<Meta, OssError> {
        let (root, key) = (self.root.clone(), key.clone());
        blocking(move || {
            write_atomic(&root, &key, &body).map_err(|e| match e {
                WriteError::Key(e) => e,
                WriteError::Io(e) => {
                    tracing::warn!(error = %e, key = %key, "directory write failed");
                    OssError::internal()
                }
            })
        })
        .await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), OssError> {
        let (root, key) = (self.root.clone(), key.clone());
        blocking(move || {
            if let Some(path) = (DirStore { root }).resolve_blocking(&key) {
                std::fs::remove_file(path).map_err(|_| OssError::internal())?;
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, prefix: &str, max: usize) -> Result<Vec<Listed>, OssError> {
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        blocking(move || {
            // Only the directory the prefix names can hold matches: walk that one.
            let dir = prefix.rfind('/').map_or("", |i| &prefix[..i]);
            let start = root.join(dir);
            let mut out = Vec::new();
            if std::fs::canonicalize(&start).is_ok_and(|p| p.starts_with(&root)) {
                walk(&start, dir, &prefix, &mut out);
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            out.truncate(max);
            Ok(out)
        })
        .await
    }

    fn raw(&self) -> RawAccess<'_> {
        RawAccess::Dir(self)
    }

    fn writable(&self) -> bool {
        true
    }
}

/// Files below `dir` (whose key prefix is `rel`) whose keys start with `prefix`. Symbolic links
/// are not followed and the temporary names of [`write_atomic`] (a backslash) are skipped.
fn walk(dir: &Path, rel: &str, prefix: &str, out: &mut Vec<Listed>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let (Ok(ft), Some(name)) = (e.file_type(), e.file_name().to_str().map(str::to_string)) else {
            continue;
        };
        let key = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if ft.is_dir() {
            // Descend only where keys can still match the prefix.
            let sub = format!("{key}/");
            if sub.starts_with(prefix) || prefix.starts_with(&sub) {
                walk(&e.path(), &key, prefix, out);
            }
        } else if ft.is_file() && !name.contains('\\') && key.starts_with(prefix) {
            if let Ok(md) = e.metadata() {
                let modified = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.push(Listed { key, size: md.len(), modified });
            }
        }
    }
}

/// Why a write failed: the key cannot be an object of this directory (the client's fault, an
/// OSS 4xx), or the filesystem failed (500, logged).
#[derive(Debug)]
pub enum WriteError {
    Key(OssError),
    Io(std::io::Error),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Key(e) => write!(f, "{}: {}", e.code, e.message),
            WriteError::Io(e) => e.fmt(f),
        }
    }
}

/// A key a directory cannot hold because of what is already there: a folder where the object
/// would be, or an object where one of its folders would be. OSS's flat namespace has no such
/// conflict; its hierarchical-namespace buckets answer 409 as here.
fn conflict(what: &'static str) -> WriteError {
    WriteError::Key(OssError::conflict(what))
}

/// The folder of `key` below `root`, made one level at a time. Each level is checked to be a
/// directory inside the root before the next is made, so a symbolic link among the key's
/// folders can never make (or write into) a directory outside the bucket. Links that stay
/// inside the root are followed, as reads follow them. Blocking.
fn key_folder(root: &Path, key: &ObjectKey) -> Result<PathBuf, WriteError> {
    let mut dir = root.to_path_buf();
    let mut parts: Vec<&str> = key.as_str().split('/').collect();
    parts.pop();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let next = dir.join(part);
        // Twice at most: a folder another writer made between our look and our mkdir is fine.
        let mut made = false;
        dir = loop {
            match std::fs::symlink_metadata(&next) {
                Ok(md) if md.is_dir() => break next,
                Ok(md) if md.file_type().is_symlink() => {
                    let to = std::fs::canonicalize(&next).map_err(|_| outside())?;
                    if !to.starts_with(root) {
                        return Err(outside());
                    }
                    if !to.is_dir() {
                        return Err(conflict("An object exists where the key has a folder."));
                    }
                    break to;
                }
                Ok(_) => return Err(conflict("An object exists where the key has a folder.")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !made => {
                    match std::fs::create_dir(&next) {
                        Ok(()) => break next,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => made = true,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
    }
    Ok(dir)
}

fn outside() -> WriteError {
    WriteError::Key(OssError::access_denied(None, "The key's folder leads outside the bucket."))
}

/// Writes `body` as `key` below `root`, atomically (see the module comment). Blocking.
pub fn write_atomic(root: &Path, key: &ObjectKey, body: &[u8]) -> Result<Meta, WriteError> {
    let Some(name) = key.as_str().rsplit('/').next().filter(|n| !n.is_empty()) else {
        // `photos/`: a folder marker in OSS's flat namespace, not a file a directory can hold.
        return Err(WriteError::Key(OssError::invalid(
            "InvalidObjectName",
            None,
            "A directory bucket cannot store an object whose key ends with '/'.",
        )));
    };
    let name = std::ffi::OsString::from(name);
    let parent = key_folder(root, key)?;
    let target = parent.join(&name);
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Err(conflict("A folder exists with the object's key."));
    }
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let temp = parent.join(format!(
        ".{}\\imgedge-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        match unnamed_file(&parent) {
            Some(mut f) => {
                f.write_all(body)?;
                f.sync_all()?;
                link_unnamed(&f, &temp)?;
            }
            None => {
                let mut f = std::fs::File::create_new(&temp)?;
                f.write_all(body)?;
                f.sync_all()?;
            }
        }
        std::fs::rename(&temp, &target)?;
        std::fs::File::open(&parent)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    Ok(meta_of(&std::fs::metadata(&target)?))
}

/// An unnamed file in `dir` (Linux `O_TMPFILE`); `None` where the filesystem has none.
fn unnamed_file(dir: &Path) -> Option<std::fs::File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).mode(0o644).custom_flags(libc::O_TMPFILE).open(dir).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

/// Gives the unnamed file a name (through `/proc/self/fd`, which needs no privilege, unlike
/// `AT_EMPTY_PATH`).
#[cfg(target_os = "linux")]
fn link_unnamed(f: &std::fs::File, to: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::AsRawFd;
    let from = CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))?;
    let to = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_: &std::fs::File, _: &Path) -> std::io::Result<()> {
    unreachable!("unnamed files exist only on Linux")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ObjectKey {
        ObjectKey::new(s).unwrap()
    }

    fn temp_root(name: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("imgedge-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("bucket")).unwrap();
        base
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                out.extend(listing(&e.path()).into_iter().map(|n| format!("{name}/{n}")));
            } else {
                out.push(name);
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn writes_replace_whole_objects_and_leave_nothing_else() {
        let base = temp_root("write");
        let store = DirStore::new(base.join("bucket")).unwrap();
        let m1 = store.put(&key("a/b/c.jpg"), Bytes::from_static(b"first"), "image/jpeg").await.unwrap();
        assert_eq!(store.get(&key("a/b/c.jpg"), 100).await.unwrap().bytes, b"first");
        let m2 = store.put(&key("a/b/c.jpg"), Bytes::from_static(b"secnd"), "image/jpeg").await.unwrap();
        assert_ne!(m1.etag, m2.etag, "same size, new bytes: a new validator");
        assert_eq!(store.head(&key("a/b/c.jpg")).await.unwrap(), m2);
        assert_eq!(listing(store.root()), ["a/b/c.jpg"]);
        assert_eq!(store.get(&key("a/b/c.jpg"), 3).await.unwrap_err().code, "ImageTooLarge");
        store.put(&key("a/d.png"), Bytes::from_static(b"png"), "image/png").await.unwrap();
        store.put(&key("ab.jpg"), Bytes::from_static(b"x"), "image/jpeg").await.unwrap();
        let keys = |l: Vec<Listed>| l.into_iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(keys(store.list("a/", 10).await.unwrap()), ["a/b/c.jpg", "a/d.png"]);
        assert_eq!(keys(store.list("a", 10).await.unwrap()), ["a/b/c.jpg", "a/d.png", "ab.jpg"]);
        assert_eq!(keys(store.list("a/b", 1).await.unwrap()), ["a/b/c.jpg"]);
        assert_eq!(keys(store.list("", 2).await.unwrap()), ["a/b/c.jpg", "a/d.png"]);
        assert!(store.list("zz/", 10).await.unwrap().is_empty());
        assert!(store.list("../", 10).await.unwrap().is_empty(), "never outside the root");
        assert_eq!(store.list("a/d", 10).await.unwrap()[0].size, 3);
        store.delete(&key("a/b/c.jpg")).await.unwrap();
        store.delete(&key("a/b/c.jpg")).await.unwrap();
        assert_eq!(store.head(&key("a/b/c.jpg")).await.unwrap_err().status, 404);
        std::fs::remove_dir_all(base).ok();
    }

    #[tokio::test]
    async fn writes_never_follow_links_out_of_the_root() {
        let base = temp_root("escape");
        std::fs::create_dir_all(base.join("outside")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("outside"), base.join("bucket/link")).unwrap();
        let store = DirStore::new(base.join("bucket")).unwrap();
        let put = |k: &'static str| {
            let store = &store;
            async move { store.put(&key(k), Bytes::from_static(b"x"), "").await }
        };
        assert_eq!(put("link/x.jpg").await.unwrap_err().status, 403);
        // No folder is made outside either, however deep the key goes past the link.
        assert_eq!(put("link/newdir/x.jpg").await.unwrap_err().status, 403);
        assert_eq!(put("link/a/b/c/x.jpg").await.unwrap_err().status, 403);
        assert!(std::fs::read_dir(base.join("outside")).unwrap().next().is_none());
        // A folder where the object would be, an object where a folder would be, a folder key.
        std::fs::create_dir_all(base.join("bucket/adir")).unwrap();
        assert_eq!(put("adir").await.unwrap_err().status, 409);
        put("afile.jpg").await.unwrap();
        assert_eq!(put("afile.jpg/x.jpg").await.unwrap_err().status, 409);
        assert_eq!(put("adir/").await.unwrap_err().code, "InvalidObjectName");
        // A link that stays inside the bucket is a folder like any other.
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("bucket/adir"), base.join("bucket/inner")).unwrap();
        put("inner/deep/x.jpg").await.unwrap();
        assert!(base.join("bucket/adir/deep/x.jpg").is_file());
        std::fs::remove_dir_all(base).ok();
    }
}
