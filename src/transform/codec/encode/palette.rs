//! One colour table for a whole GIF (every frame of an animation shares it), and a fast map from
//! RGB to its indices.
//!
//! A source with few colours (at most 256 over all frames, 255 when a transparent index is
//! needed) gets those colours exactly, so a palette GIF survives decode and re-encode unchanged.
//! Anything else is quantised once by NeuQuant from pixels sampled evenly across all frames, and
//! pixels are mapped through a cache keyed by 6 bits per channel that is filled lazily from the
//! NeuQuant index search (a bucket's centre decides its index, so the result does not depend on
//! which pixel of the bucket came first).

use std::borrow::Cow;

use color_quant::NeuQuant;
use image::DynamicImage;

/// Alpha below this is the transparent index, at or above it the pixel is opaque.
const ALPHA_CUT: u8 = 128;

/// At most this many pixels (RGBA, 4 bytes each) are copied out of the frames to train NeuQuant.
const SAMPLE_CAP: usize = 1 << 18;

/// NeuQuant's sampling factor over that sample (1 best .. 30 fastest): it learns from
/// `sample / SAMPLE_FAC` pixels, ~52 000 at the cap, about what it learnt from one 500 000-pixel
/// frame at the gif crate's suggested factor 10.
const SAMPLE_FAC: i32 = 5;

/// Bits per channel of the mapping cache key (2^18 entries of 2 bytes).
const CACHE_BITS: u32 = 6;

/// A frame's pixel bytes and channel count (3 or 4); frames are RGB8 or RGBA8, anything else is
/// converted.
pub(super) fn pixel_bytes(p: &DynamicImage) -> (Cow<'_, [u8]>, usize) {
    match p {
        DynamicImage::ImageRgba8(b) => (Cow::Borrowed(b.as_raw().as_slice()), 4),
        DynamicImage::ImageRgb8(b) => (Cow::Borrowed(b.as_raw().as_slice()), 3),
        other => (Cow::Owned(other.to_rgba8().into_raw()), 4),
    }
}

#[inline]
fn opaque(p: &[u8]) -> bool {
    p.len() == 3 || p[3] >= ALPHA_CUT
}

#[inline]
fn key(p: &[u8]) -> u32 {
    (u32::from(p[0]) << 16) | (u32::from(p[1]) << 8) | u32::from(p[2])
}

/// Open-addressing table of up to 257 distinct RGB keys, each with its insertion index.
struct ExactTable {
    keys: Vec<u32>,
    idx: Vec<u8>,
    len: usize,
}

const TABLE_SIZE: usize = 1024;
const EMPTY: u32 = u32::MAX;

impl ExactTable {
    fn new() -> Self {
        ExactTable { keys: vec![EMPTY; TABLE_SIZE], idx: vec![0; TABLE_SIZE], len: 0 }
    }

    #[inline]
    fn slot(&self, k: u32) -> usize {
        let mut s = (k.wrapping_mul(0x9E37_79B1) >> 22) as usize;
        while self.keys[s] != k && self.keys[s] != EMPTY {
            s = (s + 1) & (TABLE_SIZE - 1);
        }
        s
    }

    /// Adds `k`; false once there would be more than 256 keys.
    #[inline]
    fn insert(&mut self, k: u32) -> bool {
        let s = self.slot(k);
        if self.keys[s] == EMPTY {
            if self.len == 256 {
                return false;
            }
            self.keys[s] = k;
            self.idx[s] = self.len as u8;
            self.len += 1;
        }
        true
    }

    /// The colours in index order, as `[r, g, b, ...]`.
    fn colours(&self) -> Vec<u8> {
        let mut rgb = vec![0u8; self.len * 3];
        for (&k, &i) in self.keys.iter().zip(&self.idx).filter(|(&k, _)| k != EMPTY) {
            let i = usize::from(i) * 3;
            rgb[i..i + 3].copy_from_slice(&[(k >> 16) as u8, (k >> 8) as u8, k as u8]);
        }
        rgb
    }
}

enum Map {
    Exact(ExactTable),
    Quant { nq: Box<NeuQuant>, cache: Vec<u16> },
}

/// The global colour table of a GIF and the map from pixels to its indices.
pub(super) struct Palette {
    /// `[r, g, b, ...]`, at most 256 entries.
    pub rgb: Vec<u8>,
    /// The index of transparent pixels (the last one), when any frame has them.
    pub transparent: Option<u8>,
    map: Map,
}

