//! `video/snapshot,t_,w_,h_,m_fast,f_jpg|png,ar_auto|h|w` (OSS "Video snapshots"): the
//! parameters, their canonical text, and what is done to the grabbed frame. The frame itself
//! comes from ffmpeg run as a confined subprocess ([`ffmpeg`]); its w/h/ar become ordinary
//! image actions on that frame, so everything after it (cache, saveas, image actions) is the
//! image path. ECs: only 0053-00000104 (w) is documented by OSS; the others follow the order of
//! OSS's parameter table and are imgedge's choice (docs/decisions.md "Video snapshots").

pub mod ffmpeg;

use std::fmt;

use super::error::{Error, Result};
use super::format::Format;
use super::ops::resize::{Mode, ResizeSpec};
use super::params::{self, Param};
use super::spec::{Op, Pipeline};

/// The OSS error detail codes of `video/snapshot`.
pub mod ec {
    pub const PARAMETER: &str = "0053-00000102";
    pub const T: &str = "0053-00000103";
    /// Documented by OSS ("The w parameter in a video snapshot request is invalid").
    pub const W: &str = "0053-00000104";
    pub const H: &str = "0053-00000105";
    pub const M: &str = "0053-00000106";
    pub const F: &str = "0053-00000107";
    pub const AR: &str = "0053-00000108";
}

/// Longest `t`: 24 hours of video, in milliseconds.
pub const MAX_T_MS: i64 = 86_400_000;

/// `ar_`: how the frame is turned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Turn {
    /// `ar_auto`: by the video's rotation metadata.
    Auto,
    /// `ar_h`: by the metadata, then a quarter turn if the frame is still wider than tall.
    Portrait,
    /// `ar_w`: by the metadata, then a quarter turn if the frame is still taller than wide.
    Landscape,
}

/// One parsed `video/snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// Milliseconds into the video; past its end, the last keyframe.
    pub t_ms: u64,
    /// Output width and height; 0 = from the other by the frame's aspect (both 0: the frame's).
    pub w: u32,
    pub h: u32,
    /// `m_fast`: the keyframe at or before `t` instead of the exact frame.
    pub fast: bool,
    /// `None`: the frame as stored, without its rotation metadata applied.
    pub turn: Option<Turn>,
}

/// Parses the parameters of `video/snapshot` into the snapshot and its output format.
pub fn parse(ps: &[Param<'_>], max_side: u32) -> Result<(Snapshot, Format)> {
    let mut s = Snapshot { t_ms: 0, w: 0, h: 0, fast: false, turn: None };
    let mut format = Format::Jpeg;
    let side = |v, ec, what| params::int_in(v, 0, max_side.into(), Some(ec), what).map(|n| n as u32);
    for p in ps {
        match *p {
            Param::Kv("t", v) => s.t_ms = params::int_in(v, 0, MAX_T_MS, Some(ec::T), "snapshot t")? as u64,
            Param::Kv("w", v) => s.w = side(v, ec::W, "snapshot w")?,
            Param::Kv("h", v) => s.h = side(v, ec::H, "snapshot h")?,
            Param::Kv("m", "fast") => s.fast = true,
            Param::Kv("m", v) => return Err(bad(ec::M, "m", v, "fast")),
            Param::Kv("f", "jpg") => format = Format::Jpeg,
            Param::Kv("f", "png") => format = Format::Png,
            Param::Kv("f", v) => return Err(bad(ec::F, "f", v, "jpg or png")),
            Param::Kv("ar", v) => {
                s.turn = Some(match v {
                    "auto" => Turn::Auto,
                    "h" => Turn::Portrait,
                    "w" => Turn::Landscape,
                    _ => return Err(bad(ec::AR, "ar", v, "auto, h or w")),
                })
            }
            ref other => {
                let mut e = params::unknown("video/snapshot", other);
                e.ec = Some(ec::PARAMETER);
                return Err(e);
            }
        }
    }
    Ok((s, format))
}

fn bad(ec: &'static str, key: &str, v: &str, allowed: &str) -> Error {
    Error::invalid(Some(ec), format!("snapshot {key} must be {allowed}, got \"{}\"", params::clip(v)))
}

impl fmt::Display for Snapshot {
    /// Canonical: every value explicit, in OSS's table order, format left to the pipeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "video/snapshot,t_{},w_{},h_{}", self.t_ms, self.w, self.h)?;
        if self.fast {
            f.write_str(",m_fast")?;
        }
        match self.turn {
            None => Ok(()),
            Some(Turn::Auto) => f.write_str(",ar_auto"),
            Some(Turn::Portrait) => f.write_str(",ar_h"),
            Some(Turn::Landscape) => f.write_str(",ar_w"),
        }
    }
}

