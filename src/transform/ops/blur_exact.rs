//! The exact-kernel blur (radius ≤ 4: `blur,r_3,s_2`, `sharpen`'s mask), in place and row by
//! row in f32: each output row of the vertical pass sums 2r + 1 whole source rows, each of the
//! horizontal pass sums 2r + 1 shifted views of one padded row, pairing the rows that share a
//! tap. The inner loops run along contiguous rows: AVX2 intrinsics where the CPU has them
//! (chosen at run time), plain Rust elsewhere, with the same arithmetic, so the same results.
//! Rounded to 8 bits between the passes and at the end, columns first, like the block path of
//! `blur.rs`; alpha is kept.

/// Blurs the first three of the `ch` (3 or 4) channels of an interleaved `w`×`h` buffer with
/// the normalised, symmetric `taps` (2r + 1 of them).
pub(super) fn run(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize) {
    dispatch(taps, buf, w, h, ch, None)
}

/// `sharpen`'s unsharp mask in the same pass: each pixel becomes x + amount·(x − b), b its blur
/// as [`run`] computes it (rounded to 8 bits), so no copy of the image is blurred and no third
/// pass reads both. The same arithmetic as blurring a copy and masking after, so the same bytes.
pub(super) fn unsharp(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize, amount: f32) {
    dispatch(taps, buf, w, h, ch, Some(amount))
}

fn dispatch(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize, amount: Option<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return passes(taps, buf, w, h, ch, amount, &avx2::Avx2);
    }
    passes(taps, buf, w, h, ch, amount, &Scalar)
}

/// The two inner loops, per instruction set. Both compute every lane in the same order
/// (t_r·c, then + t_j·(lo + hi) for j = 0..r, no fused multiply-add), so they agree exactly.
trait Lanes {
    /// dst[i] = src[i] as f32.
    fn widen(&self, dst: &mut [f32], src: &[u8]);
    /// dst[i] = round(Σ taps[j] · rows[j][i]); every row is at least `dst.len()` long.
    fn convolve(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32]);
    /// dst[i] = round(clamp(x + amount·(x − b))) with x = orig[i], b = the convolve of lane i.
    fn unsharp(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32], orig: &[f32], amount: f32);
}

struct Scalar;

impl Lanes for Scalar {
    fn widen(&self, dst: &mut [f32], src: &[u8]) {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s as f32);
    }

    fn convolve(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32]) {
        convolve_scalar(dst, rows, taps, 0)
    }

    fn unsharp(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32], orig: &[f32], amount: f32) {
        unsharp_scalar(dst, rows, taps, orig, amount, 0)
    }
}

/// Lanes `from..` of [`Lanes::unsharp`], one at a time.
fn unsharp_scalar(dst: &mut [u8], rows: &[&[f32]], taps: &[f32], orig: &[f32], amount: f32, from: usize) {
    let r = rows.len() / 2;
    for (k, d) in dst.iter_mut().enumerate().skip(from) {
        let mut a = taps[r] * rows[r][k];
        for j in 0..r {
            a += taps[j] * (rows[j][k] + rows[2 * r - j][k]);
        }
        let (x, b) = (orig[k], f32::from(round(a)));
        *d = round((x + amount * (x - b)).clamp(0.0, 255.0));
    }
}

