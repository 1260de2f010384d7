//! The browser console through a real `imgedge serve`: the whole walk in headless Chromium
//! (tests/browser/console.py), and its security over plain HTTP: no session → no page and no
//! action, read-only keys change nothing, CSRF tokens, markup rendered as text, hostile requests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::sdk::browser_python;
use common::server::{free_port, get, request, try_request_body, Proxy, Response, PUBLIC};

const KEYS: &str = "[[access_keys]]\nid = \"admin\"\nsecret = \"admin-secret\"\nwrite = [\"*\"]\n\
    [[access_keys]]\nid = \"viewer\"\nsecret = \"viewer-secret\"\nbuckets = [\"demo\"]\n";
const OTHER: &str =
    "[[buckets]]\nname = \"other\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://127.0.0.1:9\"\n";

/// A proxy with its console on a free loopback port; returns both.
fn console(name: &str) -> (Proxy, String) {
    let port = free_port();
    let conf = format!("{KEYS}{PUBLIC}{OTHER}\n[console]\nlisten = \"127.0.0.1:{port}\"\n");
    let p = common::server::start(name, "header_timeout_s = 2", &conf);
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the console did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (p, addr)
}

fn post(addr: &str, path: &str, cookie: Option<&str>, form: &str, extra: &[(&str, &str)]) -> Response {
    let cookie = cookie.map(|c| format!("imgedge_console={c}"));
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend(cookie.as_deref().map(|c| ("Cookie", c)));
    headers.extend_from_slice(extra);
    try_request_body(addr, "POST", path, &headers, form.as_bytes()).unwrap()
}

fn page(addr: &str, path: &str, cookie: &str) -> Response {
    request(addr, "GET", path, &[("Cookie", &format!("imgedge_console={cookie}"))])
}

/// Signs in; returns the session cookie's value and the session's CSRF token.
fn sign_in(addr: &str, id: &str, secret: &str) -> (String, String) {
    let r = post(addr, "/login", None, &format!("id={id}&secret={secret}"), &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    let set = r.header("set-cookie").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=3600", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains(secret));
    let cookie = set.split(';').next().unwrap().trim_start_matches("imgedge_console=").to_string();
    let home = page(addr, "/", &cookie).text();
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (cookie, csrf)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_console_in_a_real_browser() {
    let (p, console) = console("console-browser");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-shots");
    let _ = std::fs::remove_dir_all(&shots);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.py");
    let out = Command::new(browser_python())
        .arg(script)
        .env("IMGEDGE_ENDPOINT", format!("http://{}", p.addr))
        .env("IMGEDGE_CONSOLE", format!("http://{console}"))
        .env("IMGEDGE_METRICS", format!("http://{}", p.metrics))
        .env("IMGEDGE_AK", "admin")
        .env("IMGEDGE_SK", "admin-secret")
        .env("IMGEDGE_RO_AK", "viewer")
        .env("IMGEDGE_RO_SK", "viewer-secret")
        .env("IMGEDGE_SHOTS", &shots)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success() && text.contains("all checks passed"), "{text}");
    for shot in ["sign-in.png", "overview.png", "bucket.png", "editor.png"] {
        let png = std::fs::read(shots.join(shot)).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert!(img.width() >= 1000, "{shot} is a real screenshot");
    }
}

#[test]
fn without_a_session_there_is_no_page_and_no_action() {
    let (p, c) = console("console-anon");
    for path in ["/", "/b/demo", "/b/demo/style?name=thumb"] {
        let r = get(&c, path);
        assert_eq!((r.status, r.header("location")), (303, Some("/login")), "{path}");
    }
    for path in ["/b/demo/preview?key=example.jpg", "/stats.json", "/b/demo/objects.json"] {
        assert_eq!(get(&c, path).status, 401, "{path}");
    }
    let forged = "0".repeat(64);
    for cookie in [None, Some(forged.as_str())] {
        let r = post(&c, "/b/demo/style", cookie, "name=evil&content=image/resize,w_10&csrf=x", &[]);
        assert_eq!(r.status, 401, "{}", r.text());
        let r = post(&c, "/b/demo/settings", cookie, "protect=on&suffixes=jpg&csrf=x", &[]);
        assert_eq!(r.status, 401);
    }
    assert_eq!(get(&p.addr, "/example.jpg?x-oss-process=style/evil").status, 404, "no style was made");
    assert_eq!(get(&p.addr, "/example.jpg").status, 200, "protection is still off");
    let r = post(&c, "/login", None, "id=admin&secret=wrong", &[]);
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none() && r.text().contains("wrong secret"));
}

