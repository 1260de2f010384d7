//! Colour that survives (issue 24): sources tagged with a profile other than sRGB come out in
//! sRGB, as Little CMS converts them. Each source is made here: a test card of saturated hues
//! (and a corpus photo) written in the profile's own numbers and tagged with it; each output is
//! compared, by mean CIEDE2000 over the saturated pixels, with Little CMS's sRGB conversion of
//! the source resized to the same size.

use image::imageops::FilterType;
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use lcms2::{CIELabExt, CIExyY, CIExyYTRIPLE, Intent, PixelFormat, Profile, ToneCurve, Transform};

use super::{decoded, run};

const D65: CIExyY = CIExyY { x: 0.3127, y: 0.3290, Y: 1.0 };

fn xy(x: f64, y: f64) -> CIExyY {
    CIExyY { x, y, Y: 1.0 }
}

fn srgb_curve() -> ToneCurve {
    ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045]).unwrap()
}

/// Display P3: DCI-P3 primaries, D65, the sRGB curve (what phones write).
fn display_p3() -> Profile {
    let p = CIExyYTRIPLE { Red: xy(0.680, 0.320), Green: xy(0.265, 0.690), Blue: xy(0.150, 0.060) };
    let c = srgb_curve();
    Profile::new_rgb(&D65, &p, &[&c, &c, &c]).unwrap()
}

/// Adobe RGB (1998): its primaries, D65, gamma 563/256.
fn adobe_rgb() -> Profile {
    let p = CIExyYTRIPLE { Red: xy(0.640, 0.330), Green: xy(0.210, 0.710), Blue: xy(0.150, 0.060) };
    let c = ToneCurve::new(563.0 / 256.0);
    Profile::new_rgb(&D65, &p, &[&c, &c, &c]).unwrap()
}

/// A grey display profile of gamma 1.8 (a Mac's old default: far enough from sRGB's curve to see).
fn grey_18() -> Profile {
    Profile::new_gray(&D65, &ToneCurve::new(1.8)).unwrap()
}

/// Saturated hues left to right, from full to half saturation top to bottom, in the numbers of
/// whatever profile will tag it.
fn test_card() -> RgbImage {
    RgbImage::from_fn(480, 320, |x, y| {
        let h = x as f64 / 480.0 * 6.0;
        let s = 1.0 - y as f64 / 320.0 * 0.5;
        let f = h - h.floor();
        let (p, q, t) = (1.0 - s, 1.0 - s * f, 1.0 - s * (1.0 - f));
        let (r, g, b) = match h as u32 % 6 {
            0 => (1.0, t, p),
            1 => (q, 1.0, p),
            2 => (p, 1.0, t),
            3 => (p, q, 1.0),
            4 => (t, p, 1.0),
            _ => (1.0, p, q),
        };
        let v = 0.92;
        Rgb([(r * v * 255.0) as u8, (g * v * 255.0) as u8, (b * v * 255.0) as u8])
    })
}

fn jpeg_tagged(img: &DynamicImage, icc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    e.set_icc_profile(icc.to_vec()).unwrap();
    img.write_with_encoder(e).unwrap();
    out
}

fn png_tagged(img: &DynamicImage, icc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = image::codecs::png::PngEncoder::new(&mut out);
    e.set_icc_profile(icc.to_vec()).unwrap();
    img.write_with_encoder(e).unwrap();
    out
}

/// Little CMS's sRGB rendering of `src` (8- or 16-bit RGB, or grey) in `profile`, at `w`×`h`.
fn reference(src: &DynamicImage, profile: &Profile, w: u32, h: u32) -> RgbImage {
    let srgb = Profile::new_srgb();
    let out = match src {
        DynamicImage::ImageLuma8(g) => {
            let t =
                Transform::new(profile, PixelFormat::GRAY_8, &srgb, PixelFormat::RGB_8, Intent::Perceptual)
                    .unwrap();
            let mut px = vec![[0u8; 3]; g.len()];
            t.transform_pixels(g.as_raw(), &mut px);
            RgbImage::from_raw(g.width(), g.height(), px.concat()).unwrap()
        }
        DynamicImage::ImageRgb16(b) => {
            let t =
                Transform::new(profile, PixelFormat::RGB_16, &srgb, PixelFormat::RGB_8, Intent::Perceptual)
                    .unwrap();
            let inp: Vec<[u16; 3]> = b.as_raw().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            let mut px = vec![[0u8; 3]; inp.len()];
            t.transform_pixels(&inp, &mut px);
            RgbImage::from_raw(b.width(), b.height(), px.concat()).unwrap()
        }
        other => {
            let b = other.to_rgb8();
            let t =
                Transform::new(profile, PixelFormat::RGB_8, &srgb, PixelFormat::RGB_8, Intent::Perceptual)
                    .unwrap();
            let inp: Vec<[u8; 3]> = b.as_raw().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            let mut px = vec![[0u8; 3]; inp.len()];
            t.transform_pixels(&inp, &mut px);
            RgbImage::from_raw(b.width(), b.height(), px.concat()).unwrap()
        }
    };
    image::imageops::resize(&out, w, h, FilterType::Lanczos3)
}

