//! What a request asks for: its method, object key (or none: bucket level) and sub-resource,
//! classified into exactly one [`Action`] before anything is read, authorized or executed. The
//! query is decoded here exactly once ([`parse_query`]); everything after reads these values.

use crate::error::OssError;

/// The query, decoded once, in order. `None` values are parameters without `=`.
pub type Query = Vec<(String, Option<String>)>;

/// One request, one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// GET/HEAD of an object: raw, or processed by a separator style (`a.jpg!thumb`).
    GetObject,
    /// GET/HEAD with `?x-oss-process=<value>`.
    Process(String),
    /// POST `?x-oss-process` with the form body `x-oss-process=...|sys/saveas,...`.
    SaveAs,
    /// POST `?x-oss-async-process` with the form body `x-oss-async-process=...|sys/saveas,...`.
    AsyncProcess,
    /// GET `/?x-oss-async-task=<TaskId>`: the status of an asynchronous task (an imgedge
    /// extension; OSS reports completion through MNS instead).
    AsyncStatus(String),
    PutStyle(String),
    GetStyle(String),
    DeleteStyle(String),
    ListStyles,
    PutProcessConfig,
    GetProcessConfig,
    PutReferer,
    GetReferer,
    /// DELETE `/<key>?x-imgedge-purge`: forget every processed variant of the object, in every
    /// replica's memory and in the shared tier (an imgedge extension).
    PurgeVariants,
}

impl Action {
    /// Whether the handler reads a request body.
    pub fn has_body(&self) -> bool {
        matches!(
            self,
            Action::SaveAs
                | Action::AsyncProcess
                | Action::PutStyle(_)
                | Action::PutProcessConfig
                | Action::PutReferer
        )
    }

    /// Bucket APIs and the write path: never anonymous.
    pub fn signed_only(&self) -> bool {
        !matches!(self, Action::GetObject | Action::Process(_))
    }

    /// Changes a bucket's settings (needs the key's write scope on the bucket).
    pub fn changes_bucket(&self) -> bool {
        matches!(
            self,
            Action::PutStyle(_)
                | Action::DeleteStyle(_)
                | Action::PutProcessConfig
                | Action::PutReferer
                | Action::PurgeVariants
        )
    }

    /// The name used in logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Action::GetObject => "get_object",
            Action::Process(_) => "process",
            Action::SaveAs => "saveas",
            Action::AsyncProcess => "async_process",
            Action::AsyncStatus(_) => "async_status",
            Action::PutStyle(_) => "put_style",
            Action::GetStyle(_) => "get_style",
            Action::DeleteStyle(_) => "delete_style",
            Action::ListStyles => "list_style",
            Action::PutProcessConfig => "put_process_configuration",
            Action::GetProcessConfig => "get_process_configuration",
            Action::PutReferer => "put_referer",
            Action::GetReferer => "get_referer",
            Action::PurgeVariants => "purge",
        }
    }
}

