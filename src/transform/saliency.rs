//! Smart crop (`g_auto`, an imgedge extension): where a window of a given size should sit in an
//! image so that it keeps what draws the eye.
//!
//! The strategy is libvips's "attention" (sharp's `position: "attention"`, imgproxy's
//! `gravity:sm`), written from its description, not its code: on a small copy of the image,
//! score every cell by edges, saturated colour and skin tones, then put the window where the
//! score is. Two choices differ from libvips, which centres the window on the single most
//! interesting point of a blurred map. The window taken is the one whose summed score is the
//! largest, so a large subject is kept whole rather than centred on its busiest corner. And a
//! window whose border would cut through detail pays for it, so when a subject cannot share the
//! window with everything else, it stays whole and the cut goes through the plainest part
//! (docs/decisions.md has the figures). Summed-area tables make every window position O(1).
//! No model, no randomness: the same pixels always give the same window.

use image::DynamicImage;

use super::gravity::Gravity;

/// The longest side of the small copy. Subjects worth keeping span tens of cells at this size,
/// and the whole search then costs a few milliseconds even for a 12 MP photo (docs/benchmarks.md);
/// the window lands within `side / 256` pixels of where a full-size search would put it.
const SMALL_SIDE: u32 = 256;

/// What cutting through detail costs: the score of a band [`CUT_BAND`] cells either side of
/// each window border that lies inside the image, times this. Measured on
/// tests/corpus/smartcrop (g_auto square crops): from 10 to 15 the same 18 of 20 subjects are
/// kept whole; 0 keeps 16; 20 and more keep 17 (the window starts to shun any cut at all and
/// hugs the image's edge).
const CUT_COST: f64 = 12.0;
const CUT_BAND: usize = 2;

/// Windows whose value is within this share of the best are equally good; among them the one
/// that centres its content wins, so a subject smaller than the window is framed, not pushed
/// against an edge.
const TIE: f64 = 0.01;

/// How much saturated colour and skin tones raise the weight of the detail they carry (see
/// [`score_map`]). Measured on tests/corpus/smartcrop: up to 0.5 each keeps every hit of edges
/// alone; at 1, a sunlit brown door outweighs the handwriting on it.
const SATURATION: f32 = 0.5;
const SKIN: f32 = 0.5;

/// The top-left corner of the `w`×`h` window of `img` to keep. The window is clamped to the
/// image first; one as large as the image (or an empty image) sits at (0, 0). Any pixel layout
/// works (the pipeline hands over RGB8/RGBA8; others are converted).
pub fn window(img: &DynamicImage, w: u32, h: u32) -> (u32, u32) {
    let (iw, ih) = (img.width(), img.height());
    let (w, h) = (w.clamp(1, iw.max(1)), h.clamp(1, ih.max(1)));
    if iw == 0 || ih == 0 || (w >= iw && h >= ih) {
        return (0, 0);
    }
    let small = Small::of(img);
    let scores = score_map(&small);
    let k = small.k as f64;
    // The window at the small copy's scale, at least one cell on each side.
    let side = |full: u32, cells: u32| ((full as f64 / k).round() as u32).clamp(1, cells);
    let (ws, hs) = (side(w, small.w), side(h, small.h));
    let Some((cx, cy)) = best(&scores, small.w, small.h, ws, hs) else {
        // Nothing stands out anywhere: what centre gravity would cut.
        return Gravity::Center.origin(iw, ih, w, h);
    };
    // The small window's centre, back at full size, becomes the full window's centre.
    let place = |centre: f64, len: u32, full: u32| {
        let at = (centre * k - len as f64 / 2.0).round();
        at.clamp(0.0, (full - len) as f64) as u32
    };
    (place(cx, w, iw), place(cy, h, ih))
}

/// A box-averaged copy of the image, longest side at most [`SMALL_SIDE`]: premultiplied RGB and
/// alpha in 0..=1, row by row. Each cell is the mean of a `k`×`k` block (smaller at the right
/// and bottom edges), so thin features survive as a fainter cell instead of vanishing between
/// samples.
struct Small {
    w: u32,
    h: u32,
    k: u32,
    px: Vec<[f32; 4]>,
}

