//! What a HEIF/AVIF file's `meta` box says about its primary image, read before libheif sees the
//! file: the item type, its `ispe`, and for a `grid` the real output size (which is what libheif
//! allocates, whatever `ispe` claims) and its tiles. libheif 1.15 exposes none of the grid
//! through its API, and a grid's cost grows with its tile count, so both are bounded here first.
//! Only the boxes on the way are read (`meta` → `pitm`, `iinf`, `iloc`, `iref`, `idat`,
//! `iprp`); every length is checked against what is left, every count against what it must hold.

use std::collections::HashMap;

/// The primary item, as the container describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    /// `av01`, `hvc1`, `grid`, ...
    pub item_type: [u8; 4],
    /// The `ispe` property's width and height (before `irot`), if any.
    pub ispe: Option<(u32, u32)>,
    pub grid: Option<Grid>,
}

/// A `grid` item: `rows × columns` tiles composed into `width × height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub rows: u32,
    pub columns: u32,
    pub width: u32,
    pub height: u32,
    /// `dimg` references: the tiles (libheif requires rows × columns of them).
    pub tiles: u32,
    /// The tiles' `ispe`, when every tile has one and all are the same; else `None`.
    pub tile: Option<(u32, u32)>,
}

impl Grid {
    /// Whether the tiles cover the output as MIAF requires: all of one size, no row or column
    /// wholly outside it. Then decoding the tiles costs about what the output holds.
    pub fn well_formed(&self) -> bool {
        let Some((tw, th)) = self.tile else { return false };
        let covers = |n: u32, t: u32, out: u32| {
            let (n, t, out) = (u64::from(n), u64::from(t), u64::from(out));
            n * t >= out && (n - 1) * t < out
        };
        self.tiles == self.rows * self.columns
            && covers(self.columns, tw, self.width)
            && covers(self.rows, th, self.height)
    }
}

/// Why a file could not be read this far.
pub type Fault = &'static str;

/// Most items and associations a file may list: far past any real photo, small enough to walk.
const MAX_ITEMS: u32 = 65_536;

/// The `meta` box's body and the primary item's id.
fn primary_id(file: &[u8]) -> Result<(&[u8], u32), Fault> {
    let meta = find(file, b"meta").ok_or("no meta box")?;
    let meta = meta.get(4..).ok_or("short meta box")?; // full box: version and flags
    let pitm = find(meta, b"pitm").ok_or("no pitm box")?;
    let id = match full(pitm)? {
        (0, b) => u32::from(be16(b, 0)?),
        (_, b) => be32(b, 0)?,
    };
    Ok((meta, id))
}

/// The primary item of `file`.
pub fn primary(file: &[u8]) -> Result<Primary, Fault> {
    let (meta, id) = primary_id(file)?;
    let item_type = item_type(find(meta, b"iinf").ok_or("no iinf box")?, id)?;
    let props = properties(meta)?;
    let ispe = props.ispe(id);
    let grid = match &item_type {
        b"grid" => Some(grid(file, meta, id, &props)?),
        _ => None,
    };
    Ok(Primary { item_type, ispe, grid })
}

/// The primary item's ICC profile: its `colr` property of type `prof` (or `rICC`, restricted).
pub fn icc(file: &[u8]) -> Option<Vec<u8>> {
    let (meta, id) = primary_id(file).ok()?;
    let props = properties(meta).ok()?;
    let ipco = find(find(meta, b"iprp")?, b"ipco")?;
    let all: Vec<([u8; 4], &[u8])> = boxes(ipco).take(MAX_ITEMS as usize).collect();
    props.assoc.get(&id)?.iter().find_map(|&i| {
        let (kind, body) = all.get(usize::from(i).checked_sub(1)?)?;
        let profile = matches!(body.get(..4), Some(b"prof" | b"rICC"));
        (kind == b"colr" && profile).then(|| body[4..].to_vec())
    })
}

/// Children of a box body: `(type, body)`, stopping at the first damaged header.
fn boxes(mut b: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let size = u64::from(be32(b, 0).ok()?);
        let kind: [u8; 4] = b.get(4..8)?.try_into().ok()?;
        let (head, size) = match size {
            1 => (16, be64(b, 8).ok()?),
            0 => (8, b.len() as u64),
            n => (8, n),
        };
        if size < head || size > b.len() as u64 {
            return None;
        }
        let (this, rest) = b.split_at(size as usize);
        b = rest;
        Some((kind, &this[head as usize..]))
    })
}