#[test]
fn a_read_only_key_sees_but_cannot_change() {
    let (p, c) = console("console-readonly");
    let (cookie, csrf) = sign_in(&c, "viewer", "viewer-secret");
    let home = page(&c, "/", &cookie).text();
    assert!(home.contains("/b/demo") && !home.contains("/b/other"), "only the buckets the key may read");
    assert_eq!(page(&c, "/b/other", &cookie).status, 404);
    let b = page(&c, "/b/demo", &cookie);
    assert_eq!(b.status, 200);
    let html = b.text();
    assert!(html.contains("id=\"settings-form\"") && html.contains("thumb"), "the settings are shown");
    assert_eq!(html.matches("type=\"submit\"").count(), 1, "no button but sign-out:\n{html}");
    assert!(!html.contains("id=\"new-style\"") && !html.contains("id=\"purge-form\""));
    let editor = page(&c, "/b/demo/style?name=thumb", &cookie).text();
    assert!(editor.contains("image/resize,w_100") && !editor.contains("save-style"));
    for (path, form) in [
        ("/b/demo/settings", "protect=on&suffixes=jpg"),
        ("/b/demo/referer", "whitelist=https://a.example"),
        ("/b/demo/style", "name=ro&content=image/resize,w_10"),
        ("/b/demo/style/delete", "name=thumb"),
        ("/b/demo/purge", "key=example.jpg"),
    ] {
        let r = post(&c, path, Some(&cookie), &format!("{form}&csrf={csrf}"), &[]);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains("AccessDenied"), "the API's refusal is shown: {path}");
    }
    assert_eq!(get(&p.addr, "/example.jpg").status, 200, "protection is still off");
    assert_eq!(get(&p.addr, "/example.jpg@!thumb").status, 200, "the style is still there");
    assert_eq!(get(&p.addr, "/example.jpg@!ro").status, 404, "no style was made");
    let preview = page(&c, "/b/demo/preview?key=example.jpg&process=image/resize,w_50", &cookie);
    assert_eq!((preview.status, preview.image().width()), (200, 50), "reading is allowed");
}

#[test]
fn forms_need_the_sessions_csrf_token() {
    let (p, c) = console("console-csrf");
    let (cookie, csrf) = sign_in(&c, "admin", "admin-secret");
    let (_, other_csrf) = sign_in(&c, "admin", "admin-secret");
    let form = "protect=on&suffixes=jpg&delimiter=%40%21";
    for (what, body, extra) in [
        ("no token", form.to_string(), vec![]),
        ("a wrong token", format!("{form}&csrf=00"), vec![]),
        ("another session's token", format!("{form}&csrf={other_csrf}"), vec![]),
        ("a foreign Origin", format!("{form}&csrf={csrf}"), vec![("Origin", "http://evil.example")]),
        ("a cross-site fetch", format!("{form}&csrf={csrf}"), vec![("Sec-Fetch-Site", "cross-site")]),
    ] {
        let r = post(&c, "/b/demo/settings", Some(&cookie), &body, &extra);
        assert_eq!(r.status, 403, "{what}");
        assert_eq!(get(&p.addr, "/example.jpg").status, 200, "{what}: nothing changed");
    }
    let r = post(&c, "/b/demo/settings", Some(&cookie), &format!("{form}&csrf={csrf}"), &[]);
    assert_eq!((r.status, r.header("location")), (303, Some("/b/demo?ok=settings")), "{}", r.text());
    assert_eq!(get(&p.addr, "/example.jpg").status, 403, "the token's own session changes the bucket");
    assert_eq!(get(&p.addr, "/example.jpg@!thumb").status, 200);
    let r = post(&c, "/login", None, "id=admin&secret=admin-secret", &[("Origin", "http://evil.example")]);
    assert_eq!(r.status, 403, "a sign-in posted from another site");
    let r = post(&c, "/logout", Some(&cookie), "", &[]);
    assert_eq!(r.status, 403, "even sign-out needs the token");
    let r = post(&c, "/logout", Some(&cookie), &format!("csrf={csrf}"), &[]);
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(page(&c, "/b/demo", &cookie).status, 303, "the session is over");
}

