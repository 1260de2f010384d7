//! The OSS `image/info` action: the JSON object OSS returns for an image, from the source bytes
//! plus what the caller already probed (stored size, frame count).
//!
//! One object, keys in ascending byte order, every value `{"value":"<string>"}`, no whitespace.
//! Always `FileSize`, `Format`, `FrameCount`, `ImageHeight`, `ImageWidth` (stored, not
//! auto-oriented). Sources, lowest priority first (a later one overwrites a key): (1) JPEG's JFIF
//! APP0 density, `ResolutionUnit` = units + 1, `X/YResolution` = `"d/1"` (spec §9 vector 17);
//! (2) EXIF IFD1 (thumbnail); (3) EXIF IFD0, Exif, GPS and Interop IFDs, a later IFD winning a
//! clash; (4) the basics. EXIF comes from the JPEG APP1 `Exif` segment, the WebP `EXIF` chunk or
//! the TIFF itself; PNG gives the basics only (spec §3.16), GIF and BMP have no EXIF.
//!
//! Every public OSS sample (f.jpg in the docs; a Nikon D810 JPEG, an iPhone 6 JPEG and an iPhone
//! 13 HEIC quoted in user code) is Exiv2's view of the EXIF: keys are Exiv2 tag names (`ExifTag`,
//! `GPSTag`, `ISOSpeedRatings`, `HostComputer`, `TileWidth`...), values Exiv2's `toString()`
//! (`"96/1"`, `"48 50 51 50"`, `"7/1 55/1 5824/100"`), except `GPSLatitude`/`GPSLongitude`
//! (Exiv2 0.27 `printDegrees`: `"30deg 27' 35.120\" "`, `"0deg "` when zero), their refs
//! (`North`...) and `MakerNote` (`"3681 bytes undefined data"`). Hence Exiv2's tag names
//! (`info_names.rs`; tags it cannot name are dropped) and our own IFD walk, since kamadak-exif
//! hides the pointer tags (`ExifTag`, `GPSTag`) OSS prints.
//!
//! f.jpg holds IFD0 {Orientation, Software, DateTime, ExifTag, GPSTag, 0xea1c}, an Exif IFD with
//! only 0xea1c (Windows padding), GPS {VersionID, Latitude(Ref), Longitude(Ref), MapDatum} and
//! IFD1 {Compression, X/YResolution, ResolutionUnit, JPEGInterchangeFormat(Length)}. OSS's list
//! is all of it but 0xea1c, which Exiv2 does not name; the resolution keys come from IFD1 (IFD0
//! has none) and agree with the JFIF segment. So no tag is special-cased for it.
//!
//! Choices where OSS is silent: other UNDEFINED values print as decimal bytes up to 256 bytes
//! (comments: 4096), then as `"<n> bytes undefined data"`; `UserComment`, `GPSProcessingMethod` and
//! `GPSAreaInformation` print as Exiv2's comment value (`charset="Ascii" text`, or the bare text
//! for an undefined or unknown charset), text ending at the first NUL. ASCII ends at the first
//! NUL (as Exiv2), bad UTF-8 is replaced; FLOAT/DOUBLE use Rust's shortest form. The `GPSDest*`
//! coordinates stay raw (OSS prints `GPSTimeStamp` raw too). Bounds: values over 4096 items,
//! unknown types, zero counts and data outside the block are skipped, at most 65536 items are
//! formatted per image, and damaged EXIF keeps what parsed before the damage, never failing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::transform::format::Format;

#[path = "info_names.rs"]
mod names;
use names::{EXIF_NAMES, GPS_NAMES, IFD_NAMES, IOP_NAMES};

/// Values with more items than this are not printed (absurd for any real tag).
const MAX_COUNT: u32 = 4096;
/// UNDEFINED values longer than this are summarised as `"<n> bytes undefined data"`.
const MAX_UNDEFINED_LIST: u32 = 256;
/// Items formatted per image, so crafted IFDs that reuse one big value stay cheap.
const ITEM_BUDGET: usize = 1 << 16;

const BYTE: u16 = 1;
const ASCII: u16 = 2;
const RATIONAL: u16 = 5;
const UNDEFINED: u16 = 7;

