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
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return passes(taps, buf, w, h, ch, &avx2::Avx2);
    }
    passes(taps, buf, w, h, ch, &Scalar)
}

/// The two inner loops, per instruction set. Both compute every lane in the same order
/// (t_r·c, then + t_j·(lo + hi) for j = 0..r, no fused multiply-add), so they agree exactly.
trait Lanes {
    /// dst[i] = src[i] as f32.
    fn widen(&self, dst: &mut [f32], src: &[u8]);
    /// dst[i] = round(Σ taps[j] · rows[j][i]); every row is at least `dst.len()` long.
    fn convolve(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32]);
}

struct Scalar;

impl Lanes for Scalar {
    fn widen(&self, dst: &mut [f32], src: &[u8]) {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s as f32);
    }

    fn convolve(&self, dst: &mut [u8], rows: &[&[f32]], taps: &[f32]) {
        convolve_scalar(dst, rows, taps, 0)
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

    use super::{convolve_scalar, Lanes};

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
            unsafe { convolve(dst, rows, taps) }
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
    /// wait for the previous row's.
    #[target_feature(enable = "avx2")]
    unsafe fn convolve(dst: &mut [u8], rows: &[&[f32]], taps: &[f32]) {
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
                    let v = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(*a, magic)), bias);
                    let v = _mm256_min_epi32(v, max);
                    let w16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
                    let w8 = _mm_packus_epi16(w16, w16);
                    _mm_storel_epi64(dst.as_mut_ptr().add(i + 8 * k).cast(), w8);
                }
            }
            i += 32;
        }
        convolve_scalar(dst, rows, taps, i);
    }
}

fn passes(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize, lanes: &dyn Lanes) {
    let r = taps.len() / 2;
    let stride = w * ch;
    if r == 0 || r > MAX_RADIUS || w == 0 || h == 0 || buf.len() < stride * h {
        return;
    }
    let alpha: Vec<u8> = if ch == 4 { buf.iter().skip(3).step_by(4).copied().collect() } else { Vec::new() };
    let n = 2 * r + 1;
    // Vertical, in place. The 2r + 1 source rows of output row y (virtual rows y − r..=y + r,
    // clamped to the image) are kept converted to f32 in a ring; row y + r is read from `buf`
    // before row y is written, so every source row is converted once and read unmodified.
    let mut ring = vec![0f32; n * stride];
    let slot = |v: isize| (v + r as isize).rem_euclid(n as isize) as usize * stride;
    let src_row = |v: isize| v.clamp(0, h as isize - 1) as usize * stride;
    for v in -(r as isize)..r as isize {
        lanes.widen(&mut ring[slot(v)..][..stride], &buf[src_row(v)..][..stride]);
    }
    for y in 0..h as isize {
        let v = y + r as isize;
        lanes.widen(&mut ring[slot(v)..][..stride], &buf[src_row(v)..][..stride]);
        let mut rows: [&[f32]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in rows.iter_mut().enumerate().take(n) {
            *src = &ring[slot(y - r as isize + j as isize)..][..stride];
        }
        lanes.convolve(&mut buf[y as usize * stride..][..stride], &rows[..n], taps);
    }
    // Horizontal: each row, converted, padded with r repeated edge pixels, read at 2r + 1 shifts.
    let mut line = vec![0f32; stride + 2 * r * ch];
    for row in buf[..stride * h].chunks_exact_mut(stride) {
        lanes.widen(&mut line[r * ch..][..stride], row);
        for k in 0..r {
            line.copy_within(r * ch..(r + 1) * ch, k * ch);
            line.copy_within(stride + (r - 1) * ch..stride + r * ch, stride + (r + k) * ch);
        }
        let mut rows: [&[f32]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in rows.iter_mut().enumerate().take(n) {
            *src = &line[j * ch..][..stride];
        }
        lanes.convolve(row, &rows[..n], taps);
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