impl Small {
    fn of(img: &DynamicImage) -> Small {
        let converted;
        let (bytes, n) = match img {
            DynamicImage::ImageRgb8(b) => (b.as_raw().as_slice(), 3),
            DynamicImage::ImageRgba8(b) => (b.as_raw().as_slice(), 4),
            // Grey, 16-bit and float images never reach a pipeline step (decoders hand over
            // RGB8/RGBA8), so the cost of a full conversion here is only a safety net's.
            other => {
                converted = other.to_rgba8();
                (converted.as_raw().as_slice(), 4)
            }
        };
        let (iw, ih) = (img.width() as usize, img.height() as usize);
        let k = iw.max(ih).div_ceil(SMALL_SIDE as usize).max(1);
        let (w, h) = (iw.div_ceil(k), ih.div_ceil(k));
        // Past 7 px a block, its mean comes from a grid of 4×4 to 6×6 of its pixels. Reading
        // all 12 million pixels of a phone photo took 39 ms, nine times the rest of the search;
        // sampled, 15 of 20 windows on the corpus photos (five photos, four shapes) stayed put,
        // 3 moved by 10 to 48 px, and 2 landed elsewhere on near-ties (a 12 MP band of
        // buildings, a plain gradient). Pictures up to 1792 px a side are read whole.
        let step = (k / 4).max(1);
        let mut sums = vec![[0u32; 4]; w];
        let mut px = Vec::with_capacity(w * h);
        let row_len = iw * n;
        for by in 0..h {
            sums.iter_mut().for_each(|s| *s = [0; 4]);
            let rows = (by * k..((by + 1) * k).min(ih)).step_by(step);
            let nrows = rows.len();
            for y in rows {
                let row = &bytes[y * row_len..][..row_len];
                match n {
                    3 => add_row::<3>(row, &mut sums, k, step),
                    _ => add_row::<4>(row, &mut sums, k, step),
                }
            }
            for (bx, sum) in sums.iter().enumerate() {
                let ncols = (((bx + 1) * k).min(iw) - bx * k).div_ceil(step);
                let count = (ncols * nrows) as f32;
                let c = |v: u32, scale: f32| v as f32 / (count * scale);
                px.push([c(sum[0], 65025.0), c(sum[1], 65025.0), c(sum[2], 65025.0), c(sum[3], 255.0)]);
            }
        }
        Small { w: w as u32, h: h as u32, k: k as u32, px }
    }
}

/// Adds every `step`-th pixel of one row (`N` bytes a pixel, alpha last when 4) to the sums of
/// the `k`-wide blocks it crosses, colour premultiplied: a transparent pixel's colour counts
/// for nothing. (At most 7×7 samples of 255 × 255 reach one sum: u32 holds them.)
fn add_row<const N: usize>(row: &[u8], sums: &mut [[u32; 4]], k: usize, step: usize) {
    // One pass over the samples, moving to the next block at its boundary (an iterator per
    // block cost more than the sums themselves for 4-pixel blocks).
    let (mut block, mut end) = (0, k);
    for (i, p) in row.chunks_exact(N).step_by(step).enumerate() {
        while i * step >= end {
            block += 1;
            end += k;
        }
        let a = if N == 4 { p[3] as u32 } else { 255 };
        let sum = &mut sums[block];
        sum[0] += p[0] as u32 * a;
        sum[1] += p[1] as u32 * a;
        sum[2] += p[2] as u32 * a;
        sum[3] += a;
    }
}

/// Each cell's interest, ≥ 0: detail, weighted up where it is colourful or skin-toned.
/// - Detail is the Sobel gradient of luma (1.0 for a black-to-white step): outlines, texture,
///   text. The picture is seen over mid grey, so a cut-out's outline counts however dark or
///   light it is. Only detail above the image's mean counts: a texture covering the whole frame
///   (grass, gravel, ripples) is the background, and clipping at the mean keeps it from pulling
///   the window toward wherever there is most of it.
/// - Saturation (chroma, max − min of RGB, past 0.2) and skin ([`skin`]) multiply the detail
///   they sit on instead of adding on their own: added, a large flat field of colour (a blue
///   sky, a sunlit wall, a salmon backdrop) outweighed the subject in front of it.
fn score_map(small: &Small) -> Vec<f32> {
    let (w, h) = (small.w as usize, small.h as usize);
    let over_grey = |p: &[f32; 4]| {
        let bg = 0.5 * (1.0 - p[3]);
        [p[0] + bg, p[1] + bg, p[2] + bg]
    };
    let luma: Vec<f32> =
        small.px.iter().map(over_grey).map(|[r, g, b]| 0.299 * r + 0.587 * g + 0.114 * b).collect();
    let at = |x: isize, y: isize| {
        let (x, y) = (x.clamp(0, w as isize - 1) as usize, y.clamp(0, h as isize - 1) as usize);
        luma[y * w + x]
    };
    let mut edges = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (xi, yi) = (x as isize, y as isize);
            let gx = at(xi + 1, yi - 1) + 2.0 * at(xi + 1, yi) + at(xi + 1, yi + 1)
                - at(xi - 1, yi - 1)
                - 2.0 * at(xi - 1, yi)
                - at(xi - 1, yi + 1);
            let gy = at(xi - 1, yi + 1) + 2.0 * at(xi, yi + 1) + at(xi + 1, yi + 1)
                - at(xi - 1, yi - 1)
                - 2.0 * at(xi, yi - 1)
                - at(xi + 1, yi - 1);
            edges[y * w + x] = (gx * gx + gy * gy).sqrt() / 4.0;
        }
    }
    let mean = (edges.iter().map(|&v| v as f64).sum::<f64>() / edges.len() as f64) as f32;
    edges
        .iter()
        .zip(&small.px)
        .zip(&luma)
        .map(|((&e, p), &y)| {
            let [r, g, b] = over_grey(p);
            let chroma = (r.max(g).max(b) - r.min(g).min(b) - 0.2).max(0.0) / 0.8;
            let boost = 1.0 + (SATURATION * chroma + SKIN * skin(r, g, b, y)) * p[3];
            (e - mean).max(0.0) * boost
        })
        .collect()
}

