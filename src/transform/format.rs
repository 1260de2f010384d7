//! Image formats imgedge reads and writes, named as OSS names them.

use std::fmt;

/// A source or output image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Bmp,
    Gif,
    Tiff,
}

impl Format {
    /// The short name OSS uses (`info`'s `Format`, the `format,` value).
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
            Format::Gif => "gif",
            Format::Tiff => "tiff",
        }
    }

    /// The `Content-Type` of an image in this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Bmp => "image/bmp",
            Format::Gif => "image/gif",
            Format::Tiff => "image/tiff",
        }
    }

    /// Whether the format can carry transparency; others are flattened onto white.
    pub fn has_alpha(self) -> bool {
        !matches!(self, Format::Jpeg)
    }

    /// Whether `quality` applies to this output format.
    pub fn is_lossy(self) -> bool {
        matches!(self, Format::Jpeg | Format::Webp)
    }

    /// Parses a `format,` value; `jpeg` is accepted as an alias of `jpg`.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "jpg" | "jpeg" => Format::Jpeg,
            "png" => Format::Png,
            "webp" => Format::Webp,
            "bmp" => Format::Bmp,
            "gif" => Format::Gif,
            "tiff" => Format::Tiff,
            _ => return None,
        })
    }

    /// Every format, in a fixed order.
    pub const ALL: [Format; 6] =
        [Format::Jpeg, Format::Png, Format::Webp, Format::Bmp, Format::Gif, Format::Tiff];
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
