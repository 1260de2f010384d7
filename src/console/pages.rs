//! The console's pages, rendered on the server. Every value from a user or a bucket passes
//! through [`esc`]; forms of a key that may only read are shown disabled and without buttons.

use std::collections::HashMap;

use super::html::{csrf, disabled, enc, esc, field_error, frame, notice};
use super::session::Session;
use super::Visit;
use crate::bucket::Settings;
use crate::engine::tasks::{State, Task};
use crate::route::SEPARATORS;

/// The fixed notices a redirect may name (never text from the request).
pub fn notice_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "settings" => "Image processing settings saved.",
        "referer" => "Referer rules saved.",
        "purged" => "Processed variants purged from every cache.",
        "deleted" => "Style deleted.",
        "saved" => "Style saved: it answers at once on the URLs below.",
        _ => return None,
    })
}

pub fn login(error: Option<&str>) -> String {
    let body = format!(
        "<h1>Sign in</h1><form method=\"post\" action=\"/login\" class=\"card narrow\">\
         <label>AccessKey ID <input name=\"id\" id=\"id\" autocomplete=\"username\" required></label>\
         <label>AccessKey secret <input name=\"secret\" id=\"secret\" type=\"password\" autocomplete=\"current-password\" required></label>\
         {}<button type=\"submit\" id=\"sign-in\">Sign in</button></form>\
         <p class=\"hint\">Sign in with one of the access keys in imgedge's configuration. The console can do what \
         that key may do: a key without write scope sees settings but cannot change them.</p>",
        field_error(error)
    );
    frame("Sign in", "login", None, &body)
}

pub fn overview(s: &Session, buckets: &[(&str, bool)]) -> String {
    let items: String = buckets
        .iter()
        .map(|(name, writable)| {
            let tag = if *writable { "" } else { " <span class=\"tag\">read-only</span>" };
            format!("<li><a href=\"/b/{0}\">{0}</a>{tag}</li>", esc(name))
        })
        .collect();
    let charts = [
        ("rps", "Requests per second"),
        ("hit_ratio", "Cache hit ratio"),
        ("latency_ms", "Request latency p50 / p95 / p99 (ms)"),
        ("transform_ms", "Transform time p50 / p95 / p99 (ms)"),
        ("unavailable", "503 answers per interval"),
    ]
    .iter()
    .map(|(id, title)| format!("<figure class=\"chart\" data-series=\"{id}\"><figcaption>{title}</figcaption><div class=\"plot\"></div></figure>"))
    .collect::<String>();
    let body = format!(
        "<h1>Buckets</h1><ul class=\"buckets\" id=\"buckets\">{items}</ul>\
         <h2>At a glance</h2><p class=\"hint\">The last ten minutes of this instance, sampled every five seconds.</p>\
         <div id=\"charts\" class=\"charts\">{charts}</div>"
    );
    frame("Buckets", "overview", Some(s), &body)
}

pub struct BucketView<'a> {
    pub session: &'a Session,
    pub name: &'a str,
    pub writable: bool,
    /// Where the bucket's objects are reached (for example URLs).
    pub base: &'a str,
    pub settings: &'a Settings,
    pub auto_format: bool,
    pub tasks: &'a [Task],
    pub notice: Option<&'static str>,
    /// Field → the API's refusal.
    pub errors: &'a HashMap<&'static str, String>,
    /// The form that was refused, to show what was typed.
    pub submitted: Option<&'a Visit>,
}

impl BucketView<'_> {
    /// The refusal beside `field` (a read-only view shows them all on top instead).
    fn error(&self, field: &str) -> String {
        field_error(self.errors.get(field).map(String::as_str).filter(|_| self.writable))
    }

    /// What the form posted to `action` held for `field`, when that form was refused.
    fn typed(&self, action: &str, field: &str) -> Option<&str> {
        self.submitted.filter(|v| v.path.ends_with(action)).map(|v| v.field(field).unwrap_or(""))
    }

    fn checked(&self, action: &str, field: &str, current: bool) -> &'static str {
        let on = match self.submitted.filter(|v| v.path.ends_with(action)) {
            Some(v) => v
                .fields(if field.starts_with("delimiter=") { "delimiter" } else { field })
                .iter()
                .any(|x| field.strip_prefix("delimiter=").is_none_or(|d| *x == d)),
            None => current,
        };
        if on {
            " checked"
        } else {
            ""
        }
    }

    /// The submit button, for keys that may change the bucket.
    fn button(&self, id: &str, label: &str) -> String {
        match self.writable {
            true => format!("<button type=\"submit\" id=\"{id}\">{label}</button>"),
            false => String::new(),
        }
    }
}

