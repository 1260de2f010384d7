//! Connection and process lifetimes against the real binary (issue 10, defects 6 and 9; AT-14,
//! AT-36): what SIGTERM does to listeners, keep-alive connections and requests in flight, and
//! how long an idle or a dripping connection may live.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::origin;
use common::server::{get, metric, start, Proxy};

/// A proxy in front of an HTTP origin whose `slow<ms>-*` files take that long to arrive, so a
/// request is in flight for a known time.
fn setup(name: &str, server_extra: &str) -> (Proxy, origin::Origin) {
    let dir = common::temp_dir(&format!("{name}-origin"));
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("example.jpg")).unwrap();
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("slow4000-example.jpg")).unwrap();
    std::fs::copy(common::corpus("oss/example.jpg"), dir.join("slow3000-example.jpg")).unwrap();
    let o = origin::serve(dir, "/base");
    let conf = format!(
        "[[buckets]]\nname = \"web\"\n[buckets.origin]\ntype = \"http\"\nurl = \"http://{}/base\"\n",
        o.addr
    );
    (start(name, server_extra, &conf), o)
}

/// One keep-alive HTTP/1.1 connection, read response by response.
struct Conn {
    r: BufReader<TcpStream>,
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        Conn { r: BufReader::new(s) }
    }

    fn get(&mut self, target: &str) -> std::io::Result<Resp> {
        let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        self.r.get_mut().write_all(req.as_bytes())?;
        self.response()
    }

    fn response(&mut self) -> std::io::Result<Resp> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.r.read_line(&mut h)?;
            let Some((k, v)) = h.trim_end().split_once(':') else { break };
            headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
        let resp = Resp { status, headers };
        let len: usize = resp.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        self.r.read_exact(&mut body)?;
        Ok(resp)
    }

    /// Waits for the server to close the connection; how long that took.
    fn closed_within(&mut self, limit: Duration) -> Option<Duration> {
        let t = Instant::now();
        self.r.get_ref().set_read_timeout(Some(limit)).unwrap();
        let mut b = [0u8; 1];
        match self.r.read(&mut b) {
            Ok(0) => Some(t.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(t.elapsed()),
            _ => None,
        }
    }
}

const SLOW: &str = "/slow4000-example.jpg?x-oss-process=image/resize,w_10";

#[test]
fn sigterm_serves_through_the_grace_period_then_lets_requests_finish_and_exits_when_drained() {
    let (mut p, _o) = setup("lc-term", "grace_period_s = 2\ngraceful_shutdown_timeout_s = 8");
    let mut kept = Conn::open(&p.addr);
    assert_eq!(kept.get("/example.jpg").unwrap().status, 200);
    let addr = p.addr.clone();
    // In flight from before the signal until well after the grace period (its source takes 4 s).
    let slow = std::thread::spawn(move || Conn::open(&addr).get(SLOW).map(|r| r.status));
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    p.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));

    // A keep-alive request just after the signal is answered, and told to close.
    let r = kept.get("/example.jpg").expect("the kept connection is answered");
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert!(kept.closed_within(Duration::from_secs(2)).is_some(), "closed after its answer");
    // New connections are still accepted during the grace period.
    let r = Conn::open(&p.addr).get("/example.jpg").expect("a new connection during the grace period");
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));

    // The grace period ends at 2 s; the slow request, started before the signal, still ends well.
    assert_eq!(slow.join().unwrap().expect("the in-flight request is answered"), 200);
    // The process exits once drained: after the request (~4 s), long before 2 + 8 s.
    let exited = (0..200).find_map(|_| {
        std::thread::sleep(Duration::from_millis(50));
        p.exited().then(|| t0.elapsed())
    });
    let exited = exited.expect("the process exits once nothing is in flight");
    assert!(exited >= Duration::from_secs(2), "not before the grace period ended: {exited:?}");
    assert!(exited < Duration::from_secs(8), "{exited:?}");
}

