//! The parsed form of a process string: a [`Pipeline`] of typed actions plus the encoder
//! settings and an optional `sys/saveas` target. Its `Display` is the one canonical text of the
//! request (defaults made explicit, encoder settings once at the end), used as the cache key.

use std::fmt;

use super::b64;
use super::format::Format;
use super::ops::blur::{self, BlurSpec};
use super::ops::circle::CircleSpec;
use super::ops::crop::{self, CropSpec};
use super::ops::indexcrop::{self, IndexCropSpec};
use super::ops::quality::{self, Quality};
use super::ops::resize::{self, ResizeSpec};
use super::ops::rounded_corners::RoundedSpec;
use super::ops::watermark::{self, WatermarkSpec};
use super::ops::{bright, contrast, sharpen};
use super::video::Snapshot;

/// One pixel action, in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    Resize(ResizeSpec),
    Crop(CropSpec),
    Circle(CircleSpec),
    IndexCrop(IndexCropSpec),
    RoundedCorners(RoundedSpec),
    /// Clockwise degrees, 0..=360.
    Rotate(u32),
    Watermark(WatermarkSpec),
    Blur(BlurSpec),
    /// −100..=100.
    Bright(i32),
    /// −100..=100.
    Contrast(i32),
    /// 50..=399.
    Sharpen(i32),
}

/// What the request returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    /// An encoded image.
    Image,
    /// The `info` JSON.
    Info,
    /// The `average-hue` JSON.
    AverageHue,
}

/// A `sys/saveas` target: where a POST stores its result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SaveAs {
    /// Target object key (may hold OSS variables such as `{dirname}`, expanded by the caller).
    pub object: String,
    /// Target bucket; `None` means the source bucket.
    pub bucket: Option<String>,
}

/// A whole parsed request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pipeline {
    pub ops: Vec<Op>,
    /// EXIF orientation applied first (default on).
    pub auto_orient: bool,
    /// Output format; `None` keeps the source's.
    pub format: Option<Format>,
    /// `format,auto`: the server picks the format from the request's `Accept` when `format` is
    /// `None` (an explicit format always wins). The transform itself treats it as `None`.
    pub auto_format: bool,
    /// `format` is AVIF because `Accept` chose it: an output past OSS's AVIF cap becomes WebP
    /// instead of an error. Set only when the client accepts WebP too, so the cache key
    /// (which shows `format,avif`) still names one answer.
    pub avif_negotiated: bool,
    pub quality: Option<Quality>,
    /// Progressive JPEG.
    pub interlace: bool,
    pub output: Output,
    pub saveas: Option<SaveAs>,
    /// The style this pipeline came from, if any (access rules treat styles differently).
    pub style: Option<String>,
    /// `video/snapshot`: the source is a video and the pipeline runs on one of its frames
    /// ([`super::video::frame_pipeline`]).
    pub snapshot: Option<Snapshot>,
    /// Keep the source's colour profile (the bucket's `color_profile = "keep"`): its numbers
    /// stay as they are and the output embeds the profile, instead of both being converted to
    /// sRGB. Set by the server, never parsed; not in the canonical text (the variant key says it).
    pub keep_profile: bool,
    /// The SSIMULACRA2 score `quality,auto` aims at (the bucket's `quality_target`). Set by the
    /// server; not in the canonical text (the variant key says it when it matters).
    pub quality_target: u8,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            ops: Vec::new(),
            auto_orient: true,
            format: None,
            auto_format: false,
            avif_negotiated: false,
            quality: None,
            interlace: false,
            output: Output::Image,
            saveas: None,
            style: None,
            snapshot: None,
            keep_profile: false,
            quality_target: super::codec::autoq::DEFAULT_TARGET,
        }
    }
}

impl Pipeline {
    /// The bucket objects the pipeline reads besides its source: watermark images.
    pub fn object_keys(&self) -> Vec<&str> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Watermark(w) => w.image.as_ref().map(|i| i.key.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Resize(s) => f.write_str(&resize::canonical(s)),
            Op::Crop(s) => f.write_str(&crop::canonical(s)),
            Op::Circle(s) => write!(f, "circle,r_{}", s.r),
            Op::IndexCrop(s) => f.write_str(&indexcrop::canonical(s)),
            Op::RoundedCorners(s) => write!(f, "rounded-corners,r_{}", s.r),
            Op::Rotate(d) => write!(f, "rotate,{d}"),
            Op::Watermark(s) => f.write_str(&watermark::canonical(s)),
            Op::Blur(s) => f.write_str(&blur::canonical(s)),
            Op::Bright(v) => f.write_str(&bright::canonical(v)),
            Op::Contrast(v) => f.write_str(&contrast::canonical(v)),
            Op::Sharpen(v) => f.write_str(&sharpen::canonical(v)),
        }
    }
}

impl fmt::Display for Pipeline {
    /// The canonical text. It never contains the style name: a style prints as its expansion,
    /// so editing a style changes the key of everything derived from it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.snapshot {
            Some(s) => write!(f, "{s}")?,
            None => f.write_str("image")?,
        }
        match self.output {
            Output::Info => f.write_str("/info")?,
            Output::AverageHue => f.write_str("/average-hue")?,
            Output::Image => {
                if !self.auto_orient {
                    f.write_str("/auto-orient,0")?;
                }
                for op in &self.ops {
                    write!(f, "/{op}")?;
                }
                match self.format {
                    Some(fmt_) => write!(f, "/format,{fmt_}")?,
                    None if self.auto_format => f.write_str("/format,auto")?,
                    None => {}
                }
                if let Some(q) = self.quality {
                    write!(f, "/{}", quality::canonical(q))?;
                }
                if self.interlace {
                    f.write_str("/interlace,1")?;
                }
            }
        }
        if let Some(s) = &self.saveas {
            write!(f, "|sys/saveas,o_{}", b64::encode(s.object.as_bytes()))?;
            if let Some(b) = &s.bucket {
                write!(f, ",b_{}", b64::encode(b.as_bytes()))?;
            }
        }
        Ok(())
    }
}
