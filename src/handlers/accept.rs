//! Format by `Accept` (an imgedge extension, issue 13): `format,auto` in a pipeline or style, or
//! a bucket's `auto_format`, picks AVIF, WebP or the source's own format from what the client
//! says it takes. The choice is written into the pipeline before the cache key is made, so the
//! key holds one of three formats and never the raw header; the answer says `Vary: Accept`.

use crate::transform::spec::Output;
use crate::transform::{Format, Pipeline};

/// Resolves `format,auto` (or the bucket's default) in `p` for a client sending `accept`.
/// Returns whether the answer depends on `Accept` (then it must say `Vary: Accept`). An
/// explicit format always wins, and `info` / `average-hue` have no format to pick.
/// `animated` marks a source that may be an animation: AVIF would keep only its first frame,
/// so it is never picked for one.
pub fn negotiate(p: &mut Pipeline, accept: Option<&str>, bucket_auto: bool, animated: bool) -> bool {
    let wanted = std::mem::take(&mut p.auto_format) || bucket_auto;
    if !wanted || p.format.is_some() || p.output != Output::Image {
        return false;
    }
    let accept = accept.unwrap_or("");
    let webp = accepts(accept, "image/webp");
    // AVIF only for clients that take WebP as well (every browser that decodes AVIF does):
    // WebP stands in for AVIF outputs past OSS's AVIF size cap.
    p.format = if !animated && webp && Format::Avif.available() && accepts(accept, "image/avif") {
        p.avif_negotiated = true;
        Some(Format::Avif)
    } else if webp {
        Some(Format::Webp)
    } else {
        None
    };
    true
}

/// Whether `accept` names `mime` explicitly with a non-zero q. Wildcards (`image/*`, `*/*`)
/// do not count: browsers send them with formats they cannot decode, which is why imgproxy,
/// imagor and Cloudflare also look for the explicit type.
fn accepts(accept: &str, mime: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or("").trim();
        ty.eq_ignore_ascii_case(mime)
            && parts.all(|p| match p.trim().split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("q") => {
                    v.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
                }
                _ => true,
            })
    })
}

/// A source that may be animated, judged from its key before it is fetched.
pub fn maybe_animated(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with(".gif") || k.ends_with(".webp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{parse, Limits, NoStyles};

    /// The canonical text of `process` (what the cache key holds).
    fn canonical(process: &str) -> String {
        parse(process, &NoStyles, &Limits::default()).unwrap().to_string()
    }

    fn pick(process: &str, accept: Option<&str>, bucket_auto: bool) -> (Option<Format>, bool, String) {
        let mut p = parse(process, &NoStyles, &Limits::default()).unwrap();
        let vary = negotiate(&mut p, accept, bucket_auto, false);
        (p.format, vary, p.to_string())
    }

    #[test]
    fn the_browser_gets_the_best_it_names() {
        let auto = "image/resize,w_100/format,auto";
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        assert_eq!(pick(auto, Some(chrome), false).0, Some(Format::Avif));
        assert_eq!(pick(auto, Some("image/webp,*/*"), false).0, Some(Format::Webp));
        assert_eq!(pick(auto, Some("*/*"), false).0, None);
        assert_eq!(pick(auto, Some("image/*"), false).0, None, "a wildcard is not a promise");
        assert_eq!(pick(auto, None, false), (None, true, canonical("image/resize,w_100")));
        assert_eq!(pick(auto, Some("image/avif;q=0, image/webp"), false).0, Some(Format::Webp));
        assert_eq!(pick(auto, Some("IMAGE/AVIF ; q=0.5, image/webp"), false).0, Some(Format::Avif));
        // AVIF needs WebP too: WebP stands in when the output is past OSS's AVIF cap.
        assert_eq!(pick(auto, Some("image/avif"), false).0, None);
        // The key holds the choice, never the header.
        assert_eq!(pick(auto, Some(chrome), false).2, canonical("image/resize,w_100/format,avif"));
    }

    #[test]
    fn explicit_formats_win_and_the_bucket_default_applies_only_without_one() {
        let chrome = Some("image/avif,image/webp,*/*");
        let png = "image/resize,w_100/format,png";
        assert_eq!(pick(png, chrome, true), (Some(Format::Png), false, canonical(png)));
        assert_eq!(pick("image/format,auto/format,jpg", chrome, false).0, Some(Format::Jpeg));
        assert_eq!(pick("image/resize,w_100", chrome, true).0, Some(Format::Avif));
        assert_eq!(pick("image/resize,w_100", chrome, false), (None, false, canonical("image/resize,w_100")));
        assert!(!pick("image/info", chrome, true).1);
    }

    #[test]
    fn animations_never_become_avif() {
        let mut p = parse("image/resize,w_100/format,auto", &NoStyles, &Limits::default()).unwrap();
        assert!(negotiate(&mut p, Some("image/avif,image/webp"), false, true));
        assert_eq!(p.format, Some(Format::Webp));
        assert!(maybe_animated("a/B.GIF") && maybe_animated("x.webp") && !maybe_animated("x.jpg"));
    }
}
