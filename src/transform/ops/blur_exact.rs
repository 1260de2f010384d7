//! The exact-kernel blur (radius ≤ 4: `blur,r_3,s_2`, `sharpen`'s mask), in place and row by
//! row: each output row of the vertical pass sums 2r + 1 whole source rows, each of the
//! horizontal pass sums 2r + 1 shifted views of one padded row. Every inner loop runs along a
//! contiguous row, so it vectorises, with AVX2 where the CPU has it (chosen at run time; the
//! arithmetic is the same, so are the results). Rounded to 8 bits between the passes and at
//! the end, columns first, like the block path of `blur.rs`; alpha is kept.

/// Blurs the first three of the `ch` (3 or 4) channels of an interleaved `w`×`h` buffer with
/// the normalised, symmetric `taps` (2r + 1 of them).
pub(super) fn run(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { run_avx2(taps, buf, w, h, ch) };
    }
    passes(taps, buf, w, h, ch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize) {
    passes(taps, buf, w, h, ch)
}

#[inline(always)]
fn passes(taps: &[f32], buf: &mut [u8], w: usize, h: usize, ch: usize) {
    let r = taps.len() / 2;
    let stride = w * ch;
    if r == 0 || w == 0 || h == 0 || buf.len() < stride * h {
        return;
    }
    let alpha: Vec<u8> = if ch == 4 { buf.iter().skip(3).step_by(4).copied().collect() } else { Vec::new() };
    // Vertical, in place: rows y − r..=y are read from a ring of copies, rows below from `buf`.
    let mut ring = vec![0u8; (r + 1) * stride];
    for y in 0..h {
        let slot = |sy: usize| (sy % (r + 1)) * stride;
        let (head, below) = buf[..stride * h].split_at_mut((y + 1) * stride);
        let row = &mut head[y * stride..];
        ring[slot(y)..][..stride].copy_from_slice(row);
        let mut rows: [&[u8]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in rows.iter_mut().enumerate().take(taps.len()) {
            let sy = (y + j).saturating_sub(r).min(h - 1);
            *src =
                if sy <= y { &ring[slot(sy)..][..stride] } else { &below[(sy - y - 1) * stride..][..stride] };
        }
        convolve(row, &rows[..taps.len()], taps);
    }
    // Horizontal: each row is copied into a line padded with r repeated edge pixels.
    let mut line = vec![0u8; stride + 2 * r * ch];
    for row in buf[..stride * h].chunks_exact_mut(stride) {
        line[r * ch..][..stride].copy_from_slice(row);
        for k in 0..r {
            line.copy_within(r * ch..(r + 1) * ch, k * ch);
            line.copy_within(stride + (r - 1) * ch..stride + r * ch, stride + (r + k) * ch);
        }
        let mut rows: [&[u8]; 2 * MAX_RADIUS + 1] = [&[]; 2 * MAX_RADIUS + 1];
        for (j, src) in rows.iter_mut().enumerate().take(taps.len()) {
            *src = &line[j * ch..][..stride];
        }
        convolve(row, &rows[..taps.len()], taps);
    }
    if ch == 4 {
        buf.iter_mut().skip(3).step_by(4).zip(alpha).for_each(|(p, a)| *p = a);
    }
}

/// Widest radius this path takes (`blur.rs` sends wider kernels to its box filters).
const MAX_RADIUS: usize = super::blur::EXACT_MAX_RADIUS;

/// dst[i] = round(Σ taps[j] · rows[j][i]). Blocks of [`LANES`] sums stay in registers while
/// every row is added in, so memory sees each source byte once and each output byte once.
#[inline(always)]
fn convolve(dst: &mut [u8], rows: &[&[u8]], taps: &[f32]) {
    const LANES: usize = 64;
    let n = dst.len();
    let mut i = 0;
    while i < n {
        let len = LANES.min(n - i);
        let mut acc = [0f32; LANES];
        for (row, &t) in rows.iter().zip(taps) {
            let src = &row[i..i + len];
            if len == LANES {
                (0..LANES).for_each(|k| acc[k] += t * src[k] as f32);
            } else {
                acc.iter_mut().zip(src).for_each(|(a, &v)| *a += t * v as f32);
            }
        }
        dst[i..i + len].iter_mut().zip(&acc).for_each(|(d, &x)| *d = round(x));
        i += len;
    }
}

/// Rounds a sum (0 ≤ x ≤ 255 + ε: the taps are positive and sum to 1) to the nearest byte.
/// Adding 2²³ leaves no fraction bits, so the mantissa is the rounded integer; unlike `as`,
/// whose saturation does not vectorise.
#[inline(always)]
fn round(x: f32) -> u8 {
    ((x + 8_388_608.0).to_bits() - 0x4B00_0000).min(255) as u8
}
