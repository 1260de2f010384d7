//! The order and every rule of `authorize`, one table row each.

use super::*;
use crate::access::protect::Request as Kind;
use crate::bucket::settings::Stored;

fn keys() -> Keys {
    let k = |id: &str, read: &[&str], write: &[&str]| config::AccessKey {
        id: id.into(),
        secret: "s".into(),
        buckets: read.iter().map(|s| s.to_string()).collect(),
        write: write.iter().map(|s| s.to_string()).collect(),
    };
    Keys::new(
        &[
            k("reader", &[], &[]),
            k("writer", &[], &["demo"]),
            k("all", &[], &["*"]),
            k("other", &["other"], &["*"]),
        ],
        &Default::default(),
    )
}

fn settings() -> Settings {
    let conf = config::Bucket {
        name: "demo".into(),
        source_protect: true,
        source_protect_suffixes: vec!["jpg".into()],
        referer: config::Referer {
            allow_empty: false,
            whitelist: vec!["https://ok.test".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    Settings::build(&conf, &Stored::default(), 0)
}

fn signed(id: &str, by_header: bool) -> Auth {
    Auth::Signed { access_key_id: id.into(), by_header, payload_sha256: None, expires: None }
}

#[test]
fn rules_in_order() {
    let s = settings();
    let keys = keys();
    let intent =
        |action: &'static Action,
         acl,
         reads: Vec<(&'static str, Kind)>,
         writes: Vec<&'static str>,
         referer| Intent { action, bucket: "demo", acl, settings: &s, reads, writes, referer };
    let go = |i: &Intent<'_>, a: &Auth| authorize(i, a, &keys).map_err(|e| (e.status, e.ec));
    let ok_ref = Some("https://ok.test/page");
    static GET: Action = Action::GetObject;
    static SAVE: Action = Action::SaveAs;
    static PUT: Action = Action::PutReferer;
    static LIST: Action = Action::ListStyles;
    // ACL first: a private bucket refuses anonymous requests whatever else holds.
    assert_eq!(
        go(&intent(&GET, Acl::Private, vec![("a.png", Kind::Raw)], vec![], ok_ref), &Auth::Anonymous),
        Err((403, None))
    );
    // Signed-only actions.
    assert_eq!(go(&intent(&LIST, Acl::PublicRead, vec![], vec![], None), &Auth::Anonymous), Err((403, None)));
    assert!(go(&intent(&LIST, Acl::PublicRead, vec![], vec![], None), &signed("reader", true)).is_ok());
    // Key scope: read, bucket changes, saveas targets.
    assert_eq!(
        go(&intent(&LIST, Acl::PublicRead, vec![], vec![], None), &signed("other", true)),
        Err((403, None))
    );
    assert_eq!(
        go(&intent(&PUT, Acl::PublicRead, vec![], vec![], None), &signed("reader", true)),
        Err((403, None))
    );
    assert!(go(&intent(&PUT, Acl::PublicRead, vec![], vec![], None), &signed("writer", true)).is_ok());
    assert!(go(&intent(&PUT, Acl::PublicRead, vec![], vec![], None), &signed("all", true)).is_ok());
    let save = |w| intent(&SAVE, Acl::PublicRead, vec![("a.png", Kind::Image)], w, None);
    assert_eq!(go(&save(vec!["demo"]), &signed("reader", true)), Err((403, None)));
    assert!(go(&save(vec!["demo"]), &signed("writer", true)).is_ok());
    assert_eq!(go(&save(vec!["elsewhere"]), &signed("writer", true)), Err((403, None)));
    assert_eq!(go(&save(vec!["demo"]), &Auth::Anonymous), Err((403, None)));
    // Referer: anonymous and presigned, not header-signed.
    let raw_png = |r| intent(&GET, Acl::PublicRead, vec![("a.png", Kind::Raw)], vec![], r);
    assert_eq!(go(&raw_png(None), &Auth::Anonymous), Err((403, Some("0003-00000501"))));
    assert_eq!(
        go(&raw_png(Some("https://bad.test/")), &signed("reader", false)),
        Err((403, Some("0003-00000503")))
    );
    assert!(go(&raw_png(None), &signed("reader", true)).is_ok());
    assert!(go(&raw_png(ok_ref), &Auth::Anonymous).is_ok());
    // Protection of every object read, watermark images included.
    let reads = |r: Vec<(&'static str, Kind)>| intent(&GET, Acl::PublicRead, r, vec![], ok_ref);
    assert_eq!(go(&reads(vec![("a.jpg", Kind::Raw)]), &Auth::Anonymous), Err((403, None)));
    assert_eq!(go(&reads(vec![("a.jpg", Kind::Image)]), &Auth::Anonymous), Err((403, Some("0040-00000031"))));
    assert!(go(&reads(vec![("a.jpg", Kind::Style)]), &Auth::Anonymous).is_ok());
    let mark = vec![("a.gif", Kind::Image), ("secret.jpg", Kind::Image)];
    assert_eq!(go(&reads(mark.clone()), &Auth::Anonymous), Err((403, Some("0040-00000031"))));
    assert!(go(&reads(mark), &signed("reader", false)).is_ok());
}
