//! `watermark`: text, an image of the same bucket, or both, placed by gravity and margins,
//! blended with opacity `t`, or tiled over the whole picture (spec §3.15). This file parses and
//! plans; `layout.rs` composes and draws. The image is read through the caller's
//! [`Objects`](crate::transform::env::Objects), never from a path or URL of its own.

mod layout;

use crate::transform::b64;
use crate::transform::env::is_safe_key;
use crate::transform::error::{Code, Error, Result};
use crate::transform::gravity::Gravity;
use crate::transform::ops::resize::{Mode, ResizeSpec};
use crate::transform::ops::{crop, indexcrop, resize, rotate};
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;
use crate::transform::spec::{Op, Pipeline};
use crate::transform::text::FontName;

pub use layout::{build_block, draw};

/// At most this many image watermarks per request (OSS documents 3).
pub const MAX_IMAGES: usize = 3;
/// Longest text, in characters, before base64.
pub const MAX_TEXT_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatermarkSpec {
    /// Opacity in percent.
    pub t: u8,
    pub g: Gravity,
    pub x: u32,
    pub y: u32,
    /// Vertical shift of the west/center/east positions; positive moves up.
    pub voffset: i32,
    pub fill: bool,
    pub padx: u32,
    pub pady: u32,
    pub image: Option<ImageMark>,
    pub text: Option<TextMark>,
    /// `false` (0): image before text; `true` (1): text before image.
    pub text_first: bool,
    /// 0 top, 1 middle, 2 bottom: how image and text align vertically.
    pub align: u8,
    pub interval: u32,
}

/// An image watermark: an object key and the preprocessing written after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageMark {
    pub key: String,
    pub prep: Vec<Prep>,
}

/// One preprocessing action of a watermark image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Prep {
    Op(Op),
    /// `resize,P_n`: fit into n % of the main image's size at this point of the chain.
    PercentOfMain(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextMark {
    pub text: String,
    pub font: FontName,
    pub color: [u8; 3],
    pub size: u32,
    pub shadow: u8,
    pub rotate: u32,
}

/// A planned watermark: the spec plus the image preprocessing resolved against the canvas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkStep {
    pub spec: WatermarkSpec,
    /// The preprocessing of the image as a pipeline (P already turned into a size).
    pub prep: Option<Pipeline>,
}

fn wm_error(msg: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Code::WatermarkError, None, msg)
}

