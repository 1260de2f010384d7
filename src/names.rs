//! The one validator for each kind of name a request can carry: object keys ([`ObjectKey`]),
//! bucket names and style names. Routing, watermark images, saveas targets, the bucket APIs and
//! the configuration all call these, so no two places can disagree about what a name may be.

use std::fmt;

/// An object key that names something inside its bucket and nothing else.
///
/// UTF-8, 1–1023 bytes, no leading `/`, no `.` or `..` segment, no empty segment (`a//b`: a
/// directory bucket could not tell it from `a/b`), no backslash, no NUL or other control
/// character. Once a string is an `ObjectKey` it is safe as a path below a bucket's root and
/// as an origin path (the origin escapes it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// Why a string is not an object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Not an origin-form path: no leading `/`, or a `?`/`#` the caller should have split off.
    NotAPath,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    InvalidUtf8,
    /// Nothing at all (for a path: nothing after the leading `/`, a bucket-level request).
    Empty,
    /// More than 1023 bytes.
    TooLong,
    /// The key itself starts with `/` (e.g. `//a`, `/%2Fa`).
    LeadingSlash,
    /// A backslash anywhere (a path separator on some systems).
    Backslash,
    /// NUL or another control character (U+0000–U+001F, U+007F).
    ControlChar,
    /// A `.`, `..` or empty segment between slashes.
    DotSegment,
}

impl KeyError {
    /// The OSS `EC` where OSS documents one (`0016-*` object-naming errors).
    pub fn ec(&self) -> Option<&'static str> {
        match self {
            Self::Empty => Some("0016-00000001"),
            Self::TooLong | Self::InvalidUtf8 => Some("0016-00000002"),
            Self::LeadingSlash | Self::Backslash => Some("0016-00000005"),
            Self::NotAPath | Self::BadEscape | Self::ControlChar | Self::DotSegment => None,
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAPath => "request target is not an origin-form path",
            Self::BadEscape => "malformed percent-escape in object key",
            Self::InvalidUtf8 => "object key is not valid UTF-8",
            Self::Empty => "object key is empty",
            Self::TooLong => "object key is longer than 1023 bytes",
            Self::LeadingSlash => "object key must not start with '/'",
            Self::Backslash => "object key must not contain '\\'",
            Self::ControlChar => "object key contains a control character",
            Self::DotSegment => "object key must not contain '.', '..' or empty path segments",
        })
    }
}

impl std::error::Error for KeyError {}

impl ObjectKey {
    /// Validates `key` as it is (no decoding).
    pub fn new(key: impl Into<String>) -> Result<ObjectKey, KeyError> {
        let key = key.into();
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if key.len() > 1023 {
            return Err(KeyError::TooLong);
        }
        if key.starts_with('/') {
            return Err(KeyError::LeadingSlash);
        }
        if key.contains('\\') {
            return Err(KeyError::Backslash);
        }
        if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(KeyError::ControlChar);
        }
        // A trailing `/` is OSS's folder marker (`photos/`), not an empty segment.
        let body = key.strip_suffix('/').unwrap_or(&key);
        if body.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return Err(KeyError::DotSegment);
        }
        Ok(ObjectKey(key))
    }

    /// The key of a raw request path: `"/a%20b.jpg"` → `a b.jpg`. Strips exactly one leading
    /// `/`, percent-decodes exactly once (strictly: `%zz` is an error, `%252F` becomes the
    /// literal `%2F`, `%2F` becomes `/`), keeps `+` as `+`, then validates as [`ObjectKey::new`].
    pub fn from_path(raw_path: &str) -> Result<ObjectKey, KeyError> {
        let path = raw_path.strip_prefix('/').ok_or(KeyError::NotAPath)?;
        if path.contains(['?', '#']) {
            return Err(KeyError::NotAPath);
        }
        let bytes = path.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = bytes.get(i + 1..i + 3).ok_or(KeyError::BadEscape)?;
                let digit = |b: u8| (b as char).to_digit(16).ok_or(KeyError::BadEscape);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        ObjectKey::new(String::from_utf8(out).map_err(|_| KeyError::InvalidUtf8)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the last `/`.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for ObjectKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// OSS bucket naming: 3–63 of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn valid_bucket(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| edge(c) || *c == b'-')
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
}

/// Why a style name is refused, with OSS's EC for each case (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleNameError {
    /// Empty or longer than 63: EC 0017-00000250.
    Length,
    /// A character outside `[A-Za-z0-9_.-]`: EC 0017-00000251.
    Character,
}

impl StyleNameError {
    pub fn ec(&self) -> &'static str {
        match self {
            Self::Length => "0017-00000250",
            Self::Character => "0017-00000251",
        }
    }
}

/// OSS style naming (§4.4): 1–63 of `[A-Za-z0-9_.-]`.
pub fn check_style_name(name: &str) -> Result<(), StyleNameError> {
    if name.is_empty() || name.len() > 63 {
        return Err(StyleNameError::Length);
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
        return Err(StyleNameError::Character);
    }
    Ok(())
}

pub fn valid_style_name(name: &str) -> bool {
    check_style_name(name).is_ok()
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
