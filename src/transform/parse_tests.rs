//! Grammar tests: forms, styles, saveas, canonical text, and a fuzz-style loop proving that no
//! process string makes the parser panic.

use super::*;
use crate::transform::format::Format;
use crate::transform::ops::quality::Quality;
use crate::transform::spec::Op;

fn p(s: &str) -> Result<Pipeline> {
    parse(s, &NoStyles, &Limits::default())
}

fn styles() -> HashMap<String, String> {
    HashMap::from([
        ("thumb".to_string(), "image/resize,w_100/quality,q_90".to_string()),
        ("nested".to_string(), "style/thumb".to_string()),
        ("saver".to_string(), "image/resize,w_1|sys/saveas,o_dGVzdA".to_string()),
    ])
}

#[test]
fn actions_run_in_order_and_encoder_settings_last_wins() {
    let pl = p("image/resize,w_300/rotate,90/format,png/format,webp/quality,q_80").unwrap();
    assert_eq!(pl.ops.len(), 2);
    assert!(matches!(pl.ops[0], Op::Resize(_)));
    assert_eq!(pl.ops[1], Op::Rotate(90));
    assert_eq!(pl.format, Some(Format::Webp));
    assert_eq!(pl.quality, Some(Quality::Relative(80)));
    assert!(pl.auto_orient);
}

#[test]
fn auto_orient_anywhere_is_global() {
    let a = p("image/resize,w_100/auto-orient,0").unwrap();
    let b = p("image/auto-orient,0/resize,w_100").unwrap();
    assert!(!a.auto_orient);
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.to_string(), "image/auto-orient,0/resize,m_lfit,w_100,limit_1");
}

#[test]
fn canonical_text_is_stable_and_reparses_to_itself() {
    for s in [
        "image/resize,w_300/rotate,90/format,webp",
        "image/crop,x_10,y_10,w_200,h_200,g_se/circle,r_50/format,png",
        "image/indexcrop,x_100,i_0/rounded-corners,r_10/interlace,1/quality,Q_50",
        "image/info",
        "image/average-hue",
        "image/resize,m_pad,w_10,h_10,color_ff0000|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA",
    ] {
        let first = p(s).unwrap();
        let text = first.to_string();
        let again = p(&text).unwrap();
        assert_eq!(first, again, "{s} → {text}");
        assert_eq!(text, again.to_string());
    }
    // Equivalent spellings share one key.
    assert_eq!(
        p("image/resize,limit_1,m_lfit,w_100/format,jpeg").unwrap().to_string(),
        p("image/resize,w_100/format,jpg").unwrap().to_string()
    );
}

#[test]
fn percent_decoding_happens_once() {
    let l = Limits::default();
    let a = parse_query_value("image%2Fresize%2Cw_100", &NoStyles, &l).unwrap();
    assert_eq!(a, p("image/resize,w_100").unwrap());
    // %252C decodes to the literal text %2C, which is then not a comma.
    assert!(parse_query_value("image%2Fresize%252Cw_100", &NoStyles, &l).is_err());
    assert!(parse_query_value("image%2Fresize%2Cw_%FF", &NoStyles, &l).is_err());
}

#[test]
fn a_plus_in_the_query_is_a_space_and_base64_still_reads_it() {
    assert_eq!(crate::transform::query_decode("bad+name%21").as_deref(), Some("bad name!"));
    assert_eq!(crate::transform::query_decode("a%2Bb").as_deref(), Some("a+b"));
    // Standard base64 written by hand, unencoded: `+` became a space and still decodes.
    let l = Limits::default();
    let hand = parse_query_value("image/watermark,text_Pz8-", &NoStyles, &l).unwrap();
    let plus = parse_query_value("image/watermark,text_Pz8+", &NoStyles, &l).unwrap();
    assert_eq!(hand, plus);
}

