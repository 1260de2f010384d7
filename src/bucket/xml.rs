//! The XML bodies of OSS's bucket APIs for styles, referer and processConfiguration: parsing with
//! OSS's validation rules, and serialising in the element order the SDKs expect.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Why a request body was refused; the caller maps it to OSS's MalformedXML / InvalidArgument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct XmlError {
    pub message: String,
}

fn err(message: impl Into<String>) -> XmlError {
    XmlError { message: message.into() }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StyleInfo {
    pub name: String,
    pub content: String,
    pub category: String,
    pub create_time: String,
    pub last_modify_time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefererDoc {
    pub allow_empty: bool,
    pub allow_truncate_query: bool,
    pub truncate_path: bool,
    pub whitelist: Vec<String>,
    pub blacklist: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessDoc {
    /// "Img" or "Both".
    pub complied_host: String,
    pub source_file_protect: bool,
    pub source_file_protect_suffixes: Vec<String>,
    pub style_delimiters: Vec<String>,
    pub oss_domain_support_at_process: bool,
}

/// Checks well-formedness and the root name with the event reader before serde sees the text,
/// because quick-xml's deserializer ignores the root's name, stops reading after the root (so a
/// truncated or doubled document could pass) and would silently skip a DOCTYPE.
fn preflight<'a>(body: &'a [u8], root: &str) -> Result<&'a str, XmlError> {
    let upper = body.to_ascii_uppercase();
    if [&b"<!DOCTYPE"[..], b"<!ENTITY"].iter().any(|n| upper.windows(n.len()).any(|w| w == *n)) {
        return Err(err("DOCTYPE and entity declarations are not allowed"));
    }
    let text = std::str::from_utf8(body).map_err(|_| err("body is not valid UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        let event = reader.read_event().map_err(|e| err(format!("malformed XML: {e}")))?;
        let top = depth == 0;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) if top => {
                roots += 1;
                if roots > 1 {
                    return Err(err("more than one root element"));
                }
                if e.name().0 != root {
                    return Err(err(format!("root element must be <{root}>")));
                }
                depth += usize::from(matches!(event, Event::Start(_)));
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.checked_sub(1).ok_or_else(|| err("unmatched end tag"))?,
            Event::Text(ref t) if top && !t.bytes().all(|b| b" \t\r\n".contains(&b)) => {
                return Err(err("text outside the root element"));
            }
            Event::CData(_) | Event::GeneralRef(_) if top => {
                return Err(err("text outside the root element"));
            }
            Event::DocType(_) => return Err(err("DOCTYPE is not allowed")),
            Event::Eof => break,
            _ => {}
        }
    }
    match (depth, roots) {
        (0, 1) => Ok(text),
        (0, _) => Err(err(format!("missing <{root}> element"))),
        _ => Err(err("malformed XML: unexpected end of document")),
    }
}

fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], root: &str) -> Result<T, XmlError> {
    let text = preflight(body, root)?;
    quick_xml::de::from_str(text).map_err(|e| err(format!("malformed XML: {e}")))
}

fn encode<T: Serialize>(doc: &T) -> String {
    // Only strings, bools and sequences of strings are serialised: nothing that can fail.
    let body = quick_xml::se::to_string(doc).expect("plain string documents always serialise");
    format!("{DECL}{body}")
}

/// XML 1.0 cannot carry C0 controls other than tab and newlines, so a value holding one (sent as a
/// character reference) could never be written back in a GET response.
fn plain_text(field: &str, s: &str) -> Result<String, XmlError> {
    match s.chars().any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')) {
        true => Err(err(format!("<{field}> holds a control character"))),
        false => Ok(s.to_string()),
    }
}

/// One shape per document, read with `Option<String>` fields and written with plain values, so
/// the element names are spelled once.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", rename = "Style")]
struct StyleXml<T> {
    name: T,
    content: T,
    category: T,
    create_time: T,
    last_modify_time: T,
}

