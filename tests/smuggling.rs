//! Request framing (AT-16): ambiguous or obsolete framings on a keep-alive connection must
//! never let bytes of one request's body be read as another request, whether imgedge answers
//! them itself or proxies them to the origin; hop-by-hop headers never reach the origin.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::origin;
use common::server::{get, start};

fn setup(name: &str) -> (common::server::Proxy, origin::Origin) {
    let dir = common::temp_dir(&format!("{name}-origin"));
    for f in ["example.jpg", "smuggled.jpg", "next.jpg"] {
        std::fs::copy(common::corpus("oss/example.jpg"), dir.join(f)).unwrap();
    }
    let o = origin::serve(dir, "/base");
    let conf = format!(
        "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        o.addr
    );
    (start(name, "", &conf), o)
}

/// Sends `bytes` on one connection and reads until the server closes it (or 5 s pass);
/// the status codes of the responses seen, in order.
fn exchange(addr: &str, bytes: &[u8]) -> Vec<u16> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.match_indices("HTTP/1.").filter_map(|(i, _)| text[i + 9..].get(..3)?.parse().ok()).collect()
}

/// The smuggled request, hidden where one reading of the framing puts a body.
const SMUGGLED: &str = "GET /smuggled.jpg HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[test]
fn ambiguous_framings_never_let_a_body_become_a_request() {
    let (p, o) = setup("smuggle");
    let chunked_hiding = format!("0\r\n\r\n{SMUGGLED}");
    let cases: Vec<(&str, String)> = vec![
        (
            "CL and TE",
            format!(
                "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_hiding}",
                chunked_hiding.len()
            ),
        ),
        (
            "TE and CL",
            format!(
                "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n{chunked_hiding}"
            ),
        ),
        (
            "duplicate CL",
            format!(
                "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
        ),
        (
            "TE chunked, identity",
            format!(
                "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n{chunked_hiding}"
            ),
        ),
        (
            "TE xchunked",
            format!("GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n{chunked_hiding}"),
        ),
        (
            "obs-fold",
            format!(
                "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nX-Fold: a\r\n Content-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
        ),
        (
            "HTTP/1.0 body without CL",
            format!("POST /example.jpg HTTP/1.0\r\nHost: localhost\r\n\r\n{SMUGGLED}"),
        ),
        (
            "Upgrade then bytes",
            format!("GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n{SMUGGLED}"),
        ),
        ("CONNECT", format!("CONNECT localhost:80 HTTP/1.1\r\nHost: localhost:80\r\n\r\n{SMUGGLED}")),
        (
            "processed CL and TE",
            format!(
                "GET /example.jpg?x-oss-process=image/resize,w_10 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_hiding}",
                chunked_hiding.len()
            ),
        ),
    ];
    for (name, bytes) in &cases {
        let before = o.hits("/base/smuggled.jpg");
        let statuses = exchange(&p.addr, bytes.as_bytes());
        if let Some(s) = statuses.first() {
            assert!(*s == 200 || (400..=405).contains(s) || *s == 501, "{name}: {s}");
        }
        if *name == "Upgrade then bytes" {
            // Not upgraded (the origin never sees `Upgrade`), so HTTP/1.1 goes on and the next
            // bytes are an ordinary pipelined request: answered by us, like any other.
            assert_eq!(statuses, vec![200, 200], "{name}");
            assert_eq!(o.hits("/base/smuggled.jpg"), before + 1, "{name}");
        } else {
            assert!(statuses.len() <= 1, "{name}: one request, one answer at most: {statuses:?}");
            assert_eq!(o.hits("/base/smuggled.jpg"), before, "{name}: a body was read as a request");
        }
        // The proxy is fine and the next connection is framed normally.
        assert_eq!(get(&p.addr, "/next.jpg").status, 200, "{name}");
    }
    // Properly pipelined requests are still answered in turn (not a framing problem).
    let two = "GET /next.jpg HTTP/1.1\r\nHost: localhost\r\n\r\nGET /next.jpg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(exchange(&p.addr, two.as_bytes()), vec![200, 200]);
}

#[test]
fn hop_by_hop_headers_never_reach_the_origin() {
    let (p, o) = setup("hop");
    let req = "GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: keep-alive, X-Secret, Upgrade\r\nX-Secret: token\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nConnection: close\r\n\r\n";
    assert_eq!(exchange(&p.addr, req.as_bytes()), vec![200]);
    let heads = o.heads.lock().unwrap().join("\n");
    assert!(heads.contains("get /base/example.jpg") || heads.contains("GET /base/example.jpg"), "{heads}");
    for h in ["x-secret:", "keep-alive:", "te:", "proxy-authorization:", "upgrade:"] {
        assert!(!heads.lines().any(|l| l.starts_with(h)), "{h} reached the origin: {heads}");
    }
}

/// A body over `api.max_body_bytes` (64 KiB) is refused, and the client still reads the refusal
/// while it is sending: imgedge answers first, then reads and drops the rest before it closes
/// (a close with unread data would reset the connection and lose the answer), as nginx's
/// lingering close does. Declared lengths and chunked bodies alike.
#[test]
fn a_client_sending_a_body_over_the_cap_reads_the_refusal() {
    let p = start("body-over-cap", "", common::server::PUBLIC);
    let body = vec![b'x'; 1 << 20];
    let chunked: Vec<u8> = body
        .chunks(16 << 10)
        .flat_map(|c| [format!("{:x}\r\n", c.len()).into_bytes(), c.to_vec(), b"\r\n".to_vec()].concat())
        .chain(*b"0\r\n\r\n")
        .collect();
    for (framing, payload) in [
        (format!("Content-Length: {}", body.len()), &body),
        ("Transfer-Encoding: chunked".to_string(), &chunked),
    ] {
        let mut s = TcpStream::connect(&p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!("PUT /?style&styleName=big HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n\r\n");
        let mut w = s.try_clone().unwrap();
        let payload = payload.clone();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(head.as_bytes());
            // The whole body, in pieces, as a client that does not look for an early answer.
            payload.chunks(8 << 10).try_for_each(|c| w.write_all(c)).is_ok()
        });
        let mut out = Vec::new();
        let read = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 400"), "{framing}: {read:?} {text}");
        assert!(text.contains("<Code>EntityTooLarge</Code>"), "{framing}: {text}");
        assert!(writer.join().unwrap(), "{framing}: the client could not finish sending");
    }
    assert_eq!(get(&p.addr, "/example.jpg").status, 200);
}
