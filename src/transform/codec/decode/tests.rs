use super::*;
use crate::transform::codec::probe::probe;
use crate::transform::error::Code;

use crate::testing::fixtures::{folder, read as corpus};

fn opts() -> DecodeOptions {
    DecodeOptions { jpeg_scale_denom: 1, first_frame_only: false, max_alloc: 1 << 30, keep_profile: false }
}

fn dec(b: &[u8], o: &DecodeOptions) -> Result<Image> {
    decode(b, &probe(b)?, o)
}

fn px(img: &DynamicImage, x: u32, y: u32) -> [u8; 4] {
    image::GenericImageView::get_pixel(img, x, y).0
}

#[test]
fn every_format_and_oss_file_decodes() {
    for dir in ["formats", "oss"] {
        for (name, b) in folder(dir) {
            let info = probe(&b).unwrap();
            let img = decode(&b, &info, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((img.width(), img.height()), (info.width, info.height), "{name}");
            assert_eq!(img.frames.len() as u32, info.frames, "{name}");
            assert!(img
                .frames
                .iter()
                .all(|f| (f.pixels.width(), f.pixels.height()) == (info.width, info.height)));
            assert_eq!(img.has_alpha(), info.has_alpha || info.format == Format::Gif, "{name}");
        }
    }
}

#[test]
fn jpeg_dct_scaling_rounds_up() {
    let b = corpus("oss/example.jpg");
    for (denom, w, h) in [(1u8, 400, 267), (2, 200, 134), (4, 100, 67), (8, 50, 34)] {
        let img = dec(&b, &DecodeOptions { jpeg_scale_denom: denom, ..opts() }).unwrap();
        assert_eq!((img.width(), img.height()), (w, h), "1/{denom}");
    }
    let b = corpus("photos/phone12mp.jpg");
    let img = dec(&b, &DecodeOptions { jpeg_scale_denom: 8, ..opts() }).unwrap();
    assert_eq!((img.width(), img.height()), (504, 378));
    assert!(dec(&b, &DecodeOptions { jpeg_scale_denom: 3, ..opts() }).is_err());
}

#[test]
fn jpeg_pixels_match_the_image_crate() {
    let b = corpus("oss/example.jpg");
    let ours = dec(&b, &opts()).unwrap().frames.remove(0).pixels.to_rgb8();
    let theirs = image::load_from_memory(&b).unwrap().to_rgb8();
    let diff: u64 = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
    assert!(diff / (ours.as_raw().len() as u64) < 3, "mean abs diff {}", diff / ours.as_raw().len() as u64);
}

#[test]
fn grey_and_cmyk_jpeg() {
    let img = dec(&corpus("formats/concert.jpg"), &opts()).unwrap();
    let p = px(&img.frames[0].pixels, 100, 100);
    assert!(p[0] == p[1] && p[1] == p[2]);
    let img = dec(&corpus("formats/Channel_digital_image_CMYK_color.jpg"), &opts()).unwrap();
    assert_eq!((img.width(), img.height()), (500, 333));
    assert!(!img.has_alpha());
}

#[test]
fn truncated_files_fail() {
    for f in ["bad/truncated.jpg", "bad/truncated.png"] {
        let e = dec(&corpus(f), &opts()).err().unwrap();
        assert_eq!(e.code, Code::BadRequest, "{f}");
    }
    // A JPEG cut in its entropy-coded data.
    let b = corpus("oss/example.jpg");
    assert!(dec(&b[..b.len() / 2], &opts()).is_err());
}

#[test]
fn budget_is_enforced() {
    let small = DecodeOptions { max_alloc: 50_000, ..opts() };
    for f in ["oss/example.jpg", "oss/aws_logo.png", "oss/example.gif", "formats/4.webp"] {
        let e = dec(&corpus(f), &small).err().unwrap();
        assert_eq!(e.code, Code::ImageTooLarge, "{f}");
    }
    let e = dec(&corpus("bad/65536-uint32-limit.png"), &opts()).err().unwrap();
    assert_ne!(e.code, Code::InternalError);
}

#[test]
fn example_gif_frames() {
    let img = dec(&corpus("oss/example.gif"), &opts()).unwrap();
    assert_eq!(img.frames.len(), 3);
    assert_eq!((img.width(), img.height()), (500, 300));
    assert!(img.frames.iter().all(|f| f.delay_ms > 0));
    let first = dec(&corpus("oss/example.gif"), &DecodeOptions { first_frame_only: true, ..opts() }).unwrap();
    assert_eq!(first.frames.len(), 1);
    assert_eq!(first.frames[0].pixels.as_bytes(), img.frames[0].pixels.as_bytes());
    // animated-loop-3.gif stores NETSCAPE repetitions = 2: three plays in all.
    let img = dec(&corpus("formats/animated-loop-3.gif"), &opts()).unwrap();
    assert_eq!(img.loop_count, 3);
}

/// (left, top, width, height, RGBA colour, disposal) of one test GIF frame.
type GifFrameSpec = (u16, u16, u16, u16, [u8; 4], gif::DisposalMethod);

/// A GIF written with the gif crate: frames as (left, top, w, h, rgba colour, disposal).
fn gif_of(screen: (u16, u16), frames: &[GifFrameSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = gif::Encoder::new(&mut out, screen.0, screen.1, &[]).unwrap();
        for &(l, t, w, h, c, d) in frames {
            let mut rgba: Vec<u8> = (0..usize::from(w) * usize::from(h)).flat_map(|_| c).collect();
            let mut f = gif::Frame::from_rgba(w, h, &mut rgba);
            (f.left, f.top, f.dispose, f.delay) = (l, t, d, 7);
            e.write_frame(&f).unwrap();
        }
    }
    out
}

#[test]
fn gif_compositing_and_disposal() {
    use gif::DisposalMethod::{Background, Keep, Previous};
    let red = [255, 0, 0, 255];
    let blue = [0, 0, 255, 255];
    let clear = [0, 0, 0, 0];
    let g = gif_of(
        (4, 4),
        &[
            (0, 0, 4, 4, red, Keep),
            (1, 1, 2, 2, blue, Background),
            (0, 0, 1, 1, blue, Previous),
            (3, 3, 1, 1, blue, Keep),
        ],
    );
    let img = dec(&g, &opts()).unwrap();
    assert_eq!(img.frames.len(), 4);
    assert_eq!(img.frames[1].delay_ms, 70);
    let f: Vec<&DynamicImage> = img.frames.iter().map(|f| &f.pixels).collect();
    assert_eq!((px(f[1], 0, 0), px(f[1], 1, 1)), (red, blue));
    // Frame 1 is disposed to background: its rectangle is cleared before frame 2.
    assert_eq!((px(f[2], 0, 0), px(f[2], 1, 1), px(f[2], 3, 3)), (blue, clear, red));
    // Frame 2 restores to previous: its pixel goes back to red.
    assert_eq!((px(f[3], 0, 0), px(f[3], 1, 1), px(f[3], 3, 3)), (red, clear, blue));
    // Transparent pixels show what is below.
    let g = gif_of((2, 1), &[(0, 0, 2, 1, red, Keep), (0, 0, 1, 1, clear, Keep)]);
    let img = dec(&g, &opts()).unwrap();
    assert_eq!(px(&img.frames[1].pixels, 0, 0), red);
    assert_eq!(img.loop_count, 1);
}

#[test]
fn gif_frame_outside_screen_grows_canvas() {
    let g = gif_of(
        (2, 2),
        &[
            (0, 0, 2, 2, [9, 9, 9, 255], gif::DisposalMethod::Keep),
            (3, 1, 2, 3, [1, 2, 3, 255], gif::DisposalMethod::Keep),
        ],
    );
    let info = probe(&g).unwrap();
    assert_eq!((info.width, info.height), (5, 4));
    let img = decode(&g, &info, &opts()).unwrap();
    assert_eq!((img.width(), img.height()), (5, 4));
    assert_eq!(px(&img.frames[1].pixels, 4, 3), [1, 2, 3, 255]);
}

#[test]
fn animated_webp_decodes() {
    let mut config = webp::WebPConfig::new().unwrap();
    config.lossless = 1;
    let frames: Vec<Vec<u8>> = (0..3u8).map(|i| [i * 100, 50, 200, 255].repeat(16 * 8)).collect();
    let mut enc = webp::AnimEncoder::new(16, 8, &config);
    enc.set_loop_count(2);
    for (i, f) in frames.iter().enumerate() {
        enc.add_frame(webp::AnimFrame::from_rgba(f, 16, 8, i as i32 * 100));
    }
    let bytes = enc.try_encode().unwrap().to_vec();
    let info = probe(&bytes).unwrap();
    assert_eq!((info.width, info.height, info.frames), (16, 8, 3));
    let img = decode(&bytes, &info, &opts()).unwrap();
    assert_eq!(img.frames.len(), 3);
    assert_eq!(img.loop_count, 2);
    assert_eq!(img.frames[0].delay_ms, 100);
    // image-webp's frame blending may round by one.
    let p = px(&img.frames[2].pixels, 5, 5);
    assert!(p.iter().zip([200, 50, 200, 255]).all(|(a, b)| a.abs_diff(b) <= 2), "{p:?}");
    let one = decode(&bytes, &info, &DecodeOptions { first_frame_only: true, ..opts() }).unwrap();
    assert_eq!(one.frames.len(), 1);
}

#[test]
fn damaged_inputs_never_panic() {
    for f in [
        "oss/example.gif",
        "oss/aws_logo.png",
        "formats/5_webp_a.webp",
        "oss/gray-200x100.jpg",
        "formats/8bit_depth.tiff",
    ] {
        let b = corpus(f);
        for cut in (0..b.len()).step_by((b.len() / 40).max(1)) {
            let _ = dec(&b[..cut], &opts());
        }
        let mut m = b.clone();
        for i in (20..m.len()).step_by(97) {
            m[i] ^= 0x55;
        }
        let _ = dec(&m, &opts());
    }
}

#[test]
fn stray_bytes_before_a_marker_are_tolerated_but_truncation_is_not() {
    let ex = corpus("oss/example.jpg");
    assert_eq!(&ex[ex.len() - 2..], &[0xFF, 0xD9]);
    let mut stray = ex[..ex.len() - 2].to_vec();
    stray.extend_from_slice(&[0x00, 0x11, 0x22, 0xFF, 0xD9]);
    let info = probe(&stray).unwrap();
    let clean = decode(&ex, &info, &opts()).unwrap();
    let img = decode(&stray, &info, &opts()).expect("extraneous bytes are only a warning");
    assert_eq!(img.frames[0].pixels.to_rgb8(), clean.frames[0].pixels.to_rgb8());
    let cut = &ex[..ex.len() * 2 / 3];
    assert!(decode(cut, &probe(cut).unwrap(), &opts()).is_err());
}
