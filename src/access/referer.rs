//! Referer hotlink protection as OSS `PutBucketReferer` defines it (spec `oss-img.md` §6,
//! `security.md` §1.12/§3.3, AT-24): the empty-Referer switch, then the blacklist, then the
//! whitelist, with `*`/`?` wildcards and optional query/path truncation.
//!
//! The caller applies [`check`] only to anonymous and presigned-URL requests; requests signed
//! with an `Authorization` header are not subject to it (OSS does the same).
//!
//! # Matching
//!
//! OSS matches an entry as a *prefix* of the Referer, `*` standing for 0+ characters and `?` for
//! exactly one. We do the same for the path, but match the host whole, since a host prefix is the
//! trap of security.md §1.12 (`http://a.com` covering `http://a.com.evil.net`). One set of rules
//! serves both lists (blacklist first). In order:
//!
//! 1. **Normalisation**, of the Referer and of every entry alike: scheme and host are ASCII
//!    lower-cased, one trailing dot is dropped from the host (`a.com.` is `a.com`), userinfo
//!    (`user@`) is dropped, and a port is read as a URL parser reads it (`:0443` is `:443`, an
//!    empty `:` is no port). The Referer's default port (`:80` for `http`, `:443` for `https`) is
//!    optional: a Referer on it is matched as `host` and as `host:port`, which is the same as
//!    dropping the default port from both sides, and also lets `*://a.com:443` and
//!    `https://a.com:*` cover `https://a.com/`. The path, query and fragment are left as they
//!    are: case-sensitive, nothing percent-decoded.
//! 2. **Truncation** of the Referer: `AllowTruncateQueryString` (default on) cuts `?…` and `#…`;
//!    with it, `TruncatePath` cuts the path too, leaving `scheme://host[:port]`. An empty path
//!    counts as `/`. Entries being prefixes, truncation only matters for an entry that reaches
//!    into what was cut: `https://a.com/p?x=1` needs the query kept, and under `TruncatePath` an
//!    entry with a path deeper than `/` never matches.
//! 3. **Scheme**: the entry's scheme (wildcards allowed) must match the Referer's whole scheme.
//! 4. **Host**: the entry's `host[:port]` runs to its first `/` (or `#`, or its end) and must
//!    match the Referer's whole normalised `host[:port]`: the entry's `/` ends the host, so
//!    `https://a.com/` never covers `https://a.com.evil.net/`. Host wildcards stay inside the
//!    host (`https://*.example.com` never matches `https://evil.com/.example.com`). Inside it,
//!    `?` and every `*` except a leading one (the "any subdomain" idiom) do not match `.`, so
//!    `https://a.example.com*` may add a port but never becomes `a.example.com.evil.net`, and
//!    `http://www.*.com` stays within one label. A leading `*` is as loose as written:
//!    `https://*example.com` also matches `evilexample.com`.
//! 5. **Path**: the entry's path, wildcards expanded, must match a prefix of the Referer's
//!    (truncated) path: `https://*.bad.test/` covers `https://x.bad.test/page.html`, and, as in
//!    OSS, `https://a.com/img` covers `/img2/` while `https://a.com/img/` does not. An entry
//!    without a path (`https://a.com`) covers every page of exactly that host and port (OSS
//!    would also let it cover `https://a.com.cn` and `https://a.com:8443`; we do not).
//!
//! **Entries without a scheme** (OSS's own examples: `*`, `*.console.aliyun.com`,
//! `*servicewechat.com`, `*www.aliyun.com/`) are a host [and path] under any scheme, by the same
//! rules: `*.console.aliyun.com` covers `https://oss.console.aliyun.com/x` but neither
//! `https://evil.net/.console.aliyun.com` nor `https://oss.console.aliyun.com.evil.net/`, and
//! `example.com` covers `http(s)://example.com/…` but neither `www.example.com` nor
//! `example.com.cn`. An entry made only of `*` matches every non-empty Referer, URL or not. (The
//! config loader and the bucket API accept only `http://`/`https://` entries today; this is what
//! the matcher does if they ever let others through. A blank entry matches nothing.)
//!
//! **Malformed Referers** never panic and match no entry except an all-`*` one: a value that is
//! not an absolute `scheme://…` URL (RFC 3986 scheme), contains anything but visible ASCII
//! (controls, spaces, raw UTF-8), has a non-numeric port, or is longer than
//! [`MAX_REFERER_LEN`]. A whitelist refuses it (`0003-00000503`), a blacklist lets it pass.
//! Browsers never send such values, and a client that can is free to send a whitelisted one.
//!
//! Matching simulates the pattern as an NFA: O(Referer × entry) time, no backtracking blow-up.

