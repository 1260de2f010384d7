//! Every key the engine files things under: a variant (memory and tier), a source's validators,
//! the prefix that purges a source, the variant's ETag and its CDN cache tag.

use crate::transform::Pipeline;

/// How every variant key of `object` begins (what purging the source drops from the cache).
pub fn source_prefix(bucket: &str, object: &str) -> String {
    format!("{bucket}\n{object}\n")
}

/// The variant key: everything that changes the bytes. Bucket, key, the source's version, the
/// canonical pipeline (a style prints as its expansion, so a changed style makes new keys), and
/// whether the format was negotiated: AVIF picked from `Accept` falls back to WebP past OSS's
/// AVIF cap, where an explicit `format,avif` is refused, so the two never share an entry. And
/// whether the source's colour profile is kept (a bucket's setting, which can change).
pub fn variant_key(bucket: &str, object: &str, source_etag: &str, pipeline: &Pipeline) -> String {
    let negotiated = if pipeline.avif_negotiated { "\navif-or-webp" } else { "" };
    let profile = if pipeline.keep_profile { "\nkeep-profile" } else { "" };
    // `quality,auto` answers differ by the bucket's target, which the canonical text omits.
    let target = match pipeline.quality {
        Some(crate::transform::ops::quality::Quality::Auto) => {
            format!("\nquality-target-{}", pipeline.quality_target)
        }
        _ => String::new(),
    };
    format!("{}{source_etag}\n{pipeline}{negotiated}{profile}{target}", source_prefix(bucket, object))
}

/// The validator cache's key of an object.
pub fn meta_key(bucket: &str, key: &str) -> String {
    format!("{bucket}\n{key}")
}

/// The ETag of a variant: a stable hash (SHA-256) of its key.
pub fn variant_etag(variant_key: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(variant_key.as_bytes());
    format!("\"{}\"", hex::encode(&d[..12]))
}

/// The CDN cache tag of every variant of `object`: `<bucket>/<key>`, percent-encoded so that
/// neither the comma of `Cache-Tag` lists nor the space of `Surrogate-Key` lists can split it;
/// a tag longer than CDNs accept (1024 bytes) becomes `<bucket>/sha256-<hex>` of the key.
pub fn cache_tag(bucket: &str, object: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    let tag = format!("{bucket}/{}", percent_encoding::utf8_percent_encode(object, KEEP));
    if tag.len() <= 1024 {
        return tag;
    }
    use sha2::{Digest, Sha256};
    format!("{bucket}/sha256-{}", hex::encode(Sha256::digest(object.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tags_survive_tag_lists_and_stay_short() {
        assert_eq!(cache_tag("demo", "a/b c,d.jpg"), "demo/a/b%20c%2Cd.jpg");
        assert_eq!(cache_tag("demo", "照片.jpg"), "demo/%E7%85%A7%E7%89%87.jpg");
        let long = "x,".repeat(400);
        let t = cache_tag("demo", &long);
        assert!(t.starts_with("demo/sha256-") && t.len() == 5 + 7 + 64, "{t}");
        assert_ne!(t, cache_tag("demo", &"y,".repeat(400)));
    }

    #[test]
    fn a_negotiated_avif_has_a_key_of_its_own() {
        let limits = crate::transform::Limits::default();
        let explicit =
            crate::transform::parse("image/format,avif", &crate::transform::NoStyles, &limits).unwrap();
        let mut negotiated = explicit.clone();
        negotiated.avif_negotiated = true;
        assert_eq!(explicit.to_string(), negotiated.to_string());
        assert_ne!(variant_key("b", "k", "e", &explicit), variant_key("b", "k", "e", &negotiated));
        let kept = crate::transform::Pipeline { keep_profile: true, ..explicit.clone() };
        assert_ne!(variant_key("b", "k", "e", &explicit), variant_key("b", "k", "e", &kept));
        assert!(variant_key("b", "k", "e", &explicit).starts_with(&source_prefix("b", "k")));
    }
}
