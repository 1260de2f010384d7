//! What the console's bucket pages do. Each change is turned into the bucket API request an SDK
//! would send (the same XML document) and handed to [`dispatch::serve`] as the signed-in key,
//! so validation, authorization and persistence are the API's own; the API's error text is
//! shown beside the field it is about. Previews are ordinary processed GETs as that key.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::pages::{self, BucketView, EditorView};
use super::session::Session;
use super::{html, Console, Page, Visit};
use crate::access::Auth;
use crate::bucket::xml::{self, ProcessDoc, RefererDoc, StyleInfo};
use crate::bucket::{settings, Bucket};
use crate::dispatch::{self, Routed};
use crate::error::OssError;
use crate::exchange::{Body, Reply, Req};
use crate::names::{self, ObjectKey};
use crate::request;

/// One request the console makes on the key's behalf.
struct Call<'a> {
    method: &'a str,
    key: Option<ObjectKey>,
    query: &'a [(&'a str, Option<&'a str>)],
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl<'a> Call<'a> {
    fn new(
        method: &'a str,
        key: Option<ObjectKey>,
        query: &'a [(&'a str, Option<&'a str>)],
        body: Bytes,
    ) -> Self {
        Call { method, key, query, headers: Vec::new(), body }
    }
}

/// Objects offered in the preview's picker (stores that can list).
const PICKER: usize = 500;

impl Console {
    pub(super) async fn bucket(&self, v: &Visit, s: &Session, name: &str, rest: &[&str]) -> Page {
        // A bucket the key may not read does not exist, as far as its console is concerned.
        let Some(b) = self.app.bucket(name).filter(|b| self.app.keys.may_read(&s.key_id, &b.name)).cloned()
        else {
            return Page::refuse(404, "No such bucket.");
        };
        match (v.method.as_str(), rest) {
            ("GET", []) => self.bucket_page(s, &b, v.query("ok"), HashMap::new(), None),
            ("POST", ["settings"]) => self.put_settings(v, s, &b).await,
            ("POST", ["referer"]) => self.put_referer(v, s, &b).await,
            ("POST", ["purge"]) => self.purge(v, s, &b).await,
            ("GET", ["style"]) => {
                self.editor(s, &b, v.query("name").unwrap_or(""), None, v.query("ok"), None)
            }
            ("POST", ["style"]) => self.put_style(v, s, &b).await,
            ("POST", ["style", "delete"]) => self.delete_style(v, s, &b).await,
            ("GET", ["preview"]) => self.preview(v, s, &b).await,
            ("GET", ["objects.json"]) => self.objects(&b).await,
            _ => Page::refuse(404, "No such page."),
        }
    }

    /// Runs one bucket API request (or object GET) as the session's key, through the same
    /// classification, authorization and handler as a signed request.
    async fn call(&self, s: &Session, b: &Arc<Bucket>, c: Call<'_>) -> Result<Reply, OssError> {
        let query: request::Query =
            c.query.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect();
        let action = request::classify(c.method, c.key.is_some(), &query)?;
        let req = Req {
            method: c.method.to_string(),
            host: String::new(),
            path: String::new(),
            query,
            headers: c.headers,
            request_id: crate::proxy::request_id(),
        };
        let auth = Auth::Signed {
            access_key_id: s.key_id.clone(),
            by_header: true,
            payload_sha256: None,
            expires: None,
        };
        let routed = Routed { bucket: b.clone(), key: c.key, action, auth };
        dispatch::serve(&self.app, &req, routed, c.body).await.map(|(r, _)| r)
    }

