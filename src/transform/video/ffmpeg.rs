//! Grabs one frame of an untrusted video with ffmpeg, run as a confined subprocess
//! ([`child::run`]) so that a demuxer or decoder bug stays in a process we can kill: only the
//! protocols, containers and decoders a snapshot needs (H.264 and H.265, as OSS), a pixel cap
//! checked by the decoder before it allocates a frame, and the caller's deadline and
//! cancellation. Remote videos are given to
//! ffmpeg as a plain-HTTP URL of a relay on loopback that reads the origin for it (the server's
//! `storage::relay`), so it reads only the byte ranges the frame needs and never dials anything
//! else: the only network protocols it may use are `http` and `tcp`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::Snapshot;
use crate::transform::child;
use crate::transform::env::Stop;
use crate::transform::error::{ec, Error, Result};

/// Where the video is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A local file (absolute, already resolved inside its bucket).
    File(PathBuf),
    /// A plain `http` URL ffmpeg may read with range requests: a relay on loopback.
    Url(String),
}

/// How ffmpeg is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grabber {
    /// The ffmpeg executable (a bare name is looked up in `PATH`).
    pub program: PathBuf,
    /// Address-space cap of one ffmpeg process.
    pub memory_bytes: u64,
    /// Largest frame area the decoder may allocate.
    pub max_pixels: u64,
    /// Longest wait for one network read of a URL input.
    pub io_timeout: Duration,
}

impl Default for Grabber {
    fn default() -> Self {
        Grabber {
            program: "ffmpeg".into(),
            memory_bytes: 1 << 30,
            max_pixels: 8192 * 4320,
            io_timeout: Duration::from_secs(5),
        }
    }
}

/// A grabbed frame: an uncompressed BMP, for the image path to decode like any source.
#[derive(Debug)]
pub struct Frame {
    pub bmp: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Containers ffmpeg may open (a playlist or concat list could name other files or hosts).
const FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,flv";
/// Decoders it may use: OSS snapshots H.264 and H.265 only.
const DECODERS: &str = "h264,hevc";
/// Socket receive buffer for remote videos: enough for a fast transfer on a nearby origin.
const RECV_BUFFER: u32 = 256 << 10;
/// Kept of ffmpeg's own messages, for the log.
const MAX_STDERR: u64 = 16 << 10;

impl Grabber {
    /// The frame at `s.t_ms` (or the keyframe at or before it with `m_fast`); past the end of
    /// the video, its last keyframe, as OSS answers.
    pub fn grab(&self, input: &Input, s: &Snapshot, stop: &Stop) -> Result<Frame> {
        let (bmp, log) = self.run(input, s, s.fast, stop)?;
        let (bmp, log) = match (bmp.is_empty(), s.fast) {
            // An exact seek past the end decodes nothing; a keyframe seek finds the last one.
            (true, false) => self.run(input, s, true, stop)?,
            _ => (bmp, log),
        };
        if bmp.is_empty() {
            return Err(unreadable(&log));
        }
        let (width, height) = bmp_size(&bmp).ok_or_else(|| Error::internal("ffmpeg wrote no BMP"))?;
        Ok(Frame { bmp, width, height })
    }

    fn args(&self, input: &Input, s: &Snapshot, fast: bool) -> Vec<String> {
        let mut a = Vec::new();
        let mut add = |items: &[&str]| a.extend(items.iter().map(|i| i.to_string()));
        add(&["-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1"]);
        let protocols = match input {
            Input::File(_) => "file",
            Input::Url(_) => "http,tcp",
        };
        add(&["-protocol_whitelist", protocols, "-format_whitelist", FORMATS, "-codec_whitelist", DECODERS]);
        add(&["-max_pixels", &self.max_pixels.to_string()]);
        if let Input::Url(_) = input {
            add(&["-rw_timeout", &self.io_timeout.as_micros().to_string()]);
            // A fixed receive window: the kernel would otherwise pull megabytes ahead of the
            // demuxer on every range it opens, and ffmpeg throws them away when it seeks.
            add(&["-recv_buffer_size", &RECV_BUFFER.to_string()]);
            // Belt and braces: the relay never redirects, and ffmpeg must not follow one anyway.
            add(&["-max_redirects", "0"]);
        }
        if fast {
            // Seek to the keyframe at or before t and keep the first frame decoded there.
            add(&["-noaccurate_seek", "-skip_frame", "nokey"]);
        }
        if s.turn.is_none() {
            add(&["-noautorotate"]);
        }
        let input = match input {
            // `file:` so that a key such as `a:b.mp4` is never read as a protocol name.
            Input::File(p) => format!("file:{}", p.display()),
            Input::Url(u) => u.clone(),
        };
        add(&["-ss", &format!("{}.{:03}", s.t_ms / 1000, s.t_ms % 1000), "-i", &input]);
        add(&["-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", "1"]);
        // Frames before the seek point are dropped by the output's frame-rate logic unless
        // it passes timestamps through; a keyframe seek relies on keeping that first frame.
        add(&["-fps_mode", "passthrough"]);
        add(&["-c:v", "bmp", "-pix_fmt", "bgr24", "-f", "image2pipe", "pipe:1"]);
        a
    }