#[test]
fn styles_expand_and_follow_oss_rules() {
    let st = styles();
    let l = Limits::default();
    let pl = parse("style/thumb", &st, &l).unwrap();
    assert_eq!(pl.style.as_deref(), Some("thumb"));
    assert_eq!(pl.to_string(), "image/resize,m_lfit,w_100,limit_1/quality,q_90");
    let e = parse("style/nosuch", &st, &l).unwrap_err();
    assert_eq!((e.code, e.status()), (Code::NoSuchStyle, 404));
    assert_eq!(parse("style/nested", &st, &l).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(parse("style/saver", &st, &l).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(parse("style/thumb/resize,w_10", &st, &l).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(parse(&format!("style/{}", "a".repeat(64)), &st, &l).unwrap_err().ec, Some("0017-00000250"));
    assert_eq!(parse("style/a@b", &st, &l).unwrap_err().ec, Some("0017-00000251"));
    assert!(validate_style_name(&"a".repeat(63)).is_ok());
    assert!(validate_style_name("th-umb_1.x").is_ok());
}

#[test]
fn saveas_targets() {
    let pl = p("image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA").unwrap();
    assert_eq!(pl.saveas, Some(SaveAs { object: "test.jpg".into(), bucket: Some("test".into()) }));
    // Standard alphabet with padding (JS SDK) works too.
    let pl = p("image/resize,w_100|sys/saveas,o_dGVzdC5qcGc=").unwrap();
    assert_eq!(pl.saveas.unwrap().bucket, None);
    let enc = |s: &str| b64::encode(s.as_bytes());
    for bad in crate::testing::fixtures::HOSTILE_KEYS {
        let s = format!("image/resize,w_1|sys/saveas,o_{}", enc(bad));
        assert_eq!(p(&s).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
    }
    assert_eq!(p("image/resize,w_1|sys/saveas").unwrap_err().code, Code::MissingArgument);
    assert!(p("image/resize,w_1|sys/saveas,o_!!!").is_err());
    assert!(p(&format!("image/resize,w_1|sys/saveas,o_{},b_{}", enc("x.jpg"), enc("Bad_Bucket"))).is_err());
    assert!(p("image/resize,w_1|sys/saveas,o_dGVzdA/notify,topic_dGVzdA").is_err());
    assert!(p("image/resize,w_1|other").is_err());
    assert!(p("image/resize,w_1|sys/saveas,o_dGVzdA|sys/saveas,o_dGVzdA").is_err());
}

#[test]
fn grammar_errors() {
    let invalid = [
        "",
        "image",
        "image/",
        "image//resize,w_1",
        "image/resize,w_1/",
        "img/resize,w_1",
        "image/resize,s_100/info",
        "image/info/resize,w_1",
        "image/info,1",
        "image/nosuch",
        "image/resize,w_100,w",
        "image/Resize,w_1",
    ];
    for s in invalid {
        let e = p(s).expect_err(s);
        assert_eq!(e.code, Code::InvalidArgument, "{s}: {e}");
    }
    assert_eq!(p("image/blindwatermark,content_dGVzdA").unwrap_err().code, Code::NotImplemented);
    assert_eq!(p("video/convert,f_mp4").unwrap_err().code, Code::NotImplemented);
    assert_eq!(p("audio/convert").unwrap_err().code, Code::NotImplemented);
    assert!(p(&format!("image/{}", vec!["rotate,90"; 65].join("/"))).is_err());
    assert!(p(&format!("image/{}", vec!["rotate,90"; 64].join("/"))).is_ok());
    assert!(p(&format!("image/resize,w_1{}", ",limit_1".repeat(600))).is_err());
}

/// `g_auto` (imgedge's smart crop) is accepted by crop with a size and by resize's fill, and
/// nowhere else; the OSS spellings around it keep their meaning and their key.
#[test]
fn g_auto_where_it_is_documented_and_nowhere_else() {
    for (s, key) in [
        ("image/crop,w_300,h_300,g_auto", "image/crop,w_300,h_300,g_auto"),
        ("image/crop,x_10,y_20,h_300,g_auto", "image/crop,h_300,g_auto"),
        ("image/resize,m_fill,w_100,h_100,g_auto", "image/resize,m_fill,w_100,h_100,limit_1,g_auto"),
        ("image/resize,g_auto,h_100,m_fill", "image/resize,m_fill,h_100,limit_1,g_auto"),
    ] {
        let first = p(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(first.to_string(), key, "{s}");
        assert_eq!(p(key).unwrap(), first, "{key} reparses to itself");
    }
    assert_eq!(
        p("image/crop,w_300,h_300,g_center").unwrap().to_string(),
        "image/crop,w_300,h_300,x_0,y_0,g_center"
    );
    assert_eq!(
        p("image/resize,m_fill,w_100,h_100").unwrap().to_string(),
        "image/resize,m_fill,w_100,h_100,limit_1"
    );
    for s in [
        "image/resize,w_100,g_auto",
        "image/resize,m_pad,w_100,h_100,g_auto",
        "image/resize,m_fill,w_100,h_100,g_se",
        "image/indexcrop,x_100,g_auto",
        "image/circle,r_100,g_auto",
        "image/watermark,text_aGk,g_auto",
    ] {
        assert_eq!(p(s).expect_err(s).code, Code::InvalidArgument, "{s}");
    }
    // OSS's own g_auto picks the box's size (IMM), and g_face needs IMM: both still 501.
    for s in ["image/crop,g_auto", "image/crop,w_300,h_300,g_face"] {
        assert_eq!(p(s).expect_err(s).code, Code::NotImplemented, "{s}");
    }
}

#[test]
fn random_process_strings_never_panic() {
    // A deterministic xorshift stream over an alphabet rich in the grammar's own characters.
    let alphabet: Vec<char> =
        "image/style,resize_wmhlspcrotaefxyig0123456789-|%!@_QqQ=+ 阿\u{0}".chars().collect();
    let pieces = [
        "image/",
        "resize,",
        "w_",
        "crop,",
        "x_",
        "g_se",
        "circle,r_",
        "rotate,",
        "format,",
        "quality,q_",
        "|sys/saveas,o_",
        "style/",
        "indexcrop,",
        "rounded-corners,",
        "info",
        "average-hue",
        "/",
        ",",
        "auto-orient,",
        "interlace,",
        "4294967296",
        "-1",
        "%2C",
        "dGVzdA",
        "watermark,",
        "text_",
        "image_",
        "type_",
        "blur,r_",
        ",s_",
        "bright,",
        "contrast,",
        "sharpen,",
        "fill_1",
        "voffset_",
    ];
    let st = styles();
    let l = Limits::default();
    let mut rng = crate::testing::XorShift(0x2545_f491_4f6c_dd1d);
    let mut next = move || rng.next();
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..(next() % 12) {
            if next() % 2 == 0 {
                s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            } else {
                s.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
        }
        let _ = parse(&s, &st, &l);
        let _ = parse_query_value(&s, &st, &l);
    }
}
