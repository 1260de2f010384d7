//! The proxy's errors as OSS answers them: a [`Kind`] (whose fault), OSS's Code, EC and a safe
//! message; [`Kind::answer`] is the one table that turns a kind into a status, a metrics label
//! and Retry-After, and [`OssError::xml`] the body (Code, Message, RequestId, HostId, EC).

use std::borrow::Cow;

use crate::transform;

/// Whose fault an error is, and so how it is answered and counted: each kind has one status,
/// one outcome label for the metrics and one Retry-After rule, in [`Kind::answer`], the one
/// table that turns an error into HTTP. The OSS `Code` is chosen where the error is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A malformed or inapplicable request (400).
    Invalid,
    /// The source or output is over a size, pixel or cost limit (400 ImageTooLarge).
    TooLarge,
    /// Authorization refused (403).
    Denied,
    /// No such object, bucket, style or task (404).
    NotFound,
    /// The method does not apply (405).
    NotAllowed,
    /// What the request would write clashes with what is there (409).
    Conflict,
    /// No worker, turn or memory within the wait (503 + Retry-After).
    Busy,
    /// The transform ran past its deadline (503 + Retry-After).
    Timeout,
    /// A dependency of the server is not ready: a bucket's settings, the state store (503 +
    /// Retry-After).
    Unavailable,
    /// The origin failed or answered something unusable (502).
    Upstream,
    /// The origin did not answer in time (504).
    UpstreamTimeout,
    /// Not provided by this server (501).
    NotImplemented,
    /// A fault of ours (500).
    Internal,
    /// The client left before the answer (499, logged, never sent).
    ClientGone,
}

/// What a [`Kind`] means in HTTP and in the metrics.
pub struct Answering {
    pub status: u16,
    /// The `outcome` label of `imgedge_requests_total`.
    pub label: &'static str,
    pub retry_after: bool,
}

impl Kind {
    /// The table.
    pub const fn answer(self) -> Answering {
        let (status, label, retry_after) = match self {
            Kind::Invalid => (400, "invalid", false),
            Kind::TooLarge => (400, "too_large", false),
            Kind::Denied => (403, "denied", false),
            Kind::NotFound => (404, "not_found", false),
            Kind::NotAllowed => (405, "invalid", false),
            Kind::Conflict => (409, "conflict", false),
            Kind::Busy => (503, "busy", true),
            Kind::Timeout => (503, "timeout", true),
            Kind::Unavailable => (503, "unavailable", true),
            Kind::Upstream => (502, "upstream", false),
            Kind::UpstreamTimeout => (504, "upstream", false),
            Kind::NotImplemented => (501, "not_implemented", false),
            Kind::Internal => (500, "error", false),
            Kind::ClientGone => (499, "aborted", false),
        };
        Answering { status, label, retry_after }
    }
}

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssError {
    pub kind: Kind,
    pub status: u16,
    pub code: Cow<'static, str>,
    pub ec: Option<&'static str>,
    /// Safe to show: no paths, no internals.
    pub message: Cow<'static, str>,
    /// Extra elements such as `<BucketName>` for referer denials.
    pub bucket_name: Option<String>,
    /// `<StringToSign>` of a SignatureDoesNotMatch, as OSS echoes it (no secret in it).
    pub string_to_sign: Option<String>,
}

impl OssError {
    /// An error of `kind` with OSS's `code`: the one constructor, which every other calls.
    pub fn new(
        kind: Kind,
        code: impl Into<Cow<'static, str>>,
        ec: Option<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        OssError {
            kind,
            status: kind.answer().status,
            code: code.into(),
            ec,
            message: message.into(),
            bucket_name: None,
            string_to_sign: None,
        }
    }

    /// 400 with OSS's `code` (InvalidArgument, MissingArgument, InvalidObjectName, ...).
    pub fn invalid(
        code: &'static str,
        ec: Option<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(Kind::Invalid, code, ec, message)
    }