pub fn bucket(v: &BucketView<'_>) -> String {
    let (name, dis, s) = (esc(v.name), disabled(v.writable), v.settings);
    let ro = if v.writable { "" } else { " <span class=\"tag\">read-only key</span>" };
    let mut body = format!("<h1>Bucket {name}{ro}</h1>{}", notice(v.notice));
    if !v.writable {
        // A read-only key has no forms to show a refusal beside: it goes on top.
        body += &v.errors.values().map(|e| field_error(Some(e))).collect::<String>();
    }
    // Styles.
    let rows: String = s
        .styles
        .iter()
        .map(|(n, st)| {
            let del = match v.writable {
                true => format!(
                    "<form method=\"post\" action=\"/b/{name}/style/delete\" class=\"inline\">{}\
                     <input type=\"hidden\" name=\"name\" value=\"{}\"><button type=\"submit\" class=\"danger\">Delete</button></form>",
                    csrf(v.session),
                    esc(n)
                ),
                false => String::new(),
            };
            format!(
                "<tr><td><a href=\"/b/{name}/style?name={}\">{}</a></td><td><code>{}</code></td><td>{del}</td></tr>",
                enc(n),
                esc(n),
                esc(&st.content)
            )
        })
        .collect();
    let new = if v.writable {
        format!("<a class=\"button\" id=\"new-style\" href=\"/b/{name}/style\">New style</a>")
    } else {
        String::new()
    };
    body += &format!(
        "<section id=\"styles\"><h2>Styles</h2>{}<table><thead><tr><th>Name</th><th>Pipeline</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table>{new}</section>",
        v.error("styles")
    );
    // Image processing settings (processConfiguration).
    let suffixes =
        v.typed("/settings", "suffixes").map(str::to_string).unwrap_or_else(|| s.process.suffixes.join(","));
    let delims: String = SEPARATORS
        .iter()
        .map(|d| {
            let current = s.process.delimiters.iter().any(|x| x == d);
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"delimiter\" value=\"{0}\"{1}{dis}> <code>{0}</code></label>",
                esc(d),
                v.checked("/settings", &format!("delimiter={d}"), current)
            )
        })
        .collect();
    let accept = if v.auto_format { "on" } else { "off" };
    body += &format!(
        "<section><h2>Image processing</h2><form method=\"post\" action=\"/b/{name}/settings\" id=\"settings-form\" class=\"card\">{}\
         <label class=\"check\"><input type=\"checkbox\" name=\"protect\" id=\"protect\"{}{dis}> Source image protection \
         (objects with these suffixes are only served through a style or a signed request)</label>\
         <label>Protected suffixes <input name=\"suffixes\" id=\"suffixes\" value=\"{}\" placeholder=\"jpg,png or *\"{dis}></label>{}\
         <fieldset><legend>Style delimiters</legend>{delims}</fieldset>{}\
         <p class=\"hint\">Format by Accept: <strong>{accept}</strong> (<code>auto_format</code> in the configuration file).</p>{}</form></section>",
        csrf(v.session),
        v.checked("/settings", "protect", s.process.source_protect),
        esc(&suffixes),
        v.error("suffixes"),
        v.error("delimiters"),
        v.button("save-settings", "Save settings"),
    );
    // Referer rules.
    let r = &s.referer;
    let white =
        v.typed("/referer", "whitelist").map(str::to_string).unwrap_or_else(|| r.whitelist.join("\n"));
    let black =
        v.typed("/referer", "blacklist").map(str::to_string).unwrap_or_else(|| r.blacklist.join("\n"));
    body += &format!(
        "<section><h2>Referer (hotlink protection)</h2><form method=\"post\" action=\"/b/{name}/referer\" id=\"referer-form\" class=\"card\">{}\
         <label class=\"check\"><input type=\"checkbox\" name=\"allow_empty\" id=\"allow-empty\"{}{dis}> Allow requests without a Referer</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"allow_truncate_query\" id=\"truncate-query\"{}{dis}> Ignore the Referer's query string</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"truncate_path\" id=\"truncate-path\"{}{dis}> Match on scheme and host only</label>\
         <label>Allowed (one per line, <code>*</code> and <code>?</code> match) <textarea name=\"whitelist\" id=\"whitelist\" rows=\"4\"{dis}>{}</textarea></label>{}\
         <label>Refused <textarea name=\"blacklist\" id=\"blacklist\" rows=\"3\"{dis}>{}</textarea></label>{}{}{}</form>\
         <ul class=\"entries\" id=\"referer-entries\">{}</ul></section>",
        csrf(v.session),
        v.checked("/referer", "allow_empty", r.allow_empty),
        v.checked("/referer", "allow_truncate_query", r.allow_truncate_query),
        v.checked("/referer", "truncate_path", r.truncate_path),
        esc(&white),
        v.error("whitelist"),
        esc(&black),
        v.error("blacklist"),
        v.error("referer"),
        v.button("save-referer", "Save Referer rules"),
        r.whitelist.iter().map(|e| format!("<li>allowed: <code>{}</code></li>", esc(e))).chain(
            r.blacklist.iter().map(|e| format!("<li>refused: <code>{}</code></li>", esc(e)))
        ).collect::<String>(),
    );
    // Purge.
    if v.writable {
        body += &format!(
            "<section><h2>Purge</h2><form method=\"post\" action=\"/b/{name}/purge\" id=\"purge-form\" class=\"card\">{}\
             <label>Object key <input name=\"key\" id=\"purge-key\" required value=\"{}\"></label>{}\
             <p class=\"hint\">Forgets every processed variant of the object, in every replica and the shared tier.</p>\
             <button type=\"submit\" id=\"purge\">Purge variants</button></form></section>",
            csrf(v.session),
            esc(v.typed("/purge", "key").unwrap_or("")),
            v.error("purge"),
        );
    }
    body += &tasks(v.tasks);
    body += &format!("<p class=\"hint\">Objects are served at <code>{}/&lt;key&gt;</code>.</p>", esc(v.base));
    frame(&format!("Bucket {}", v.name), "bucket", Some(v.session), &body)
}

