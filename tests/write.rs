//! The write path end to end, against a directory bucket and the real S3 server: the official
//! `oss2` SDK writes (saveas, async), configures (styles, referer, processConfiguration) and is
//! refused (tests/sdk/oss2_write.py), while this test checks the buckets themselves: exactly the
//! expected objects appear, refusals write nothing, state survives a restart, and a saveas
//! killed mid-write leaves the old object or the new one and nothing else.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::fixtures::HOSTILE_KEYS;
use common::s3::{self, S3Server};
use common::server::{start, try_request_body, Proxy};

const WRITER: (&str, &str) = ("LTAI5tWriterKey", "writer-secret-1");
const READER: (&str, &str) = ("LTAI5tReaderKey", "reader-secret-1");

/// Every file below `dir` with its bytes, by relative path.
fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Keys that are new or changed from `before` to `after`.
fn changed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    assert!(before.keys().all(|k| after.contains_key(k)), "nothing may disappear");
    after.iter().filter(|(k, v)| before.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect()
}

struct Setup {
    proxy: Proxy,
    s3: S3Server,
    other: PathBuf,
    _web: common::origin::Origin,
}

fn setup(name: &str) -> Setup {
    let base = common::temp_dir(&format!("{name}-extra"));
    let s3 = s3::start(&base.join("s3"));
    let cloud = s3.bucket("photos");
    std::fs::copy(common::corpus("oss/example.jpg"), cloud.join("example.jpg")).unwrap();
    std::fs::copy(common::corpus("oss/example.jpg"), cloud.join("victim.jpg")).unwrap();
    let other = base.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let web_dir = base.join("web");
    std::fs::create_dir_all(&web_dir).unwrap();
    let web = common::origin::serve(web_dir, "/base");
    let conf = format!(
        "[[access_keys]]\nid = \"{}\"\nsecret = \"{}\"\nwrite = [\"*\"]\n\
         [[access_keys]]\nid = \"{}\"\nsecret = \"{}\"\n\
         [[buckets]]\nname = \"demo\"\nstyle_delimiters = [\"!\"]\n[buckets.origin]\ntype = \"dir\"\npath = \"{{dir}}\"\n\
         [buckets.styles]\nthumb = \"image/resize,w_100\"\n\
         [[buckets]]\nname = \"other\"\n[buckets.origin]\ntype = \"dir\"\npath = \"{}\"\n\
         [[buckets]]\nname = \"cloud\"\n[buckets.origin]\ntype = \"s3\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
         bucket = \"photos\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\npath_style = true\n\
         [[buckets]]\nname = \"webro\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        WRITER.0,
        WRITER.1,
        READER.0,
        READER.1,
        other.display(),
        s3.endpoint,
        s3::ACCESS_KEY,
        s3::SECRET_KEY,
        web.addr,
    );
    let proxy = start(name, "", &conf);
    std::fs::create_dir_all(proxy.dir.join("sub")).unwrap();
    std::fs::copy(common::corpus("oss/example.jpg"), proxy.dir.join("sub/photo.jpg")).unwrap();
    std::fs::copy(common::corpus("oss/example.jpg"), proxy.dir.join("victim.jpg")).unwrap();
    Setup { proxy, s3, other, _web: web }
}

fn sdk(p: &Proxy, phase: &str) {
    let hostile = serde_json::to_string(&HOSTILE_KEYS).unwrap();
    common::sdk::run(
        "oss2_write.py",
        &[
            ("IMGEDGE_ENDPOINT", format!("http://{}", p.addr)),
            ("IMGEDGE_WRITER_AK", WRITER.0.into()),
            ("IMGEDGE_WRITER_SK", WRITER.1.into()),
            ("IMGEDGE_READER_AK", READER.0.into()),
            ("IMGEDGE_READER_SK", READER.1.into()),
            ("IMGEDGE_HOSTILE", hostile),
            ("IMGEDGE_PHASE", phase.into()),
        ],
    );
}

#[test]
fn the_sdk_writes_configures_is_refused_and_state_survives_a_restart() {
    let mut s = setup("write-sdk");
    let dirs = [s.proxy.dir.clone(), s.other.clone(), s.s3.bucket("photos")];
    let before: Vec<_> = dirs.iter().map(|d| listing(d)).collect();
    sdk(&s.proxy, "write");
    let after: Vec<_> = dirs.iter().map(|d| listing(d)).collect();
    // Exactly one object per write, at exactly the validated key (and nothing else: no
    // temporary files, no state documents).
    let want: [&[&str]; 3] = [
        &["async/a.png", "out/V1.png", "out/V4.png", "out/std.png", "sub/photo_w50.webp", "victim.jpg"],
        &["from-demo.png"],
        &["from-demo.png", "s3/thumb.png", "victim.jpg"],
    ];
    for (i, w) in want.iter().enumerate() {
        let mut got = changed(&before[i], &after[i]);
        // s3s-fs keeps its own metadata files beside objects; they are not objects.
        got.retain(|k| !k.contains(".s3s"));
        assert_eq!(got, *w, "objects written in {}", dirs[i].display());
    }
    sdk(&s.proxy, "refuse");
    for (i, d) in dirs.iter().enumerate() {
        assert_eq!(
            listing(d).keys().collect::<Vec<_>>(),
            after[i].keys().collect::<Vec<_>>(),
            "refusals wrote nothing"
        );
    }
    let state = s.proxy.dir.parent().unwrap().join("imgedge-state/demo.json");
    assert!(state.is_file(), "the API's changes are stored next to the configuration");
    s.proxy = s.proxy.restart();
    sdk(&s.proxy, "restarted");
}

