//! blur, bright, contrast and sharpen end to end (parse → decode → effect → encode): the
//! direction of each, size kept, animation kept, parameter errors as OSS codes.

mod common;

#[path = "effects/smartcrop.rs"]
mod smartcrop;

use common::{read, run, run_image};
use imgedge::transform::Code;

fn stats(img: &image::DynamicImage) -> (f64, f64, f64) {
    let g = img.to_luma8();
    let n = (g.width() * g.height()) as f64;
    let mean = g.pixels().map(|p| p.0[0] as f64).sum::<f64>() / n;
    let var = g.pixels().map(|p| (p.0[0] as f64 - mean).powi(2)).sum::<f64>() / n;
    let mut edges = 0f64;
    for y in 0..g.height() {
        for x in 1..g.width() {
            edges += (g.get_pixel(x, y).0[0] as f64 - g.get_pixel(x - 1, y).0[0] as f64).abs();
        }
    }
    (mean, var.sqrt(), edges / n)
}

#[test]
fn each_effect_moves_the_picture_the_documented_way() {
    let ex = read("oss/example.jpg");
    let base = stats(&run_image(&ex, "image/format,png"));
    let s = |p: &str| {
        let img = run_image(&ex, &format!("image/{p}/format,png"));
        assert_eq!((img.width(), img.height()), (400, 267), "{p} keeps the size");
        stats(&img)
    };
    let (blur_small, blur_big) = (s("blur,r_3,s_2"), s("blur,r_20,s_20"));
    assert!(blur_small.2 < base.2 * 0.8 && blur_big.2 < blur_small.2, "blur lowers edge energy");
    assert!((blur_big.0 - base.0).abs() < 3.0, "blur keeps the mean");
    assert!(s("bright,50").0 > base.0 + 20.0 && s("bright,-50").0 < base.0 - 20.0);
    assert!(s("bright,0").0 - base.0 < 1.0);
    let (more, less) = (s("contrast,50"), s("contrast,-50"));
    assert!(more.1 > base.1 * 1.3 && less.1 < base.1 * 0.7, "contrast moves the spread");
    let (s100, s300) = (s("sharpen,100"), s("sharpen,300"));
    assert!(s100.2 > base.2 * 1.2 && s300.2 > s100.2, "sharpen raises edge energy");
}

#[test]
fn effects_keep_animation() {
    let gif = read("oss/example.gif");
    let out = run(&gif, "image/blur,r_3,s_2/bright,20").unwrap();
    use image::AnimationDecoder;
    let dec = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&out.body)).unwrap();
    assert_eq!(dec.into_frames().collect_frames().unwrap().len(), 3);
}

#[test]
fn out_of_range_is_invalid_argument() {
    let ex = read("oss/example.jpg");
    for p in [
        "blur,r_0,s_1",
        "blur,r_51,s_1",
        "blur,r_1,s_51",
        "blur,r_3",
        "blur,s_3",
        "bright,101",
        "bright,-101",
        "bright",
        "contrast,101",
        "contrast,x",
        "sharpen,49",
        "sharpen,400",
        "sharpen",
    ] {
        let e = run(&ex, &format!("image/{p}")).expect_err(p);
        assert_eq!(e.code, Code::InvalidArgument, "{p}");
    }
    for p in [
        "blur,r_50,s_50",
        "blur,r_1,s_1",
        "bright,-100",
        "bright,100",
        "contrast,-100",
        "sharpen,50",
        "sharpen,399",
    ] {
        assert!(run(&ex, &format!("image/{p}")).is_ok(), "{p}");
    }
}
