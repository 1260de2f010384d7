use super::*;

/// A `w`×`h` JPEG of one colour, at the chroma subsampling `sub`.
fn flat_jpeg(w: u32, h: u32, rgb: [u8; 3], sub: Subsamp) -> Vec<u8> {
    let px: Vec<u8> = (0..w * h).flat_map(|_| rgb).collect();
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_quality(95).unwrap();
    c.set_subsamp(sub).unwrap();
    let img = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w as usize,
        pitch: w as usize * 3,
        height: h as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(img).unwrap()
}

#[test]
fn planes_come_at_the_scaled_size_with_their_own_chroma_resolution() {
    let cases = [(Subsamp::Sub2x2, (2, 2)), (Subsamp::None, (1, 1)), (Subsamp::Sub2x1, (2, 1))];
    for (sub, factors) in cases {
        let jpeg = flat_jpeg(101, 75, [200, 40, 90], sub);
        for denom in [1u8, 2, 4, 8] {
            let p = decode(&jpeg, denom, 1 << 30).unwrap();
            let (w, h) = (101u32.div_ceil(u32::from(denom)), 75u32.div_ceil(u32::from(denom)));
            let (cw, ch) = (w.div_ceil(factors.0), h.div_ceil(factors.1));
            assert_eq!((p.cb.width, p.cb.height), (cw, ch), "{sub:?} 1/{denom}");
            // Luma comes padded to whole chroma samples.
            assert_eq!((p.y.width, p.y.height), (cw * factors.0, ch * factors.1), "{sub:?} 1/{denom}");
            assert_eq!(p.sub, factors);
            assert_eq!((p.width, p.height), (w, h), "the picture, unpadded");
            let whole = unpadded(p.clone()).unwrap();
            assert_eq!((whole.y.width, whole.y.height, whole.cb.width), (w, h, w.div_ceil(2)));
            assert_eq!(p.cr.data.len(), (p.cr.width * p.cr.height) as usize);
        }
    }
    assert_eq!(
        decode(&flat_jpeg(64, 64, [1, 2, 3], Subsamp::Sub2x2), 1, 100).unwrap_err().code,
        Code::ImageTooLarge
    );
    assert!(decode(b"\xff\xd8\xff\xe0 not a jpeg", 1, 1 << 30).is_err());
}

/// What comes back through each encoder is the colour that went in, at the asked size.
#[test]
fn jpeg_and_webp_from_planes_keep_colour_and_size() {
    let rgb = [200u8, 40, 90];
    let p = decode(&flat_jpeg(160, 120, rgb, Subsamp::Sub2x2), 2, 1 << 30).unwrap();
    let small = resize(&p, 45, 31, None).unwrap();
    assert_eq!((small.cb.width, small.cb.height), (23, 16), "odd sides get one more chroma sample");
    for (bytes, what) in
        [(encode_jpeg(&small, 90, false).unwrap(), "jpeg"), (encode_webp(&small, 90).unwrap(), "webp")]
    {
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (45, 31), "{what}");
        let c = back.get_pixel(22, 15).0;
        for i in 0..3 {
            assert!((i32::from(c[i]) - i32::from(rgb[i])).abs() <= 6, "{what}: {c:?} for {rgb:?}");
        }
    }
}

#[test]
fn studio_range_maps_the_ends_and_keeps_the_middle() {
    let (y, c) = (studio_range(true), studio_range(false));
    assert_eq!((y[0], y[255]), (16, 235));
    assert_eq!((c[0], c[128], c[255]), (16, 128, 240));
    assert!(y.windows(2).all(|w| w[0] <= w[1]));
}

use crate::transform::error::Code;