pub fn parse(ps: &[Param<'_>]) -> Result<WatermarkSpec> {
    let mut s = WatermarkSpec {
        t: 100,
        g: Gravity::Se,
        x: 10,
        y: 10,
        voffset: 0,
        fill: false,
        padx: 0,
        pady: 0,
        image: None,
        text: None,
        text_first: false,
        align: 0,
        interval: 0,
    };
    let mut text = None;
    let mut font = FontName::WqyZenhei;
    let (mut color, mut size, mut shadow, mut rot) = ([0, 0, 0], 40, 0, 0);
    let int = |v: &str, lo: i64, hi: i64, what: &str| params::int_in(v, lo, hi, None, what);
    for p in ps {
        match *p {
            Param::Kv("t", v) => s.t = int(v, 0, 100, "watermark t")? as u8,
            Param::Kv("g", v) => s.g = Gravity::parse(v)?,
            Param::Kv("x", v) => s.x = int(v, 0, 4096, "watermark x")? as u32,
            Param::Kv("y", v) => s.y = int(v, 0, 4096, "watermark y")? as u32,
            Param::Kv("voffset", v) => s.voffset = int(v, -1000, 1000, "watermark voffset")? as i32,
            Param::Kv("fill", v) => s.fill = int(v, 0, 1, "watermark fill")? == 1,
            Param::Kv("padx", v) => s.padx = int(v, 0, 4096, "watermark padx")? as u32,
            Param::Kv("pady", v) => s.pady = int(v, 0, 4096, "watermark pady")? as u32,
            Param::Kv("order", v) => s.text_first = int(v, 0, 1, "watermark order")? == 1,
            Param::Kv("align", v) => {
                s.align = params::int_in(v, 0, 2, Some("0040-00000359"), "watermark align")? as u8
            }
            Param::Kv("interval", v) => s.interval = int(v, 0, 1000, "watermark interval")? as u32,
            Param::Kv("image", v) => s.image = Some(parse_image(v)?),
            Param::Kv("text", v) => {
                let t = b64::decode_str(v)
                    .ok_or_else(|| wm_error("watermark text is not base64 of UTF-8 text"))?;
                if t.is_empty() || t.chars().count() > MAX_TEXT_CHARS {
                    return Err(wm_error("watermark text must have 1 to 64 characters"));
                }
                text = Some(t);
            }
            Param::Kv("type", v) => {
                let name = b64::decode_str(v).ok_or_else(|| wm_error("watermark type is not base64"))?;
                font = FontName::parse(&name).ok_or_else(|| wm_error("unsupported watermark font"))?;
            }
            Param::Kv("color", v) => color = params::color(v, "watermark color")?,
            Param::Kv("size", v) => size = int(v, 1, 1000, "watermark size")? as u32,
            Param::Kv("shadow", v) => shadow = int(v, 0, 100, "watermark shadow")? as u8,
            Param::Kv("rotate", v) => rot = int(v, 0, 360, "watermark rotate")? as u32,
            ref other => return Err(params::unknown("watermark", other)),
        }
    }
    s.text = text.map(|text| TextMark { text, font, color, size, shadow, rotate: rot % 360 });
    if s.text.is_none() && s.image.is_none() {
        return Err(Error::invalid(None, "watermark needs text or image"));
    }
    Ok(s)
}

/// `image_` = base64url of `key[?x-oss-process=image/<resize|crop|rotate|indexcrop>...]`.
fn parse_image(v: &str) -> Result<ImageMark> {
    let full =
        b64::decode_str(v).ok_or_else(|| wm_error("watermark image is not base64 of an object key"))?;
    let (key, process) = match full.split_once('?') {
        Some((k, q)) => {
            let p = q
                .strip_prefix("x-oss-process=image/")
                .ok_or_else(|| wm_error("watermark image may only carry ?x-oss-process=image/..."))?;
            (k, Some(p))
        }
        None => (full.as_str(), None),
    };
    if !is_safe_key(key) {
        return Err(wm_error("watermark image must be a key of the same bucket"));
    }
    let mut prep = Vec::new();
    for action in process.map(|p| p.split('/').collect::<Vec<_>>()).unwrap_or_default() {
        let (name, rest) = action.split_once(',').unwrap_or((action, ""));
        let ps = if rest.is_empty() { Vec::new() } else { params::split(rest) };
        prep.push(match name {
            "resize" => match ps.as_slice() {
                [Param::Kv("P", v)] => {
                    Prep::PercentOfMain(params::int_in(v, 1, 100, None, "resize P")? as u32)
                }
                _ => Prep::Op(Op::Resize(resize::parse(&ps)?)),
            },
            "crop" => Prep::Op(Op::Crop(crop::parse(&ps)?)),
            "rotate" => Prep::Op(Op::Rotate(rotate::parse(&ps)?)),
            "indexcrop" => Prep::Op(Op::IndexCrop(indexcrop::parse(&ps)?)),
            _ => return Err(wm_error("a watermark image allows only resize, crop, rotate and indexcrop")),
        });
    }
    Ok(ImageMark { key: key.to_string(), prep })
}

pub fn plan(spec: &WatermarkSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<WatermarkStep>> {
    let prep = spec.image.as_ref().map(|img| {
        let ops = img
            .prep
            .iter()
            .map(|p| match p {
                Prep::Op(op) => op.clone(),
                // P: the share of the main picture's box; enlarging is part of the meaning.
                Prep::PercentOfMain(pct) => Op::Resize(ResizeSpec {
                    w: Some(((ctx.w as u64 * *pct as u64 + 50) / 100).max(1) as u32),
                    h: Some(((ctx.h as u64 * *pct as u64 + 50) / 100).max(1) as u32),
                    limit: false,
                    ..ResizeSpec::new(Mode::Lfit)
                }),
            })
            .collect();
        Pipeline { ops, ..Pipeline::default() }
    });
    Ok(Some(WatermarkStep { spec: spec.clone(), prep }))
}

pub fn canonical(s: &WatermarkSpec) -> String {
    let mut out = format!(
        "watermark,t_{},g_{},x_{},y_{},voffset_{},fill_{},padx_{},pady_{}",
        s.t,
        s.g.name(),
        s.x,
        s.y,
        s.voffset,
        s.fill as u8,
        s.padx,
        s.pady
    );
    if let Some(img) = &s.image {
        let mut key = img.key.clone();
        if !img.prep.is_empty() {
            let parts: Vec<String> = img
                .prep
                .iter()
                .map(|p| match p {
                    Prep::Op(op) => op.to_string(),
                    Prep::PercentOfMain(n) => format!("resize,P_{n}"),
                })
                .collect();
            key = format!("{key}?x-oss-process=image/{}", parts.join("/"));
        }
        out.push_str(&format!(",image_{}", b64::encode(key.as_bytes())));
    }
    if let Some(t) = &s.text {
        let [r, g, b] = t.color;
        out.push_str(&format!(
            ",text_{},type_{},color_{r:02X}{g:02X}{b:02X},size_{},shadow_{},rotate_{}",
            b64::encode(t.text.as_bytes()),
            b64::encode(t.font.name().as_bytes()),
            t.size,
            t.shadow,
            t.rotate
        ));
    }
    if s.image.is_some() && s.text.is_some() {
        out.push_str(&format!(",order_{},align_{},interval_{}", s.text_first as u8, s.align, s.interval));
    }
    out
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
