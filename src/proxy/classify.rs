//! The query of a request, decoded exactly once. (Host → bucket, path → key and style
//! separators live in [`crate::route`].)

use percent_encoding::percent_decode_str;

use super::error::OssError;

/// The query, decoded once, in order. `None` values are parameters without `=`.
pub type Query = Vec<(String, Option<String>)>;

/// Splits and decodes a raw query string. `+` stays `+` (OSS SDKs encode spaces as `%20`).
pub fn parse_query(raw: Option<&str>) -> Result<Query, OssError> {
    let mut out = Vec::new();
    for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (part, None),
        };
        let dec = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| OssError::new(400, "InvalidArgument", None, "the query is not valid UTF-8"))
        };
        out.push((dec(k)?, v.map(dec).transpose()?));
    }
    Ok(out)
}

/// The single value of `name`; two of them are refused (never pick one silently).
pub fn single<'q>(q: &'q Query, name: &str) -> Result<Option<&'q Option<String>>, OssError> {
    let mut it = q.iter().filter(|(k, _)| k == name);
    let first = it.next().map(|(_, v)| v);
    if it.next().is_some() {
        return Err(OssError::new(400, "InvalidArgument", None, format!("{name} is given more than once")));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_once_and_duplicates_are_refused() {
        let q = parse_query(Some("x-oss-process=image%2Fresize%2Cw_100&x-oss-process2&a=%252C")).unwrap();
        assert_eq!(q[0], ("x-oss-process".into(), Some("image/resize,w_100".into())));
        assert_eq!(q[1], ("x-oss-process2".into(), None));
        assert_eq!(q[2].1.as_deref(), Some("%2C"));
        let dup = parse_query(Some("x-oss-process=a&x-oss-process=b")).unwrap();
        assert!(single(&dup, "x-oss-process").is_err());
        assert!(parse_query(Some("a=%FF")).is_err());
    }
}
