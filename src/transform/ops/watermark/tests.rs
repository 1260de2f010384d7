//! Watermark parameters, placement and blending, without files or fonts.

use super::layout::origin;
use super::*;
use crate::transform::params::split;
use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};

fn enc(s: &str) -> String {
    b64::encode(s.as_bytes())
}

fn spec(p: &str) -> WatermarkSpec {
    parse(&split(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn defaults_follow_oss() {
    let s = spec(&format!("text_{}", enc("阿里云")));
    assert_eq!((s.t, s.g, s.x, s.y, s.voffset, s.fill), (100, Gravity::Se, 10, 10, 0, false));
    let t = s.text.unwrap();
    assert_eq!(
        (t.text.as_str(), t.font, t.color, t.size, t.shadow, t.rotate),
        ("阿里云", FontName::WqyZenhei, [0, 0, 0], 40, 0, 0)
    );
    // The OSS doc's own encodings: text_6Zi_6YeM5LqR, type_d3F5LXplbmhlaQ (wqy-zenhei).
    let s = spec("text_6Zi_6YeM5LqR,type_ZmFuZ3poZW5na2FpdGk,color_FFFFFF,size_30,shadow_50,rotate_45");
    let t = s.text.unwrap();
    assert_eq!(
        (t.text.as_str(), t.font, t.color, t.size, t.shadow, t.rotate),
        ("阿里云", FontName::FangzhengKaiti, [255, 255, 255], 30, 50, 45)
    );
}

#[test]
fn parameter_boundaries() {
    let text = format!("text_{}", enc("a"));
    for ok in [
        "t_0",
        "t_100",
        "x_0",
        "x_4096",
        "y_4096",
        "voffset_-1000",
        "voffset_1000",
        "fill_1",
        "padx_4096",
        "pady_0",
        "size_1",
        "size_1000",
        "shadow_100",
        "rotate_360",
        "order_1",
        "align_2",
        "interval_1000",
        "g_nw",
        "color_00ff00",
    ] {
        assert!(parse(&split(&format!("{text},{ok}"))).is_ok(), "{ok}");
    }
    for bad in [
        "t_101",
        "t_-1",
        "x_4097",
        "y_-1",
        "voffset_1001",
        "voffset_-1001",
        "fill_2",
        "padx_4097",
        "size_0",
        "size_1001",
        "shadow_101",
        "rotate_361",
        "order_2",
        "interval_1001",
        "g_middle",
        "color_red",
        "q_1",
        "5",
    ] {
        let e = parse(&split(&format!("{text},{bad}"))).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument, "{bad}");
    }
    assert_eq!(parse(&split(&format!("{text},align_3"))).unwrap_err().ec, Some("0040-00000359"));
    assert_eq!(parse(&split("t_50")).unwrap_err().code, Code::InvalidArgument);
    assert!(parse(&[]).is_err());
}

#[test]
fn bad_text_and_fonts_are_watermark_errors() {
    for bad in [
        "text_!!!".to_string(),
        format!("text_{}", enc(&"字".repeat(65))),
        format!("text_{},type_{}", enc("a"), enc("comic-sans")),
        format!("text_{},type_###", enc("a")),
    ] {
        assert_eq!(parse(&split(&bad)).unwrap_err().code, Code::WatermarkError, "{bad}");
    }
    assert!(parse(&split(&format!("text_{}", enc(&"字".repeat(64))))).is_ok());
}

#[test]
fn image_keys_stay_in_the_bucket_and_prep_is_limited() {
    let img = |k: &str| parse(&split(&format!("image_{}", enc(k))));
    let m = img("panda.png?x-oss-process=image/resize,P_30").unwrap().image.unwrap();
    assert_eq!((m.key.as_str(), m.prep.as_slice()), ("panda.png", &[Prep::PercentOfMain(30)][..]));
    let m = img("dir/wm.png?x-oss-process=image/crop,w_10,h_10/rotate,90/indexcrop,x_5,i_0/resize,w_20")
        .unwrap()
        .image
        .unwrap();
    assert_eq!(m.prep.len(), 4);
    // The documented example string decodes to panda.png + P_30.
    let doc =
        parse(&split("image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,t_90,g_se,x_10,y_10"))
            .unwrap();
    assert_eq!(doc.image.unwrap().prep, vec![Prep::PercentOfMain(30)]);
    for bad in [
        "../secret.png",
        "/etc/passwd",
        "http://127.0.0.2:8080/x.png",
        "a\\b.png",
        "x.png?x-oss-process=image/watermark,text_YQ",
        "x.png?x-oss-process=image/circle,r_10",
        "x.png?other=1",
        "x.png?x-oss-process=image/resize,P_101",
        "",
    ] {
        assert!(img(bad).is_err(), "{bad:?}");
    }
    for bad in crate::testing::fixtures::HOSTILE_KEYS {
        assert!(img(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse(&split("image_!!")).unwrap_err().code, Code::WatermarkError);
}

#[test]
fn nine_gravities_place_the_block() {
    let s = |g: &str| spec(&format!("text_{},g_{g},x_5,y_7,voffset_3", enc("a")));
    let (w, h, bw, bh) = (100, 80, 20, 10);
    let table = [
        ("nw", (5, 7)),
        ("north", (40, 7)),
        ("ne", (75, 7)),
        ("west", (5, 32)),
        ("center", (40, 32)),
        ("east", (75, 32)),
        ("sw", (5, 63)),
        ("south", (40, 63)),
        ("se", (75, 63)),
    ];
    for (g, want) in table {
        assert_eq!(origin(&s(g), w, h, bw, bh), want, "{g}");
    }
}

#[test]
fn opacity_blends_and_fill_tiles() {
    let block = RgbaImage::from_pixel(10, 10, Rgba([255, 255, 255, 255]));
    let black = || DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 50, Rgb([0, 0, 0])));
    let one = draw(&block, &spec(&format!("text_{},t_50,g_nw,x_0,y_0", enc("a"))), black()).to_rgb8();
    assert_eq!(one.get_pixel(5, 5).0, [128, 128, 128]);
    assert_eq!(one.get_pixel(50, 25).0, [0, 0, 0]);
    let tiled = draw(&block, &spec(&format!("text_{},fill_1,padx_0,pady_0", enc("a"))), black()).to_rgb8();
    assert!(tiled.pixels().all(|p| p.0 == [255, 255, 255]), "fill_1 with no padding covers everything");
    let gaps = draw(&block, &spec(&format!("text_{},fill_1,padx_10,pady_10", enc("a"))), black()).to_rgb8();
    let white = gaps.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!((1000..=1600).contains(&white), "about a quarter covered: {white}");
}

#[test]
fn canonical_text_round_trips() {
    let s = spec(&format!(
        "image_{},text_{},order_1,align_1,interval_5,t_90,g_center",
        enc("wm.png?x-oss-process=image/resize,P_30"),
        enc("阿里云")
    ));
    let c = canonical(&s);
    let again = spec(c.strip_prefix("watermark,").unwrap());
    assert_eq!(s, again);
}
