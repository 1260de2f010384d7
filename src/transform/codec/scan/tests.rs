use super::*;

/// A GIF with the given screen and frames `(left, top, width, height)`, each frame carrying a
/// transparent GCE when `transparent` and a minimal LZW payload (not decodable for large
/// frames: the scanner must not care).
pub(crate) fn build_gif(screen: (u16, u16), frames: &[(u16, u16, u16, u16)], transparent: bool) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&screen.0.to_le_bytes());
    g.extend_from_slice(&screen.1.to_le_bytes());
    g.extend_from_slice(&[0x80, 0, 0]); // global table of 2 colours
    g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    for &(l, t, w, h) in frames {
        if transparent {
            g.extend_from_slice(&[0x21, 0xF9, 4, 1, 10, 0, 0, 0]);
        }
        g.push(0x2C);
        for v in [l, t, w, h] {
            g.extend_from_slice(&v.to_le_bytes());
        }
        g.push(0);
        // min code size 2, one sub-block: clear, index 0, end (valid for a 1x1 frame).
        g.extend_from_slice(&[2, 2, 0x44, 0x01, 0]);
    }
    g.push(0x3B);
    g
}

#[test]
fn gif_extent_beyond_screen() {
    let g = build_gif((1, 1), &[(0, 0, 65535, 65535)], false);
    let s = scan_gif(&g).unwrap();
    assert_eq!((s.width, s.height, s.frames), (65535, 65535, 1));
    assert!(!s.has_transparency);
}

#[test]
fn gif_offset_frame_and_transparency() {
    let g = build_gif((10, 10), &[(0, 0, 1, 1), (8, 9, 5, 4)], true);
    let s = scan_gif(&g).unwrap();
    assert_eq!((s.width, s.height, s.frames), (13, 13, 2));
    assert!(s.has_transparency);
}

#[test]
fn gif_hundred_thousand_frames() {
    let frames = vec![(0, 0, 1, 1); 100_000];
    let g = build_gif((1, 1), &frames, false);
    assert!(g.len() < 2_000_000);
    let s = scan_gif(&g).unwrap();
    assert_eq!(s.frames, 100_000);
    assert_eq!((s.width, s.height), (1, 1));
}

#[test]
fn gif_truncated_and_empty() {
    let g = build_gif((4, 4), &[(0, 0, 1, 1), (0, 0, 2, 2)], false);
    // Cut inside the second frame's data: the first frame and the second descriptor count.
    let cut = g.len() - 3;
    assert_eq!(scan_gif(&g[..cut]).unwrap().frames, 2);
    // Header only: no frame at all.
    assert!(scan_gif(&g[..19]).is_none());
    assert!(scan_gif(b"GIF89a").is_none());
    assert!(scan_gif(b"").is_none());
}

#[test]
fn gif_corpus() {
    let b = crate::testing::fixtures::read("oss/example.gif");
    let s = scan_gif(&b).unwrap();
    assert_eq!((s.width, s.height, s.frames), (500, 300, 3));
}

fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    crate::testing::fixtures::riff_webp(chunks)
}

#[test]
fn webp_vp8x_animated_with_exif() {
    let mut vp8x = vec![0x10 | 0x02 | 0x08, 0, 0, 0];
    vp8x.extend_from_slice(&(16382u32).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(99u32).to_le_bytes()[..3]);
    let exif = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0".to_vec();
    let w = riff(&[
        (b"VP8X", vp8x),
        (b"ANIM", vec![0; 6]),
        (b"ANMF", vec![0; 17]),
        (b"ANMF", vec![0; 16]),
        (b"EXIF", exif),
    ]);
    let s = scan_webp(&w).unwrap();
    assert_eq!((s.width, s.height, s.frames), (16383, 100, 2));
    assert!(s.animated && s.has_alpha);
    assert_eq!(tiff_orientation(exif_tiff(s.exif.unwrap())), 6);
}

#[test]
fn webp_simple_lossless_and_lossy() {
    // VP8L: 14-bit width-1, 14-bit height-1, alpha bit.
    let bits: u32 = 299 | (199 << 14) | (1 << 28);
    let mut l = vec![0x2f];
    l.extend_from_slice(&bits.to_le_bytes());
    let w = riff(&[(b"VP8L", l)]);
    let s = scan_webp(&w).unwrap();
    assert_eq!((s.width, s.height, s.frames, s.has_alpha), (300, 200, 1, true));
    let mut v = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
    v.extend_from_slice(&640u16.to_le_bytes());
    v.extend_from_slice(&480u16.to_le_bytes());
    let w = riff(&[(b"VP8 ", v)]);
    let s = scan_webp(&w).unwrap();
    assert_eq!((s.width, s.height, s.has_alpha), (640, 480, false));
    assert!(scan_webp(&riff(&[(b"JUNK", vec![1, 2, 3])])).is_none());
}

#[test]
fn jpeg_segments_walk() {
    let b = crate::testing::fixtures::read("oss/f.jpg");
    let markers: Vec<u8> = jpeg_segments(&b).map(|(m, _)| m).collect();
    assert_eq!(markers.last(), Some(&0xDA));
    assert!(markers.contains(&0xE1) && markers.contains(&0xDB) && markers.contains(&0xC0));
    assert_eq!(jpeg_segments(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]).count(), 0);
    assert_eq!(jpeg_segments(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]).count(), 0);
}

#[test]
fn no_panics_on_garbage() {
    let g = build_gif((3, 3), &[(0, 0, 1, 1)], true);
    for cut in 0..g.len() {
        let _ = scan_gif(&g[..cut]);
        let _ = scan_webp(&g[..cut]);
        let _ = jpeg_segments(&g[..cut]).count();
        let _ = tiff_orientation(&g[..cut]);
    }
    for v in [&b"II*\0\xff\xff\xff\xff"[..], b"MM\0*\0\0\0\x08\xff\xff", b"II*\0\x08\0\0\0\x01\0\x12\x01"] {
        assert_eq!(tiff_orientation(v), 1);
    }
}