/// Lanes `from..` of [`Lanes::convolve`], one at a time.
fn convolve_scalar(dst: &mut [u8], rows: &[&[f32]], taps: &[f32], from: usize) {
    let r = rows.len() / 2;
    for (k, d) in dst.iter_mut().enumerate().skip(from) {
        let mut a = taps[r] * rows[r][k];
        for j in 0..r {
            a += taps[j] * (rows[j][k] + rows[2 * r - j][k]);
        }
        *d = round(a);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{convolve_scalar, unsharp_scalar, Lanes};

    /// Only made after `is_x86_feature_detected!("avx2")`.
    pub(super) struct Avx2;

    impl Lanes for Avx2 {
        fn widen(&self, dst: &mut [f32], src: &[u8]) {
            // SAFETY: Avx2 exists only where the CPU has AVX2.
            unsafe { widen(dst, src) }
        }

        fn convolve(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32]) {
            if rows.iter().any(|r| r.len() < dst.len()) || taps.len() != rows.len() {
                return convolve_scalar(dst, rows, taps, 0);
            }
            // SAFETY: as above; every row holds at least dst.len() values (checked).
            unsafe { convolve(dst, rows, taps, None) }
        }

        fn unsharp(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32], orig: &[f32], amount: f32) {
            if rows.iter().chain([&orig]).any(|r| r.len() < dst.len()) || taps.len() != rows.len() {
                return unsharp_scalar(dst, rows, taps, orig, amount, 0);
            }
            // SAFETY: as above; every row and `orig` hold at least dst.len() values (checked).
            unsafe { convolve(dst, rows, taps, Some((orig, amount))) }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn widen(dst: &mut [f32], src: &[u8]) {
        let n = dst.len().min(src.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 ≤ n, within both slices.
            unsafe {
                let b = _mm_loadl_epi64(src.as_ptr().add(i).cast());
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)));
            }
            i += 8;
        }
        dst[i..n].iter_mut().zip(&src[i..n]).for_each(|(d, &s)| *d = s as f32);
    }

    /// 32 lanes an iteration in four independent accumulators, so the adds of one row do not
    /// wait for the previous row's. With `mask`, the unsharp mask of [`Lanes::unsharp`].
    #[target_feature(enable = "avx2")]
    unsafe fn convolve(dst: &mut [u8], rows: &[&[f32]], taps: &[f32], mask: Option<(&[f32], f32)>) {
        let (n, r) = (dst.len(), rows.len() / 2);
        let magic = _mm256_set1_ps(8_388_608.0);
        let (bias, max) = (_mm256_set1_epi32(0x4B00_0000), _mm256_set1_epi32(255));
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: i + 32 ≤ n ≤ every row's length and dst's.
            unsafe {
                let load = |row: &[f32], k: usize| _mm256_loadu_ps(row.as_ptr().add(i + 8 * k));
                let t = _mm256_set1_ps(taps[r]);
                let mut acc = [0; 4].map(|_| _mm256_setzero_ps());
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_mul_ps(t, load(rows[r], k));
                }
                for j in 0..r {
                    let t = _mm256_set1_ps(taps[j]);
                    for (k, a) in acc.iter_mut().enumerate() {
                        let pair = _mm256_add_ps(load(rows[j], k), load(rows[2 * r - j], k));
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(t, pair));
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    // round() of blur_exact.rs, eight lanes at once, then packed to bytes.
                    let mut v = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(*a, magic)), bias);
                    v = _mm256_min_epi32(v, max);
                    if let Some((orig, amount)) = mask {
                        // x + amount·(x − b), clamped to 0..=255, then round() again.
                        let x = load(orig, k);
                        let b = _mm256_cvtepi32_ps(v);
                        let s = _mm256_add_ps(x, _mm256_mul_ps(_mm256_set1_ps(amount), _mm256_sub_ps(x, b)));
                        let s = _mm256_min_ps(_mm256_max_ps(s, _mm256_setzero_ps()), _mm256_set1_ps(255.0));
                        v = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(s, magic)), bias);
                    }
                    let w16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
                    let w8 = _mm_packus_epi16(w16, w16);
                    _mm_storel_epi64(dst.as_mut_ptr().add(i + 8 * k).cast(), w8);
                }
            }
            i += 32;
        }
        match mask {
            Some((orig, amount)) => unsharp_scalar(dst, rows, taps, orig, amount, i),
            None => convolve_scalar(dst, rows, taps, i),
        }
    }
}