#[test]
fn markup_renders_as_text() {
    let (_p, c) = console("console-markup");
    let (cookie, csrf) = sign_in(&c, "admin", "admin-secret");
    let name = "<script>alert(1)</script>";
    let r = post(
        &c,
        "/b/demo/style",
        Some(&cookie),
        &format!("name={}&content=image/resize,w_10&csrf={csrf}", enc(name)),
        &[],
    );
    assert_eq!(r.status, 400);
    let html = r.text();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains(name), "{html}");
    let content = "image/resize,w_10/\"><img src=x onerror=alert(1)>";
    let r = post(
        &c,
        "/b/demo/style",
        Some(&cookie),
        &format!("name=ok&content={}&csrf={csrf}", enc(content)),
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(!r.text().contains("<img src=x") && r.text().contains("&lt;img src=x"), "{}", r.text());
    let entry = "http://x/\"><img src=x onerror=alert(1)>";
    let r = post(
        &c,
        "/b/demo/referer",
        Some(&cookie),
        &format!("allow_empty=on&whitelist={}&csrf={csrf}", enc(entry)),
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let html = page(&c, "/b/demo", &cookie).text();
    assert!(
        !html.contains("<img src=x")
            && html.contains("http://x/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    );
    let key = "\"><svg onload=alert(1)>.jpg";
    let r = post(&c, "/b/demo/purge", Some(&cookie), &format!("key={}&csrf={csrf}", enc(key)), &[]);
    assert_eq!(r.status, 303, "purging a key nobody has is fine: {}", r.text());
    let r = page(&c, &format!("/b/demo/style?name={}", enc(name)), &cookie);
    assert!(!r.text().contains(name), "a name in the URL is escaped too");
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[test]
fn hostile_requests_to_the_console() {
    let (p, c) = console("console-hostile");
    let (cookie, csrf) = sign_in(&c, "admin", "admin-secret");
    // A declared body past the API's cap is refused before it is read.
    let mut s = TcpStream::connect(&c).unwrap();
    let head = format!(
        "POST /b/demo/settings HTTP/1.1\r\nHost: x\r\nCookie: imgedge_console={cookie}\r\nContent-Length: 10000000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // A request head that never ends is cut off at header_timeout_s.
    let mut s = TcpStream::connect(&c).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let n = s.read(&mut buf).unwrap_or(0);
    assert!(n == 0 && t.elapsed() < Duration::from_secs(8), "closed after the header timeout");
    // Keys that leave the bucket, unknown pages and buckets.
    for key in ["../imgedge.toml", "/etc/passwd", ""] {
        let r = page(&c, &format!("/b/demo/preview?key={}", enc(key)), &cookie);
        assert!(r.status == 400 || r.status == 404, "{key}: {}", r.status);
    }
    for path in ["/assets/../../imgedge.toml", "/assets/console.map", "/b/nope", "/b/demo/nope", "/admin"] {
        assert_eq!(page(&c, path, &cookie).status, 404, "{path}");
    }
    let r = post(&c, "/b/demo/purge", Some(&cookie), &format!("key=&csrf={csrf}"), &[]);
    assert_eq!(r.status, 400, "an empty key is refused with its reason");
    // Guessing secrets: after ten failures every sign-in waits, even with the right secret.
    for _ in 0..10 {
        assert_eq!(post(&c, "/login", None, "id=admin&secret=guess", &[]).status, 401);
    }
    assert_eq!(post(&c, "/login", None, "id=admin&secret=admin-secret", &[]).status, 429);
    assert_eq!(page(&c, "/b/demo", &cookie).status, 200, "sessions already open go on");
    assert_eq!(get(&p.addr, "/example.jpg").status, 200, "the proxy is untouched");
}

#[test]
fn asynchronous_tasks_are_listed_with_their_status_and_error() {
    let (p, c) = console("console-tasks");
    std::fs::write(p.dir.join("broken.jpg"), b"not an image at all").unwrap();
    let (cookie, _) = sign_in(&c, "admin", "admin-secret");
    let submit = |key: &str, target: &str| {
        let ctype = "application/x-www-form-urlencoded";
        let (date, auth) = common::sign::header_v1(
            "admin",
            "admin-secret",
            "POST",
            ctype,
            &format!("/demo/{key}?x-oss-async-process"),
        );
        let form = format!("x-oss-async-process=image/resize,w_10|sys/saveas,o_{}", common::b64(target));
        let h = [("Content-Type", ctype), ("Date", date.as_str()), ("Authorization", auth.as_str())];
        let r =
            try_request_body(&p.addr, "POST", &format!("/{key}?x-oss-async-process"), &h, form.as_bytes())
                .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    };
    submit("example.jpg", "out/ok.jpg");
    submit("broken.jpg", "out/bad.jpg");
    let deadline = Instant::now() + Duration::from_secs(20);
    let html = loop {
        let html = page(&c, "/b/demo", &cookie).text();
        if html.contains("Succeeded") && html.contains("Failed") {
            break html;
        }
        assert!(Instant::now() < deadline, "the tasks did not finish:\n{html}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(html.contains("demo/out/ok.jpg ("), "the result names the object written");
    assert!(html.contains("<span class=\"error\">"), "the failure shows its code and message");
}
