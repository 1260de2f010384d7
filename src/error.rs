//! The proxy's errors as OSS answers them, and the one place they become HTTP: status, an OSS
//! XML body (Code, Message, RequestId, HostId, EC), `x-oss-request-id`, no body for HEAD.

use std::borrow::Cow;

use crate::transform;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssError {
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
    pub fn new(
        status: u16,
        code: &'static str,
        ec: Option<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        OssError {
            status,
            code: Cow::Borrowed(code),
            ec,
            message: message.into(),
            bucket_name: None,
            string_to_sign: None,
        }
    }

    pub fn access_denied(ec: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(403, "AccessDenied", ec, message)
    }

    pub fn no_such_key() -> Self {
        Self::new(404, "NoSuchKey", None, "The specified key does not exist.")
    }

    pub fn no_such_bucket() -> Self {
        Self::new(404, "NoSuchBucket", None, "The specified bucket does not exist.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(405, "MethodNotAllowed", None, "The specified method is not allowed against this resource.")
    }

    pub fn busy() -> Self {
        Self::new(503, "ServiceUnavailable", None, "Please reduce your request rate.")
    }

    pub fn no_such_style() -> Self {
        Self::new(404, "NoSuchStyle", None, "The specified style does not exist.")
    }

    pub fn malformed_xml(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "MalformedXML", None, format!("The XML you provided was not well-formed: {detail}"))
    }

    pub fn internal() -> Self {
        Self::new(500, "InternalError", None, "We encountered an internal error. Please try again.")
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
        OssError {
            status: e.status,
            code: e.code.into(),
            ec: e.ec,
            message: e.message.into(),
            bucket_name: None,
            string_to_sign: e.string_to_sign,
        }
    }
}

impl From<transform::Error> for OssError {
    fn from(e: transform::Error) -> Self {
        OssError {
            status: e.status(),
            code: Cow::Borrowed(e.code.as_str()),
            ec: e.ec,
            message: e.message,
            bucket_name: None,
            string_to_sign: None,
        }
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
