//! Client hints through the proxy: a bucket with `client_hints` sizes answers by DPR and width
//! hints, says `Accept-CH` and `Vary`, and keys variants by the effective size only.

use super::common::server::{metric, metric_reaches, request, start, PUBLIC};

fn hinted() -> String {
    PUBLIC.replace("name = \"demo\"\n", "name = \"demo\"\nclient_hints = true\n")
}

#[test]
fn hints_size_the_answer_and_say_so() {
    let p = start("hints", "", &hinted());
    let r = request(&p.addr, "GET", "/example.jpg?x-oss-process=image/resize,w_100", &[("Sec-CH-DPR", "2")]);
    assert_eq!((r.status, r.image().width()), (200, 200), "w_100 at DPR 2");
    let vary = r.header("vary").unwrap();
    assert!(vary.contains("Sec-CH-DPR") && vary.contains("DPR"), "{vary}");
    assert!(r.header("accept-ch").unwrap().contains("Sec-CH-Width"));
    let r = request(&p.addr, "GET", "/example.jpg?x-oss-process=image/resize,w_100", &[("DPR", "7")]);
    assert_eq!(r.image().width(), 300, "the legacy header, capped at 3");
    let r = request(&p.addr, "GET", "/example.jpg?x-oss-process=image/rotate,90", &[("Sec-CH-Width", "150")]);
    let img = r.image();
    assert_eq!(
        (img.width(), img.height()),
        (100, 150),
        "a width hint fills the missing resize, before the rotation"
    );
    assert!(r.header("vary").unwrap().contains("Sec-CH-Width"));
    let r =
        request(&p.addr, "GET", "/example.jpg?x-oss-process=image/rotate,90", &[("Sec-CH-Width", "4000")]);
    assert_eq!(r.image().height(), 400, "never larger than the source");
    // Fifty hint values land on as many variants as they make distinct sizes.
    let before = metric(&p, "imgedge_cache_misses_total");
    let mut widths = std::collections::BTreeSet::new();
    for i in 0..50 {
        let dpr = ["1", "1.0", "1.00", "2", "2.0", "3", "4.5", "0.5", "x"][i % 9].to_string();
        let dpr =
            if i >= 9 { format!("{:.3}", 1.0 + (i % 7) as f64 * 0.25 + (i as f64) * 0.0001) } else { dpr };
        let r = request(
            &p.addr,
            "GET",
            "/example.jpg?x-oss-process=image/resize,w_80,limit_0",
            &[("Sec-CH-DPR", &dpr)],
        );
        assert_eq!(r.status, 200, "{dpr}");
        widths.insert(r.image().width());
    }
    let made = before + widths.len() as f64;
    assert!(
        metric_reaches(&p, "imgedge_cache_misses_total", made),
        "one variant per effective width: {widths:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(metric(&p, "imgedge_cache_misses_total"), made, "and no more: {widths:?}");
    assert!(widths.len() <= 9, "{widths:?}");
}

#[test]
fn buckets_without_hints_ignore_them() {
    let p = start("hints-off", "", PUBLIC);
    let r = request(
        &p.addr,
        "GET",
        "/example.jpg?x-oss-process=image/resize,w_100",
        &[("Sec-CH-DPR", "2"), ("Sec-CH-Width", "300")],
    );
    assert_eq!(r.image().width(), 100);
    assert!(r.header("accept-ch").is_none() && r.header("vary").is_none());
}