fn tasks(tasks: &[Task]) -> String {
    let when = |t: std::time::SystemTime| httpdate::fmt_http_date(t);
    let rows: String = tasks
        .iter()
        .map(|t| {
            let outcome = match &t.state {
                State::Succeeded { bucket, object, file_size } => {
                    format!("{}/{} ({file_size} bytes)", esc(bucket), esc(object))
                }
                State::Failed { code, message } => {
                    format!("<span class=\"error\">{}: {}</span>", esc(code), esc(message))
                }
                _ => String::new(),
            };
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
                esc(&t.id),
                t.state.name(),
                when(t.created),
                t.finished.map(when).unwrap_or_default()
            )
        })
        .collect();
    let table = match tasks.is_empty() {
        true => "<p class=\"hint\">No asynchronous tasks since this instance started.</p>".to_string(),
        false => format!(
            "<table id=\"tasks\"><thead><tr><th>Task</th><th>Status</th><th>Submitted</th><th>Finished</th><th>Result</th></tr></thead><tbody>{rows}</tbody></table>"
        ),
    };
    format!("<section><h2>Asynchronous tasks</h2>{table}</section>")
}

pub struct EditorView<'a> {
    pub session: &'a Session,
    pub bucket: &'a str,
    pub writable: bool,
    pub base: &'a str,
    pub delimiters: Vec<&'a str>,
    pub name: &'a str,
    pub exists: bool,
    pub content: &'a str,
    pub notice: Option<&'static str>,
    /// The field the API refused ("name" or "content"), and its text.
    pub error: Option<(&'static str, &'a str)>,
}

pub fn editor(v: &EditorView<'_>) -> String {
    let (b, dis) = (esc(v.bucket), disabled(v.writable));
    let err = |f: &str| field_error(v.error.filter(|e| e.0 == f).map(|e| e.1));
    let title = if v.exists { format!("Style {}", v.name) } else { "New style".to_string() };
    let save = match v.writable {
        true => "<button type=\"submit\" id=\"save-style\">Save style</button>",
        false => "",
    };
    let body = format!(
        "<p><a href=\"/b/{b}\">← Bucket {b}</a></p><h1>{}</h1>{}\
         <div class=\"editor\"><form method=\"post\" action=\"/b/{b}/style\" id=\"style-form\" class=\"card\">{}\
         <label>Name <input name=\"name\" id=\"style-name\" value=\"{}\" required{dis}></label>{}\
         <div id=\"builder\" class=\"builder\"></div>\
         <div class=\"add\"><select id=\"add-action\" aria-label=\"Action\"{dis}></select>\
         <button type=\"button\" id=\"add-step\"{dis}>Add action</button></div>\
         <label>Pipeline <textarea name=\"content\" id=\"style-content\" rows=\"3\" spellcheck=\"false\"{dis}>{}</textarea></label>{}{save}</form>\
         <section class=\"preview card\" id=\"preview\" data-bucket=\"{b}\">\
         <label>Object <input id=\"preview-key\" list=\"object-keys\" placeholder=\"photo.jpg\"></label><datalist id=\"object-keys\"></datalist>\
         <div class=\"panes\"><figure><figcaption>Original <span id=\"original-info\" class=\"info\"></span></figcaption><img id=\"original-img\" alt=\"original\"></figure>\
         <figure><figcaption>Result <span id=\"result-info\" class=\"info\"></span></figcaption><img id=\"result-img\" alt=\"result\"></figure></div>\
         <p id=\"preview-error\" class=\"error\" role=\"alert\"></p></section></div>\
         <section class=\"card\"><h2>Style URLs</h2><ul id=\"style-urls\" data-base=\"{}\" data-delimiters=\"{}\"></ul></section>",
        esc(&title),
        notice(v.notice),
        if v.writable { csrf(v.session) } else { String::new() },
        esc(v.name),
        err("name"),
        esc(v.content),
        err("content"),
        esc(v.base),
        esc(&v.delimiters.join(" ")),
    );
    frame(&title, "editor", Some(v.session), &body)
}