/// 0..=1: how skin-like a colour is. Skin tones of every complexion point roughly the same way
/// in RGB (red > green > blue in similar proportions) and differ mostly in brightness, so the
/// test is the distance between unit vectors, the colour's and a mid skin tone's (sRGB 200,
/// 150, 120), for colours neither near black nor near white.
fn skin(r: f32, g: f32, b: f32, luma: f32) -> f32 {
    const TONE: [f32; 3] = [200.0, 150.0, 120.0];
    if !(0.15..=0.95).contains(&luma) {
        return 0.0;
    }
    let len = (r * r + g * g + b * b).sqrt();
    if len <= f32::EPSILON {
        return 0.0;
    }
    let norm = (TONE[0] * TONE[0] + TONE[1] * TONE[1] + TONE[2] * TONE[2]).sqrt();
    let d = [r / len - TONE[0] / norm, g / len - TONE[1] / norm, b / len - TONE[2] / norm];
    let dist = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    (1.0 - dist / 0.12).max(0.0)
}

/// The centre (in small-copy cells) of the best `ws`×`hs` window of the `w`×`h` score map: the
/// largest summed score less [`CUT_COST`] times the score along its borders inside the image;
/// among those within [`TIE`] of it, the one whose centre is nearest its own content's centre
/// of mass. `None` when no cell scores anything.
fn best(scores: &[f32], w: u32, h: u32, ws: u32, hs: u32) -> Option<(f64, f64)> {
    let (w, h, ws, hs) = (w as usize, h as usize, ws as usize, hs as usize);
    // Summed-area tables of the score and of its first moments, one row and column of zeros
    // in front: any rectangle's sum (and centre of mass) is then four lookups.
    let stride = w + 1;
    let mut sat = vec![[0f64; 3]; stride * (h + 1)];
    for y in 0..h {
        let mut row = [0f64; 3];
        for x in 0..w {
            let s = scores[y * w + x] as f64;
            row[0] += s;
            row[1] += s * (x as f64 + 0.5);
            row[2] += s * (y as f64 + 0.5);
            let above = sat[y * stride + x + 1];
            sat[(y + 1) * stride + x + 1] = [above[0] + row[0], above[1] + row[1], above[2] + row[2]];
        }
    }
    // [x0, x1) × [y0, y1), clipped to the map.
    let rect = |x0: usize, y0: usize, x1: usize, y1: usize| {
        let (x0, y0, x1, y1) = (x0.min(w), y0.min(h), x1.min(w), y1.min(h));
        let (a, b) = (sat[y0 * stride + x0], sat[y0 * stride + x1]);
        let (c, d) = (sat[y1 * stride + x0], sat[y1 * stride + x1]);
        [0, 1, 2].map(|i| d[i] - b[i] - c[i] + a[i])
    };
    if rect(0, 0, w, h)[0] <= 1e-9 {
        return None;
    }
    let band = |at: usize| (at.saturating_sub(CUT_BAND), at + CUT_BAND);
    let value = |x: usize, y: usize| {
        let (x1, y1) = (x + ws, y + hs);
        // A border on the image's own edge cuts nothing.
        let mut cut = 0.0;
        for (line, inside) in [(x, x > 0), (x1, x1 < w)] {
            if inside {
                let (b0, b1) = band(line);
                cut += rect(b0, y, b1, y1)[0];
            }
        }
        for (line, inside) in [(y, y > 0), (y1, y1 < h)] {
            if inside {
                let (b0, b1) = band(line);
                cut += rect(x, b0, x1, b1)[0];
            }
        }
        rect(x, y, x1, y1)[0] - CUT_COST * cut
    };
    let positions = || (0..=h - hs).flat_map(move |y| (0..=w - ws).map(move |x| (x, y)));
    let top = positions().map(|(x, y)| value(x, y)).fold(f64::NEG_INFINITY, f64::max);
    let centre = |x: usize, y: usize| (x as f64 + ws as f64 / 2.0, y as f64 + hs as f64 / 2.0);
    let mut pick = (f64::INFINITY, centre(0, 0));
    for (x, y) in positions() {
        if value(x, y) < top - TIE * top.abs() {
            continue;
        }
        let [s, mx, my] = rect(x, y, x + ws, y + hs);
        let (cx, cy) = centre(x, y);
        let off = if s > 1e-9 { (cx - mx / s).powi(2) + (cy - my / s).powi(2) } else { 0.0 };
        // Strictly smaller: the first in scan order wins a tie, so the answer is deterministic.
        if off < pick.0 {
            pick = (off, (cx, cy));
        }
    }
    Some(pick.1)
}

#[cfg(test)]
#[path = "saliency_tests.rs"]
mod tests;