/// A bucket's Referer configuration; `Default` is OSS's default (no effective protection).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefererConfig {
    /// `AllowEmptyReferer` (OSS default `true`).
    pub allow_empty: bool,
    /// `AllowTruncateQueryString` (OSS default `true`): drop `?…` and `#…` before matching.
    pub allow_truncate_query: bool,
    /// `TruncatePath` (default `false`): with `allow_truncate_query`, match only
    /// `scheme://host[:port]`. Ignored when `allow_truncate_query` is off, as in OSS.
    pub truncate_path: bool,
    /// `RefererList`.
    pub whitelist: Vec<String>,
    /// `RefererBlacklist`.
    pub blacklist: Vec<String>,
}

impl Default for RefererConfig {
    fn default() -> Self {
        Self {
            allow_empty: true,
            allow_truncate_query: true,
            truncate_path: false,
            whitelist: Vec::new(),
            blacklist: Vec::new(),
        }
    }
}

/// Why a request was refused: HTTP 403 `AccessDenied`, "You are denied by bucket referer policy."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefererDenied {
    /// No (or a blank) Referer while `allow_empty` is off and the whitelist is not empty.
    Empty,
    /// The Referer matches a blacklist entry.
    Blacklisted,
    /// The whitelist is not empty and no entry matches.
    NotWhitelisted,
}

impl RefererDenied {
    /// The OSS `EC` of the denial.
    pub fn ec(&self) -> &'static str {
        match self {
            Self::Empty => "0003-00000501",
            Self::Blacklisted => "0003-00000502",
            Self::NotWhitelisted => "0003-00000503",
        }
    }

    /// The OSS `<Message>` of every Referer denial.
    pub fn message(&self) -> &'static str {
        "You are denied by bucket referer policy."
    }
}

/// The longest Referer we read as a URL. Chrome and Firefox never send more (they cut a longer
/// one to its origin); the bound also bounds the matching cost per entry.
pub const MAX_REFERER_LEN: usize = 4096;

/// Applies `cfg` to the request's Referer header (`None` = absent), in OSS's order (§6).
pub fn check(cfg: &RefererConfig, referer: Option<&str>) -> Result<(), RefererDenied> {
    let referer = referer.map(str::trim).unwrap_or("");
    if referer.is_empty() {
        // A non-empty whitelist is what turns `allow_empty = false` on: OSS's documented trap.
        return if cfg.allow_empty || cfg.whitelist.is_empty() { Ok(()) } else { Err(RefererDenied::Empty) };
    }
    let url = Url::parse(cfg, referer);
    if cfg.blacklist.iter().any(|entry| entry_matches(entry, url.as_ref())) {
        return Err(RefererDenied::Blacklisted);
    }
    if cfg.whitelist.is_empty() || cfg.whitelist.iter().any(|entry| entry_matches(entry, url.as_ref())) {
        Ok(())
    } else {
        Err(RefererDenied::NotWhitelisted)
    }
}

/// Whether a config loader should accept `entry`: `scheme://…` with a non-empty scheme, or `*`.
pub fn valid_entry(entry: &str) -> bool {
    let entry = entry.trim();
    match entry.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.*?".contains(c))
        }
        // A host (and path) under any scheme, as in OSS's `*.console.aliyun.com`.
        None => !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_graphic()),
    }
}

/// A Referer as the entries see it: normalised (module doc, step 1) and truncated (step 2).
#[derive(Debug, PartialEq, Eq)]
struct Url<'r> {
    /// Lower case.
    scheme: String,
    /// `host[:port]`: host lower case without its trailing dot, port only when not the default.
    authority: String,
    /// The scheme's default port when the Referer is on it, to try `host:port` as well.
    default_port: Option<&'static str>,
    /// What follows the authority, after truncation; `""` stands for `/`.
    rest: &'r str,
}

impl<'r> Url<'r> {
    /// `None` for a malformed Referer (module doc): it matches only all-`*` entries.
    fn parse(cfg: &RefererConfig, referer: &'r str) -> Option<Self> {
        if referer.len() > MAX_REFERER_LEN || !referer.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let (scheme, after) = referer.split_once("://")?;
        let mut chars = scheme.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let (authority, mut rest) = after.split_at(after.find(['/', '?', '#']).unwrap_or(after.len()));
        let (host, port) = host_port(without_userinfo(authority));
        let port = match port.map(canonical_port) {
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => return None,
            Some("") => None,
            port => port,
        };
        let default = default_port(&scheme);
        let (authority, default_port) = match port {
            Some(p) if Some(p) != default => (format!("{}:{p}", normal_host(host)), None),
            _ => (normal_host(host), default),
        };
        if cfg.allow_truncate_query {
            rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
            if cfg.truncate_path {
                rest = "";
            }
        }
        Some(Self { scheme, authority, default_port, rest })
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}

/// `user:pw@host:port` → `host:port`.
fn without_userinfo(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

/// `host:port` → (`host`, `Some(port)`); a `:` inside `[…]` (IPv6) is not a port separator.
fn host_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    }
}

