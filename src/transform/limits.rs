//! Resource limits, checked from the image header before any pixel is decoded and on the
//! planned output before any pixel is allocated. Defaults are OSS's documented caps.

/// All limits of one transform, in one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest source object, in bytes (OSS: 20 MB).
    pub max_src_bytes: u64,
    /// Largest video a `video/snapshot` may read from, in bytes (imgedge's choice: ffmpeg reads
    /// only the ranges the frame needs, so this bounds the index it may have to walk).
    pub max_video_bytes: u64,
    /// Largest source side, in pixels (OSS: 30 000).
    pub max_src_side: u32,
    /// Largest source area summed over frames: width × height × frames (OSS: 250 M).
    pub max_src_pixels: u64,
    /// Largest TIFF source side (OSS: 16 384).
    pub max_tiff_side: u32,
    /// Largest side of any intermediate or final image (OSS: 16 384).
    pub max_out_side: u32,
    /// Largest area of any intermediate or final image (OSS: 16 777 216 = 4096²).
    pub max_out_pixels: u64,
    /// Largest WebP output side (libwebp's own limit: 16 383).
    pub max_webp_side: u32,
    /// Largest AVIF source side (OSS: 10 000).
    pub max_avif_side: u32,
    /// Largest AVIF output area (OSS: 4096 × 2304).
    pub max_avif_out_pixels: u64,
    /// Largest number of actions in one pipeline.
    pub max_actions: usize,
    /// Longest process string, in bytes.
    pub max_process_len: usize,
    /// Most frames an animated source may have (counted from the file before decoding).
    pub max_frames: u32,
    /// Memory one request may use for decoding and processing, estimated from the header
    /// and the plan before any pixel is decoded ([`super::cost`]).
    pub max_decode_bytes: u64,
    /// Work one pipeline may ask for, in megapixel passes ([`super::cost`]): refused up front.
    pub max_work_mpx: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_src_bytes: 20 * 1024 * 1024,
            max_video_bytes: 2 << 30,
            max_src_side: 30_000,
            max_src_pixels: 250_000_000,
            max_tiff_side: 16_384,
            max_out_side: 16_384,
            max_out_pixels: 16_777_216,
            max_webp_side: 16_383,
            max_avif_side: 10_000,
            max_avif_out_pixels: 4096 * 2304,
            max_actions: 64,
            max_process_len: 4096,
            max_frames: 500,
            max_decode_bytes: 512 << 20,
            max_work_mpx: 800,
        }
    }
}

impl Limits {
    /// The size limit of the source `p` reads: a video's for snapshots, an image's otherwise.
    pub fn max_source_bytes(&self, p: &super::Pipeline) -> u64 {
        if p.snapshot.is_some() {
            self.max_video_bytes
        } else {
            self.max_src_bytes
        }
    }
}
