use super::*;
use crate::transform::error::Code;
use crate::transform::{parse, Limits, NoStyles};

fn p(s: &str) -> Result<Pipeline> {
    parse(s, &NoStyles, &Limits::default())
}

#[test]
fn snapshot_parameters_print_canonically_with_their_format() {
    let q = p("video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast").unwrap();
    assert_eq!(q.to_string(), "video/snapshot,t_7000,w_800,h_600,m_fast/format,jpg");
    assert_eq!(q.format, Some(Format::Jpeg));
    // Defaults: t 0, the frame's size, jpg; order of parameters does not matter.
    assert_eq!(p("video/snapshot").unwrap().to_string(), "video/snapshot,t_0,w_0,h_0/format,jpg");
    assert_eq!(
        p("video/snapshot,ar_h,f_png,t_5").unwrap().to_string(),
        "video/snapshot,t_5,w_0,h_0,ar_h/format,png"
    );
    // Image actions after it run on the frame; a later format wins over f_.
    let q = p("video/snapshot,t_1000,f_png/resize,w_100/format,webp").unwrap();
    assert_eq!(q.to_string(), "video/snapshot,t_1000,w_0,h_0/resize,m_lfit,w_100,limit_1/format,webp");
}

#[test]
fn bad_parameters_get_their_own_ec() {
    let cases = [
        ("t_-1", ec::T),
        ("t_abc", ec::T),
        ("t_86400001", ec::T),
        ("w_-800", ec::W),
        ("w_16385", ec::W),
        ("h_x", ec::H),
        ("m_slow", ec::M),
        ("f_gif", ec::F),
        ("f_webp", ec::F),
        ("ar_x", ec::AR),
        ("z_1", ec::PARAMETER),
    ];
    for (param, want) in cases {
        let e = p(&format!("video/snapshot,t_1000,{param}")).unwrap_err();
        assert_eq!((e.code, e.ec), (Code::InvalidArgument, Some(want)), "{param}");
    }
    assert_eq!(p("video/snapshotx").unwrap_err().code, Code::InvalidArgument);
    assert_eq!(p("video/convert,f_mp4").unwrap_err().code, Code::NotImplemented);
    assert!(p("video/snapshot,t_1/info").is_err());
}

fn frame(s: &str, w: u32, h: u32) -> Result<Pipeline> {
    frame_pipeline(&p(s).unwrap(), w, h)
}

#[test]
fn the_frame_pipeline_sizes_and_turns_as_asked() {
    // Both sides: exact; one side: the other by aspect; none: the frame as it is.
    let f = frame("video/snapshot,t_1,w_80,h_60", 160, 90).unwrap();
    assert_eq!(f.to_string(), "image/auto-orient,0/resize,m_fixed,w_80,h_60,limit_1/format,jpg");
    assert!(f.snapshot.is_none());
    assert_eq!(
        frame("video/snapshot,h_45", 160, 90).unwrap().to_string(),
        "image/auto-orient,0/resize,m_lfit,h_45,limit_1/format,jpg"
    );
    assert_eq!(frame("video/snapshot", 160, 90).unwrap().to_string(), "image/auto-orient,0/format,jpg");
    // ar_h turns a landscape frame upright; ar_w leaves it.
    assert_eq!(frame("video/snapshot,ar_h", 160, 90).unwrap().ops, vec![Op::Rotate(90)]);
    assert!(frame("video/snapshot,ar_w", 160, 90).unwrap().ops.is_empty());
    assert_eq!(frame("video/snapshot,ar_w", 90, 160).unwrap().ops, vec![Op::Rotate(90)]);
    // The request's own actions come after the snapshot's.
    let f = frame("video/snapshot,w_80/rotate,180", 160, 90).unwrap();
    assert_eq!(f.ops.last(), Some(&Op::Rotate(180)));
}

#[test]
fn sizes_beyond_the_video_are_refused_as_oss_does() {
    let e = frame("video/snapshot,w_161", 160, 90).unwrap_err();
    assert_eq!(e.ec, Some(ec::W));
    let e = frame("video/snapshot,h_91", 160, 90).unwrap_err();
    assert_eq!(e.ec, Some(ec::H));
    // Compared with the turned frame: 90 wide once ar_h has stood it up.
    assert_eq!(frame("video/snapshot,ar_h,w_100", 160, 90).unwrap_err().ec, Some(ec::W));
    assert!(frame("video/snapshot,ar_h,h_160", 160, 90).is_ok());
}