    /// The size of one grabbed frame of the largest allowed size: BMP, with its row padding
    /// and header.
    pub fn max_frame_bytes(&self) -> u64 {
        self.max_pixels.saturating_mul(4).saturating_add(1024)
    }

    /// One ffmpeg run: its stdout (at most one frame's worth) and the start of its stderr.
    fn run(&self, input: &Input, s: &Snapshot, fast: bool, stop: &Stop) -> Result<(Vec<u8>, String)> {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.args(input, s, fast));
        let max_out = self.max_frame_bytes();
        let bounds = child::Bounds { max: max_out, expect: 0, max_err: MAX_STDERR };
        let o = child::run(cmd, "ffmpeg", None, bounds, self.memory_bytes, stop)?;
        let (bmp, log) = (o.out, String::from_utf8_lossy(&o.err).into_owned());
        if bmp.len() as u64 > max_out {
            return Err(Error::too_large(
                Some(ec::SOURCE_PIXELS_TOO_LARGE),
                "the video's frame is too large",
            ));
        }
        if !o.status.success() && log.contains("max pixel count") {
            return Err(Error::too_large(
                Some(ec::SOURCE_PIXELS_TOO_LARGE),
                "the video's frames exceed the pixel limit",
            ));
        }
        // A failed run's partial output is not a frame.
        Ok((if o.status.success() { bmp } else { Vec::new() }, log))
    }
}

/// ffmpeg's own reason stays out of the answer: it names paths and URLs.
fn unreadable(_log: &str) -> Error {
    Error::bad_request("the object is not an H.264 or H.265 video that can be read")
}

/// Width and height of a BMP (a negative height marks a top-down one).
fn bmp_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 26 || &b[..2] != b"BM" {
        return None;
    }
    let w = i32::from_le_bytes(b[18..22].try_into().ok()?);
    let h = i32::from_le_bytes(b[22..26].try_into().ok()?);
    Some((w.unsigned_abs(), h.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmp_sizes_read_both_row_orders() {
        let mut b = vec![0u8; 54];
        b[..2].copy_from_slice(b"BM");
        b[18..22].copy_from_slice(&640i32.to_le_bytes());
        b[22..26].copy_from_slice(&(-360i32).to_le_bytes());
        assert_eq!(bmp_size(&b), Some((640, 360)));
        assert_eq!(bmp_size(b"GIF89a"), None);
    }

    #[test]
    fn keys_are_never_protocols_and_urls_get_network_protocols_only() {
        let g = Grabber::default();
        let s = Snapshot { t_ms: 1500, w: 0, h: 0, fast: true, turn: None };
        let a = g.args(&Input::File("/b/a:b.mp4".into()), &s, true).join(" ");
        assert!(a.contains("-i file:/b/a:b.mp4"), "{a}");
        assert!(a.contains("-protocol_whitelist file ") && a.contains("-ss 1.500"), "{a}");
        assert!(a.contains("-noaccurate_seek") && a.contains("-noautorotate"), "{a}");
        let a = g.args(&Input::Url("http://o/v.mp4".into()), &s, false).join(" ");
        assert!(a.contains("-protocol_whitelist http,tcp ") && !a.contains("noaccurate"), "{a}");
        assert!(a.contains("-max_redirects 0"), "{a}");
    }

    #[test]
    fn a_missing_ffmpeg_is_not_implemented_rather_than_a_crash() {
        let g = Grabber { program: "/nonexistent/ffmpeg".into(), ..Grabber::default() };
        let s = Snapshot { t_ms: 0, w: 0, h: 0, fast: false, turn: None };
        let e = g.grab(&Input::File("/dev/null".into()), &s, &Stop::never()).unwrap_err();
        assert_eq!(e.code, crate::transform::error::Code::NotImplemented);
    }
}
