//! Every byte cap of one job, decided once from its pipeline and the limits: what the source
//! may weigh, what each watermark image may weigh, what is held in memory while it is fetched,
//! and the limits the transform runs under.

use crate::transform::video::{self, ffmpeg::Grabber};
use crate::transform::{Limits, Pipeline};

pub struct Budget {
    /// The most bytes the source object may have: a video's cap for snapshots, an image's
    /// otherwise.
    pub source_bytes: u64,
    /// The most bytes of one watermark image: an image's cap, whatever the source (a
    /// snapshot's video cap must not let a 2 GiB "watermark" in).
    pub mark_bytes: u64,
    /// A video is never held whole (ffmpeg reads the ranges it needs); an image is.
    holds_source: bool,
    /// The limits the transform runs under: a grabbed frame is bounded by `video.max_pixels`,
    /// not by the source-file cap (a 4K frame is 24.9 MB of BMP).
    pub run: Limits,
}

impl Budget {
    pub fn of(p: &Pipeline, limits: &Limits, grabber: &Grabber) -> Budget {
        let snapshot = p.snapshot.is_some();
        Budget {
            source_bytes: limits.max_source_bytes(p),
            mark_bytes: limits.max_src_bytes,
            holds_source: !snapshot,
            run: if snapshot { video::frame_limits(limits, grabber) } else { limits.clone() },
        }
    }

    /// The memory the fetched source takes, for a source of `size` bytes.
    pub fn held(&self, size: u64) -> u64 {
        if self.holds_source {
            size
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{parse, NoStyles};

    #[test]
    fn a_snapshot_fetches_its_marks_under_the_image_cap_and_runs_its_frame_under_the_frame_cap() {
        let limits = Limits { max_src_bytes: 1 << 20, max_video_bytes: 1 << 30, ..Limits::default() };
        let grabber = Grabber { max_pixels: 3840 * 2160, ..Grabber::default() };
        let p = parse("video/snapshot,t_0,f_jpg/watermark,image_bWFyay5wbmc", &NoStyles, &limits).unwrap();
        let b = Budget::of(&p, &limits, &grabber);
        assert_eq!((b.source_bytes, b.mark_bytes, b.held(5 << 20)), (1 << 30, 1 << 20, 0));
        assert!(b.run.max_src_bytes >= 3840 * 2160 * 3 + 54);
        let p = parse("image/resize,w_10", &NoStyles, &limits).unwrap();
        let b = Budget::of(&p, &limits, &grabber);
        assert_eq!(
            (b.source_bytes, b.mark_bytes, b.held(5), b.run.max_src_bytes),
            (1 << 20, 1 << 20, 5, 1 << 20)
        );
    }
}
