//! Console sign-in: an access key's id and secret are checked once, and the browser gets an
//! unguessable session token in an HttpOnly, SameSite=Strict cookie. The secret is never kept
//! or sent back. Each session has its own CSRF token, which every state-changing form carries.
//! Sessions expire, their number is bounded, and failed sign-ins are throttled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::access::policy::Keys;
use crate::access::Credentials;

/// The session cookie's name.
pub const COOKIE: &str = "imgedge_console";
/// Sessions held at once; past it, the oldest is ended (each is small, but a flood of sign-ins
/// must not grow memory without bound).
const MAX_SESSIONS: usize = 1024;
/// Failed sign-ins tolerated per window, process-wide, before every sign-in waits for the window.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub key_id: String,
    /// Carried by every form; compared in constant time.
    pub csrf: String,
    pub started: Instant,
    pub expires: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Unknown id or wrong secret (the answer does not say which).
    Refused,
    /// Too many failures lately: try again after the window.
    Throttled,
}

pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<String, Session>>,
    /// Start of the current failure window and the failures in it.
    failures: Mutex<(Instant, u32)>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions { ttl, map: Mutex::new(HashMap::new()), failures: Mutex::new((Instant::now(), 0)) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Checks `secret` against the key's and opens a session.
    pub fn sign_in(&self, keys: &Keys, id: &str, secret: &str, now: Instant) -> Result<Session, SignIn> {
        {
            let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            if now.duration_since(f.0) >= FAILURE_WINDOW {
                *f = (now, 0);
            }
            if f.1 >= MAX_FAILURES {
                return Err(SignIn::Throttled);
            }
        }
        // Hashing both sides first makes the comparison's length and time independent of the
        // secret; an unknown id is compared against a dummy so it costs the same.
        let expected = keys.secret(id);
        let ok = same(expected.as_deref().unwrap_or("\u{0}no key"), secret) && expected.is_some();
        if !ok || id.is_empty() {
            let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            f.1 += 1;
            return Err(SignIn::Refused);
        }
        let s = Session {
            token: random_token(),
            key_id: id.to_string(),
            csrf: random_token(),
            started: now,
            expires: now + self.ttl,
        };
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.values().min_by_key(|s| s.started).map(|s| s.token.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(s.token.clone(), s.clone());
        Ok(s)
    }

    /// The live session named by the request's `Cookie` header, if any.
    pub fn find(&self, cookie_header: Option<&str>, now: Instant) -> Option<Session> {
        let token = cookie(cookie_header?, COOKIE)?;
        let mut map = self.lock();
        match map.get(token) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `Set-Cookie` that opens `s`; `secure` when the console is served over TLS.
    pub fn set_cookie(&self, s: &Session, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            s.token,
            self.ttl.as_secs()
        )
    }
}

/// The `Set-Cookie` that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether a form's CSRF token is the session's.
pub fn csrf_ok(s: &Session, sent: Option<&str>) -> bool {
    sent.is_some_and(|t| same(&s.csrf, t))
}

/// Equality of two secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 bits from the operating system's generator, as hex.
fn random_token() -> String {
    let mut b = [0u8; 32];
    // A machine without a working random source cannot keep sessions safe: stop, loudly.
    getrandom::fill(&mut b).expect("the operating system's random source");
    hex::encode(b)
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccessKey, Signing};

    fn keys() -> Keys {
        let k = AccessKey { id: "ak".into(), secret: "sk".into(), ..Default::default() };
        Keys::new(&[k], &Signing::default())
    }

    #[test]
    fn a_session_opens_with_the_right_secret_and_ends_on_time() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(s.sign_in(&keys(), "ak", "wrong", t0).unwrap_err(), SignIn::Refused);
        assert_eq!(s.sign_in(&keys(), "nobody", "sk", t0).unwrap_err(), SignIn::Refused);
        let open = s.sign_in(&keys(), "ak", "sk", t0).unwrap();
        assert_eq!(open.token.len(), 64);
        assert_ne!(open.token, open.csrf);
        let cookie = format!("other=1; {COOKIE}={}", open.token);
        assert_eq!(s.find(Some(&cookie), t0 + Duration::from_secs(59)).unwrap().key_id, "ak");
        assert!(s.find(Some(&cookie), t0 + Duration::from_secs(60)).is_none(), "expired");
        assert!(s.find(Some(&cookie), t0).is_none(), "an expired session is gone for good");
        let again = s.sign_in(&keys(), "ak", "sk", t0).unwrap();
        s.end(&again.token);
        assert!(s.find(Some(&format!("{COOKIE}={}", again.token)), t0).is_none(), "signed out");
        assert!(s.find(Some(&format!("{COOKIE}=")), t0).is_none());
        let c = s.set_cookie(&open, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Max-Age=60"));
        assert!(!c.contains("Secure") && s.set_cookie(&open, true).ends_with("; Secure"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let s = Sessions::new(Duration::from_secs(60));
        let open = s.sign_in(&keys(), "ak", "sk", Instant::now()).unwrap();
        assert!(csrf_ok(&open, Some(&open.csrf)));
        assert!(!csrf_ok(&open, None));
        assert!(!csrf_ok(&open, Some("")));
        assert!(!csrf_ok(&open, Some(&open.csrf[..63])));
        assert!(!csrf_ok(&open, Some(&open.token)));
    }

    #[test]
    fn failed_sign_ins_are_throttled_then_forgiven() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(s.sign_in(&keys(), "ak", "guess", t0).unwrap_err(), SignIn::Refused);
        }
        assert_eq!(
            s.sign_in(&keys(), "ak", "sk", t0).unwrap_err(),
            SignIn::Throttled,
            "even the right secret"
        );
        assert!(s.sign_in(&keys(), "ak", "sk", t0 + FAILURE_WINDOW).is_ok());
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::new(Duration::from_secs(600));
        let t0 = Instant::now();
        let first = s.sign_in(&keys(), "ak", "sk", t0).unwrap();
        for i in 1..=MAX_SESSIONS {
            s.sign_in(&keys(), "ak", "sk", t0 + Duration::from_millis(i as u64)).unwrap();
        }
        assert_eq!(s.lock().len(), MAX_SESSIONS);
        assert!(s.find(Some(&format!("{COOKIE}={}", first.token)), t0).is_none(), "the oldest went");
    }
}
