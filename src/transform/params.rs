//! The shape shared by every action: `name,k_v,bare,...`. Splitting and typed value readers
//! live here so that each action file only states its own ranges and error codes.

use super::error::{Error, Result};

/// One comma-separated parameter of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// `key_value`, split on the first underscore (base64url values contain `_`).
    Kv(&'a str, &'a str),
    /// A bare value such as the `90` of `rotate,90`.
    Bare(&'a str),
}

/// Splits the parameters of one action (the text after the action name).
pub fn split(params: &str) -> Vec<Param<'_>> {
    params
        .split(',')
        .map(|p| match p.split_once('_') {
            Some((k, v)) => Param::Kv(k, v),
            None => Param::Bare(p),
        })
        .collect()
}

/// Parses a decimal integer strictly: optional `-`, 1 to 9 ASCII digits, nothing else.
pub fn int(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Reads an integer in `lo..=hi`, or fails with `InvalidArgument` and `ec`.
pub fn int_in(v: &str, lo: i64, hi: i64, ec: Option<&'static str>, what: &str) -> Result<i64> {
    match int(v) {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => {
            Err(Error::invalid(ec, format!("{what} must be an integer in [{lo}, {hi}], got \"{}\"", clip(v))))
        }
    }
}

/// Reads an `RRGGBB` colour (no `#`).
pub fn color(v: &str, what: &str) -> Result<[u8; 3]> {
    if v.len() == 6 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        let n = u32::from_str_radix(v, 16).map_err(|_| Error::invalid(None, "bad colour"))?;
        Ok([(n >> 16) as u8, (n >> 8) as u8, n as u8])
    } else {
        Err(Error::invalid(None, format!("{what} must be a hex colour RRGGBB, got \"{}\"", clip(v))))
    }
}

/// The error for a parameter an action does not know.
pub fn unknown(action: &str, p: &Param<'_>) -> Error {
    let shown = match p {
        Param::Kv(k, _) => format!("{}_", clip(k)),
        Param::Bare(v) => clip(v).to_string(),
    };
    Error::invalid(None, format!("unknown parameter \"{shown}\" for {action}"))
}

/// The error for an action that expects exactly one bare value.
pub fn single_bare<'a>(action: &str, params: &[Param<'a>], ec: Option<&'static str>) -> Result<&'a str> {
    match params {
        [Param::Bare(v)] if !v.is_empty() => Ok(v),
        [] | [Param::Bare(_)] => Err(Error::invalid(ec, format!("{action} needs a value"))),
        [p, ..] if params.len() == 1 => Err(unknown(action, p)),
        _ => Err(Error::invalid(ec, format!("{action} takes exactly one value"))),
    }
}

/// A `0|1` switch given as one bare value (`auto-orient,1`, `interlace,0`).
pub fn flag(action: &str, params: &[Param<'_>]) -> Result<bool> {
    let v = single_bare(action, params, None)?;
    Ok(int_in(v, 0, 1, None, action)? == 1)
}

/// Shortens user text quoted back in a message, so errors stay small.
pub fn clip(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_first_underscore_only() {
        assert_eq!(split("text_6Zi_6YeM5LqR"), vec![Param::Kv("text", "6Zi_6YeM5LqR")]);
        assert_eq!(split("90"), vec![Param::Bare("90")]);
        assert_eq!(split("w_1,-50"), vec![Param::Kv("w", "1"), Param::Bare("-50")]);
    }

    #[test]
    fn ints_are_strict() {
        assert_eq!(int("100"), Some(100));
        assert_eq!(int("-5"), Some(-5));
        for bad in ["", "-", "+5", "1.5", " 1", "1e3", "0x10", "9999999999", "abc"] {
            assert_eq!(int(bad), None, "{bad}");
        }
    }

    #[test]
    fn flags() {
        assert!(flag("interlace", &split("1")).unwrap());
        assert!(!flag("interlace", &split("0")).unwrap());
        for bad in ["2", "-1", "yes", "", "a_1", "1,1"] {
            assert!(flag("interlace", &split(bad)).is_err(), "{bad}");
        }
        assert!(flag("auto-orient", &[]).is_err());
    }

    #[test]
    fn colours() {
        assert_eq!(color("FF0000", "c").unwrap(), [255, 0, 0]);
        assert_eq!(color("00ff7f", "c").unwrap(), [0, 255, 127]);
        assert!(color("#FF0000", "c").is_err());
        assert!(color("FFF", "c").is_err());
    }
}
