//! The grammar of `x-oss-process` (spec §1.1–1.4): `image/<action>,<params>/...`, or
//! `style/<name>` resolved through a lookup the caller supplies, each optionally followed by
//! `|sys/saveas,o_..,b_..`. No pixels and no I/O here.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use super::b64;
use super::error::{Code, Error, Result};
use super::limits::Limits;
use super::ops;
use super::params::{self, Param};
use super::spec::{Op, Output, Pipeline, SaveAs};
use super::video;

/// Where `style/<name>` definitions come from (a bucket's styles, a config file, ...).
pub trait Styles {
    /// The stored content of the style (`image/...`), if it exists.
    fn get(&self, name: &str) -> Option<String>;
}

/// No styles at all.
pub struct NoStyles;

impl Styles for NoStyles {
    fn get(&self, _: &str) -> Option<String> {
        None
    }
}

impl Styles for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// Parses a raw query value: percent-decodes it exactly once, then [`parse`]s it.
/// `+` stays `+` (standard base64 uses it; OSS SDKs encode spaces as `%20`).
pub fn parse_query_value(raw: &str, styles: &dyn Styles, limits: &Limits) -> Result<Pipeline> {
    let decoded =
        query_decode(raw).ok_or_else(|| Error::invalid(None, "x-oss-process is not valid UTF-8"))?;
    parse(&decoded, styles, limits)
}

/// One query key or value as the SDKs encode it: `+` is a space (form encoding: what oss2 sends
/// for a space, and signs decoded), then percent-decoding, exactly once. A `+` meant as itself
/// arrives as `%2B`; base64 parameters read a space as the `+` it was (`b64::decode`). `None`
/// when the result is not UTF-8.
pub fn query_decode(raw: &str) -> Option<String> {
    let spaced;
    let raw = match raw.contains('+') {
        true => {
            spaced = raw.replace('+', " ");
            &spaced
        }
        false => raw,
    };
    percent_decode_str(raw).decode_utf8().ok().map(|c| c.into_owned())
}

/// Parses a decoded process string.
pub fn parse(process: &str, styles: &dyn Styles, limits: &Limits) -> Result<Pipeline> {
    if process.len() > limits.max_process_len {
        return Err(Error::invalid(None, "x-oss-process is too long"));
    }
    let (main, sys) = match process.split_once('|') {
        Some((main, sys)) => (main, Some(sys)),
        None => (process, None),
    };
    let mut pipeline = match main.strip_prefix("style/") {
        Some(name) => {
            let content = resolve_style(name, styles)?;
            let mut p = parse_domain(&content, limits)?;
            p.style = Some(name.to_string());
            p
        }
        None => parse_domain(main, limits)?,
    };
    if let Some(sys) = sys {
        pipeline.saveas = Some(parse_saveas(sys)?);
    }
    Ok(pipeline)
}

/// One `image/...` or `video/snapshot...` pipeline, without style or saveas.
fn parse_domain(main: &str, limits: &Limits) -> Result<Pipeline> {
    if let Some(body) = main.strip_prefix("image/") {
        parse_image(body, limits)
    } else if let Some(body) = main.strip_prefix("video/snapshot") {
        parse_snapshot(body, limits)
    } else {
        let domain = main.split('/').next().unwrap_or("");
        Err(match domain {
            "video" | "doc" | "audio" => Error::new(
                Code::NotImplemented,
                None,
                format!("the {domain} processing domain is not provided"),
            ),
            _ => Error::invalid(None, "x-oss-process must start with image/, video/snapshot or style/"),
        })
    }
}

/// Whether `content` has the shape of a style: one `image/` or `video/snapshot` pipeline,
/// no `sys/` part.
pub fn is_style_content(content: &str) -> bool {
    (content.starts_with("image/") || content.starts_with("video/snapshot")) && !content.contains('|')
}

