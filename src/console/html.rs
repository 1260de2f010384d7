//! The console's HTML building blocks: escaping (every string that reached us from a user or a
//! bucket goes through [`esc`]), the page frame, and the built-in assets.

use super::session::Session;
use super::Page;

/// Text and attribute values: `& < > " '` become references, so nothing a bucket holds can
/// open a tag or leave an attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query-string component (object keys and style names in links).
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The page frame: title, the signed-in key and its sign-out form, the page's own body.
/// `page` names the script's entry point (`data-page`).
pub fn frame(title: &str, page: &str, s: Option<&Session>, body: &str) -> String {
    let nav = match s {
        Some(s) => format!(
            "<nav><a href=\"/\">Buckets</a><span class=\"who\">{}</span>\
             <form method=\"post\" action=\"/logout\">{}<button type=\"submit\" id=\"sign-out\">Sign out</button></form></nav>",
            esc(&s.key_id),
            csrf(s)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · imgedge console</title><link rel=\"stylesheet\" href=\"/assets/console.css\">\
         <script src=\"/assets/console.js\" defer></script></head>\
         <body data-page=\"{}\"><header><strong>imgedge</strong> console{nav}</header><main>{body}</main></body></html>",
        esc(title),
        esc(page)
    )
}

/// The hidden field every state-changing form carries.
pub fn csrf(s: &Session) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(&s.csrf))
}

/// An error shown beside a field (nothing when there is none).
pub fn field_error(e: Option<&str>) -> String {
    e.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m))).unwrap_or_default()
}

/// A notice at the top of a section.
pub fn notice(text: Option<&str>) -> String {
    text.map(|m| format!("<p class=\"notice\" role=\"status\">{}</p>", esc(m))).unwrap_or_default()
}

/// `disabled` for the inputs of a key that may only read.
pub fn disabled(writable: bool) -> &'static str {
    if writable {
        ""
    } else {
        " disabled"
    }
}

pub fn asset(name: &str) -> Page {
    let (ctype, body): (&'static str, &'static str) = match name {
        "console.css" => ("text/css; charset=utf-8", include_str!("assets/console.css")),
        "console.js" => ("text/javascript; charset=utf-8", include_str!("assets/console.js")),
        _ => return Page::refuse(404, "No such asset."),
    };
    Page {
        status: 200,
        ctype,
        body: body.as_bytes().to_vec(),
        headers: vec![("cache-control", "no-cache".into())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        let hostile = "<script>alert('x')</script>\" onmouseover=\"x&";
        let e = esc(hostile);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        assert_eq!(e, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onmouseover=&quot;x&amp;");
        assert_eq!(enc("a b/&c"), "a+b%2F%26c");
    }
}