/// The `Content` of a PutStyle body.
pub fn parse_style(body: &[u8]) -> Result<String, XmlError> {
    let doc: StyleXml<Option<String>> = decode(body, "Style")?;
    let content = doc.content.ok_or_else(|| err("missing <Content> element"))?;
    match content.trim() {
        "" => Err(err("<Content> is empty")),
        content => plain_text("Content", content),
    }
}

fn style_out(s: &StyleInfo) -> StyleXml<&str> {
    StyleXml {
        name: &s.name,
        content: &s.content,
        category: &s.category,
        create_time: &s.create_time,
        last_modify_time: &s.last_modify_time,
    }
}

pub fn style_xml(s: &StyleInfo) -> String {
    encode(&style_out(s))
}

pub fn style_list_xml(list: &[StyleInfo]) -> String {
    #[derive(Serialize)]
    #[serde(rename = "StyleList")]
    struct StyleList<'a> {
        #[serde(rename = "Style")]
        styles: Vec<StyleXml<&'a str>>,
    }
    encode(&StyleList { styles: list.iter().map(style_out).collect() })
}

#[derive(Deserialize, Serialize, Default)]
struct RefererList<T> {
    #[serde(rename = "Referer", default)]
    referers: T,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", rename = "RefererConfiguration")]
struct RefererXml<B, L> {
    allow_empty_referer: B,
    allow_truncate_query_string: B,
    truncate_path: B,
    referer_list: L,
    referer_blacklist: L,
}

/// One of a fixed set of words; `(a, b)` spell true and false. OSS takes booleans in any case
/// but its Enabled/Disabled and Img/Both words exactly.
fn word(field: &str, value: Option<String>, (a, b): (&str, &str), default: bool) -> Result<bool, XmlError> {
    let Some(value) = value else { return Ok(default) };
    let any_case = a == "true";
    let is = |w: &str| if any_case { value.trim().eq_ignore_ascii_case(w) } else { value.trim() == w };
    match (is(a), is(b)) {
        (true, _) => Ok(true),
        (_, true) => Ok(false),
        _ => Err(err(format!("<{field}> must be {a} or {b}"))),
    }
}

const BOOL: (&str, &str) = ("true", "false");
const SWITCH: (&str, &str) = ("Enabled", "Disabled");

fn referers(list: Option<RefererList<Vec<String>>>) -> Result<Vec<String>, XmlError> {
    let list = list.unwrap_or_default().referers;
    list.iter().map(|r| r.trim()).filter(|r| !r.is_empty()).map(|r| plain_text("Referer", r)).collect()
}

pub fn parse_referer(body: &[u8]) -> Result<RefererDoc, XmlError> {
    let doc: RefererXml<Option<String>, Option<RefererList<Vec<String>>>> =
        decode(body, "RefererConfiguration")?;
    if doc.allow_empty_referer.is_none() {
        return Err(err("missing <AllowEmptyReferer> element"));
    }
    Ok(RefererDoc {
        allow_empty: word("AllowEmptyReferer", doc.allow_empty_referer, BOOL, false)?,
        allow_truncate_query: word("AllowTruncateQueryString", doc.allow_truncate_query_string, BOOL, true)?,
        truncate_path: word("TruncatePath", doc.truncate_path, BOOL, false)?,
        whitelist: referers(doc.referer_list)?,
        blacklist: referers(doc.referer_blacklist)?,
    })
}

pub fn referer_xml(d: &RefererDoc) -> String {
    encode(&RefererXml {
        allow_empty_referer: d.allow_empty,
        allow_truncate_query_string: d.allow_truncate_query,
        truncate_path: d.truncate_path,
        referer_list: RefererList { referers: &d.whitelist },
        referer_blacklist: RefererList { referers: &d.blacklist },
    })
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", rename = "BucketProcessConfiguration")]
struct ProcessXml<T> {
    version: T,
    complied_host: T,
    source_file_protect: T,
    source_file_protect_suffix: T,
    style_delimiters: T,
    oss_domain_support_at_process: T,
}

/// The order OSS reports delimiters in, whatever order they were set in.
const DELIMITERS: [&str; 4] = ["-", "_", "/", "!"];

fn switch(on: bool) -> String {
    if on { "Enabled" } else { "Disabled" }.to_string()
}

fn comma_list(value: &Option<String>) -> impl Iterator<Item = &str> {
    value.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty())
}

pub fn parse_process(body: &[u8]) -> Result<ProcessDoc, XmlError> {
    let doc: ProcessXml<Option<String>> = decode(body, "BucketProcessConfiguration")?;
    let img_only = word("CompliedHost", doc.complied_host, ("Img", "Both"), false)?;
    let source_file_protect = word("SourceFileProtect", doc.source_file_protect, SWITCH, false)?;
    let at_process = word("OssDomainSupportAtProcess", doc.oss_domain_support_at_process, SWITCH, false)?;
    let mut suffixes = Vec::new();
    for s in comma_list(&doc.source_file_protect_suffix) {
        let plain = s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if s != "*" && !plain {
            return Err(err(format!("invalid <SourceFileProtectSuffix> entry {s:?}")));
        }
        suffixes.push(s.to_string());
    }
    if !source_file_protect {
        suffixes.clear();
    }
    let mut seen = [false; DELIMITERS.len()];
    for d in comma_list(&doc.style_delimiters) {
        let i = DELIMITERS
            .iter()
            .position(|&known| known == d)
            .ok_or_else(|| err(format!("invalid <StyleDelimiters> entry {d:?}")))?;
        seen[i] = true;
    }
    Ok(ProcessDoc {
        complied_host: if img_only { "Img" } else { "Both" }.to_string(),
        source_file_protect,
        source_file_protect_suffixes: suffixes,
        style_delimiters: DELIMITERS.iter().zip(seen).filter(|p| p.1).map(|p| p.0.to_string()).collect(),
        oss_domain_support_at_process: at_process,
    })
}

pub fn process_xml(d: &ProcessDoc) -> String {
    encode(&ProcessXml {
        version: "2".to_string(),
        complied_host: d.complied_host.clone(),
        source_file_protect: switch(d.source_file_protect),
        source_file_protect_suffix: d.source_file_protect_suffixes.join(","),
        style_delimiters: d.style_delimiters.join(","),
        oss_domain_support_at_process: switch(d.oss_domain_support_at_process),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(name: &str, content: &str) -> StyleInfo {
        let (name, content, category) = (name.into(), content.into(), "image".into());
        let (create_time, last_modify_time) = ("Wed, 20 May 2026".into(), "Thu, 21 May 2026".into());
        StyleInfo { name, content, category, create_time, last_modify_time }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Runs the parser for documents rooted at `root` (S, R or P below).
    fn outcome(root: &str, body: &str) -> Result<(), XmlError> {
        match root {
            R => parse_referer(body.as_bytes()).map(drop),
            P => parse_process(body.as_bytes()).map(drop),
            _ => parse_style(body.as_bytes()).map(drop),
        }
    }
    const S: &str = "Style";
    const R: &str = "RefererConfiguration";
    const P: &str = "BucketProcessConfiguration";

    #[test]
    fn each_bad_body_is_refused_with_a_reason() {
        let on = "<SourceFileProtect>Enabled</SourceFileProtect>";
        let yes = "<AllowEmptyReferer>true</AllowEmptyReferer>";
        // (parser, children of the right root element, what the message names)
        let wrapped = [
            (S, "<Category>image</Category>", "missing <Content>"),
            (S, "<Content>  </Content>", "empty"),
            (S, "<Content>a</Contents>", "malformed"),
            (S, "<Content>a&#1;</Content>", "control"),
            (S, "<Content>&custom;</Content>", "malformed"),
            (R, "<RefererList/>", "missing <AllowEmptyReferer>"),
            (R, "<AllowEmptyReferer>yes</AllowEmptyReferer>", "AllowEmptyReferer"),
            (R, &format!("<TruncatePath>1</TruncatePath>{yes}"), "TruncatePath"),
            (R, &format!("{yes}<RefererList><Referer>a&#8;</Referer></RefererList>"), "control"),
            (P, "<CompliedHost>Cdn</CompliedHost>", "CompliedHost"),
            (P, "<CompliedHost>img</CompliedHost>", "CompliedHost"),
            (P, "<SourceFileProtect>On</SourceFileProtect>", "SourceFileProtect"),
            (P, "<OssDomainSupportAtProcess>true</OssDomainSupportAtProcess>", "OssDomainSupportAtProcess"),
            (P, &format!("{on}<SourceFileProtectSuffix>j.pg</SourceFileProtectSuffix>"), "Suffix"),
            (P, "<SourceFileProtectSuffix>abcdefghijklmnopq</SourceFileProtectSuffix>", "Suffix"),
            (P, "<StyleDelimiters>-,.</StyleDelimiters>", "StyleDelimiters"),
            (P, "<StyleDelimiters>--</StyleDelimiters>", "StyleDelimiters"),
        ];
        let raw = [
            (S, "<Style><Content>a</Content>", "malformed"),
            (S, "<Style><Content>a</Content></Style>junk", "outside"),
            (S, "<Style><Content>a</Content></Style><!doctype x>", "DOCTYPE"),
            (S, "<Other><Content>a</Content></Other>", "<Style>"),
            (S, "", "missing <Style>"),
            (R, &format!("<Referer>{yes}</Referer>"), "root"),
            (R, &format!("<{R}>{yes}</{R}><{R}>{yes}</{R}>"), "more than one root"),
            (P, "<ProcessConfiguration/>", "root"),
            (
                R,
                &format!("<!DOCTYPE l [<!ENTITY l \"l\">]><{R}>{yes}<RefererList>&l;</RefererList></{R}>"),
                "DOC",
            ),
        ];
        let wrapped = wrapped.iter().map(|(root, inner, n)| (*root, format!("<{root}>{inner}</{root}>"), *n));
        for (root, body, needle) in wrapped.chain(raw.iter().map(|(r, b, n)| (*r, b.to_string(), *n))) {
            let e = outcome(root, &body).expect_err(&body);
            assert!(e.message.contains(needle), "{body}: {:?} should mention {needle:?}", e.message);
        }
        let e = parse_style(b"<Style><Content>\xff</Content></Style>").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
    }

    #[test]
    fn style_parse_trims_and_tolerates_unknown_elements() {
        let body = b"<?xml version=\"1.0\"?>\n<Style>\n <Content> image/resize,p_50 </Content>\n \
                     <Category>x</Category>\n</Style>";
        assert_eq!(parse_style(body).unwrap(), "image/resize,p_50");
        assert_eq!(parse_style(b"<Style><Content><![CDATA[a<b]]></Content></Style>").unwrap(), "a<b");
    }

    #[test]
    fn style_xml_exact_and_escaped_content_round_trips() {
        let xml = style_xml(&style("thumb", "image/resize,w_100"));
        let want = "<Style><Name>thumb</Name><Content>image/resize,w_100</Content><Category>image\
                    </Category><CreateTime>Wed, 20 May 2026</CreateTime><LastModifyTime>Thu, 21 May 2026\
                    </LastModifyTime></Style>";
        assert_eq!(xml, format!("{DECL}{want}"));
        let content = "image/watermark,text_<b>&amp;</b>,t_\"50\"";
        let xml = style_xml(&style("a&b", content));
        assert!(xml.contains("<Name>a&amp;b</Name>") && !xml.contains("<b>"), "{xml}");
        assert_eq!(parse_style(xml.as_bytes()).unwrap(), content);
        let list = style_list_xml(&[style("a", "image/resize,p_1"), style("b", "image/rotate,90")]);
        let one = |s: &StyleInfo| style_xml(s).replace(DECL, "");
        let (a, b) = (one(&style("a", "image/resize,p_1")), one(&style("b", "image/rotate,90")));
        assert_eq!(list, format!("{DECL}<StyleList>{a}{b}</StyleList>"));
        assert!([format!("{DECL}<StyleList/>"), format!("{DECL}<StyleList></StyleList>")]
            .contains(&style_list_xml(&[])));
    }

    #[test]
    fn referer_oss2_wire_form_any_order_defaults_and_empty_lists() {
        let body = "<RefererConfiguration><AllowEmptyReferer>false</AllowEmptyReferer><RefererList>\
                    <Referer>http://a.test</Referer></RefererList><AllowTruncateQueryString>true\
                    </AllowTruncateQueryString><RefererBlacklist><Referer>http://b.test</Referer>\
                    </RefererBlacklist></RefererConfiguration>";
        let (whitelist, blacklist) = (strings(&["http://a.test"]), strings(&["http://b.test"]));
        let want = RefererDoc { allow_truncate_query: true, whitelist, blacklist, ..Default::default() };
        assert_eq!(parse_referer(body.as_bytes()).unwrap(), want);
        let body = b"<RefererConfiguration><AllowEmptyReferer>TRUE</AllowEmptyReferer><RefererList/>\
                     </RefererConfiguration>";
        let want = RefererDoc { allow_empty: true, allow_truncate_query: true, ..Default::default() };
        assert_eq!(parse_referer(body).unwrap(), want);
        let body = b"<RefererConfiguration><RefererList></RefererList><TruncatePath>True</TruncatePath>\
                     <AllowEmptyReferer>false</AllowEmptyReferer><AllowTruncateQueryString>false\
                     </AllowTruncateQueryString><RefererBlacklist><Referer> </Referer><Referer> *.x.test\
                     </Referer></RefererBlacklist></RefererConfiguration>";
        let want =
            RefererDoc { truncate_path: true, blacklist: strings(&["*.x.test"]), ..Default::default() };
        assert_eq!(parse_referer(body).unwrap(), want);
    }

    #[test]
    fn referer_round_trip_and_exact_output() {
        let whitelist = strings(&["http://a.test", "https://*.b.test/?x=1&y=<2>"]);
        let d = RefererDoc { allow_empty: true, truncate_path: true, whitelist, ..Default::default() };
        let xml = referer_xml(&d);
        assert_eq!(parse_referer(xml.as_bytes()).unwrap(), d);
        assert!(xml.contains("<RefererList><Referer>http://a.test</Referer><Referer>"), "{xml}");
        assert!(xml.contains("y=&lt;2&gt;</Referer></RefererList>"), "{xml}");
        let empty = RefererDoc { allow_truncate_query: true, ..Default::default() };
        let xml = referer_xml(&empty);
        assert_eq!(parse_referer(xml.as_bytes()).unwrap(), empty);
        let xml = xml
            .replace("List/>", "List></RefererList>")
            .replace("Blacklist/>", "Blacklist></RefererBlacklist>");
        let want = "<RefererConfiguration><AllowEmptyReferer>false</AllowEmptyReferer>\
                    <AllowTruncateQueryString>true</AllowTruncateQueryString><TruncatePath>false\
                    </TruncatePath><RefererList></RefererList>\
                    <RefererBlacklist></RefererBlacklist></RefererConfiguration>";
        assert_eq!(xml, format!("{DECL}{want}"));
    }

    #[test]
    fn process_java_sdk_wire_form_and_normalisation() {
        let body = "<BucketProcessConfiguration><CompliedHost>Img</CompliedHost><SourceFileProtect>Enabled\
                    </SourceFileProtect><SourceFileProtectSuffix> jpg, ,PNG,* </SourceFileProtectSuffix>\
                    <StyleDelimiters>/,-,/</StyleDelimiters><OssDomainSupportAtProcess>Enabled\
                    </OssDomainSupportAtProcess></BucketProcessConfiguration>";
        let d = parse_process(body.as_bytes()).unwrap();
        let want = ProcessDoc {
            complied_host: "Img".into(),
            source_file_protect: true,
            source_file_protect_suffixes: strings(&["jpg", "PNG", "*"]),
            style_delimiters: strings(&["-", "/"]),
            oss_domain_support_at_process: true,
        };
        assert_eq!(d, want);
        let xml = "<BucketProcessConfiguration><Version>2</Version><CompliedHost>Img</CompliedHost>\
                   <SourceFileProtect>Enabled</SourceFileProtect><SourceFileProtectSuffix>jpg,PNG,*\
                   </SourceFileProtectSuffix><StyleDelimiters>-,/</StyleDelimiters>\
                   <OssDomainSupportAtProcess>Enabled</OssDomainSupportAtProcess>\
                   </BucketProcessConfiguration>";
        assert_eq!(process_xml(&d), format!("{DECL}{xml}"));
        assert_eq!(parse_process(process_xml(&d).as_bytes()).unwrap(), d);
        let d =
            parse_process(b"<BucketProcessConfiguration><Version>1</Version></BucketProcessConfiguration>");
        let d = d.unwrap();
        assert_eq!(d, ProcessDoc { complied_host: "Both".into(), ..Default::default() });
        assert_eq!(parse_process(process_xml(&d).as_bytes()).unwrap(), d);
    }

    #[test]
    fn process_suffixes_cleared_when_protection_disabled() {
        let body = b"<BucketProcessConfiguration><SourceFileProtect>Disabled</SourceFileProtect>\
                     <SourceFileProtectSuffix>jpg,png</SourceFileProtectSuffix><StyleDelimiters>!,_,-,/\
                     </StyleDelimiters></BucketProcessConfiguration>";
        let d = parse_process(body).unwrap();
        assert!(d.source_file_protect_suffixes.is_empty());
        assert_eq!(d.style_delimiters, ["-", "_", "/", "!"]);
        assert!(process_xml(&d).contains("<SourceFileProtectSuffix/><StyleDelimiters>-,_,/,!</"));
        let on = b"<BucketProcessConfiguration><SourceFileProtect>Enabled</SourceFileProtect>\
                   <SourceFileProtectSuffix>abcdefghijklmnop</SourceFileProtectSuffix>\
                   </BucketProcessConfiguration>";
        assert_eq!(parse_process(on).unwrap().source_file_protect_suffixes, ["abcdefghijklmnop"]);
    }

    #[test]
    fn truncations_and_random_bytes_never_panic() {
        let parse_all =
            |b: &[u8]| [parse_style(b).is_ok(), parse_referer(b).is_ok(), parse_process(b).is_ok()];
        let docs = [
            (style_xml(&style("a", "image/resize,p_1<&>")), 0),
            (referer_xml(&RefererDoc { whitelist: strings(&["http://a.test"]), ..Default::default() }), 1),
            (process_xml(&ProcessDoc { complied_host: "Both".into(), ..Default::default() }), 2),
        ];
        for (doc, parser) in &docs {
            assert!(parse_all(doc.as_bytes())[*parser], "{doc}");
            for cut in 0..doc.len() {
                // A truncated document must never be taken for the whole one.
                assert!(!parse_all(&doc.as_bytes()[..cut])[*parser], "{}", &doc[..cut]);
            }
        }
        let mut r = crate::testing::XorShift(7);
        let pieces =
            ["<", ">", "/", "Style", "Content", "<Referer>", "</Referer>", "&amp;", "&#", "x", "\u{e9}"];
        for _ in 0..2000 {
            parse_all(&(0..r.next() % 64).map(|_| r.next() as u8).collect::<Vec<u8>>());
            parse_all(r.string(24, &pieces).as_bytes());
            let mut mutated = docs[(r.next() % 3) as usize].0.clone().into_bytes();
            let at = (r.next() as usize) % mutated.len();
            mutated[at] = r.next() as u8;
            parse_all(&mutated);
        }
    }
}
