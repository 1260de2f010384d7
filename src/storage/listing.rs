//! Listing an S3 origin's objects (ListObjectsV2, page by page): what imgedge's own stores need
//! (the variant tier's sweeper, purges); HTTP origins cannot list.

use bytes::BytesMut;

use super::remote::{bad_gateway, by, Remote};
use super::{Deadline, Listed};
use crate::error::OssError;

impl Remote {
    /// Up to `max` objects under `prefix` (S3 origins), page by page (ListObjectsV2), within
    /// `total_ms` of its own.
    pub async fn list(&self, prefix: &str, max: usize) -> Result<Vec<Listed>, OssError> {
        let s3 = self.s3().ok_or_else(|| OssError::not_implemented("An HTTP origin cannot list objects."))?;
        let pages = async {
            let (mut out, mut token) = (Vec::new(), None::<String>);
            loop {
                let path = s3.presign_list(prefix, token.as_deref());
                let (mut session, peer) = self.exchange_at("GET", &path, None, &[]).await?;
                let mut body = BytesMut::new();
                while let Some(chunk) = session.read_response_body().await.map_err(|_| bad_gateway())? {
                    if body.len() + chunk.len() > MAX_LIST_PAGE_BYTES {
                        return Err(bad_gateway());
                    }
                    body.extend_from_slice(&chunk);
                }
                self.release(session, &peer).await;
                let text = std::str::from_utf8(&body).map_err(|_| bad_gateway())?;
                let page: ListPage = quick_xml::de::from_str(text).map_err(|e| {
                    tracing::debug!(error = %e, origin = %self.authority(), "unparsable listing");
                    bad_gateway()
                })?;
                // The signed request asks for `encoding-type=url`: keys arrive percent-encoded.
                let url = page.encoding_type.as_deref() == Some("url");
                for c in page.contents {
                    let key = match url {
                        true => percent_encoding::percent_decode_str(&c.key)
                            .decode_utf8()
                            .map_err(|_| bad_gateway())?
                            .into_owned(),
                        false => c.key,
                    };
                    let modified = parse_iso8601(&c.last_modified).unwrap_or(std::time::UNIX_EPOCH);
                    out.push(Listed { key, size: c.size, modified });
                }
                match page.next_continuation_token {
                    Some(t) if out.len() < max => token = Some(t),
                    _ => break,
                }
            }
            out.truncate(max);
            Ok(out)
        };
        by(Deadline::after(self.total()), pages).await
    }
}

/// The parts of a ListObjectsV2 page imgedge reads (S3-compatible servers differ in the rest:
/// s3s-fs, for one, sends no ETag).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPage {
    #[serde(default)]
    contents: Vec<ListEntry>,
    next_continuation_token: Option<String>,
    encoding_type: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListEntry {
    key: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    last_modified: String,
}

/// A listing page is about 300 bytes per key and at most 1000 keys: 4 MiB is damage.
const MAX_LIST_PAGE_BYTES: usize = 4 << 20;

/// S3's LastModified (`2024-05-01T12:34:56.000Z`) as a time.
fn parse_iso8601(s: &str) -> Option<std::time::SystemTime> {
    s.parse::<jiff::Timestamp>().ok().map(std::time::SystemTime::from)
}