/// The frame `p`'s snapshot asks for, as a BMP, with the image pipeline to run on it: the one
/// way the proxy and the command line take a snapshot.
pub fn snapshot(
    grabber: &ffmpeg::Grabber,
    input: &ffmpeg::Input,
    p: &Pipeline,
    stop: &super::env::Stop,
) -> Result<(Vec<u8>, Pipeline)> {
    let s = p.snapshot.as_ref().ok_or_else(|| Error::internal("not a snapshot pipeline"))?;
    let frame = grabber.grab(input, s, stop)?;
    let pipeline = frame_pipeline(p, frame.width, frame.height)?;
    Ok((frame.bmp, pipeline))
}

/// The limits a grabbed frame runs under: an image's, but the frame's bytes are bounded by
/// `video.max_pixels` (the grabber's cap), not by the source-file cap, which is a limit on what
/// is fetched (a 3840×2160 frame is 24.9 MB of BMP).
pub fn frame_limits(limits: &super::Limits, grabber: &ffmpeg::Grabber) -> super::Limits {
    super::Limits { max_src_bytes: grabber.max_frame_bytes().max(limits.max_src_bytes), ..limits.clone() }
}

/// The pipeline to run on the grabbed `width`×`height` frame (already turned by its rotation
/// metadata when `ar` asks for it): the quarter turn `ar_h`/`ar_w` need, the snapshot's size
/// (w and h together are exact, as OSS's "capture as 800×600"), then the request's own actions.
/// `w`/`h` beyond the frame are refused as OSS does (`[0, video width]`).
pub fn frame_pipeline(p: &Pipeline, width: u32, height: u32) -> Result<Pipeline> {
    let s = p.snapshot.as_ref().ok_or_else(|| Error::internal("not a snapshot pipeline"))?;
    let turn = match s.turn {
        Some(Turn::Portrait) => width > height,
        Some(Turn::Landscape) => height > width,
        _ => false,
    };
    let (fw, fh) = if turn { (height, width) } else { (width, height) };
    if s.w > fw {
        return Err(Error::invalid(
            Some(ec::W),
            format!("snapshot w must be in [0, {fw}] (the video's width)"),
        ));
    }
    if s.h > fh {
        return Err(Error::invalid(
            Some(ec::H),
            format!("snapshot h must be in [0, {fh}] (the video's height)"),
        ));
    }
    let mut ops = Vec::with_capacity(p.ops.len() + 2);
    if turn {
        ops.push(Op::Rotate(90));
    }
    if s.w != 0 || s.h != 0 {
        let mode = if s.w != 0 && s.h != 0 { Mode::Fixed } else { Mode::Lfit };
        let size = |v: u32| (v != 0).then_some(v);
        ops.push(Op::Resize(ResizeSpec { w: size(s.w), h: size(s.h), ..ResizeSpec::new(mode) }));
    }
    ops.extend(p.ops.iter().cloned());
    Ok(Pipeline { ops, snapshot: None, auto_orient: false, ..p.clone() })
}

#[cfg(test)]
mod tests;