/// The OSS `info` JSON for an image.
pub fn info_json(bytes: &[u8], format: Format, width: u32, height: u32, frames: u32) -> String {
    let mut fields: BTreeMap<&'static str, String> = BTreeMap::new();
    let exif = match format {
        Format::Jpeg => {
            let (jfif, exif) = scan_jpeg(bytes);
            if let Some((unit, x, y)) = jfif {
                fields.insert("ResolutionUnit", unit.to_string());
                fields.insert("XResolution", format!("{x}/1"));
                fields.insert("YResolution", format!("{y}/1"));
            }
            exif
        }
        Format::Webp => webp_exif(bytes),
        Format::Tiff => Some(bytes),
        Format::Png | Format::Gif | Format::Bmp | Format::Avif | Format::Heic => None,
    };
    if let Some(exif) = exif {
        exif_fields(exif, &mut fields);
    }
    fields.insert("FileSize", bytes.len().to_string());
    fields.insert("Format", format.name().to_string());
    fields.insert("FrameCount", frames.to_string());
    fields.insert("ImageHeight", height.to_string());
    fields.insert("ImageWidth", width.to_string());
    // serde_json escapes the strings; the layout is fixed by hand.
    let json = |s: &str| serde_json::Value::from(s).to_string();
    let body: Vec<String> =
        fields.iter().map(|(k, v)| format!("{}:{{\"value\":{}}}", json(k), json(v))).collect();
    format!("{{{}}}", body.join(","))
}

/// A JFIF density: the TIFF ResolutionUnit its units map to, x, y.
type Jfif = (u8, u16, u16);

/// The JFIF density and the TIFF block of the first APP1 `Exif` segment, from the markers
/// before the first scan.
fn scan_jpeg(b: &[u8]) -> (Option<Jfif>, Option<&[u8]>) {
    let (mut jfif, mut exif) = (None, None);
    if !b.starts_with(&[0xFF, 0xD8]) {
        return (jfif, exif);
    }
    let mut i = 2;
    while b.get(i) == Some(&0xFF) {
        while b.get(i) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let Some(&marker) = b.get(i) else { break };
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue, // standalone markers
            0xD9 | 0xDA => break,           // EOI, SOS: the metadata is over
            _ => {}
        }
        let be = Tiff { d: b, le: false };
        let Some(len) = be.u16(i).map(usize::from).filter(|&l| l >= 2) else {
            break;
        };
        let Some(seg) = b.get(i + 2..i + len) else {
            break;
        };
        i += len;
        // JFIF units 0 (aspect only), 1 (dpi), 2 (dpcm) are TIFF ResolutionUnit 1, 2, 3.
        if marker == 0xE0 && jfif.is_none() && seg.starts_with(b"JFIF\0") {
            let s = Tiff { d: seg, le: false };
            if let (Some(&units @ 0..=2), Some(x), Some(y)) = (seg.get(7), s.u16(8), s.u16(10)) {
                jfif = Some((units + 1, x, y));
            }
        } else if marker == 0xE1 && exif.is_none() && seg.starts_with(b"Exif\0\0") {
            exif = Some(&seg[6..]);
        }
    }
    (jfif, exif)
}

/// The TIFF block of a WebP `EXIF` chunk (some writers prefix it with `Exif\0\0`).
fn webp_exif(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return None;
    }
    let mut i = 12;
    while let Some(head) = b.get(i..i + 8) {
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = b.get(i + 8..(i + 8).checked_add(size)?)?;
        if &head[..4] == b"EXIF" {
            return Some(body.strip_prefix(b"Exif\0\0").unwrap_or(body));
        }
        i += 8 + size + (size & 1);
    }
    None
}

/// Which IFD an entry sits in; it picks the name table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ifd {
    Primary,
    Thumb,
    Exif,
    Gps,
    Iop,
}

/// One IFD entry whose value lies inside the block.
struct Entry<'a> {
    tag: u16,
    typ: u16,
    count: u32,
    data: &'a [u8],
}

/// A TIFF/EXIF block and its byte order.
struct Tiff<'a> {
    d: &'a [u8],
    le: bool,
}

