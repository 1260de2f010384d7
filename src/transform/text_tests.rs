//! These tests use the fonts installed from the Debian packages named in `text.rs`.

use super::*;

fn style(font: FontName, size: u32) -> TextStyle {
    TextStyle { font, size, color: [200, 30, 60], ..TextStyle::default() }
}

fn draw(text: &str, style: &TextStyle) -> RgbaImage {
    render(Fonts::system(), text, style).unwrap_or_else(|e| panic!("{text:?} {style:?}: {e}"))
}

fn opaque(img: &RgbaImage) -> usize {
    img.pixels().filter(|p| p.0[3] == 255).count()
}

/// Total coverage in pixels.
fn ink(img: &RgbaImage) -> f32 {
    img.pixels().map(|p| p.0[3] as f32 / 255.0).sum()
}

/// Groups of adjacent columns holding at least one mostly covered pixel.
fn ink_clusters(img: &RgbaImage) -> usize {
    let inked: Vec<bool> =
        (0..img.width()).map(|x| (0..img.height()).any(|y| img.get_pixel(x, y).0[3] > 128)).collect();
    inked.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(inked.first() == Some(&true))
}

#[test]
fn names_round_trip() {
    for f in FontName::ALL {
        assert_eq!(FontName::parse(f.name()), Some(f));
    }
    assert_eq!(FontName::parse("wqy-zenhei"), Some(FontName::WqyZenhei));
    assert_eq!(FontName::parse("arial"), None);
    assert_eq!(FontName::parse("WQY-ZENHEI"), None);
}

#[test]
fn oss_example_in_every_font() {
    for f in FontName::ALL {
        let s = style(f, 40);
        let img = draw("阿里云", &s);
        let (w, h) = img.dimensions();
        // Three ideographs, each one em wide.
        assert!((100..=140).contains(&w), "{f:?} width {w}");
        assert!((40..=70).contains(&h), "{f:?} height {h}");
        // UMing is a light face: fewer fully covered pixels, but plenty of ink.
        assert!(opaque(&img) > 150 && ink(&img) > 400.0, "{f:?}: {} {}", opaque(&img), ink(&img));
        // Without a shadow, every inked pixel has exactly the requested colour.
        for p in img.pixels().filter(|p| p.0[3] > 0) {
            assert_eq!(p.0[..3], s.color, "{f:?}");
        }
        // 阿 may split into 阝 and 可; the ideographs themselves never touch.
        assert!((3..=4).contains(&ink_clusters(&img)), "{f:?}");
    }
}

#[test]
fn size_scales_the_layer() {
    let small = draw("阿里云", &style(FontName::WqyZenhei, 40));
    let big = draw("阿里云", &style(FontName::WqyZenhei, 120));
    let rw = big.width() as f32 / small.width() as f32;
    let rh = big.height() as f32 / small.height() as f32;
    assert!((2.8..=3.2).contains(&rw) && (2.8..=3.2).contains(&rh), "{rw} {rh}");
    let ratio = ink(&big) / ink(&small);
    assert!((8.0..=10.0).contains(&ratio), "{ratio}");
    assert!(draw("阿", &style(FontName::WqyZenhei, 1)).width() >= 1);
}

#[test]
fn mixed_latin_and_cjk_draws_every_character() {
    let text = "Hello, 世界 123";
    for f in FontName::ALL {
        let s = style(f, 100);
        let img = draw(text, &s);
        // Every glyph is its own column cluster at this size: H e l l o , 世 界 1 2 3.
        assert_eq!(ink_clusters(&img), 11, "{f:?}");
        for c in text.chars().filter(|c| *c != ' ') {
            assert!(opaque(&draw(&c.to_string(), &s)) > 0, "{f:?} {c}");
        }
    }
}

#[test]
fn missing_characters_fall_back_or_are_skipped() {
    // Droid Sans Fallback has no Latin; AR PL UKai has no IPA; Zen Hei has no Thai baht sign.
    let s = style(FontName::DroidSansFallback, 60);
    assert_eq!(ink_clusters(&draw("Hi", &s)), 2);
    assert!(opaque(&draw("ɒ", &style(FontName::FangzhengKaiti, 60))) > 0);
    assert!(opaque(&draw("฿", &style(FontName::WqyZenhei, 60))) > 0);
    // U+0100 is in none of the fonts: skipped, so the layer is that of the ideograph alone.
    let s = style(FontName::WqyZenhei, 60);
    assert_eq!(draw("阿\u{100}", &s).dimensions(), draw("阿", &s).dimensions());
    let e = render(Fonts::system(), "\u{100}", &s).unwrap_err();
    assert_eq!(e.code, Code::WatermarkError);
}