/// Checks a style name against OSS's rules ([`crate::names::check_style_name`]), as OSS words
/// the refusal.
pub fn validate_style_name(name: &str) -> Result<()> {
    crate::names::check_style_name(name).map_err(|e| {
        Error::invalid(
            Some(e.ec()),
            format!("The value: {} of parameter: stylename is invalid.", params::clip(name)),
        )
    })
}

fn resolve_style(name: &str, styles: &dyn Styles) -> Result<String> {
    // Actions after a style (`style/x/resize,..`) are refused: OSS does not document them, and
    // allowing them would let anonymous users of a protected bucket reshape styled output freely.
    if name.contains('/') {
        return Err(Error::invalid(None, "no action may follow a style"));
    }
    validate_style_name(name)?;
    let content = styles
        .get(name)
        .ok_or_else(|| Error::new(Code::NoSuchStyle, None, "The specified style does not exist."))?;
    // Styles cannot nest and cannot carry their own saveas.
    match is_style_content(&content) {
        true => Ok(content),
        false => Err(Error::invalid(None, "the style's content is not an image/ pipeline")),
    }
}

/// Actions OSS has that imgedge does not provide (AI detection, blind watermarks): 501 rather
/// than "unknown". Every other OSS image action is matched above.
const NOT_PROVIDED: &[&str] =
    &["blindwatermark", "deblindwatermark", "faces", "bodies", "cars", "codes", "labels", "score"];

fn parse_image(body: &str, limits: &Limits) -> Result<Pipeline> {
    let mut p = Pipeline::default();
    let actions: Vec<&str> = body.split('/').collect();
    if actions.len() > limits.max_actions {
        return Err(Error::invalid(None, "too many actions"));
    }
    let mut query = None;
    for action in &actions {
        let (name, rest) = match action.split_once(',') {
            Some((n, r)) => (n, Some(r)),
            None => (*action, None),
        };
        let ps: Vec<Param<'_>> = rest.map(params::split).unwrap_or_default();
        match name {
            "" => return Err(Error::invalid(None, "empty action")),
            "resize" => p.ops.push(Op::Resize(ops::resize::parse(&ps)?)),
            "crop" => p.ops.push(Op::Crop(ops::crop::parse(&ps)?)),
            "circle" => p.ops.push(Op::Circle(ops::circle::parse(&ps)?)),
            "indexcrop" => p.ops.push(Op::IndexCrop(ops::indexcrop::parse(&ps)?)),
            "rounded-corners" => p.ops.push(Op::RoundedCorners(ops::rounded_corners::parse(&ps)?)),
            "rotate" => p.ops.push(Op::Rotate(ops::rotate::parse(&ps)?)),
            "watermark" => p.ops.push(Op::Watermark(ops::watermark::parse(&ps)?)),
            "blur" => p.ops.push(Op::Blur(ops::blur::parse(&ps)?)),
            "bright" => p.ops.push(Op::Bright(ops::bright::parse(&ps)?)),
            "contrast" => p.ops.push(Op::Contrast(ops::contrast::parse(&ps)?)),
            "sharpen" => p.ops.push(Op::Sharpen(ops::sharpen::parse(&ps)?)),
            "auto-orient" => p.auto_orient = ops::auto_orient::parse(&ps)?,
            "format" if ops::format::is_auto(&ps) => p.auto_format = true,
            "format" => p.format = Some(ops::format::parse(&ps)?),
            "quality" => p.quality = Some(ops::quality::parse(&ps)?),
            "interlace" => p.interlace = ops::interlace::parse(&ps)?,
            "info" | "average-hue" => {
                if !ps.is_empty() {
                    return Err(Error::invalid(None, format!("{name} takes no parameters")));
                }
                query = Some(if name == "info" { Output::Info } else { Output::AverageHue });
            }
            n if NOT_PROVIDED.contains(&n) => {
                return Err(Error::new(
                    Code::NotImplemented,
                    None,
                    format!("the {n} action is not provided by this server"),
                ))
            }
            n => return Err(Error::invalid(None, format!("unknown action \"{}\"", params::clip(n)))),
        }
    }
    let images = p.ops.iter().filter(|op| matches!(op, Op::Watermark(w) if w.image.is_some())).count();
    if images > ops::watermark::MAX_IMAGES {
        return Err(Error::new(Code::WatermarkError, None, "at most 3 image watermarks per request"));
    }
    if let Some(q) = query {
        // info and average-hue describe the stored object and must stand alone.
        if actions.len() != 1 {
            return Err(Error::invalid(None, "info and average-hue cannot be combined with other actions"));
        }
        p.output = q;
    }
    Ok(p)
}

