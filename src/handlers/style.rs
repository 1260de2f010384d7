//! The style API: PutStyle, GetStyle, ListStyle, DeleteStyle (`/?style[&styleName=<n>]`), with
//! OSS's XML, name rules (EC 0017-00000250/251) and a per-bucket limit. A changed style applies
//! to the next request; variants of the old definition are never served again, because the
//! cache key holds a style's expansion, not its name.

use bytes::Bytes;

use crate::app::App;
use crate::bucket::settings::{validate_style, Style};
use crate::bucket::xml::{self, StyleInfo};
use crate::bucket::{unix_now, Bucket, Settings};
use crate::error::OssError;
use crate::exchange::{Answer, Body};

pub fn xml_answer(status: u16, body: String) -> Answer {
    Answer::new(status, Body::Bytes(Bytes::from(body))).header("content-type", "application/xml")
}

fn info(name: &str, s: &Style) -> StyleInfo {
    StyleInfo {
        name: name.to_string(),
        content: s.content.clone(),
        category: "image".into(),
        create_time: httpdate::fmt_http_date(Style::time(s.created)),
        last_modify_time: httpdate::fmt_http_date(Style::time(s.modified)),
    }
}

pub async fn put(app: &App, bucket: &Bucket, name: &str, body: &[u8]) -> Result<Answer, OssError> {
    let content = xml::parse_style(body).map_err(|e| OssError::malformed_xml(e.message))?;
    validate_style(name, &content, &app.limits)?;
    let max = app.api.max_styles;
    let current = bucket.settings();
    bucket
        .update(|st| {
            let styles = st.styles.get_or_insert_with(|| current.styles.clone());
            let now = unix_now();
            let full = styles.len() >= max;
            match styles.get_mut(name) {
                Some(s) => {
                    s.content = content;
                    s.modified = now;
                }
                None if full => {
                    return Err(OssError::invalid(
                        "TooManyStyles",
                        None,
                        format!("A bucket holds at most {max} styles (api.max_styles)."),
                    ))
                }
                None => {
                    styles.insert(name.to_string(), Style { content, created: now, modified: now });
                }
            }
            Ok(())
        })
        .await?;
    Ok(Answer::new(200, Body::Empty))
}

pub fn get(settings: &Settings, name: &str) -> Result<Answer, OssError> {
    let s = settings.styles.get(name).ok_or_else(OssError::no_such_style)?;
    Ok(xml_answer(200, xml::style_xml(&info(name, s))))
}

pub fn list(settings: &Settings) -> Answer {
    let all: Vec<StyleInfo> = settings.styles.iter().map(|(n, s)| info(n, s)).collect();
    xml_answer(200, xml::style_list_xml(&all))
}

pub async fn delete(bucket: &Bucket, name: &str) -> Result<Answer, OssError> {
    let current = bucket.settings();
    if !current.styles.contains_key(name) {
        return Err(OssError::no_such_style());
    }
    bucket
        .update(|st| {
            st.styles.get_or_insert_with(|| current.styles.clone()).remove(name);
            Ok(())
        })
        .await?;
    Ok(Answer::new(204, Body::Empty))
}