/// Classifies `method` on an object (`object`) or on the bucket itself.
pub fn classify(method: &str, object: bool, q: &Query) -> Result<Action, OssError> {
    let has = |name: &str| q.iter().any(|(k, _)| k == name);
    if object {
        let process = single(q, "x-oss-process")?;
        let async_process = single(q, "x-oss-async-process")?;
        if single(q, "x-imgedge-purge")?.is_some() {
            return match (method, process, async_process) {
                ("DELETE", None, None) => Ok(Action::PurgeVariants),
                ("DELETE", _, _) => Err(OssError::invalid(
                    "InvalidArgument",
                    None,
                    "x-imgedge-purge takes no processing parameters",
                )),
                _ => Err(OssError::method_not_allowed()),
            };
        }
        return match method {
            "GET" | "HEAD" => match (process, async_process) {
                (_, Some(_)) => Err(OssError::invalid(
                    "InvalidArgument",
                    None,
                    "x-oss-async-process is only allowed with POST",
                )),
                (Some(Some(v)), None) => Ok(Action::Process(v.clone())),
                (Some(None), None) => {
                    Err(OssError::invalid("InvalidArgument", None, "x-oss-process needs a value on GET"))
                }
                (None, None) => Ok(Action::GetObject),
            },
            "POST" => match (process, async_process) {
                (Some(_), Some(_)) => Err(OssError::invalid(
                    "InvalidArgument",
                    None,
                    "x-oss-process and x-oss-async-process in one request",
                )),
                (Some(_), None) => Ok(Action::SaveAs),
                (None, Some(_)) => Ok(Action::AsyncProcess),
                (None, None) => Err(OssError::method_not_allowed()),
            },
            _ => Err(OssError::method_not_allowed()),
        };
    }
    let style_name = || -> Result<String, OssError> {
        match single(q, "styleName")? {
            Some(Some(n)) => Ok(n.clone()),
            _ => Err(OssError::invalid("MissingArgument", None, "styleName is required")),
        }
    };
    if has("style") {
        single(q, "style")?;
        return match method {
            "PUT" => Ok(Action::PutStyle(style_name()?)),
            "DELETE" => Ok(Action::DeleteStyle(style_name()?)),
            "GET" | "HEAD" if has("styleName") => Ok(Action::GetStyle(style_name()?)),
            "GET" | "HEAD" => Ok(Action::ListStyles),
            _ => Err(OssError::method_not_allowed()),
        };
    }
    let sub: &[(&str, &str, Action)] = &[
        ("processConfiguration", "PUT", Action::PutProcessConfig),
        ("processConfiguration", "GET", Action::GetProcessConfig),
        ("referer", "PUT", Action::PutReferer),
        ("referer", "GET", Action::GetReferer),
    ];
    for name in ["processConfiguration", "referer"] {
        if has(name) {
            single(q, name)?;
            let m = if method == "HEAD" { "GET" } else { method };
            return sub
                .iter()
                .find(|(n, verb, _)| *n == name && *verb == m)
                .map(|(_, _, a)| a.clone())
                .ok_or_else(OssError::method_not_allowed);
        }
    }
    if let Some(id) = single(q, "x-oss-async-task")? {
        return match (method, id) {
            ("GET" | "HEAD", Some(id)) => Ok(Action::AsyncStatus(id.clone())),
            ("GET" | "HEAD", None) => {
                Err(OssError::invalid("MissingArgument", None, "x-oss-async-task needs a TaskId"))
            }
            _ => Err(OssError::method_not_allowed()),
        };
    }
    Err(OssError::not_implemented("This bucket-level API is not provided (styles, processConfiguration, referer and x-oss-async-task are).",
    ))
}

/// Splits and decodes a raw query string. `+` stays `+` (OSS SDKs encode spaces as `%20`).
pub fn parse_query(raw: Option<&str>) -> Result<Query, OssError> {
    let mut out = Vec::new();
    for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (part, None),
        };
        out.push((decode_query(k)?, v.map(decode_query).transpose()?));
    }
    Ok(out)
}

/// A query key or value, decoded as `transform::query_decode` says (`+` is a space).
fn decode_query(s: &str) -> Result<String, OssError> {
    crate::transform::query_decode(s)
        .ok_or_else(|| OssError::invalid("InvalidArgument", None, "the query is not valid UTF-8"))
}

/// A form body field: percent-decoded once, `+` kept. The SDKs send the process text of a
/// POST unencoded (oss2 writes `x-oss-process=` + the text), where `+` is base64's own.
fn decode_body(s: &str) -> Result<String, OssError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| OssError::invalid("InvalidArgument", None, "the form body is not valid UTF-8"))
}

/// The single value of `name`; two of them are refused (never pick one silently).
pub fn single<'q>(q: &'q Query, name: &str) -> Result<Option<&'q Option<String>>, OssError> {
    let mut it = q.iter().filter(|(k, _)| k == name);
    let first = it.next().map(|(_, v)| v);
    if it.next().is_some() {
        return Err(OssError::invalid("InvalidArgument", None, format!("{name} is given more than once")));
    }
    Ok(first)
}

