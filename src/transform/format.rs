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
    /// AV1 in HEIF (libheif; the `heif` feature).
    Avif,
    /// HEVC in HEIF (libheif; the `heif` feature).
    Heic,
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
            Format::Avif => "avif",
            Format::Heic => "heic",
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
            Format::Avif => "image/avif",
            Format::Heic => "image/heic",
        }
    }

    /// Whether the format can carry transparency; others are flattened onto white.
    pub fn has_alpha(self) -> bool {
        !matches!(self, Format::Jpeg)
    }

    /// Whether `quality` applies to this output format.
    pub fn is_lossy(self) -> bool {
        matches!(self, Format::Jpeg | Format::Webp | Format::Avif | Format::Heic)
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
            "avif" => Format::Avif,
            "heic" => Format::Heic,
            _ => return None,
        })
    }

    /// Every format, in a fixed order.
    pub const ALL: [Format; 8] = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Bmp,
        Format::Gif,
        Format::Tiff,
        Format::Avif,
        Format::Heic,
    ];

    /// Whether this build can read and write the format (AVIF and HEIC need libheif).
    pub fn available(self) -> bool {
        cfg!(feature = "heif") || !matches!(self, Format::Avif | Format::Heic)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
