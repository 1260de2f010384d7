//! Referer hotlink protection as OSS `PutBucketReferer` defines it (spec `oss-img.md` §6,
//! `security.md` §1.12/§3.3, AT-24): the empty-Referer switch, then the blacklist, then the
//! whitelist, with `*`/`?` wildcards and optional query/path truncation.
//!
//! The caller applies [`check`] only to anonymous and presigned-URL requests; requests signed
//! with an `Authorization` header are not subject to it (OSS does the same).
//!
//! # Matching (our choices where OSS is silent)
//!
//! * An entry without a path (`https://*.example.com`) names a site: it matches every page of a
//!   host that matches the host part **entirely**, so `https://a.com` matches
//!   `https://a.com/x.html` but never `https://a.com.evil.net/` (the prefix trap of security.md
//!   §1.12). An entry with a path is a prefix of the (truncated) Referer, as in OSS:
//!   `https://a.com/img/` covers `https://a.com/img/x.png`, and `https://*.bad.test/` every page
//!   of every subdomain of `bad.test`; its `/` ends the host, so `https://a.com/` never covers
//!   `https://a.com.evil.net/`.
//! * An entry with a scheme (`scheme://host[/path]`) is matched part by part. Scheme and host are
//!   ASCII case-insensitive; the path (with any untruncated query) is case-sensitive, as URL paths
//!   are. A wildcard in the host part only matches inside the Referer's host, so
//!   `https://*.example.com` never matches `https://evil.com/.example.com`. Inside the host, `?`
//!   and every `*` except a leading one (the "any subdomain" idiom) do not match `.`: so
//!   `https://a.example.com*` may add a port but never becomes `a.example.com.evil.net`.
//!   A leading `*` is as loose as written: `https://*example.com` also matches `evilexample.com`.
//!   A `*` that ends the host part may add a port: `https://a.com*` matches `https://a.com:8443/`.
//! * Userinfo (`user@`) in the Referer's authority is ignored; browsers never send it.
//! * Entries without `://` (OSS's docs show `*` and `*.console.aliyun.com`) are matched the way
//!   OSS does, as one glob over a prefix of the Referer, case-insensitive. They are as loose as they
//!   look; [`valid_entry`] lets a config loader refuse them (except a bare `*`).
//! * Nothing is percent-decoded; a blank entry matches nothing. Matching simulates the pattern
//!   as an NFA: O(Referer × entry) time, no backtracking blow-up.

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

/// Applies `cfg` to the request's Referer header (`None` = absent), in OSS's order (§6).
pub fn check(cfg: &RefererConfig, referer: Option<&str>) -> Result<(), RefererDenied> {
    let referer = referer.map(str::trim).unwrap_or("");
    if referer.is_empty() {
        // A non-empty whitelist is what turns `allow_empty = false` on: OSS's documented trap.
        return if cfg.allow_empty || cfg.whitelist.is_empty() { Ok(()) } else { Err(RefererDenied::Empty) };
    }
    let referer = truncate(cfg, referer);
    if cfg.blacklist.iter().any(|entry| entry_matches(entry, referer)) {
        return Err(RefererDenied::Blacklisted);
    }
    if cfg.whitelist.is_empty() || cfg.whitelist.iter().any(|entry| entry_matches(entry, referer)) {
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
        None => !entry.is_empty() && entry.chars().all(|c| c == '*'),
    }
}

/// The part of the Referer OSS compares, after the truncation switches.
fn truncate<'r>(cfg: &RefererConfig, referer: &'r str) -> &'r str {
    if !cfg.allow_truncate_query {
        return referer;
    }
    let referer = referer.split(['?', '#']).next().unwrap_or("");
    if !cfg.truncate_path {
        return referer;
    }
    let host_start = referer.find("://").map_or(0, |i| i + 3);
    match referer[host_start..].find('/') {
        Some(i) => &referer[..host_start + i],
        None => referer,
    }
}

/// Does one configured entry match the (truncated) Referer?
fn entry_matches(entry: &str, referer: &str) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    let Some((p_scheme, p_after)) = entry.split_once("://") else {
        let mut pat = tokens(entry, Part::Loose);
        pat.push(Tok::Star { dot: true }); // a prefix, as in OSS
        return glob(&pat, referer.chars(), true);
    };
    let Some((scheme, after)) = referer.split_once("://") else {
        return false;
    };
    // In an entry `?` is a wildcard, so only `/` (or a literal `#`) ends its host part.
    let (host, rest) = split_authority(after, &['/', '?', '#']);
    let (p_host, p_rest) = split_authority(p_after, &['/', '#']);
    // The path part is a prefix (OSS): `https://a.com/img/` covers every page under `/img/`, and
    // an entry without a path names a site, any page of that exact host.
    let mut p_rest_tokens = tokens(p_rest, Part::Loose);
    if !p_rest.is_empty() && !p_rest.starts_with('/') {
        p_rest_tokens.insert(0, Tok::Lit('/'));
    }
    p_rest_tokens.push(Tok::Star { dot: true });
    let slash = if rest.starts_with('/') { "" } else { "/" };
    glob(&tokens(p_scheme, Part::Loose), scheme.chars(), true)
        && glob(&tokens(p_host, Part::Host), host.chars(), true)
        && glob(&p_rest_tokens, slash.chars().chain(rest.chars()), false)
}

/// Splits what follows `scheme://` into the host (userinfo dropped) and the rest.
fn split_authority<'s>(after: &'s str, ends: &[char]) -> (&'s str, &'s str) {
    let (authority, rest) = after.split_at(after.find(ends).unwrap_or(after.len()));
    (authority.rsplit_once('@').map_or(authority, |(_, host)| host), rest)
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
fn glob(pat: &[Tok], text: impl Iterator<Item = char>, fold_case: bool) -> bool {
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
                Tok::Lit(l) => (l == c || (fold_case && l.eq_ignore_ascii_case(&c)), false),
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