    fn view<'a>(&'a self, s: &'a Session, b: &'a Bucket) -> (bool, &'a str) {
        (self.app.keys.may_write(&s.key_id, &b.name), self.bases.get(&b.name).map_or("", String::as_str))
    }

    fn bucket_page(
        &self,
        s: &Session,
        b: &Arc<Bucket>,
        ok: Option<&str>,
        errors: HashMap<&'static str, String>,
        submitted: Option<&Visit>,
    ) -> Page {
        let (writable, base) = self.view(s, b);
        let settings = b.settings();
        let tasks = self.app.tasks.of_bucket(&b.name, 50);
        let status = if errors.is_empty() { 200 } else { 400 };
        let view = BucketView {
            session: s,
            name: &b.name,
            writable,
            base,
            settings: &settings,
            auto_format: b.auto_format(),
            tasks: &tasks,
            notice: ok.and_then(pages::notice_for),
            errors: &errors,
            submitted,
        };
        Page::html(status, pages::bucket(&view))
    }

    async fn put_settings(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let delimiters = v.fields("delimiter");
        let doc = ProcessDoc {
            complied_host: b.settings().process.complied_host.clone(),
            source_file_protect: v.field("protect").is_some(),
            source_file_protect_suffixes: list(v.field("suffixes").unwrap_or(""), ','),
            style_delimiters: delimiters.iter().filter(|d| **d != "@!").map(|d| d.to_string()).collect(),
            oss_domain_support_at_process: delimiters.contains(&"@!"),
        };
        let body = Bytes::from(xml::process_xml(&doc));
        let q = [("processConfiguration", None)];
        match self.call(s, b, Call::new("PUT", None, &q, body)).await {
            Ok(_) => back(b, "", "settings"),
            Err(e) => {
                // The API names the element it refused; the form shows it beside that field.
                let field = if e.message.contains("StyleDelimiters") { "delimiters" } else { "suffixes" };
                self.failed(s, b, v, field, e)
            }
        }
    }

    async fn put_referer(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let (whitelist, blacklist) =
            (list(v.field("whitelist").unwrap_or(""), '\n'), list(v.field("blacklist").unwrap_or(""), '\n'));
        // The API's own entry check, run per list first so its text lands beside the right one.
        for (field, entries) in [("whitelist", &whitelist), ("blacklist", &blacklist)] {
            if let Some(m) = entries.iter().find_map(|r| settings::validate_referer_entry(r).err()) {
                return self.failed(s, b, v, field, OssError::invalid("InvalidArgument", None, m));
            }
        }
        let doc = RefererDoc {
            allow_empty: v.field("allow_empty").is_some(),
            allow_truncate_query: v.field("allow_truncate_query").is_some(),
            truncate_path: v.field("truncate_path").is_some(),
            whitelist,
            blacklist,
        };
        let body = Bytes::from(xml::referer_xml(&doc));
        match self.call(s, b, Call::new("PUT", None, &[("referer", None)], body)).await {
            Ok(_) => back(b, "", "referer"),
            Err(e) => self.failed(s, b, v, "referer", e),
        }
    }

    async fn purge(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let key = match ObjectKey::new(v.field("key").unwrap_or("").trim()) {
            Ok(k) => k,
            Err(e) => {
                return self.failed(
                    s,
                    b,
                    v,
                    "purge",
                    OssError::invalid("InvalidObjectName", e.ec(), e.to_string()),
                )
            }
        };
        match self
            .call(s, b, Call::new("DELETE", Some(key), &[("x-imgedge-purge", None)], Bytes::new()))
            .await
        {
            Ok(_) => back(b, "", "purged"),
            Err(e) => self.failed(s, b, v, "purge", e),
        }
    }

    /// The bucket page again, with the API's refusal beside `field` (403 for a key that may
    /// not change the bucket, 400 otherwise).
    fn failed(&self, s: &Session, b: &Arc<Bucket>, v: &Visit, field: &'static str, e: OssError) -> Page {
        let mut p = self.bucket_page(s, b, None, HashMap::from([(field, message(&e))]), Some(v));
        p.status = e.status;
        p
    }

    fn editor(
        &self,
        s: &Session,
        b: &Arc<Bucket>,
        name: &str,
        content: Option<&str>,
        ok: Option<&str>,
        error: Option<(&'static str, String)>,
    ) -> Page {
        let (writable, base) = self.view(s, b);
        let settings = b.settings();
        let stored = settings.styles.get(name).map(|st| st.content.as_str());
        let view = EditorView {
            session: s,
            bucket: &b.name,
            writable,
            base,
            delimiters: settings.delimiters(),
            name,
            exists: stored.is_some(),
            content: content.or(stored).unwrap_or("image/resize,w_300"),
            notice: ok.and_then(pages::notice_for),
            error: error.as_ref().map(|(f, m)| (*f, m.as_str())),
        };
        Page::html(if error.is_some() { 400 } else { 200 }, pages::editor(&view))
    }

    async fn put_style(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let (name, content) = (v.field("name").unwrap_or("").trim(), v.field("content").unwrap_or("").trim());
        let info = StyleInfo { name: name.into(), content: content.into(), ..Default::default() };
        let body = Bytes::from(xml::style_xml(&info));
        let q = [("style", None), ("styleName", Some(name))];
        match self.call(s, b, Call::new("PUT", None, &q, body)).await {
            Ok(_) => Page::redirect(&format!("/b/{}/style?name={}&ok=saved", b.name, html::enc(name))),
            Err(e) => {
                let field = if names::check_style_name(name).is_err() { "name" } else { "content" };
                let mut p = self.editor(s, b, name, Some(content), None, Some((field, message(&e))));
                p.status = e.status;
                p
            }
        }
    }

    async fn delete_style(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let name = v.field("name").unwrap_or("");
        let q = [("style", None), ("styleName", Some(name))];
        match self.call(s, b, Call::new("DELETE", None, &q, Bytes::new())).await {
            Ok(_) => back(b, "", "deleted"),
            Err(e) => self.failed(s, b, v, "styles", e),
        }
    }

    /// An object of the bucket as the key reads it: raw without `process`, processed with it.
    /// Errors come back as OSS's XML, which the editor shows as text.
    async fn preview(&self, v: &Visit, s: &Session, b: &Arc<Bucket>) -> Page {
        let key = match ObjectKey::new(v.query("key").unwrap_or("")) {
            Ok(k) => k,
            Err(e) => return oss_error(&OssError::invalid("InvalidObjectName", e.ec(), e.to_string())),
        };
        // The browser's Accept, so `format,auto` previews what this browser would get.
        let headers: Vec<(String, String)> =
            v.header("accept").map(|a| ("accept".to_string(), a.to_string())).into_iter().collect();
        let q: Vec<(&str, Option<&str>)> =
            v.query("process").map(|p| ("x-oss-process", Some(p))).into_iter().collect();
        let reply =
            self.call(s, b, Call { headers, ..Call::new("GET", Some(key.clone()), &q, Bytes::new()) }).await;
        let answer = match reply {
            Ok(Reply::Answer(a)) => a,
            // A remote bucket's raw object is proxied by pingora on the main listener; here it is
            // read through the store, under the source-size cap, now that access is granted.
            Ok(Reply::Proxy(..)) => match b.store.get(&key, self.app.limits.max_src_bytes).await {
                Ok(o) => {
                    let ctype = crate::handlers::raw::content_type(key.as_str());
                    return image(ctype.to_string(), o.bytes);
                }
                Err(e) => return oss_error(&e),
            },
            Err(e) => return oss_error(&e),
        };
        let ctype = answer.headers.iter().find(|(k, _)| *k == "content-type").map(|(_, v)| v.clone());
        let bytes = match answer.body {
            Body::Bytes(b) => b.to_vec(),
            Body::Empty => Vec::new(),
            Body::File { file, start, len } => match read_file(file, start, len).await {
                Ok(b) => b,
                Err(e) => return oss_error(&e),
            },
        };
        let mut p = image(ctype.unwrap_or_else(|| "application/octet-stream".into()), bytes);
        p.status = answer.status;
        p
    }

    async fn objects(&self, b: &Arc<Bucket>) -> Page {
        let keys: Vec<String> = match b.store.list("", PICKER).await {
            Ok(l) => l.into_iter().map(|o| o.key).collect(),
            // HTTP origins cannot list: the editor then takes a key typed by hand.
            Err(_) => Vec::new(),
        };
        Page::json(serde_json::json!({ "keys": keys }).to_string())
    }
}