/// Mean CIEDE2000 between `got` and `want` (both sRGB) over the saturated regions of the
/// reference (chroma over 40, edges left out), and how many pixels those are.
fn delta_e(got: &RgbImage, want: &RgbImage) -> (f64, usize) {
    delta_e_over(got, want, 40.0)
}

/// [`delta_e`] over regions of chroma over `min_chroma`.
fn delta_e_over(got: &RgbImage, want: &RgbImage, min_chroma: f64) -> (f64, usize) {
    assert_eq!(got.dimensions(), want.dimensions());
    let lab = Profile::new_lab4_context(lcms2::GlobalContext::new(), &xy(0.3457, 0.3585)).unwrap();
    let t: Transform<[u8; 3], [f64; 3]> = Transform::new(
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        &lab,
        PixelFormat::Lab_DBL,
        Intent::Perceptual,
    )
    .unwrap();
    let to_lab = |img: &RgbImage| {
        let px: Vec<[u8; 3]> = img.as_raw().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        let mut out = vec![[0f64; 3]; px.len()];
        t.transform_pixels(&px, &mut out);
        out.into_iter().map(|[l, a, b]| lcms2::CIELab { L: l, a, b }).collect::<Vec<_>>()
    };
    let (g, w) = (to_lab(got), to_lab(want));
    // Saturated regions, not edges: a pixel counts when every pixel within 2 of it is saturated
    // (4:2:0 chroma of the lossy codecs smears a colour's edges whatever the colour management).
    let (width, height) = (want.width() as i64, want.height() as i64);
    let sat: Vec<bool> = w.iter().map(|w| (w.a * w.a + w.b * w.b).sqrt() > min_chroma).collect();
    let region = |i: usize| {
        let (x, y) = (i as i64 % width, i as i64 / width);
        (-2..=2).all(|dy| {
            (-2..=2).all(|dx| {
                let (nx, ny) = (x + dx, y + dy);
                (0..width).contains(&nx) && (0..height).contains(&ny) && sat[(ny * width + nx) as usize]
            })
        })
    };
    let saturated: Vec<f64> =
        (0..g.len()).filter(|&i| region(i)).map(|i| g[i].cie2000_delta_e(&w[i], 1.0, 1.0, 1.0)).collect();
    let n = saturated.len();
    (saturated.iter().sum::<f64>() / n.max(1) as f64, n)
}

/// Every output format of `src`, resized to 200 px wide: each within ΔE 1.0 of Little CMS.
fn check(name: &str, src_bytes: &[u8], src: &DynamicImage, profile: &Profile, min_saturated: usize) {
    for format in ["jpg", "webp", "png", "avif"] {
        let out = run(src_bytes, &format!("image/resize,w_200/format,{format}/quality,q_80"));
        let got = decoded(&out).to_rgb8();
        let want = reference(src, profile, got.width(), got.height());
        let (de, n) = delta_e(&got, &want);
        println!("{name} → {format}: mean ΔE2000 {de:.3} over {n} saturated pixels");
        assert!(n >= min_saturated, "{name}: only {n} saturated pixels");
        assert!(de < 1.0, "{name} → {format}: mean ΔE2000 {de:.3}");
    }
}

#[test]
fn tagged_rgb_sources_come_out_in_srgb_as_little_cms_makes_them() {
    let card = DynamicImage::ImageRgb8(test_card());
    for (name, profile) in [("Display P3", display_p3()), ("Adobe RGB", adobe_rgb())] {
        let icc = profile.icc().unwrap();
        check(&format!("{name} JPEG"), &jpeg_tagged(&card, &icc), &card, &profile, 10_000);
        // The source as a decoder reads it (JPEG at q95 is not the card's exact numbers).
        let jpeg = jpeg_tagged(&card, &icc);
        let read = image::load_from_memory(&jpeg).unwrap();
        check(&format!("{name} JPEG (as decoded)"), &jpeg, &read, &profile, 10_000);
    }
    // A 16-bit PNG with iCCP: the card at 16 bits.
    let deep = DynamicImage::ImageRgb16(card.to_rgb16());
    let p3 = display_p3();
    check("Display P3 16-bit PNG", &png_tagged(&deep, &p3.icc().unwrap()), &deep, &p3, 10_000);
}

