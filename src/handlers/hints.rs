//! Client hints (an imgedge extension, a bucket's `client_hints`): a browser told by
//! `Accept-CH` sends its device pixel ratio and the image's display width, and the answer is
//! sized for them. `w_`/`h_`/`l_`/`s_` of each resize are scaled by the DPR (capped at
//! [`MAX_DPR`]); a pipeline without a resize gets one to the width hint (never enlarging). As with `format,auto`, the hints are folded into the
//! pipeline before the variant key is made, so the key holds the effective size, never a header.

use crate::transform::ops::resize::{self, ResizeSpec};
use crate::transform::params::split;
use crate::transform::spec::{Op, Output};
use crate::transform::Pipeline;

/// The largest DPR honoured: past 3 no eye tells the difference and bytes grow with its square.
pub const MAX_DPR: f64 = 3.0;

/// What answers of a hints bucket say (browsers send the hints to this origin from then on).
pub const ACCEPT_CH: &str = "Sec-CH-DPR, Sec-CH-Width, Sec-CH-Viewport-Width, DPR, Width, Viewport-Width";

/// The request headers the answer was chosen by, for `Vary` (empty: none).
pub fn apply(p: &mut Pipeline, header: impl Fn(&str) -> Option<String>, max_side: u32) -> Vec<&'static str> {
    if p.output != Output::Image {
        return Vec::new();
    }
    let number = |names: [&str; 2]| names.iter().find_map(|n| header(n)?.trim().parse::<f64>().ok());
    let dpr = number(["sec-ch-dpr", "dpr"])
        .filter(|d| d.is_finite() && *d > 0.0)
        .map_or(1.0, |d| d.clamp(1.0, MAX_DPR));
    let width = number(["sec-ch-width", "width"])
        .or_else(|| number(["sec-ch-viewport-width", "viewport-width"]).map(|v| v * dpr))
        .filter(|w| w.is_finite() && *w >= 1.0)
        .map(|w| (w.round() as u32).min(max_side));
    let mut vary = Vec::new();
    let scale = |v: Option<u32>| v.map(|v| ((f64::from(v) * dpr).round() as u32).clamp(1, max_side));
    let mut has_resize = false;
    for op in &mut p.ops {
        let Op::Resize(r) = op else { continue };
        has_resize = true;
        if r.p.is_none() {
            (r.w, r.h, r.l, r.s) = (scale(r.w), scale(r.h), scale(r.l), scale(r.s));
            vary.extend(["Sec-CH-DPR", "DPR"]);
        }
    }
    if !has_resize {
        if let Some(w) = width {
            // `limit_1` (the default): a hint never makes an image larger than it is.
            let spec: ResizeSpec = resize::parse(&split(&format!("w_{w}"))).expect("a width in range parses");
            p.ops.insert(0, Op::Resize(spec));
        }
        vary.extend([
            "Sec-CH-Width",
            "Width",
            "Sec-CH-Viewport-Width",
            "Viewport-Width",
            "Sec-CH-DPR",
            "DPR",
        ]);
    }
    vary.sort_unstable();
    vary.dedup();
    vary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{parse, Limits, NoStyles};

    fn run(process: &str, headers: &[(&str, &str)]) -> (String, Vec<&'static str>) {
        let mut p = parse(process, &NoStyles, &Limits::default()).unwrap();
        let vary =
            apply(&mut p, |n| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()), 16384);
        (p.to_string(), vary)
    }

    #[test]
    fn dpr_scales_sizes_and_is_capped() {
        assert_eq!(
            run("image/resize,w_300,h_200", &[("sec-ch-dpr", "2")]).0,
            run("image/resize,w_600,h_400", &[]).0
        );
        assert_eq!(run("image/resize,w_300", &[("dpr", "1.5")]).0, run("image/resize,w_450", &[]).0);
        assert_eq!(
            run("image/resize,w_300", &[("sec-ch-dpr", "9")]).0,
            run("image/resize,w_900", &[]).0,
            "capped at 3"
        );
        for junk in ["0", "-2", "NaN", "inf", "two", ""] {
            assert_eq!(
                run("image/resize,w_300", &[("sec-ch-dpr", junk)]).0,
                run("image/resize,w_300", &[]).0,
                "{junk}"
            );
        }
        assert_eq!(
            run("image/resize,p_50", &[("sec-ch-dpr", "2")]).0,
            run("image/resize,p_50", &[]).0,
            "a percentage stays"
        );
        assert_eq!(run("image/resize,w_16000", &[("sec-ch-dpr", "3")]).0, run("image/resize,w_16384", &[]).0);
        let (_, vary) = run("image/resize,w_300", &[]);
        assert_eq!(vary, ["DPR", "Sec-CH-DPR"], "consulted even when absent");
    }

    #[test]
    fn a_width_hint_fills_a_missing_width() {
        let (p, vary) = run("image/rotate,90", &[("sec-ch-width", "640")]);
        assert_eq!(p, run("image/resize,w_640/rotate,90", &[]).0);
        assert!(vary.contains(&"Sec-CH-Width") && vary.contains(&"Width"));
        assert_eq!(
            run("image/rotate,90", &[("viewport-width", "400"), ("dpr", "2")]).0,
            run("image/resize,w_800/rotate,90", &[]).0
        );
        let (p, vary) = run("image/resize,h_100", &[("width", "320")]);
        assert_eq!(p, run("image/resize,h_100", &[]).0, "a resize that names its size keeps it");
        assert_eq!(vary, ["DPR", "Sec-CH-DPR"]);
        let plain = parse("image/rotate,90", &NoStyles, &Limits::default()).unwrap().to_string();
        assert_eq!(run("image/rotate,90", &[("dpr", "2")]).0, plain, "no width hint, no resize added");
        assert!(run("image/info", &[("width", "320")]).1.is_empty(), "info has no size");
    }
}