/// `video/snapshot,<params>` optionally followed by image actions (`/resize,w_100/...`), which
/// run on the frame: an imgedge extension (OSS's video domain takes no image actions), so that
/// one style can make a poster image. `info`/`average-hue` describe images only.
fn parse_snapshot(body: &str, limits: &Limits) -> Result<Pipeline> {
    let (own, rest) = match body.split_once('/') {
        Some((own, rest)) => (own, Some(rest)),
        None => (body, None),
    };
    let ps = match own {
        "" => Vec::new(),
        _ => own
            .strip_prefix(',')
            .map(params::split)
            .ok_or_else(|| Error::invalid(None, "unknown video action"))?,
    };
    let (snapshot, format) = video::parse(&ps, limits.max_out_side)?;
    let mut p = match rest {
        Some(r) => parse_image(r, limits)?,
        None => Pipeline::default(),
    };
    if p.output != Output::Image {
        return Err(Error::invalid(None, "info and average-hue cannot follow video/snapshot"));
    }
    // A format action after the snapshot wins over its f_.
    if p.format.is_none() && !p.auto_format {
        p.format = Some(format);
    }
    p.snapshot = Some(snapshot);
    Ok(p)
}

fn parse_saveas(sys: &str) -> Result<SaveAs> {
    let rest =
        sys.strip_prefix("sys/saveas").ok_or_else(|| Error::invalid(None, "only sys/saveas may follow |"))?;
    if rest.contains('/') {
        return Err(Error::invalid(None, "sys/saveas takes no further actions (notify is async only)"));
    }
    let ps = rest.strip_prefix(',').map(params::split).unwrap_or_default();
    let (mut object, mut bucket) = (None, None);
    for p in &ps {
        match *p {
            Param::Kv("o", v) => object = Some(decode_name(v, "o")?),
            Param::Kv("b", v) => bucket = Some(decode_name(v, "b")?),
            ref other => return Err(params::unknown("sys/saveas", other)),
        }
    }
    let object = object.ok_or_else(|| Error::new(Code::MissingArgument, None, "sys/saveas needs o"))?;
    validate_target_key(&object)?;
    if let Some(b) = &bucket {
        validate_bucket_name(b)?;
    }
    Ok(SaveAs { object, bucket })
}

fn decode_name(v: &str, what: &str) -> Result<String> {
    b64::decode_str(v)
        .ok_or_else(|| Error::invalid(None, format!("sys/saveas {what} is not base64 of UTF-8 text")))
}

/// A saveas target key ([`crate::names::ObjectKey`]); the caller checks it again once its
/// variables are expanded.
pub fn validate_target_key(key: &str) -> Result<()> {
    crate::names::ObjectKey::new(key)
        .map(drop)
        .map_err(|e| Error::invalid(None, format!("sys/saveas o is not a valid object key: {e}")))
}

/// A saveas target bucket: an OSS bucket name ([`crate::names::valid_bucket`]) or the variable
/// `{bucket}`, expanded by the caller.
pub fn validate_bucket_name(b: &str) -> Result<()> {
    if crate::names::valid_bucket(b) || b == "{bucket}" {
        Ok(())
    } else {
        Err(Error::invalid(None, "sys/saveas b is not a valid bucket name"))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
