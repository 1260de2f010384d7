//! Raw objects of directory buckets, served as an object store would: ETag and Last-Modified
//! from the file, If-None-Match / If-Modified-Since, one byte range, Content-Type by name.

use std::time::SystemTime;

use crate::exchange::{Answer, Body};
use crate::storage::Meta;

/// The request's validators.
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<SystemTime>,
}

impl Conditional {
    pub fn of(headers: &[(String, String)]) -> Conditional {
        let h = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        Conditional {
            if_none_match: h("if-none-match"),
            if_modified_since: h("if-modified-since").and_then(|v| httpdate::parse_http_date(&v).ok()),
        }
    }
}

pub fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// A raw object of a directory bucket, with conditional requests and a single byte range: the
/// headers describe `file`, opened once, and the bytes are that file's.
pub fn raw(file: std::fs::File, key: &str, src: &Meta, cond: &Conditional, range: Option<&str>) -> Answer {
    let size = src.size.unwrap_or(0);
    let base = |status, body| {
        Answer::new(status, body)
            .header("etag", src.etag.clone())
            .header("last-modified", src.last_modified.clone().unwrap_or_default())
            .header("accept-ranges", "bytes")
    };
    let not_modified = match (&cond.if_none_match, cond.if_modified_since) {
        (Some(inm), _) => etag_matches(inm, &src.etag),
        (None, Some(ims)) => {
            let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            secs(src.mtime()) <= secs(ims)
        }
        _ => false,
    };
    if not_modified {
        return base(304, Body::Empty);
    }
    let ctype = content_type(key);
    let full = |file| base(200, Body::File { file, start: 0, len: size }).header("content-type", ctype);
    let Some(range) = range else {
        return full(file);
    };
    match parse_range(range, size) {
        Some(Ok((start, end))) => base(206, Body::File { file, start, len: end - start + 1 })
            .header("content-type", ctype)
            .header("content-range", format!("bytes {start}-{end}/{size}")),
        Some(Err(())) => base(416, Body::Empty).header("content-range", format!("bytes */{size}")),
        // Multiple or malformed ranges: the whole object, as RFC 9110 allows.
        None => full(file),
    }
}

/// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range: `Some(Ok((first, last)))`, `Some(Err(()))`
/// when unsatisfiable, `None` when not a single byte range.
fn parse_range(h: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = h.strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => {
            let n = num(b)?;
            if n == 0 || size == 0 {
                return Some(Err(()));
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, true) => (num(a)?, size.saturating_sub(1)),
        (false, false) => (num(a)?, num(b)?.min(size.saturating_sub(1))),
        (true, true) => return None,
    };
    if start >= size || start > end {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

/// Content-Type of a raw object by its name (directory buckets store no metadata).
pub fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Some(Ok((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=5-1", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("\"b\", \"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