    pub fn access_denied(ec: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Denied, "AccessDenied", ec, message)
    }

    pub fn no_such_key() -> Self {
        Self::new(Kind::NotFound, "NoSuchKey", None, "The specified key does not exist.")
    }

    pub fn no_such_bucket() -> Self {
        Self::new(Kind::NotFound, "NoSuchBucket", None, "The specified bucket does not exist.")
    }

    pub fn no_such_style() -> Self {
        Self::new(Kind::NotFound, "NoSuchStyle", None, "The specified style does not exist.")
    }

    pub fn no_such_task() -> Self {
        Self::new(Kind::NotFound, "NoSuchTask", None, "The specified task does not exist.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            Kind::NotAllowed,
            "MethodNotAllowed",
            None,
            "The specified method is not allowed against this resource.",
        )
    }

    /// 409 FileAlreadyExists: a folder where an object would go, or an object where a folder.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Conflict, "FileAlreadyExists", None, message)
    }

    pub fn busy() -> Self {
        Self::new(Kind::Busy, "ServiceUnavailable", None, "Please reduce your request rate.")
    }

    /// 503 for a dependency that is not ready (not load: [`OssError::busy`]).
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Unavailable, "ServiceUnavailable", None, message)
    }

    /// 502 BadGateway: the origin failed, with what to tell the client.
    pub fn bad_gateway(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Upstream, "BadGateway", None, message)
    }

    pub fn gateway_timeout() -> Self {
        Self::new(Kind::UpstreamTimeout, "GatewayTimeout", None, "The origin did not answer in time.")
    }

    pub fn not_implemented(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::NotImplemented, "NotImplemented", None, message)
    }

    pub fn malformed_xml(detail: impl std::fmt::Display) -> Self {
        Self::invalid("MalformedXML", None, format!("The XML you provided was not well-formed: {detail}"))
    }

    pub fn internal() -> Self {
        Self::new(
            Kind::Internal,
            "InternalError",
            None,
            "We encountered an internal error. Please try again.",
        )
    }

    /// nginx's 499: the client closed the connection first (logged, never sent).
    pub fn client_gone() -> Self {
        Self::new(Kind::ClientGone, "ClientClosedRequest", None, "The client closed the connection.")
    }

    /// The XML body.
    pub fn xml(&self, request_id: &str, host_id: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n");
        out.push_str(&format!("  <Code>{}</Code>\n", escape(&self.code)));
        out.push_str(&format!("  <Message>{}</Message>\n", escape(&self.message)));
        out.push_str(&format!("  <RequestId>{}</RequestId>\n", escape(request_id)));
        out.push_str(&format!("  <HostId>{}</HostId>\n", escape(host_id)));
        if let Some(b) = &self.bucket_name {
            out.push_str(&format!("  <BucketName>{}</BucketName>\n", escape(b)));
        }
        if let Some(sts) = &self.string_to_sign {
            out.push_str(&format!("  <StringToSign>{}</StringToSign>\n", escape(sts)));
        }
        if let Some(ec) = self.ec {
            out.push_str(&format!("  <EC>{ec}</EC>\n"));
            out.push_str(&format!(
                "  <RecommendDoc>https://api.aliyun.com/troubleshoot?q={ec}</RecommendDoc>\n"
            ));
        }
        out.push_str("</Error>\n");
        out
    }
}

impl From<crate::access::AuthError> for OssError {
    fn from(e: crate::access::AuthError) -> Self {
        let kind = match e.status {
            403 => Kind::Denied,
            404 => Kind::NotFound,
            _ => Kind::Invalid,
        };
        OssError { string_to_sign: e.string_to_sign, ..Self::new(kind, e.code, e.ec, e.message) }
    }
}

impl From<transform::Error> for OssError {
    fn from(e: transform::Error) -> Self {
        use transform::Code;
        let kind = match e.code {
            Code::ImageTooLarge => Kind::TooLarge,
            Code::NoSuchKey | Code::NoSuchStyle => Kind::NotFound,
            Code::NotImplemented => Kind::NotImplemented,
            Code::ProcessTimeout => Kind::Timeout,
            Code::Cancelled => Kind::ClientGone,
            Code::InternalError => Kind::Internal,
            _ => Kind::Invalid,
        };
        Self::new(kind, e.code.as_str(), e.ec, e.message)
    }
}

/// Escapes text for XML element content. Characters XML 1.0 cannot hold at all (controls but
/// tab, newline and carriage return; a request can put them in a process string that a message
/// quotes) are written as `\u{..}`, so the body always parses.
pub fn escape(s: &str) -> Cow<'_, str> {
    let forbidden =
        |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r') || c == '\u{FFFE}' || c == '\u{FFFF}';
    if !s.contains(['<', '>', '&', '"', '\'']) && !s.contains(forbidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if forbidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_has_the_oss_shape_and_escapes() {
        let e = OssError::from(transform::Error::invalid(Some("0040-00000312"), "w <bad> & \"x\""));
        let x = e.xml("5C3D9175B6FC201293AD0001", "demo.localhost");
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"));
        assert!(x.contains("<Code>InvalidArgument</Code>"));
        assert!(x.contains("<Message>w &lt;bad&gt; &amp; &quot;x&quot;</Message>"));
        assert!(x.contains("<RequestId>5C3D9175B6FC201293AD0001</RequestId>"));
        assert!(x.contains("<HostId>demo.localhost</HostId>"));
        assert!(x.contains("<EC>0040-00000312</EC>"));
        assert_eq!(e.status, 400);
        let mut r =
            OssError::access_denied(Some("0003-00000503"), "You are denied by bucket referer policy.");
        r.bucket_name = Some("demo".into());
        assert!(r.xml("id", "h").contains("<BucketName>demo</BucketName>"));
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        let e = OssError::from(transform::Error::invalid(None, "bad \u{1}\u{1b}[31m\u{7f} value\tok"));
        let x = e.xml("id", "h");
        assert!(x.contains("<Message>bad \\u{1}\\u{1b}[31m\\u{7f} value\tok</Message>"), "{x}");
        assert!(!x.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n')));
    }
}