/// Adds the named tags of a TIFF block to `out`: IFD1 first, then the primary image's IFDs.
fn exif_fields(d: &[u8], out: &mut BTreeMap<&'static str, String>) {
    let le = match d.get(..4) {
        Some(b"II\x2a\0") => true,
        Some(b"MM\0\x2a") => false,
        _ => return,
    };
    let t = Tiff { d, le };
    let mut found = Vec::new(); // (from IFD1, name, value)
    let mut budget = ITEM_BUDGET;
    // In file order as Exiv2 reads it; each kind is queued at most once, so at most 5 IFDs.
    let mut queue = vec![(t.u32(4).unwrap_or(0) as usize, Ifd::Primary)];
    let mut next = 0;
    while let Some(&(off, ifd)) = queue.get(next) {
        next += 1;
        let Some(n) = t.u16(off).map(usize::from) else {
            continue;
        };
        for at in (0..n).map(|i| off + 2 + 12 * i) {
            if t.d.len() < at + 12 {
                break; // truncated IFD: keep what parsed
            }
            let Some(e) = t.entry(at) else { continue };
            let child = match (ifd, e.tag) {
                (Ifd::Primary, 0x8769) => Some(Ifd::Exif),
                (Ifd::Primary, 0x8825) => Some(Ifd::Gps),
                (Ifd::Exif, 0xa005) => Some(Ifd::Iop),
                _ => None,
            };
            if let Some(child) = child.filter(|c| queue.iter().all(|q| q.1 != *c)) {
                if matches!(e.typ, 4 | 13) && e.count == 1 {
                    queue.push((t.uint(e.data) as usize, child));
                }
            }
            let Some(name) = tag_name(ifd, e.tag) else {
                continue;
            };
            if let Some(value) = t.value(ifd, &e, &mut budget) {
                found.push((ifd == Ifd::Thumb, name, value));
            }
        }
        if ifd == Ifd::Primary {
            if let Some(thumb_off) = t.u32(off + 2 + 12 * n).filter(|&o| o != 0) {
                queue.push((thumb_off as usize, Ifd::Thumb));
            }
        }
    }
    found.sort_by_key(|f| !f.0); // stable: IFD1 first, so the primary image overwrites it
    out.extend(found.into_iter().map(|(_, name, value)| (name, value)));
}

impl<'a> Tiff<'a> {
    /// An unsigned integer of 1..=8 bytes in the block's byte order.
    fn uint(&self, c: &[u8]) -> u64 {
        let fold = |a: u64, b: &u8| (a << 8) | u64::from(*b);
        if self.le {
            c.iter().rev().fold(0, fold)
        } else {
            c.iter().fold(0, fold)
        }
    }

    fn u16(&self, at: usize) -> Option<u16> {
        Some(self.uint(self.d.get(at..at.checked_add(2)?)?) as u16)
    }

    fn u32(&self, at: usize) -> Option<u32> {
        Some(self.uint(self.d.get(at..at.checked_add(4)?)?) as u32)
    }