fn find<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(b).find(|(k, _)| k == kind).map(|(_, body)| body)
}

/// A full box's version and the body after its version and flags.
fn full(b: &[u8]) -> Result<(u8, &[u8]), Fault> {
    Ok((*b.first().ok_or("short box")?, b.get(4..).ok_or("short box")?))
}

fn be16(b: &[u8], at: usize) -> Result<u16, Fault> {
    Ok(u16::from_be_bytes(b.get(at..at + 2).ok_or("short box")?.try_into().map_err(|_| "short box")?))
}

fn be32(b: &[u8], at: usize) -> Result<u32, Fault> {
    Ok(u32::from_be_bytes(b.get(at..at + 4).ok_or("short box")?.try_into().map_err(|_| "short box")?))
}

fn be64(b: &[u8], at: usize) -> Result<u64, Fault> {
    Ok(u64::from_be_bytes(b.get(at..at + 8).ok_or("short box")?.try_into().map_err(|_| "short box")?))
}

/// An unsigned big-endian field of `n` bytes (0, 4 or 8, as `iloc` sizes them).
fn field(b: &[u8], at: &mut usize, n: usize) -> Result<u64, Fault> {
    let v = match n {
        0 => 0,
        2 => u64::from(be16(b, *at)?),
        4 => u64::from(be32(b, *at)?),
        8 => be64(b, *at)?,
        _ => return Err("bad iloc field size"),
    };
    *at += n;
    Ok(v)
}

/// The type of item `id` in `iinf` (`infe` version 2 or 3).
fn item_type(iinf: &[u8], id: u32) -> Result<[u8; 4], Fault> {
    let (v, b) = full(iinf)?;
    let entries = if v == 0 { b.get(2..) } else { b.get(4..) }.ok_or("short iinf")?;
    for (kind, infe) in boxes(entries).take(MAX_ITEMS as usize) {
        if &kind != b"infe" {
            continue;
        }
        let (v, b) = full(infe)?;
        let (item, at) = match v {
            2 => (u32::from(be16(b, 0)?), 4),
            3 => (be32(b, 0)?, 6),
            _ => continue,
        };
        if item == id {
            return b.get(at..at + 4).and_then(|t| t.try_into().ok()).ok_or("short infe");
        }
    }
    Err("the primary item has no infe")
}

/// `ipco`'s `ispe` boxes by index, and `ipma`'s associations.
struct Props {
    /// 1-based property index → ispe, or `None` for other properties.
    ispe: Vec<Option<(u32, u32)>>,
    /// item → its property indices.
    assoc: HashMap<u32, Vec<u16>>,
}

impl Props {
    fn ispe(&self, item: u32) -> Option<(u32, u32)> {
        let idx = self.assoc.get(&item)?;
        idx.iter().find_map(|&i| self.ispe.get(usize::from(i).checked_sub(1)?).copied().flatten())
    }
}

fn properties(meta: &[u8]) -> Result<Props, Fault> {
    let Some(iprp) = find(meta, b"iprp") else {
        return Ok(Props { ispe: Vec::new(), assoc: HashMap::new() });
    };
    let ipco = find(iprp, b"ipco").ok_or("no ipco box")?;
    let ispe = boxes(ipco)
        .take(MAX_ITEMS as usize)
        .map(|(kind, b)| {
            let (_, b) = full(b).ok()?;
            (&kind == b"ispe").then(|| Some((be32(b, 0).ok()?, be32(b, 4).ok()?))).flatten()
        })
        .collect();
    let mut assoc = HashMap::new();
    for (kind, ipma) in boxes(iprp) {
        if &kind != b"ipma" {
            continue;
        }
        let flags = be32(ipma, 0)? & 0xff_ffff;
        let (v, b) = full(ipma)?;
        let count = be32(b, 0)?.min(MAX_ITEMS);
        let mut at = 4;
        for _ in 0..count {
            let item = if v < 1 { u32::from(be16(b, at)?) } else { be32(b, at)? };
            at += if v < 1 { 2 } else { 4 };
            let n = *b.get(at).ok_or("short ipma")?;
            at += 1;
            let mut idx = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let i = if flags & 1 == 1 {
                    at += 2;
                    be16(b, at - 2)? & 0x7fff
                } else {
                    at += 1;
                    u16::from(*b.get(at - 1).ok_or("short ipma")? & 0x7f)
                };
                idx.push(i);
            }
            assoc.insert(item, idx);
        }
    }
    Ok(Props { ispe, assoc })
}