#[test]
fn dropping_the_profile_is_what_the_measure_catches() {
    // The same card, untagged: read as sRGB, far from what its P3 numbers mean.
    let card = DynamicImage::ImageRgb8(test_card());
    let p3 = display_p3();
    let out = run(&png_tagged(&card, &[]).to_vec(), "image/resize,w_200/format,png");
    let got = decoded(&out).to_rgb8();
    let (de, _) = delta_e(&got, &reference(&card, &p3, got.width(), got.height()));
    assert!(de > 2.0, "ΔE {de:.3}: the measure does not see a dropped profile");
}

#[test]
fn grey_and_cmyk_sources_with_profiles_come_out_in_srgb() {
    // A grey JPEG with a gamma-1.8 grey profile: the tones move as Little CMS moves them.
    let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(300, 200, |x, _| {
        image::Luma([(x * 255 / 299) as u8])
    }));
    let profile = grey_18();
    let jpeg = jpeg_tagged(&grey, &profile.icc().unwrap());
    let read = image::load_from_memory(&jpeg).unwrap();
    // Grey has no saturated regions: every pixel counts (chroma over -1), in every format.
    for format in ["jpg", "webp", "png", "avif"] {
        let out = run(&jpeg, &format!("image/resize,w_150/format,{format}/quality,Q_90"));
        let got = decoded(&out).to_rgb8();
        let want = reference(&read, &profile, got.width(), got.height());
        let (de, n) = delta_e_over(&got, &want, -1.0);
        println!("grey → {format}: mean ΔE2000 {de:.3} over {n} pixels");
        assert!(n > 10_000 && de < 1.0, "grey → {format}: ΔE {de:.3}");
    }
    let untagged = image::imageops::resize(&read.to_rgb8(), 150, 100, FilterType::Lanczos3);
    let (dropped, _) = delta_e_over(&untagged, &reference(&read, &profile, 150, 100), -1.0);
    assert!(dropped > 2.0, "grey: a dropped profile scores only {dropped:.3}");

    // The corpus's CMYK JPEG (Adobe-inverted, with its press profile): ink values through the profile.
    let cmyk = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/formats/Channel_digital_image_CMYK_color.jpg"
    ))
    .unwrap();
    let icc = imgedge::transform::codec::icc::extract(&cmyk, imgedge::transform::Format::Jpeg)
        .expect("its profile");
    let profile = Profile::new_icc(&icc).unwrap();
    let mut d = turbojpeg::Decompressor::new().unwrap();
    let header = d.read_header(&cmyk).unwrap();
    let (w, h) = (header.width, header.height);
    let mut ink = vec![0u8; w * h * 4];
    d.decompress(
        &cmyk,
        turbojpeg::Image {
            pixels: ink.as_mut_slice(),
            width: w,
            pitch: w * 4,
            height: h,
            format: turbojpeg::PixelFormat::CMYK,
        },
    )
    .unwrap();
    ink.iter_mut().for_each(|v| *v = 255 - *v);
    let t = Transform::new(
        &profile,
        PixelFormat::CMYK_8,
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        Intent::Perceptual,
    )
    .unwrap();
    let inp: Vec<[u8; 4]> = ink.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    let mut px = vec![[0u8; 3]; inp.len()];
    t.transform_pixels(&inp, &mut px);
    let full = RgbImage::from_raw(w as u32, h as u32, px.concat()).unwrap();
    for format in ["jpg", "webp", "png", "avif"] {
        let out = run(&cmyk, &format!("image/resize,w_300/format,{format}/quality,Q_90"));
        let got = decoded(&out).to_rgb8();
        let want = image::imageops::resize(&full, got.width(), got.height(), FilterType::Lanczos3);
        // A detailed photo loses more to a lossy codec than to its colour management: Little
        // CMS's rendering goes through the same encoder (untagged: nothing to convert) so that
        // only the conversion is measured.
        let want = match format {
            "png" => want,
            _ => {
                let plain = png_tagged(&DynamicImage::ImageRgb8(want), &[]);
                decoded(&run(&plain, &format!("image/format,{format}/quality,Q_90"))).to_rgb8()
            }
        };
        // A photo, not a card: its coloured regions are less saturated.
        let (de, n) = delta_e_over(&got, &want, 20.0);
        println!("CMYK → {format}: mean ΔE2000 {de:.3} over {n} saturated pixels");
        assert!(n > 100 && de < 1.0, "CMYK → {format}: ΔE {de:.3} over {n}");
    }
}