impl Palette {
    /// Builds the palette for frames given as (pixel bytes, channels).
    pub fn build(frames: &[(Cow<'_, [u8]>, usize)]) -> Palette {
        let transparent =
            frames.iter().any(|(b, ch)| *ch == 4 && b.chunks_exact(4).any(|p| p[3] < ALPHA_CUT));
        let slots = if transparent { 255 } else { 256 };
        let mut table = ExactTable::new();
        let mut fits = true;
        'count: for (b, ch) in frames {
            let mut last = EMPTY;
            for p in b.chunks_exact(*ch).filter(|p| opaque(p)) {
                let k = key(p);
                if k != last {
                    last = k;
                    if !table.insert(k) {
                        fits = false;
                        break 'count;
                    }
                }
            }
        }
        fits &= table.len <= slots;
        let (mut rgb, map) = if fits {
            (table.colours(), Map::Exact(table))
        } else {
            let nq = NeuQuant::new(SAMPLE_FAC, slots, &sample(frames));
            (
                nq.color_map_rgb(),
                Map::Quant { nq: Box::new(nq), cache: vec![u16::MAX; 1 << (3 * CACHE_BITS)] },
            )
        };
        let transparent = transparent.then(|| {
            let t = (rgb.len() / 3) as u8;
            rgb.extend_from_slice(&[0, 0, 0]);
            t
        });
        if rgb.is_empty() {
            rgb.extend_from_slice(&[0, 0, 0]);
        }
        Palette { rgb, transparent, map }
    }

    /// The index of an opaque pixel's colour.
    #[inline]
    fn index(&mut self, k: u32) -> u8 {
        match &mut self.map {
            Map::Exact(t) => {
                let s = t.slot(k);
                t.idx[s]
            }
            Map::Quant { nq, cache } => {
                const M: u32 = (1 << CACHE_BITS) - 1;
                const SHIFT: u32 = 8 - CACHE_BITS;
                let (r, g, b) = ((k >> (16 + SHIFT)) & M, (k >> (8 + SHIFT)) & M, (k >> SHIFT) & M);
                let c = ((r << (2 * CACHE_BITS)) | (g << CACHE_BITS) | b) as usize;
                if cache[c] == u16::MAX {
                    // The bucket's centre.
                    let half = 1u32 << SHIFT >> 1;
                    let centre = [r, g, b].map(|v| ((v << SHIFT) | half) as u8);
                    cache[c] = nq.index_of(&[centre[0], centre[1], centre[2], 255]) as u16;
                }
                cache[c] as u8
            }
        }
    }

    /// Maps one frame's pixels (`ch` channels) to indices into `out`.
    pub fn map_frame(&mut self, bytes: &[u8], ch: usize, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(bytes.len() / ch);
        let t = self.transparent.unwrap_or(0);
        let (mut last, mut last_idx) = (EMPTY, 0u8);
        for p in bytes.chunks_exact(ch) {
            if !opaque(p) {
                out.push(t);
                continue;
            }
            let k = key(p);
            if k != last {
                last = k;
                last_idx = self.index(k);
            }
            out.push(last_idx);
        }
    }
}

/// Opaque pixels taken evenly (with a little jitter, so that a step dividing the width does not
/// always hit the same columns) across all frames, at most [`SAMPLE_CAP`] of them, as RGBA.
fn sample(frames: &[(Cow<'_, [u8]>, usize)]) -> Vec<u8> {
    let total: usize = frames.iter().map(|(b, ch)| b.len() / ch).sum();
    let step = total.div_ceil(SAMPLE_CAP).max(1);
    let mut out = Vec::with_capacity(total.min(SAMPLE_CAP) * 4);
    let mut rng: u32 = 0x2545_F491;
    for (b, ch) in frames {
        let n = b.len() / ch;
        let mut i = 0;
        while i < n {
            let j = if step > 1 {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                (i + rng as usize % step).min(n - 1)
            } else {
                i
            };
            let p = &b[j * ch..j * ch + ch];
            if opaque(p) {
                out.extend_from_slice(&[p[0], p[1], p[2], 255]);
            }
            i += step;
        }
    }
    out
}