/// A preview image. SVG and other types that can run script are sandboxed as on the proxy.
fn image(ctype: String, bytes: Vec<u8>) -> Page {
    let sandbox = crate::exchange::sandbox_policy(&ctype);
    let mut p = Page { status: 200, ctype: "application/octet-stream", body: bytes, headers: Vec::new() };
    p.headers.push(("x-preview-type", ctype.clone()));
    // The type is only passed on for images: anything else is downloaded, never rendered.
    if ctype.starts_with("image/") && sandbox.is_none() {
        p.ctype = image_type(&ctype);
    }
    p
}

/// The static string of an image content type the proxy produced.
fn image_type(t: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/avif",
        "image/heic",
        "image/bmp",
        "image/tiff",
        "image/x-icon",
    ];
    KNOWN.iter().find(|k| **k == t).copied().unwrap_or("application/octet-stream")
}

fn oss_error(e: &OssError) -> Page {
    let xml = e.xml("console", "console");
    Page { status: e.status, ctype: "application/xml", body: xml.into_bytes(), headers: Vec::new() }
}

/// The refusal's text as the form shows it: OSS's code and message (and EC when there is one).
fn message(e: &OssError) -> String {
    match e.ec {
        Some(ec) => format!("{}: {} (EC {ec})", e.code, e.message),
        None => format!("{}: {}", e.code, e.message),
    }
}

/// Back to the bucket page (Post/Redirect/Get), with a fixed notice code.
fn back(b: &Bucket, fragment: &str, ok: &str) -> Page {
    Page::redirect(&format!("/b/{}?ok={ok}{fragment}", b.name))
}

/// Entries of a list typed in a form, split on `sep` (and newlines), trimmed, empties dropped.
fn list(text: &str, sep: char) -> Vec<String> {
    text.split([sep, '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A byte range of a local file, off the async threads.
async fn read_file(file: std::fs::File, start: u64, len: u64) -> Result<Vec<u8>, OssError> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = file;
        file.seek(SeekFrom::Start(start))?;
        let mut out = Vec::new();
        file.take(len).read_to_end(&mut out)?;
        Ok::<_, std::io::Error>(out)
    })
    .await
    .map_err(|_| OssError::internal())?
    .map_err(|e| {
        tracing::warn!(error = %e, "console preview read failed");
        OssError::internal()
    })
}