/// Hostile profiles (a parser is a new surface): truncated, a tag table that claims billions of
/// tags, tags past the end, random bytes, a Lab "image": each one is ignored or refused with
/// a client error, never a panic, and the picture still comes out.
#[test]
fn hostile_profiles_are_ignored_or_refused_never_a_panic() {
    let good = display_p3().icc().unwrap();
    let card = DynamicImage::ImageRgb8(image::imageops::thumbnail(&test_card(), 64, 48));
    let mut seed = 0x9e37_79b9_u32;
    let mut noise = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as u8
    };
    let mut cases: Vec<(&str, Vec<u8>)> = vec![("truncated", good[..200].to_vec())];
    let mut huge_count = good.clone();
    huge_count[128..132].copy_from_slice(&u32::MAX.to_be_bytes());
    cases.push(("tag count u32::MAX", huge_count));
    let mut far = good.clone();
    for i in 0..10 {
        let at = 132 + i * 12 + 4;
        far[at..at + 4].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
    }
    cases.push(("tags past the end", far));
    let mut random = good[..128].to_vec();
    random.extend((0..4096).map(|_| noise()));
    cases.push(("random tag table", random));
    let mut lab = good.clone();
    lab[16..20].copy_from_slice(b"Lab ");
    cases.push(("a Lab image", lab));
    let mut size_lies = good.clone();
    size_lies[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
    cases.push(("header size u32::MAX", size_lies));
    for (name, icc) in cases {
        let jpeg = jpeg_tagged(&card, &icc);
        let limits = imgedge::transform::Limits::default();
        let p =
            imgedge::transform::parse("image/resize,w_32/format,png", &imgedge::transform::NoStyles, &limits)
                .unwrap();
        match imgedge::transform::run(&jpeg, &p, &imgedge::transform::Env::new(&limits)) {
            Ok(r) => assert_eq!(image::load_from_memory(&r.body).unwrap().width(), 32, "{name}"),
            Err(e) => assert!(e.status() == 400, "{name}: {e:?}"),
        }
    }
}

/// With the profile kept (the bucket's `color_profile = "keep"`), every output format carries
/// the source's profile byte for byte (the YCbCr path's too), and read back through a
/// colour-managed decode it still shows what Little CMS makes of the source.
#[test]
fn a_kept_profile_travels_byte_identical_in_every_format() {
    use imgedge::transform::codec::{icc, probe};
    let card = DynamicImage::ImageRgb8(test_card());
    let p3 = display_p3();
    let p3_icc = p3.icc().unwrap();
    let srgb = Profile::new_srgb();
    let srgb_icc = srgb.icc().unwrap();
    let sources = [
        ("P3 JPEG", jpeg_tagged(&card, &p3_icc), &p3_icc, &p3),
        ("P3 PNG", png_tagged(&card, &p3_icc), &p3_icc, &p3),
        // sRGB-tagged: a plain JPEG resize takes the YCbCr path.
        ("sRGB JPEG", jpeg_tagged(&card, &srgb_icc), &srgb_icc, &srgb),
    ];
    let limits = imgedge::transform::Limits::default();
    for (name, src, profile_bytes, profile) in sources {
        for format in ["jpg", "png", "webp", "avif", "heic"] {
            let process = format!("image/resize,w_200/format,{format}");
            let mut p = imgedge::transform::parse(&process, &imgedge::transform::NoStyles, &limits).unwrap();
            p.keep_profile = true;
            let out = imgedge::transform::run(&src, &p, &imgedge::transform::Env::new(&limits)).unwrap().body;
            let kind = probe::probe(&out).unwrap().format;
            assert_eq!(icc::extract(&out, kind).as_deref(), Some(&profile_bytes[..]), "{name} → {format}");
            let got = decoded(&out).to_rgb8();
            let read = image::load_from_memory(&src).unwrap();
            let (de, _) = delta_e(&got, &reference(&read, profile, got.width(), got.height()));
            assert!(de < 1.0, "{name} → {format} with its profile kept: ΔE {de:.3}");
        }
    }
}

/// A camera JPEG (EXIF APP1 first, no JFIF) tagged through `icc::embed`: still a JPEG every
/// decoder reads, and converted like any other.
#[test]
fn a_profile_embedded_in_a_camera_jpeg_reads_back() {
    let photo = super::photo("phone12mp.jpg");
    let icc = display_p3().icc().unwrap();
    let tagged =
        imgedge::transform::codec::icc::embed(photo, imgedge::transform::Format::Jpeg, Some(&icc)).unwrap();
    assert_eq!(imgedge::transform::codec::icc::extract(&tagged, imgedge::transform::Format::Jpeg), Some(icc));
    assert!(image::load_from_memory(&tagged).is_ok(), "the image crate reads it");
    let out = run(&tagged, "image/resize,w_100/format,png");
    assert_eq!(decoded(&out).width(), 100);
}