    /// The entry at `at` (12 bytes known to exist), or `None` for an unknown type or a value
    /// outside the block.
    fn entry(&self, at: usize) -> Option<Entry<'a>> {
        let (tag, typ, count) = (self.u16(at)?, self.u16(at + 2)?, self.u32(at + 4)?);
        let len = unit(typ)?.checked_mul(count as usize)?;
        let start = if len <= 4 { at + 8 } else { self.u32(at + 8)? as usize };
        let data = self.d.get(start..start.checked_add(len)?)?;
        Some(Entry { tag, typ, count, data })
    }

    /// The value as OSS prints it, or `None` to leave the tag out.
    fn value(&self, ifd: Ifd, e: &Entry, budget: &mut usize) -> Option<String> {
        if e.count == 0 {
            return None;
        }
        let comment =
            e.typ == UNDEFINED && matches!((ifd, e.tag), (Ifd::Exif, 0x9286) | (Ifd::Gps, 0x1b | 0x1c));
        let list_max = if comment { MAX_COUNT } else { MAX_UNDEFINED_LIST };
        if e.typ == UNDEFINED && ((ifd, e.tag) == (Ifd::Exif, 0x927c) || e.count > list_max) {
            return Some(format!("{} bytes undefined data", e.count));
        }
        if e.count > MAX_COUNT || e.count as usize > *budget {
            return None;
        }
        *budget -= e.count as usize;
        Some(match (ifd, e.tag) {
            _ if comment => self.comment(e.data),
            (Ifd::Gps, 1 | 3) => gps_ref(e).map_or_else(|| format!("({})", self.raw(e)), Into::into),
            (Ifd::Gps, 2 | 4) if e.typ == RATIONAL && e.count == 3 => self.degrees(e),
            _ => self.raw(e),
        })
    }

    /// Exiv2's `toString()`: ASCII up to the first NUL, otherwise the items space-separated.
    fn raw(&self, e: &Entry) -> String {
        if e.typ == ASCII {
            return text(e.data);
        }
        let size = unit(e.typ).unwrap_or(1);
        let mut s = String::new();
        for (i, c) in e.data.chunks_exact(size).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let (v, hi) = (self.uint(c), self.uint(c.get(4..).unwrap_or_default()));
            let _ = match e.typ {
                6 => write!(s, "{}", v as i8),
                8 => write!(s, "{}", v as i16),
                9 => write!(s, "{}", v as i32),
                5 => write!(s, "{}/{}", self.uint(&c[..4]), hi),
                10 => write!(s, "{}/{}", self.uint(&c[..4]) as i32, hi as i32),
                11 => write!(s, "{}", f32::from_bits(v as u32)),
                12 => write!(s, "{}", f64::from_bits(v)),
                _ => write!(s, "{v}"), // BYTE, UNDEFINED, SHORT, LONG, IFD
            };
        }
        s
    }

    /// Exiv2 0.27 `printDegrees`: components up to the last non-zero one, each followed by its
    /// unit and a space; integral ones without decimals, others with 7, 5 and 3 decimals.
    fn degrees(&self, e: &Entry) -> String {
        let r: Vec<(u32, u32)> =
            e.data.chunks_exact(8).map(|c| (self.uint(&c[..4]) as u32, self.uint(&c[4..]) as u32)).collect();
        let last = (1..3).rev().find(|&i| r[i].0 != 0).unwrap_or(0);
        let mut s = String::new();
        for (i, &(num, den)) in r.iter().enumerate().take(last + 1) {
            if den == 0 {
                let _ = write!(s, "({})", self.raw(e));
                break;
            }
            let prec = if num % den == 0 { 0 } else { [7, 5, 3][i] };
            let v = f64::from(num) / f64::from(den);
            let _ = write!(s, "{v:.prec$}{} ", ["deg", "'", "\""][i]);
        }
        s
    }

    /// Exiv2's comment value: an 8-byte charset code, then the text.
    fn comment(&self, d: &[u8]) -> String {
        let Some((code, body)) = d.split_first_chunk::<8>() else {
            return String::new();
        };
        match code {
            b"ASCII\0\0\0" => format!("charset=\"Ascii\" {}", text(body)),
            b"JIS\0\0\0\0\0" => format!("charset=\"Jis\" {}", text(body)),
            b"UNICODE\0" => {
                let le = match body {
                    [0xFF, 0xFE, ..] => true,
                    [0xFE, 0xFF, ..] => false,
                    _ => self.le,
                };
                let t = Tiff { d: body, le };
                let s: String = char::decode_utf16(body.chunks_exact(2).map(|c| t.uint(c) as u16))
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .filter(|&c| c != '\u{feff}')
                    .take_while(|&c| c != '\0')
                    .collect();
                format!("charset=\"Unicode\" {s}")
            }
            _ => text(body),
        }
    }
}

/// Bytes of a size-`typ` item, for the TIFF types OSS can print.
fn unit(typ: u16) -> Option<usize> {
    match typ {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// Text up to the first NUL, invalid UTF-8 replaced.
fn text(d: &[u8]) -> String {
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    String::from_utf8_lossy(&d[..end]).into_owned()
}

/// `GPSLatitudeRef` (tag 1) / `GPSLongitudeRef` (tag 3) spelled out as Exiv2 prints them.
fn gps_ref(e: &Entry) -> Option<&'static str> {
    match (e.tag, e.data.first()?) {
        _ if !matches!(e.typ, ASCII | BYTE | UNDEFINED) => None,
        (1, b'N') => Some("North"),
        (1, b'S') => Some("South"),
        (3, b'E') => Some("East"),
        (3, b'W') => Some("West"),
        _ => None,
    }
}

/// The Exiv2 name of a tag, if Exiv2 has one; unnamed tags are not shown.
fn tag_name(ifd: Ifd, tag: u16) -> Option<&'static str> {
    let table = match ifd {
        Ifd::Primary | Ifd::Thumb => IFD_NAMES,
        Ifd::Exif => EXIF_NAMES,
        Ifd::Gps => GPS_NAMES,
        Ifd::Iop => IOP_NAMES,
    };
    table.split_ascii_whitespace().find_map(|e| {
        let (hex, name) = e.split_once(':')?;
        (u16::from_str_radix(hex, 16).ok()? == tag).then_some(name)
    })
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
