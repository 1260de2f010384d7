//! The bucket's image settings through OSS's APIs: `/?processConfiguration` (source protection,
//! its suffixes, style separators; OSS's BucketProcessConfiguration as the Java SDK sends it)
//! and `/?referer` (RefererConfiguration). PUT replaces the whole document, as in OSS.

use super::style::xml_answer;
use crate::access::referer::RefererConfig;
use crate::bucket::settings::{self, Process};
use crate::bucket::xml::{self, ProcessDoc, RefererDoc};
use crate::bucket::{Bucket, Settings};
use crate::error::OssError;
use crate::exchange::{Answer, Body};

pub async fn put_process(bucket: &Bucket, body: &[u8]) -> Result<Answer, OssError> {
    let d = xml::parse_process(body).map_err(|e| OssError::invalid("InvalidArgument", None, e.message))?;
    let mut delimiters = d.style_delimiters.clone();
    if d.oss_domain_support_at_process {
        delimiters.push("@!".into());
    }
    let process = Process {
        complied_host: d.complied_host,
        source_protect: d.source_file_protect,
        suffixes: if d.source_file_protect { d.source_file_protect_suffixes } else { Vec::new() },
        delimiters: settings::normalise_delimiters(&delimiters),
    };
    bucket
        .update(|st| {
            st.process = Some(process);
            Ok(())
        })
        .await?;
    Ok(Answer::new(200, Body::Empty))
}

pub fn get_process(s: &Settings) -> Answer {
    let p = &s.process;
    let d = ProcessDoc {
        complied_host: p.complied_host.clone(),
        source_file_protect: p.source_protect,
        source_file_protect_suffixes: p.suffixes.clone(),
        style_delimiters: p.delimiters.iter().filter(|d| *d != "@!").cloned().collect(),
        oss_domain_support_at_process: p.delimiters.iter().any(|d| d == "@!"),
    };
    xml_answer(200, xml::process_xml(&d))
}

pub async fn put_referer(bucket: &Bucket, body: &[u8]) -> Result<Answer, OssError> {
    let d = xml::parse_referer(body).map_err(|e| OssError::malformed_xml(e.message))?;
    for r in d.whitelist.iter().chain(&d.blacklist) {
        settings::validate_referer_entry(r).map_err(|m| OssError::invalid("InvalidArgument", None, m))?;
    }
    let referer = RefererConfig {
        allow_empty: d.allow_empty,
        allow_truncate_query: d.allow_truncate_query,
        truncate_path: d.truncate_path,
        whitelist: d.whitelist,
        blacklist: d.blacklist,
    };
    bucket
        .update(|st| {
            st.referer = Some(referer);
            Ok(())
        })
        .await?;
    Ok(Answer::new(200, Body::Empty))
}

pub fn get_referer(s: &Settings) -> Answer {
    let r = &s.referer;
    let d = RefererDoc {
        allow_empty: r.allow_empty,
        allow_truncate_query: r.allow_truncate_query,
        truncate_path: r.truncate_path,
        whitelist: r.whitelist.clone(),
        blacklist: r.blacklist.clone(),
    };
    xml_answer(200, xml::referer_xml(&d))
}