/// Both passes, one output row at a time: the vertical pass of row y (from a ring of source
/// rows converted once) into a padded line, then the horizontal pass of that line into row y,
/// as a blur or as the unsharp mask against the source row still in the ring. Row y is written
/// only after row y + r has been read, so the buffer serves as its own output.
fn passes(
    taps: &[f32],
    buf: &mut [u8],
    w: usize,
    h: usize,
    ch: usize,
    amount: Option<f32>,
    lanes: &dyn Lanes,
) {
    let r = taps.len() / 2;
    let stride = w * ch;
    if r == 0 || r > MAX_RADIUS || w == 0 || h == 0 || buf.len() < stride * h {
        return;
    }
    let alpha: Vec<u8> = if ch == 4 { buf.iter().skip(3).step_by(4).copied().collect() } else { Vec::new() };
    let n = 2 * r + 1;
    // The 2r + 1 source rows of output row y (virtual rows y − r..=y + r, clamped to the
    // image), kept converted to f32.
    let mut ring = vec![0f32; n * stride];
    let slot = |v: isize| (v + r as isize).rem_euclid(n as isize) as usize * stride;
    let src_row = |v: isize| v.clamp(0, h as isize - 1) as usize * stride;
    for v in -(r as isize)..r as isize {
        lanes.widen(&mut ring[slot(v)..][..stride], &buf[src_row(v)..][..stride]);
    }
    // The vertical pass's row (8-bit, as the two-pass blur rounds between passes), then the
    // same converted and padded with r repeated edge pixels for the horizontal pass.
    let mut column = vec![0u8; stride];
    let mut line = vec![0f32; stride + 2 * r * ch];
    for y in 0..h as isize {
        let v = y + r as isize;
        lanes.widen(&mut ring[slot(v)..][..stride], &buf[src_row(v)..][..stride]);
        let mut rows: [&[f32]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in rows.iter_mut().enumerate().take(n) {
            *src = &ring[slot(y - r as isize + j as isize)..][..stride];
        }
        lanes.convolve(&mut column, &rows[..n], taps);
        lanes.widen(&mut line[r * ch..][..stride], &column);
        for k in 0..r {
            line.copy_within(r * ch..(r + 1) * ch, k * ch);
            line.copy_within(stride + (r - 1) * ch..stride + r * ch, stride + (r + k) * ch);
        }
        let mut shifted: [&[f32]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in shifted.iter_mut().enumerate().take(n) {
            *src = &line[j * ch..][..stride];
        }
        let out = &mut buf[y as usize * stride..][..stride];
        match amount {
            Some(a) => lanes.unsharp(out, &shifted[..n], taps, &ring[slot(y)..][..stride], a),
            None => lanes.convolve(out, &shifted[..n], taps),
        }
    }
    if ch == 4 {
        buf.iter_mut().skip(3).step_by(4).zip(alpha).for_each(|(p, a)| *p = a);
    }
}

/// Widest radius this path takes (`blur.rs` sends wider kernels to its box filters).
const MAX_RADIUS: usize = super::blur::EXACT_MAX_RADIUS;

/// Rounds a sum (0 ≤ x ≤ 255 + ε: the taps are positive and sum to 1) to the nearest byte.
/// Adding 2²³ leaves no fraction bits, so the mantissa is the rounded integer; unlike `as`,
/// whose saturation does not vectorise.
fn round(x: f32) -> u8 {
    ((x + 8_388_608.0).to_bits() - 0x4B00_0000).min(255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 lanes and the plain ones give the same bytes, blur and mask alike, on sizes
    /// that leave a scalar tail.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_and_scalar_agree() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let taps = [0.0044, 0.054, 0.242, 0.3992, 0.242, 0.054, 0.0044];
        let (w, h) = (53, 19);
        for ch in [3, 4] {
            let src: Vec<u8> = (0..w * h * ch).map(|i| ((i * 7919) % 251) as u8).collect();
            for amount in [None, Some(1.0), Some(3.99)] {
                let (mut a, mut b) = (src.clone(), src.clone());
                passes(&taps, &mut a, w, h, ch, amount, &Scalar);
                passes(&taps, &mut b, w, h, ch, amount, &avx2::Avx2);
                assert!(a == b, "{ch} channels, {amount:?}");
                assert!(a != src);
            }
        }
    }
}