/// The value of `field` in an `application/x-www-form-urlencoded` body (the saveas and async
/// forms). Values are percent-decoded once; `+` stays `+`, because the SDKs send the pipeline
/// unencoded and standard base64 (`o_`, `b_`, watermark text) uses `+`. Repeated fields are
/// refused.
pub fn form_field(body: &[u8], field: &str) -> Result<String, OssError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OssError::invalid("InvalidArgument", None, "the form body is not UTF-8"))?;
    let mut found = None;
    for part in text.trim_end_matches(['\r', '\n']).split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if decode_body(k)? == field {
            if found.is_some() {
                return Err(OssError::invalid(
                    "InvalidArgument",
                    None,
                    format!("{field} is given more than once"),
                ));
            }
            found = Some(decode_body(v)?);
        }
    }
    found.filter(|v| !v.is_empty()).ok_or_else(|| {
        OssError::invalid("MissingArgument", None, format!("the form body must carry {field}=<process>"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        parse_query(Some(s)).unwrap()
    }

    #[test]
    fn queries_decode_once_and_duplicates_are_refused() {
        let v = q("x-oss-process=image%2Fresize%2Cw_100&x-oss-process2&a=%252C");
        assert_eq!(v[0], ("x-oss-process".into(), Some("image/resize,w_100".into())));
        assert_eq!(v[1], ("x-oss-process2".into(), None));
        assert_eq!(v[2].1.as_deref(), Some("%2C"));
        assert!(single(&q("x-oss-process=a&x-oss-process=b"), "x-oss-process").is_err());
        assert!(parse_query(Some("a=%FF")).is_err());
    }

    #[test]
    fn every_action_has_one_reading() {
        let c = |m: &str, obj: bool, s: &str| classify(m, obj, &q(s));
        assert_eq!(c("GET", true, "").unwrap(), Action::GetObject);
        assert_eq!(
            c("HEAD", true, "x-oss-process=image/info").unwrap(),
            Action::Process("image/info".into())
        );
        assert_eq!(c("GET", true, "x-oss-process").unwrap_err().status, 400);
        assert_eq!(c("GET", true, "x-oss-async-process").unwrap_err().status, 400);
        assert_eq!(c("POST", true, "x-oss-process").unwrap(), Action::SaveAs);
        assert_eq!(c("POST", true, "x-oss-async-process").unwrap(), Action::AsyncProcess);
        assert_eq!(c("POST", true, "x-oss-process&x-oss-async-process").unwrap_err().status, 400);
        assert_eq!(c("POST", true, "").unwrap_err().status, 405);
        assert_eq!(c("PUT", true, "").unwrap_err().status, 405);
        assert_eq!(c("DELETE", true, "x-imgedge-purge").unwrap(), Action::PurgeVariants);
        assert_eq!(c("GET", true, "x-imgedge-purge").unwrap_err().status, 405);
        assert_eq!(c("DELETE", true, "x-imgedge-purge&x-oss-process=image/info").unwrap_err().status, 400);
        assert_eq!(c("DELETE", true, "x-imgedge-purge&x-imgedge-purge").unwrap_err().status, 400);
        assert_eq!(c("DELETE", true, "").unwrap_err().status, 405, "objects are not deleted");
        assert!(Action::PurgeVariants.signed_only() && Action::PurgeVariants.changes_bucket());
        assert_eq!(c("PUT", false, "style&styleName=a").unwrap(), Action::PutStyle("a".into()));
        assert_eq!(c("GET", false, "style&styleName=a").unwrap(), Action::GetStyle("a".into()));
        assert_eq!(c("DELETE", false, "style&styleName=a").unwrap(), Action::DeleteStyle("a".into()));
        assert_eq!(c("GET", false, "style").unwrap(), Action::ListStyles);
        assert_eq!(c("PUT", false, "style").unwrap_err().code, "MissingArgument");
        assert_eq!(c("POST", false, "style").unwrap_err().status, 405);
        assert_eq!(c("PUT", false, "processConfiguration").unwrap(), Action::PutProcessConfig);
        assert_eq!(c("GET", false, "processConfiguration").unwrap(), Action::GetProcessConfig);
        assert_eq!(c("DELETE", false, "referer").unwrap_err().status, 405);
        assert_eq!(c("GET", false, "referer").unwrap(), Action::GetReferer);
        assert_eq!(c("GET", false, "x-oss-async-task=T1").unwrap(), Action::AsyncStatus("T1".into()));
        assert_eq!(c("GET", false, "").unwrap_err().status, 501);
        assert!(Action::SaveAs.has_body() && !Action::GetReferer.has_body());
        assert!(Action::DeleteStyle("a".into()).changes_bucket() && !Action::ListStyles.changes_bucket());
    }

    #[test]
    fn form_bodies() {
        let p = "image/resize,w_100|sys/saveas,o_dGVzdC5qcGc";
        assert_eq!(form_field(format!("x-oss-process={p}").as_bytes(), "x-oss-process").unwrap(), p);
        let enc = "x-oss-process=image%2Fresize%2Cw_100%7Csys%2Fsaveas%2Co_dGVzdC5qcGc%3D";
        assert_eq!(form_field(enc.as_bytes(), "x-oss-process").unwrap(), format!("{p}="));
        assert_eq!(form_field(b"x-oss-process=o_a+b/c=", "x-oss-process").unwrap(), "o_a+b/c=");
        assert!(form_field(b"x-oss-process=a&x-oss-process=b", "x-oss-process").is_err());
        assert!(form_field(b"other=1", "x-oss-process").is_err());
        assert!(form_field(b"x-oss-process=", "x-oss-process").is_err());
        assert!(form_field(b"\xff", "x-oss-process").is_err());
    }
}
