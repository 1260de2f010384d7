//! SigV4 for S3-compatible origins, through `rusty-s3` (sans-I/O: it signs, pingora sends).
//! Every origin request is presigned in its query string, so the same signed path serves both
//! the raw pass-through (pingora's upstream) and our own source fetches, and the client's other
//! headers (Range, If-None-Match) travel unsigned, as S3 allows for presigned requests.

use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

/// How long a presigned origin request stays valid: enough for a slow connect and a retry,
/// short enough that a logged URL is useless soon.
const EXPIRES: Duration = Duration::from_secs(300);

pub struct S3Signer {
    bucket: Bucket,
    credentials: Credentials,
}

impl S3Signer {
    pub fn new(
        endpoint: &str,
        region: &str,
        bucket: &str,
        access_key_id: &str,
        secret_access_key: &str,
        path_style: bool,
    ) -> Result<S3Signer, String> {
        let url = Url::parse(endpoint).map_err(|e| format!("{endpoint}: {e}"))?;
        let style = if path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket = Bucket::new(url, style, bucket.to_string(), region.to_string())
            .map_err(|e| format!("{endpoint}: {e}"))?;
        Ok(S3Signer { bucket, credentials: Credentials::new(access_key_id, secret_access_key) })
    }

    /// The bucket's URL (virtual-host or path style): where requests go.
    pub fn base_url(&self) -> &Url {
        self.bucket.base_url()
    }

    /// The presigned path and query of `GET`/`HEAD`/`PUT`/`DELETE key`; `None` for other methods.
    pub fn presign(&self, method: &str, key: &str) -> Option<String> {
        let c = Some(&self.credentials);
        let url = match method {
            "GET" => self.bucket.get_object(c, key).sign(EXPIRES),
            "HEAD" => self.bucket.head_object(c, key).sign(EXPIRES),
            "PUT" => self.bucket.put_object(c, key).sign(EXPIRES),
            "DELETE" => self.bucket.delete_object(c, key).sign(EXPIRES),
            _ => return None,
        };
        Some(path_and_query(&url))
    }

    /// The presigned path and query of one page of ListObjectsV2 under `prefix`.
    pub fn presign_list(&self, prefix: &str, continuation: Option<&str>) -> String {
        let mut list = self.bucket.list_objects_v2(Some(&self.credentials));
        list.with_prefix(prefix);
        if let Some(t) = continuation {
            list.with_continuation_token(t);
        }
        path_and_query(&list.sign(EXPIRES))
    }
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_paths_name_the_bucket_and_key() {
        let s = S3Signer::new("http://127.0.0.1:9000", "us-east-1", "photos", "AK", "SK", true).unwrap();
        let p = s.presign("GET", "dir/a b.jpg").unwrap();
        assert!(p.starts_with("/photos/dir/a%20b.jpg?"), "{p}");
        assert!(p.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"), "{p}");
        assert!(p.contains("X-Amz-Credential=AK%2F"), "{p}");
        assert!(p.contains("X-Amz-Signature="), "{p}");
        assert_ne!(s.presign("HEAD", "a.jpg").unwrap(), s.presign("GET", "a.jpg").unwrap());
        assert_ne!(s.presign("PUT", "a.jpg").unwrap(), s.presign("DELETE", "a.jpg").unwrap());
        assert_eq!(s.presign("POST", "a.jpg"), None);
        let l = s.presign_list("variants/demo/", Some("tok"));
        assert!(l.starts_with("/photos/?") || l.starts_with("/photos?"), "{l}");
        assert!(l.contains("list-type=2") && l.contains("prefix=variants%2Fdemo%2F"), "{l}");
        assert!(l.contains("continuation-token=tok") && l.contains("X-Amz-Signature="), "{l}");
        let v = S3Signer::new("https://s3.example.com", "eu-1", "photos", "AK", "SK", false).unwrap();
        assert_eq!(v.base_url().host_str(), Some("photos.s3.example.com"));
    }
}