/// The grid item `id`: its ImageGrid payload (through `iloc`) and its `dimg` tiles.
fn grid(file: &[u8], meta: &[u8], id: u32, props: &Props) -> Result<Grid, Fault> {
    let data = item_data(file, meta, id)?;
    let flags = *data.get(1).ok_or("short grid")?;
    let (rows, columns) =
        (u32::from(*data.get(2).ok_or("short grid")?) + 1, u32::from(*data.get(3).ok_or("short grid")?) + 1);
    let (width, height) = match flags & 1 {
        0 => (u32::from(be16(data, 4)?), u32::from(be16(data, 6)?)),
        _ => (be32(data, 4)?, be32(data, 8)?),
    };
    let tiles = tiles(meta, id)?;
    let first = tiles.first().and_then(|t| props.ispe(*t));
    let tile = first.filter(|f| tiles.iter().all(|t| props.ispe(*t) == Some(*f)));
    Ok(Grid { rows, columns, width, height, tiles: tiles.len() as u32, tile })
}

/// The items `id` refers to by `dimg`, in order.
fn tiles(meta: &[u8], id: u32) -> Result<Vec<u32>, Fault> {
    let iref = find(meta, b"iref").ok_or("a grid without iref")?;
    let (v, b) = full(iref)?;
    let w = if v == 0 { 2 } else { 4 };
    let read = |b: &[u8], at: usize| if w == 2 { be16(b, at).map(u32::from) } else { be32(b, at) };
    for (kind, r) in boxes(b) {
        if &kind != b"dimg" || read(r, 0)? != id {
            continue;
        }
        let n = usize::from(be16(r, w)?);
        if r.len() < w + 2 + n * w {
            return Err("short dimg");
        }
        return (0..n).map(|i| read(r, w + 2 + i * w)).collect();
    }
    Err("a grid without tiles")
}

/// The bytes of item `id`: its `iloc` extents, in the file (method 0) or in `idat` (method 1).
fn item_data<'a>(file: &'a [u8], meta: &'a [u8], id: u32) -> Result<&'a [u8], Fault> {
    let (v, b) = full(find(meta, b"iloc").ok_or("no iloc box")?)?;
    let sizes = be16(b, 0)?;
    let (off, len, base, index) = (
        usize::from(sizes >> 12),
        usize::from((sizes >> 8) & 15),
        usize::from((sizes >> 4) & 15),
        usize::from(sizes & 15),
    );
    let mut at = 2;
    let count = if v < 2 { u32::from(be16(b, at)?) } else { be32(b, at)? };
    at += if v < 2 { 2 } else { 4 };
    for _ in 0..count.min(MAX_ITEMS) {
        let item = if v < 2 { u32::from(be16(b, at)?) } else { be32(b, at)? };
        at += if v < 2 { 2 } else { 4 };
        let method = if v == 1 || v == 2 {
            at += 2;
            be16(b, at - 2)? & 15
        } else {
            0
        };
        at += 2; // data_reference_index
        let base_offset = field(b, &mut at, base)?;
        let extents = be16(b, at)?;
        at += 2;
        let mut found = None;
        for _ in 0..extents {
            if v == 1 || v == 2 {
                field(b, &mut at, index)?;
            }
            let (o, l) = (field(b, &mut at, off)?, field(b, &mut at, len)?);
            found.get_or_insert((o, l));
        }
        if item != id {
            continue;
        }
        // A grid's payload is a dozen bytes in one extent; more than one is not worth joining.
        if extents != 1 {
            return Err("a grid payload in several extents");
        }
        let (o, l) = found.ok_or("no extent")?;
        let src = match method {
            0 => file,
            1 => find(meta, b"idat").ok_or("no idat box")?,
            _ => return Err("unsupported iloc construction method"),
        };
        let start = base_offset.checked_add(o).ok_or("bad iloc offset")?;
        let end = if l == 0 { src.len() as u64 } else { start.checked_add(l).ok_or("bad iloc length")? };
        return src.get(start as usize..end as usize).ok_or("iloc points outside the file");
    }
    Err("the grid item has no location")
}

#[cfg(test)]
#[path = "heif_boxes_tests.rs"]
mod tests;
