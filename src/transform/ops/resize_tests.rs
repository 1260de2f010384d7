//! Table tests for `resize`: every documented example of spec §3.1 / §9 and each parameter's
//! boundaries with its EC.

use super::*;
use crate::transform::error::Code;
use crate::transform::format::Format;
use crate::transform::params::split;
use crate::transform::plan::tests::{ctx_for, source};
use crate::transform::plan::PlanCtx;

fn run(w: u32, h: u32, p: &str) -> Result<(u32, u32)> {
    let mut ctx = ctx_for(w, h);
    plan(&parse(&split(p))?, &mut ctx)?;
    Ok((ctx.w, ctx.h))
}

fn dims(w: u32, h: u32, p: &str) -> (u32, u32) {
    run(w, h, p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn ec_of(p: &str) -> Option<&'static str> {
    run(400, 267, p).expect_err(p).ec
}

#[test]
fn documented_examples() {
    let table: &[(u32, u32, &str, (u32, u32))] = &[
        (400, 267, "w_100", (100, 67)),
        (400, 267, "l_100", (100, 67)),
        (400, 267, "s_100", (150, 100)),
        (200, 100, "w_150,h_80", (150, 75)),
        (200, 100, "m_lfit,w_150,h_80", (150, 75)),
        (200, 100, "m_mfit,w_150,h_80", (160, 80)),
        (200, 100, "m_fill,w_150,h_80", (150, 80)),
        (200, 100, "m_pad,w_150,h_80", (150, 80)),
        (200, 100, "m_fixed,w_150,h_80", (150, 80)),
        (400, 300, "m_fill,h_100,w_100", (100, 100)),
        (400, 300, "m_pad,h_100,w_100,color_FF0000", (100, 100)),
        (400, 300, "h_100,w_300,m_lfit", (133, 100)),
        (400, 300, "h_100,m_lfit", (133, 100)),
        (400, 300, "p_50", (200, 150)),
        (400, 300, "w_100,p_50", (100, 75)),
        (400, 300, "m_fixed,h_100,w_100", (100, 100)),
        (400, 267, "w_500", (400, 267)),
        (400, 267, "w_500,limit_0", (500, 334)),
        (400, 267, "s_100,l_100", (100, 67)),
        (400, 267, "m_mfit,w_100,h_100", (150, 100)),
        (400, 267, "m_fill,w_100,h_100", (100, 100)),
        (400, 267, "m_pad,w_100,h_100", (100, 100)),
        (400, 267, "l_200,s_100", (150, 100)),
        (200, 100, "m_fixed,h_100", (100, 100)),
        (3924, 2550, "l_923,h_600", (923, 600)),
    ];
    for &(w, h, p, want) in table {
        assert_eq!(dims(w, h, p), want, "{w}x{h} {p}");
    }
}

#[test]
fn fill_crops_the_centre_and_pad_centres_the_picture() {
    let mut ctx = ctx_for(400, 300);
    let step = plan(&parse(&split("m_fill,h_100,w_100")).unwrap(), &mut ctx).unwrap().unwrap();
    assert_eq!((step.w, step.h, step.crop), (133, 100, Some((16, 0, 100, 100))));
    let mut ctx = ctx_for(400, 267);
    let step = plan(&parse(&split("m_pad,w_100,h_100,color_FF0000")).unwrap(), &mut ctx).unwrap().unwrap();
    // 33 px of fill: 16 above, 17 below.
    assert_eq!((step.w, step.h), (100, 67));
    assert_eq!(step.pad, Some(Pad { w: 100, h: 100, x: 0, y: 16, color: [255, 0, 0] }));
}

#[test]
fn output_cap_comes_before_limit() {
    assert_eq!(ec_of("m_fixed,w_5000,h_5000"), Some(ec::RESIZE_OUTPUT_TOO_LARGE));
    assert_eq!(run(400, 267, "m_fixed,w_5000,h_5000").unwrap_err().code, Code::ImageTooLarge);
    assert_eq!(ec_of("w_16384,limit_0"), Some(ec::RESIZE_OUTPUT_TOO_LARGE));
    assert_eq!(run(5000, 4000, "p_1000").unwrap_err().ec, Some(ec::RESIZE_OUTPUT_TOO_LARGE));
    assert_eq!(dims(400, 267, "p_1000"), (4000, 2670));
    assert_eq!(dims(4096, 4096, "p_100"), (4096, 4096));
    assert_eq!(dims(400, 267, "w_4096,h_4096,m_fixed,limit_0"), (4096, 4096));
}

#[test]
fn parameter_boundaries_have_their_ec() {
    let table: &[(&str, &str)] = &[
        ("w_0", ec::RESIZE_W),
        ("w_16385", ec::RESIZE_W),
        ("w_-1", ec::RESIZE_W),
        ("w_abc", ec::RESIZE_W),
        ("h_0", ec::RESIZE_H),
        ("h_16385", ec::RESIZE_H),
        ("l_0", ec::RESIZE_L),
        ("l_16385", ec::RESIZE_L),
        ("s_0", ec::RESIZE_S),
        ("s_16385", ec::RESIZE_S),
        ("p_0", ec::RESIZE_P),
        ("p_1001", ec::RESIZE_P),
        ("m_abc,w_100", ec::RESIZE_MODE),
        ("w_100,limit_3", ec::RESIZE_LIMIT),
        ("w_100,limit_-1", ec::RESIZE_LIMIT),
        ("w_0,h_0", ec::RESIZE_W_H_ZERO),
        ("m_lfit", ec::RESIZE_EMPTY),
        ("limit_0", ec::RESIZE_EMPTY),
    ];
    for &(p, want) in table {
        let e = parse(&split(p)).expect_err(p);
        assert_eq!((e.code, e.ec), (Code::InvalidArgument, Some(want)), "{p}");
    }
    assert_eq!(parse(&[]).unwrap_err().ec, Some(ec::RESIZE_EMPTY));
    for ok in ["w_1", "w_16384", "h_16384", "l_1", "s_16384", "p_1", "p_1000", "w_1,limit_0"] {
        assert!(parse(&split(ok)).is_ok(), "{ok}");
    }
    assert!(parse(&split("w_100,x_1")).is_err());
    assert!(parse(&split("w_100,color_GG0000")).is_err());
}

#[test]
fn limit_and_enlargement_rules() {
    // p enlarges whatever limit says; mfit/fill/pad boxes past the source are skipped.
    assert_eq!(dims(400, 300, "p_200"), (800, 600));
    assert_eq!(dims(400, 267, "m_fill,w_1000,h_1000"), (400, 267));
    assert_eq!(dims(400, 267, "m_pad,w_1000,h_1000"), (400, 267));
    assert_eq!(dims(400, 267, "m_pad,w_1000,h_1000,limit_0"), (1000, 1000));
    // A GIF is never enlarged, not even with limit_0 or p.
    let src = source(Format::Gif, 500, 300);
    let limits = Limits::default();
    let mut ctx = PlanCtx { w: 500, h: 300, src: &src, limits: &limits, force_static: false };
    assert_eq!(plan(&parse(&split("w_1000,limit_0")).unwrap(), &mut ctx).unwrap(), None);
    assert_eq!((ctx.w, ctx.h), (500, 300));
    assert_eq!(
        plan(&parse(&split("p_50")).unwrap(), &mut ctx).unwrap().map(|s| (s.w, s.h)),
        Some((250, 150))
    );
    assert!(ctx.force_static, "p makes an animated GIF static");
}

#[test]
fn never_a_zero_side() {
    assert_eq!(dims(10000, 10, "w_100"), (100, 1));
    assert_eq!(dims(10, 10000, "p_1"), (1, 100));
}

#[test]
fn canonical_text_fills_defaults_and_drops_ignored_sizes() {
    let c = |p: &str| canonical(&parse(&split(p)).unwrap());
    assert_eq!(c("w_100"), "resize,m_lfit,w_100,limit_1");
    assert_eq!(c("limit_1,w_100,m_lfit"), c("w_100"));
    assert_eq!(c("w_100,l_50,p_10"), c("w_100"));
    assert_eq!(c("m_pad,w_10,h_10"), "resize,m_pad,w_10,h_10,limit_1,color_FFFFFF");
    assert_eq!(c("p_50"), "resize,m_lfit,p_50,limit_1");
}

/// `g_auto` (imgedge): only `fill` has a window to place, so only `fill` takes it; the plan
/// keeps the centred window as the size and a default, and the pixels decide the place.
#[test]
fn fill_g_auto_leaves_the_windows_place_to_the_pixels() {
    let mut ctx = ctx_for(400, 300);
    let step = plan(&parse(&split("m_fill,w_100,h_100,g_auto")).unwrap(), &mut ctx).unwrap().unwrap();
    assert_eq!((step.w, step.h, step.crop, step.auto), (133, 100, Some((16, 0, 100, 100)), true));
    // Nothing to cut (the box has the picture's shape): nothing to place.
    let step = plan(&parse(&split("m_fill,w_200,h_150,g_auto")).unwrap(), &mut ctx_for(400, 300)).unwrap();
    assert_eq!(step.map(|s| (s.crop, s.auto)), Some((None, false)));
    let c = |p: &str| canonical(&parse(&split(p)).unwrap());
    assert_eq!(c("g_auto,w_100,h_100,m_fill"), "resize,m_fill,w_100,h_100,limit_1,g_auto");
    assert_eq!(c("m_fill,w_100,h_100"), "resize,m_fill,w_100,h_100,limit_1", "OSS URLs keep their key");
    for bad in ["w_100,g_auto", "m_lfit,w_100,h_100,g_auto", "m_pad,w_100,h_100,g_auto", "m_fixed,w_1,g_auto"]
    {
        assert_eq!(parse(&split(bad)).unwrap_err().code, Code::InvalidArgument, "{bad}");
    }
    // Any other gravity stays the unknown parameter it was.
    for bad in ["m_fill,w_100,h_100,g_center", "m_fill,w_100,h_100,g_face", "m_fill,w_100,g_"] {
        let e = parse(&split(bad)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_ref()),
            (Code::InvalidArgument, "unknown parameter \"g_\" for resize")
        );
    }
}

#[test]
fn every_frame_of_a_fill_is_cut_where_the_first_was() {
    let step =
        ResizeStep { w: 120, h: 40, src_box: None, crop: Some((40, 0, 40, 40)), auto: true, pad: None };
    let frame = |x0: u32| {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(120, 40, |x, _| {
            Rgb(if (x0..x0 + 20).contains(&x) { [250, 20, 20] } else { [128, 128, 128] })
        }))
    };
    let mut place = None;
    let first = apply(&step, frame(90), &mut place).unwrap();
    assert_eq!((place, first.width(), first.height()), (Some((80, 0)), 40, 40), "the red bar, framed");
    let _ = apply(&step, frame(0), &mut place).unwrap();
    assert_eq!(place, Some((80, 0)), "later frames keep the first frame's window");
    // Without g_auto the centred window is cut and nothing is remembered.
    let centred = ResizeStep { auto: false, ..step };
    let mut none = None;
    let _ = apply(&centred, frame(90), &mut none).unwrap();
    assert_eq!(none, None);
}

use crate::transform::limits::Limits;