/// A numeric port as a URL parser reads it (`0443` is `443`); anything else unchanged.
fn canonical_port(port: &str) -> &str {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return port;
    }
    match port.trim_start_matches('0') {
        "" => "0",
        p => p,
    }
}

/// Lower case, one trailing dot dropped (`A.com.` → `a.com`).
fn normal_host(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// Does one configured entry match the Referer (`None` = malformed)?
fn entry_matches(entry: &str, url: Option<&Url>) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    if entry.bytes().all(|b| b == b'*') {
        return true;
    }
    let Some(url) = url else {
        return false;
    };
    let (p_scheme, p_after) = match entry.split_once("://") {
        Some((scheme, after)) => (Some(scheme.to_ascii_lowercase()), after),
        None => (None, entry),
    };
    // In an entry `?` is a wildcard, so only `/` (or a literal `#`) ends its host part.
    let (p_authority, p_rest) = p_after.split_at(p_after.find(['/', '#']).unwrap_or(p_after.len()));
    let (p_host, p_port) = host_port(without_userinfo(p_authority));
    let p_authority = match p_port.map(canonical_port) {
        // A default port may stay: the Referer is also tried with it spelt out.
        Some(p) if !p.is_empty() => format!("{}:{p}", normal_host(p_host)),
        _ => normal_host(p_host),
    };
    let scheme_ok = p_scheme.is_none_or(|s| glob(&tokens(&s, Part::Loose), url.scheme.chars()));
    if !scheme_ok {
        return false;
    }
    let host = tokens(&p_authority, Part::Host);
    let host_ok = glob(&host, url.authority.chars())
        || url.default_port.is_some_and(|port| {
            glob(&host, url.authority.chars().chain(std::iter::once(':')).chain(port.chars()))
        });
    if !host_ok {
        return false;
    }
    // The path is a prefix: whatever follows the entry's last character may follow.
    let mut p_rest_tokens = tokens(p_rest, Part::Loose);
    if !p_rest.is_empty() && !p_rest.starts_with('/') {
        p_rest_tokens.insert(0, Tok::Lit('/'));
    }
    p_rest_tokens.push(Tok::Star { dot: true });
    let slash = if url.rest.starts_with('/') { "" } else { "/" };
    glob(&p_rest_tokens, slash.chars().chain(url.rest.chars()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Host of a schemed entry: only leading `*`s may match `.`.
    Host,
    /// Everything else: wildcards match any character.
    Loose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`; `dot` = may match `.`.
    One {
        dot: bool,
    },
    /// `*` (runs collapsed); `dot` = may match `.`.
    Star {
        dot: bool,
    },
}

fn tokens(pattern: &str, part: Part) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(pattern.len());
    let mut leading = true; // only stars so far
    for c in pattern.chars() {
        leading &= c == '*';
        let tok = match c {
            '*' => Tok::Star { dot: part == Part::Loose || leading },
            '?' => Tok::One { dot: part == Part::Loose },
            c => Tok::Lit(c),
        };
        if matches!(tok, Tok::Star { .. }) && matches!(out.last(), Some(Tok::Star { .. })) {
            continue; // `**` is `*`; keeping runs short keeps the state set small.
        }
        out.push(tok);
    }
    out
}

/// Anchored glob match by NFA simulation: `states[j]` = "the first `j` tokens can match the text
/// read so far". Each text character costs one pass over the pattern, whatever the stars.
fn glob(pat: &[Tok], text: impl Iterator<Item = char>) -> bool {
    let close = |states: &mut [bool]| {
        for (j, tok) in pat.iter().enumerate() {
            if states[j] && matches!(tok, Tok::Star { .. }) {
                states[j + 1] = true; // a star may match nothing
            }
        }
    };
    let mut cur = vec![false; pat.len() + 1];
    let mut next = vec![false; pat.len() + 1];
    cur[0] = true;
    close(&mut cur);
    for c in text {
        next.fill(false);
        let mut alive = false;
        for (j, tok) in pat.iter().enumerate() {
            if !cur[j] {
                continue;
            }
            let (hit, stay) = match *tok {
                Tok::Lit(l) => (l == c, false),
                Tok::One { dot } => (dot || c != '.', false),
                Tok::Star { dot } => (dot || c != '.', true),
            };
            if hit {
                next[if stay { j } else { j + 1 }] = true;
                alive = true;
            }
        }
        if !alive {
            return false;
        }
        close(&mut next);
        std::mem::swap(&mut cur, &mut next);
    }
    cur[pat.len()]
}

#[cfg(test)]
#[path = "referer_tests.rs"]
mod tests;
