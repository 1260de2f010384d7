//! Estimates the IJG quality (1..=100) a JPEG was encoded with, from its quantisation tables.
//! OSS's `quality,q_` is relative to this value and `quality,Q_` caps against it.

use super::scan::jpeg_segments;

/// ITU-T T.81 Annex K.1 luminance table, natural (row-major) order.
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, //
    12, 12, 14, 19, 26, 58, 60, 55, //
    14, 13, 16, 24, 40, 57, 69, 56, //
    14, 17, 22, 29, 51, 87, 80, 62, //
    18, 22, 37, 56, 68, 109, 103, 77, //
    24, 35, 55, 64, 81, 104, 113, 92, //
    49, 64, 78, 87, 103, 121, 120, 101, //
    72, 92, 95, 98, 112, 100, 103, 99,
];

/// ITU-T T.81 Annex K.2 chrominance table, natural order.
const STD_CHROMA: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, //
    18, 21, 26, 66, 99, 99, 99, 99, //
    24, 26, 56, 99, 99, 99, 99, 99, //
    47, 66, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99,
];

/// ZIGZAG[k] is the natural-order index of the k-th coefficient as stored in a DQT segment.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
    14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
    46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The IJG table for `quality` (libjpeg's `jpeg_quality_scaling` + `jpeg_add_quant_table` with
/// force_baseline), entry `i` in natural order.
fn scaled(std: &[u16; 64], quality: u32, i: usize) -> u32 {
    let scale = if quality < 50 { 5000 / quality } else { 200 - 2 * quality };
    ((u32::from(std[i]) * scale + 50) / 100).clamp(1, 255)
}

/// Reads the quantisation tables (slots 0..=3, natural order) defined before SOS.
fn read_tables(jpeg: &[u8]) -> [Option<[u16; 64]>; 4] {
    let mut tables = [None; 4];
    for (marker, mut p) in jpeg_segments(jpeg) {
        if marker != 0xDB {
            continue;
        }
        // One DQT segment may hold several tables: Pq|Tq, then 64 entries of 1 or 2 bytes.
        while let Some((&pq_tq, rest)) = p.split_first() {
            let wide = pq_tq >> 4 != 0;
            let slot = usize::from(pq_tq & 0x0F);
            let n = if wide { 128 } else { 64 };
            let Some(data) = rest.get(..n) else { break };
            let mut t = [0u16; 64];
            for (k, &natural) in ZIGZAG.iter().enumerate() {
                t[natural] = if wide {
                    u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
                } else {
                    u16::from(data[k])
                };
            }
            if let Some(s) = tables.get_mut(slot) {
                *s = Some(t);
            }
            p = &rest[n..];
        }
    }
    tables
}

/// Estimated IJG quality of a JPEG: the quality whose standard tables, scaled the IJG way, are
/// closest (sum of absolute differences) to table 0 (luminance) and table 1 (chrominance, when
/// present). `None` when the data has no luminance table.
pub fn estimate(jpeg: &[u8]) -> Option<u8> {
    let tables = read_tables(jpeg);
    let luma = tables[0]?;
    let chroma = tables[1];
    let mut best = (u32::MAX, 0u32);
    // Descending, so that among qualities giving identical tables the highest wins.
    for q in (1..=100u32).rev() {
        let mut err = 0u32;
        for i in 0..64 {
            err += u32::from(luma[i]).abs_diff(scaled(&STD_LUMA, q, i));
            if let Some(c) = &chroma {
                err += u32::from(c[i]).abs_diff(scaled(&STD_CHROMA, q, i));
            }
        }
        if err < best.0 {
            best = (err, q);
        }
    }
    u8::try_from(best.1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::fixtures::read as corpus;

    fn encode_at(quality: i32, gray: bool) -> Vec<u8> {
        let (w, h) = (64usize, 48usize);
        let pixels: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7) % 251) as u8).collect();
        let img = turbojpeg::Image {
            pixels: pixels.as_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(quality).unwrap();
        c.set_subsamp(if gray { turbojpeg::Subsamp::Gray } else { turbojpeg::Subsamp::Sub2x2 }).unwrap();
        c.compress_to_vec(img).unwrap()
    }

    #[test]
    fn example_jpg_is_about_82() {
        let q = estimate(&corpus("oss/example.jpg")).unwrap();
        assert!((80..=84).contains(&q), "estimated {q}");
    }

    #[test]
    fn turbojpeg_qualities_round_trip() {
        for q in [1, 10, 25, 49, 50, 51, 75, 90, 95, 99, 100] {
            assert_eq!(estimate(&encode_at(q, false)), Some(q as u8), "colour q{q}");
        }
        for q in [50, 95] {
            assert_eq!(estimate(&encode_at(q, true)), Some(q as u8), "gray q{q}");
        }
    }

    #[test]
    fn sixteen_bit_table() {
        // A hand-made DQT with 16-bit entries equal to the q=50 standard table.
        let mut seg = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 2 + 1 + 128, 0x10];
        for natural in ZIGZAG {
            seg.extend_from_slice(&STD_LUMA[natural].to_be_bytes());
        }
        seg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        assert_eq!(estimate(&seg), Some(50));
    }

    #[test]
    fn no_tables_no_estimate() {
        assert_eq!(estimate(b""), None);
        assert_eq!(estimate(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
        let j = corpus("oss/example.jpg");
        for cut in (0..200).step_by(7) {
            let _ = estimate(&j[..cut]);
        }
    }
}
