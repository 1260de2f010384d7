//! Errors of the transform core, each carrying what OSS would answer: the `Code`, the HTTP
//! status it implies, the documented `EC` where OSS has one, and a short message that is safe to
//! show to a client (no paths, no internals). The proxy turns these into XML in one place.

use std::borrow::Cow;
use std::fmt;

/// The OSS error `Code`. Each code implies one HTTP status ([`Code::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A parameter is malformed or out of range (400).
    InvalidArgument,
    /// The request is well formed but cannot apply to this image (400).
    BadRequest,
    /// A required parameter is missing (400).
    MissingArgument,
    /// The source or the result exceeds a size limit (400).
    ImageTooLarge,
    /// A watermark text or image cannot be used (400).
    WatermarkError,
    /// The object does not exist (404).
    NoSuchKey,
    /// The named style does not exist (404).
    NoSuchStyle,
    /// The action exists in OSS but is not provided here (501).
    NotImplemented,
    /// Something failed inside imgedge (500).
    InternalError,
    /// The processing deadline passed (503: the same request may succeed when the server is
    /// less busy; a pipeline that is too costly in itself is refused up front with a 400).
    ProcessTimeout,
    /// The caller stopped waiting (the client went away): never sent, only counted.
    Cancelled,
}

impl Code {
    /// The code as OSS spells it in `<Code>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "InvalidArgument",
            Code::BadRequest => "BadRequest",
            Code::MissingArgument => "MissingArgument",
            Code::ImageTooLarge => "ImageTooLarge",
            Code::WatermarkError => "WatermarkError",
            Code::NoSuchKey => "NoSuchKey",
            Code::NoSuchStyle => "NoSuchStyle",
            Code::NotImplemented => "NotImplemented",
            Code::InternalError => "InternalError",
            Code::ProcessTimeout => "ProcessTimeout",
            Code::Cancelled => "Cancelled",
        }
    }

    /// The HTTP status OSS answers with for this code.
    pub fn status(self) -> u16 {
        match self {
            Code::NoSuchKey | Code::NoSuchStyle => 404,
            Code::NotImplemented => 501,
            Code::InternalError => 500,
            Code::ProcessTimeout => 503,
            // nginx's "client closed request": logged, never written to a socket.
            Code::Cancelled => 499,
            _ => 400,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the transform core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({}): {message}", ec.unwrap_or("-"))]
pub struct Error {
    pub code: Code,
    /// OSS's error detail code, e.g. `0040-00000312`, where OSS documents one.
    pub ec: Option<&'static str>,
    /// A short message safe to show to clients.
    pub message: Cow<'static, str>,
}

impl Error {
    pub fn new(code: Code, ec: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Error { code, ec, message: message.into() }
    }

    /// `InvalidArgument` with an optional EC.
    pub fn invalid(ec: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::InvalidArgument, ec, message)
    }

    /// `BadRequest` without EC.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::BadRequest, None, message)
    }

    /// `ImageTooLarge` with an optional EC.
    pub fn too_large(ec: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::ImageTooLarge, ec, message)
    }

    /// The source object is larger than `max_src_bytes` (wherever that is found out: file
    /// size, Content-Length, a body read past the limit).
    pub fn source_too_large() -> Self {
        Self::too_large(None, "source image exceeds the size limit")
    }

    /// The source bytes are not an image we can read (EC 0040-00000005).
    pub fn unsupported_source(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::BadRequest, Some(ec::UNSUPPORTED_FORMAT), message)
    }

    /// A failure inside imgedge; the detail goes to logs, not to the client.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::InternalError, None, message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The OSS error detail codes used by the core (spec §4.2).
pub mod ec {
    pub const UNSUPPORTED_FORMAT: &str = "0040-00000005";
    pub const RESIZE_OUTPUT_TOO_LARGE: &str = "0040-00000007";
    pub const RESIZE_SOURCE_TOO_LARGE: &str = "0040-00000009";
    pub const SOURCE_PIXELS_TOO_LARGE: &str = "0040-00000012";
    /// HEIC source side over the limit.
    pub const HEIC_SIDE_TOO_LARGE: &str = "0040-00000013";
    /// AVIF source side over 10 000, or AVIF output over 4096×2304 pixels.
    pub const AVIF_TOO_LARGE: &str = "0040-00000014";
    pub const BMP_SIDE_TOO_LARGE: &str = "0040-00000017";
    pub const TIFF_SIDE_TOO_LARGE: &str = "0040-00000018";
    pub const JPEG_SIDE_TOO_LARGE: &str = "0040-00000019";
    /// A HEIC / an AVIF that libheif cannot decode.
    pub const HEIC_CORRUPT: &str = "0040-00000020";
    pub const AVIF_CORRUPT: &str = "0040-00000021";
    pub const NO_SUCH_OBJECT: &str = "0040-00000024";
    pub const WATERMARK_FORMAT: &str = "0040-00000027";
    pub const FORMAT_INVALID: &str = "0040-00000206";
    pub const FORMAT_MISSING: &str = "0040-00000207";
    pub const ROTATE_INVALID: &str = "0040-00000217";
    pub const RESIZE_MODE: &str = "0040-00000311";
    pub const RESIZE_W: &str = "0040-00000312";
    pub const RESIZE_H: &str = "0040-00000313";
    pub const RESIZE_L: &str = "0040-00000314";
    pub const RESIZE_S: &str = "0040-00000315";
    pub const RESIZE_P: &str = "0040-00000317";
    pub const RESIZE_LIMIT: &str = "0040-00000319";
    pub const RESIZE_W_H_ZERO: &str = "0040-00000321";
    pub const RESIZE_EMPTY: &str = "0040-00000322";
}