/// Open files of `pid` that are unnamed (`O_TMPFILE`, "(deleted)") or carry the temporary
/// name, in `dir`: a write in progress.
fn writing(pid: u32, dir: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| {
            let t = t.to_string_lossy();
            t.starts_with(&*dir.to_string_lossy()) && (t.ends_with("(deleted)") || t.contains("\\imgedge-"))
        })
    })
}

#[test]
fn a_saveas_killed_mid_write_leaves_the_old_object_or_the_new_one() {
    let mut s = setup("write-kill");
    let dir = s.proxy.dir.clone();
    // A 4000×3000 source made BMP: a 36 MB write, long enough to be caught in the act.
    std::fs::write(dir.join("big.jpg"), common::jpeg(4000, 3000)).unwrap();
    let old = b"the old object".to_vec();
    std::fs::write(dir.join("target.bmp"), &old).unwrap();
    let before: Vec<String> = listing(&dir).into_keys().collect();
    let body = format!("x-oss-process=image/format,bmp|sys/saveas,o_{}", common::b64("target.bmp"));
    let mut caught = 0;
    for _ in 0..5 {
        let addr = s.proxy.addr.clone();
        let body = body.clone();
        let ctype = "application/x-www-form-urlencoded";
        let (date, authz) =
            common::sign::header_v1(WRITER.0, WRITER.1, "POST", ctype, "/demo/big.jpg?x-oss-process");
        let client = std::thread::spawn(move || {
            let h = [("Content-Type", ctype), ("Date", date.as_str()), ("Authorization", authz.as_str())];
            try_request_body(&addr, "POST", "/big.jpg?x-oss-process", &h, body.as_bytes())
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut killed = false;
        while Instant::now() < deadline && !client.is_finished() {
            if writing(s.proxy.pid(), &dir) {
                s.proxy.signal("KILL");
                killed = true;
                break;
            }
        }
        let _ = client.join();
        let now = std::fs::read(dir.join("target.bmp")).unwrap();
        let whole = now == old
            || image::load_from_memory(&now).is_ok_and(|i| (i.width(), i.height()) == (4000, 3000));
        assert!(whole, "target.bmp is neither the old object nor the new one ({} bytes)", now.len());
        let files: Vec<String> = listing(&dir).into_keys().collect();
        assert_eq!(files, before, "a killed write leaves no other file");
        if killed {
            caught += 1;
            std::fs::write(dir.join("target.bmp"), &old).unwrap();
        }
        s.proxy = s.proxy.restart();
    }
    assert!(caught > 0, "no attempt was caught mid-write");
}

#[test]
fn a_saveas_to_s3_killed_at_any_moment_leaves_the_old_object_or_the_new_one() {
    let mut s = setup("write-kill-s3");
    let cloud = s.s3.bucket("photos");
    std::fs::write(cloud.join("big.jpg"), common::jpeg(4000, 3000)).unwrap();
    let old = b"the old object".to_vec();
    std::fs::write(cloud.join("target.bmp"), &old).unwrap();
    let objects = |l: BTreeMap<String, Vec<u8>>| -> Vec<String> {
        l.into_keys().filter(|k| !k.contains(".s3s")).collect()
    };
    let before = objects(listing(&cloud));
    let body = format!("x-oss-process=image/format,bmp|sys/saveas,o_{}", common::b64("target.bmp"));
    let post = |addr: String| {
        let body = body.clone();
        let ctype = "application/x-www-form-urlencoded";
        let (date, authz) =
            common::sign::header_v1(WRITER.0, WRITER.1, "POST", ctype, "/cloud/big.jpg?x-oss-process");
        std::thread::spawn(move || {
            let h = [
                ("Host", "cloud.localhost"),
                ("Content-Type", ctype),
                ("Date", date.as_str()),
                ("Authorization", authz.as_str()),
            ];
            try_request_body(&addr, "POST", "/big.jpg?x-oss-process", &h, body.as_bytes())
        })
    };
    // How long a whole saveas takes here; then kill at points spread over that time, the last
    // ones while the 36 MB PUT is on its way.
    let t = Instant::now();
    let r = post(s.proxy.addr.clone()).join().unwrap().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let whole = t.elapsed();
    std::fs::write(cloud.join("target.bmp"), &old).unwrap();
    let mut outcomes = Vec::new();
    for tenth in [5, 7, 8, 9, 10] {
        let client = post(s.proxy.addr.clone());
        std::thread::sleep(whole * tenth / 11);
        s.proxy.signal("KILL");
        let _ = client.join();
        s.proxy = s.proxy.restart();
        // s3s-fs finishes or drops the upload once the connection is gone.
        std::thread::sleep(Duration::from_millis(300));
        let now = std::fs::read(cloud.join("target.bmp")).unwrap();
        let new = image::load_from_memory(&now).is_ok_and(|i| (i.width(), i.height()) == (4000, 3000));
        assert!(
            now == old || new,
            "target.bmp is neither the old object nor the new one ({} bytes)",
            now.len()
        );
        assert_eq!(objects(listing(&cloud)), before, "a killed write leaves no other object");
        outcomes.push(if new { "new" } else { "old" });
        std::fs::write(cloud.join("target.bmp"), &old).unwrap();
    }
    println!("kill outcomes: {outcomes:?}");
}