#[test]
fn shadow_is_dark_translucent_and_offset() {
    let s0 = TextStyle { color: [255, 255, 255], ..style(FontName::WqyZenhei, 60) };
    let s50 = TextStyle { shadow: 50, ..s0 };
    let (plain, shadowed) = (draw("阿里云", &s0), draw("阿里云", &s50));
    assert_ne!(plain, shadowed);
    // The layer grows by max(1, 60 / 20) = 3 px right and down to hold the shadow.
    assert_eq!(shadowed.dimensions(), (plain.width() + 3, plain.height() + 3));
    let mut shadow_only = 0;
    for (x, y, p) in shadowed.enumerate_pixels() {
        let text_a = if x < plain.width() && y < plain.height() { plain.get_pixel(x, y).0[3] } else { 0 };
        if text_a == 0 && p.0[3] > 0 {
            // Pure shadow: black, at most half opaque.
            assert!(p.0[..3] == [0, 0, 0] && p.0[3] <= 128, "{:?}", p.0);
            shadow_only += (p.0[3] >= 120) as usize;
        }
    }
    assert!(shadow_only > 50, "{shadow_only}");
    // Text is drawn over its shadow: fully covered text pixels keep the colour.
    assert!(shadowed.pixels().any(|p| p.0 == [255, 255, 255, 255]));
    // Size 10 still offsets by 1 px.
    let small = TextStyle { size: 10, ..s50 };
    let small0 = TextStyle { size: 10, ..s0 };
    assert_eq!(draw("阿", &small).width(), draw("阿", &small0).width() + 1);
}

#[test]
fn rotation() {
    let s = style(FontName::WqyZenhei, 50);
    let flat = draw("阿里云", &s);
    let turned = draw("阿里云", &TextStyle { rotate: 90, ..s });
    assert_eq!(turned.dimensions(), (flat.height(), flat.width()));
    assert_eq!(opaque(&turned), opaque(&flat));
    assert_eq!(draw("阿里云", &TextStyle { rotate: 360, ..s }), flat);
    let slanted = draw("阿里云", &TextStyle { rotate: 45, ..s });
    assert_eq!(slanted.dimensions(), bounds(flat.width(), flat.height(), 45));
    assert!(opaque(&slanted) > opaque(&flat) / 2);
    assert_eq!(slanted.get_pixel(0, 0).0[3], 0);
}

#[test]
fn errors() {
    let s = TextStyle::default();
    let e = render(Fonts::system(), "", &s).unwrap_err();
    assert_eq!(e.code, Code::WatermarkError);
    let e = render(Fonts::system(), &"阿".repeat(64), &TextStyle { size: 1000, ..s }).unwrap_err();
    assert_eq!(e.code, Code::ImageTooLarge);
    // 45° grows a long line past the area cap even though the flat layer fits.
    let long = "阿".repeat(16);
    assert!(render(Fonts::system(), &long, &TextStyle { size: 600, ..s }).is_ok());
    let e = render(Fonts::system(), &long, &TextStyle { size: 600, rotate: 45, ..s }).unwrap_err();
    assert_eq!(e.code, Code::ImageTooLarge);
    assert_eq!(
        render(Fonts::system(), "a", &TextStyle { size: 0, ..s }).unwrap_err().code,
        Code::InvalidArgument
    );
}

#[test]
fn missing_font_file_names_the_oss_font() {
    let fonts = Fonts::in_dirs(vec!["/usr/share/fonts/truetype/droid".into()]);
    let e = render(&fonts, "阿", &TextStyle { font: FontName::FangzhengKaiti, ..TextStyle::default() })
        .unwrap_err();
    assert_eq!(e.code, Code::WatermarkError);
    assert!(e.message.contains("fangzhengkaiti") && !e.message.contains('/'), "{}", e.message);
    // The fonts that are present still work; missing fallbacks are not required.
    let s = TextStyle { font: FontName::DroidSansFallback, ..TextStyle::default() };
    assert!(opaque(&render(&fonts, "阿", &s).unwrap()) > 0);
}

#[test]
fn fonts_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Fonts>();
    let s = TextStyle::default();
    let a = std::thread::spawn(move || draw("阿里云", &s)).join().unwrap();
    assert_eq!(a, draw("阿里云", &s));
}
