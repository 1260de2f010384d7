use super::*;
use crate::transform::error::Code;

use crate::testing::fixtures::{folder as files, read as corpus};

fn format_of_name(name: &str) -> Format {
    let ext = name.rsplit('.').next().unwrap().to_ascii_lowercase();
    match ext.as_str() {
        "tif" => Format::Tiff,
        other => Format::from_name(other).unwrap(),
    }
}

/// Size according to an independent reader: libjpeg-turbo for JPEG, the image crate otherwise.
fn reference_dims(b: &[u8]) -> (u32, u32) {
    if b.starts_with(&[0xFF, 0xD8]) {
        let h = turbojpeg::read_header(b).unwrap();
        (h.width as u32, h.height as u32)
    } else {
        image::ImageReader::new(Cursor::new(b)).with_guessed_format().unwrap().into_dimensions().unwrap()
    }
}

#[test]
fn every_corpus_file_probes() {
    for dir in ["oss", "formats", "orient", "photos"] {
        for (name, b) in files(dir) {
            let info = probe(&b).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
            assert_eq!(info.format, format_of_name(&name), "{dir}/{name}");
            assert_eq!((info.width, info.height), reference_dims(&b), "{dir}/{name}");
            assert_eq!(info.file_size, b.len() as u64);
            assert!(info.frames >= 1 && (1..=8).contains(&info.orientation));
            assert_eq!(info.jpeg_quality.is_some(), info.format == Format::Jpeg, "{dir}/{name}");
        }
    }
}

#[test]
fn documented_facts() {
    let i = probe(&corpus("oss/example.jpg")).unwrap();
    assert_eq!((i.width, i.height, i.frames, i.orientation, i.file_size), (400, 267, 1, 1, 21839));
    assert!(!i.has_alpha);
    assert!((80..=84).contains(&i.jpeg_quality.unwrap()));
    let i = probe(&corpus("oss/f.jpg")).unwrap();
    assert_eq!((i.width, i.height, i.orientation), (424, 333, 7));
    let i = probe(&corpus("oss/example.gif")).unwrap();
    assert_eq!((i.format, i.width, i.height, i.frames), (Format::Gif, 500, 300, 3));
    let i = probe(&corpus("oss/aws_logo.png")).unwrap();
    assert_eq!((i.width, i.height), (167, 112));
    assert!(i.has_alpha);
    let i = probe(&corpus("photos/phone12mp.jpg")).unwrap();
    assert_eq!((i.width, i.height), (4032, 3024));
    let i = probe(&corpus("formats/5_webp_a.webp")).unwrap();
    assert!(i.has_alpha);
    assert!(!probe(&corpus("formats/4.webp")).unwrap().has_alpha);
    assert!(probe(&corpus("formats/16-bit-grey-alpha.png")).unwrap().has_alpha);
    assert!(probe(&corpus("formats/Flag_of_the_Netherlands-alpha.png")).unwrap().has_alpha);
    assert!(probe(&corpus("formats/rotating-squares.gif")).unwrap().frames > 1);
}

#[test]
fn orientation_of_every_example() {
    for kind in ["Landscape", "Portrait"] {
        for n in 1..=8u8 {
            let i = probe(&corpus(&format!("orient/{kind}_{n}.jpg"))).unwrap();
            assert_eq!(i.orientation, n, "{kind}_{n}");
            // Orientations 5..=8 swap the axes: the displayed size is the documented one.
            let shown = if n >= 5 { (i.height, i.width) } else { (i.width, i.height) };
            let want = if kind == "Landscape" { (600, 450) } else { (450, 600) };
            assert_eq!(shown, want, "{kind}_{n}");
        }
    }
}

#[test]
fn bombs_probe_quickly() {
    let t = std::time::Instant::now();
    let i = probe(&corpus("bad/giant-image.jpg")).unwrap();
    assert_eq!((i.width, i.height), (20000, 14000));
    let i = probe(&corpus("bad/65536-uint32-limit.png")).unwrap();
    assert_eq!((i.width, i.height), (65536, 65536));
    // Generous bound for debug builds; this is header work only.
    assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
}

#[test]
fn bad_input_is_bad_request() {
    let e = probe(&corpus("bad/corrupt-header.jpg")).unwrap_err();
    assert_eq!(e.code, Code::BadRequest);
    assert_eq!(e.ec, Some(crate::transform::error::ec::UNSUPPORTED_FORMAT));
    for b in [&b""[..], b"hello world", b"\xFF\xD8\xFF", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM", b"II*\0"] {
        assert_eq!(probe(b).unwrap_err().code, Code::BadRequest, "{b:?}");
    }
}

#[test]
fn fuzz_truncations_and_bit_flips() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for dir in ["oss", "formats", "orient", "bad"] {
        for (_, b) in files(dir) {
            let head = &b[..b.len().min(4096)];
            for cut in (0..head.len()).step_by(13) {
                let _ = probe(&head[..cut]);
            }
            for _ in 0..40 {
                let mut m = head.to_vec();
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..m.len());
                    m[i] ^= 1 << rng.random_range(0..8);
                }
                let _ = probe(&m);
            }
        }
    }
    for _ in 0..200 {
        let n = rng.random_range(0..64);
        let junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        let _ = probe(&junk);
    }
}