#[test]
fn after_the_grace_period_new_connections_are_not_served() {
    let (mut p, _o) = setup("lc-closed", "grace_period_s = 1\ngraceful_shutdown_timeout_s = 8");
    let addr = p.addr.clone();
    let slow = std::thread::spawn(move || Conn::open(&addr).get(SLOW).map(|r| r.status));
    std::thread::sleep(Duration::from_millis(300));
    p.signal("TERM");
    std::thread::sleep(Duration::from_millis(1800));
    // Draining (the slow request is still in flight), listeners closed: no answer.
    assert!(!p.exited());
    let answered = TcpStream::connect(&p.addr).ok().and_then(|s| {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut c = Conn { r: BufReader::new(s) };
        c.get("/example.jpg").ok()
    });
    assert!(answered.is_none(), "a connection after the grace period was served");
    assert_eq!(slow.join().unwrap().unwrap(), 200);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_keepalive_timeout() {
    let (p, _o) = setup("lc-idle", "keepalive_timeout_s = 2");
    let mut c = Conn::open(&p.addr);
    assert_eq!(c.get("/example.jpg").unwrap().status, 200);
    let after = c.closed_within(Duration::from_secs(10)).expect("an idle connection is closed");
    assert!(after >= Duration::from_millis(1500) && after < Duration::from_secs(5), "{after:?}");
    // Requests in a row within the idle time share one connection.
    let mut c = Conn::open(&p.addr);
    for _ in 0..3 {
        assert_eq!(c.get("/example.jpg").unwrap().status, 200);
        std::thread::sleep(Duration::from_millis(1000));
    }
}

/// Sends `head` a byte at a time, `every` apart, until the server closes the connection or
/// the head is done; how long the server let it go on, or None if it never closed.
fn drip(s: &mut TcpStream, head: &[u8], every: Duration) -> Option<Duration> {
    let t = Instant::now();
    for b in head {
        if s.write_all(&[*b]).is_err() {
            return Some(t.elapsed());
        }
        std::thread::sleep(every);
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.is_empty().then(|| t.elapsed())
}

#[test]
fn a_dripping_request_head_is_cut_at_header_timeout() {
    let (p, _o) = setup("lc-drip", "header_timeout_s = 2\nkeepalive_timeout_s = 2");
    let head = format!("GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n", "a".repeat(200));
    // A new connection: the whole head within 2 s.
    let mut s = TcpStream::connect(&p.addr).unwrap();
    let took = drip(&mut s, head.as_bytes(), Duration::from_millis(100)).expect("the dripping client is cut");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(5), "{took:?}");
    // A reused connection: idle time plus the head's time (2 + 2 s).
    let mut c = Conn::open(&p.addr);
    assert_eq!(c.get("/example.jpg").unwrap().status, 200);
    let took = drip(c.r.get_mut(), head.as_bytes(), Duration::from_millis(100)).expect("cut on reuse too");
    assert!(took >= Duration::from_millis(3500) && took < Duration::from_secs(7), "{took:?}");
    assert_eq!(metric(&p, "imgedge_connections_closed_total{reason=\"header_timeout\""), 2.0);
    // Everyone else is served meanwhile.
    assert_eq!(get(&p.addr, "/example.jpg").status, 200);
}

#[test]
fn slow_heads_within_the_bound_and_slow_work_after_the_head_are_not_cut() {
    let (p, _o) = setup("lc-fair", "header_timeout_s = 1");
    // A head that takes 0.6 s in all is answered.
    let mut s = TcpStream::connect(&p.addr).unwrap();
    let head = b"GET /example.jpg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let every = Duration::from_millis(600 / head.len() as u64);
    assert_eq!(drip(&mut s, head, every), None, "a head within header_timeout_s was cut");
    // A request whose processing takes 3 s, three times the head's bound.
    let mut c = Conn::open(&p.addr);
    let t = Instant::now();
    assert_eq!(c.get("/slow3000-example.jpg?x-oss-process=image/resize,w_10").unwrap().status, 200);
    assert!(t.elapsed() >= Duration::from_secs(3));
    assert_eq!(metric(&p, "imgedge_connections_closed_total{reason=\"header_timeout\""), 0.0);
}
