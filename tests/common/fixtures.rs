//! Test fixtures, the one way unit tests, integration tests and benches reach them: real images
//! shipped in `tests/corpus/` (origins and licences in its SOURCES.md), and hostile files made in
//! code under the virtual folder `bad/` (bombs, truncations, corrupt headers), as image-rs does.
//!
//! Included by path from `src/testing.rs`, `tests/common/mod.rs` and the benches, so it may use
//! only std, the crate's own dependencies and its dev-dependencies.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The in-repo corpus folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The bytes of a fixture: a shipped file, or a generated one for `bad/<name>`.
pub fn read(rel: &str) -> Vec<u8> {
    if let Some(name) = rel.strip_prefix("bad/") {
        return generated(name).unwrap_or_else(|| panic!("no generated fixture {rel}"));
    }
    let p = root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A path to a fixture, for code that wants a file (the CLI, a bucket directory). Generated
/// fixtures are written once per process into the temp directory.
pub fn path(rel: &str) -> PathBuf {
    let Some(name) = rel.strip_prefix("bad/") else {
        let p = root().join(rel);
        assert!(p.exists(), "fixture {} is missing", p.display());
        return p;
    };
    let dir = std::env::temp_dir().join(format!("imgedge-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    if !p.exists() {
        std::fs::write(&p, read(rel)).unwrap();
    }
    p
}

/// Every fixture of a folder as (file name, bytes), sorted by name; `bad` lists the generated ones.
pub fn folder(rel: &str) -> Vec<(String, Vec<u8>)> {
    if rel == "bad" {
        return BAD.iter().map(|n| (n.to_string(), read(&format!("bad/{n}")))).collect();
    }
    let mut names: Vec<String> = std::fs::read_dir(root().join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), read(&format!("{rel}/{n}")))).collect()
}

/// The generated hostile files.
pub const BAD: [&str; 5] =
    ["65536-uint32-limit.png", "corrupt-header.jpg", "giant-image.jpg", "truncated.jpg", "truncated.png"];

fn generated(name: &str) -> Option<Vec<u8>> {
    Some(match name {
        "giant-image.jpg" => giant_jpeg(20000, 14000),
        "65536-uint32-limit.png" => huge_png(65536, 65536),
        "corrupt-header.jpg" => corrupt_header_jpeg(),
        "truncated.jpg" => read("photos/flowers1080p.jpg")[..10_000].to_vec(),
        "truncated.png" => read("oss/aws_logo.png")[..10_000].to_vec(),
        _ => return None,
    })
}

/// A decompression bomb: a valid 16×16 grey JPEG whose frame header claims `w`×`h`.
pub fn giant_jpeg(w: u16, h: u16) -> Vec<u8> {
    let img = image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 16 + y) as u8]));
    let mut b = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img).write_to(&mut b, image::ImageFormat::Jpeg).unwrap();
    let mut b = b.into_inner();
    // SOF0: FF C0, length (2), precision (1), height (2), width (2).
    let sof = b.windows(2).position(|m| m == [0xFF, 0xC0]).expect("baseline JPEG has SOF0");
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

/// A PNG whose header claims `w`×`h` over the image data of a single grey pixel (CRC kept valid,
/// so decoders reach their size checks rather than a checksum error).
pub fn huge_png(w: u32, h: u32) -> Vec<u8> {
    let mut b = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image::GrayImage::new(1, 1))
        .write_to(&mut b, image::ImageFormat::Png)
        .unwrap();
    let mut b = b.into_inner();
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height; CRC after 13 data bytes.
    assert_eq!(&b[12..16], b"IHDR");
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32fast::hash(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A GIF of a few dozen bytes whose logical screen is `w`×`h`, with one 1×1 frame at
/// (`left`, `top`): a tiny file whose canvas is as large as its header says.
pub fn gif_canvas(w: u16, h: u16, left: u16, top: u16) -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    // A global colour table of 2 entries (black, white).
    b.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]);
    b.push(0x2C);
    for v in [left, top, 1, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    // No local table; LZW minimum code size 2; one data sub-block (clear, index 0, end).
    b.extend_from_slice(&[0, 2, 2, 0x44, 0x01, 0, 0x3B]);
    b
}

/// A lossless WebP whose VP8L header says `w`×`h` (at most 16384 each) over a few bytes of data.
pub fn webp_lossless_header(w: u32, h: u32) -> Vec<u8> {
    let bits = (w - 1) | ((h - 1) << 14);
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(&[0; 9]);
    riff_webp(&[(b"VP8L", vp8l)])
}

/// An animated WebP of `frames` frames on a 16×16 canvas; each frame's data is a VP8L header
/// of 16×16 over a few bytes. The frame count is what matters: it is read before decoding.
pub fn webp_animation(frames: usize) -> Vec<u8> {
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend_from_slice(&[15, 0, 0, 15, 0, 0]);
    let mut chunks = vec![(b"VP8X", vp8x), (b"ANIM", vec![0, 0, 0, 0, 0, 0])];
    let frame = {
        // x, y, w-1, h-1 (24-bit each), duration (24-bit), flags; then the frame's VP8L chunk.
        let mut f = vec![0, 0, 0, 0, 0, 0, 15, 0, 0, 15, 0, 0, 100, 0, 0, 0];
        let mut vp8l = vec![0x2F];
        vp8l.extend_from_slice(&(15u32 | (15 << 14)).to_le_bytes());
        vp8l.extend_from_slice(&[0; 3]);
        f.extend_from_slice(b"VP8L");
        f.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
        f.extend_from_slice(&vp8l);
        f
    };
    chunks.extend((0..frames).map(|_| (b"ANMF", frame.clone())));
    riff_webp(&chunks)
}

/// A RIFF WebP container of `chunks` (each padded to an even size).
pub fn riff_webp(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (fourcc, payload) in chunks {
        body.extend_from_slice(*fourcc);
        body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        body.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    b.extend_from_slice(&body);
    b
}

/// An 8-bit RLE BMP of `w`×`h` whose data is a single end-of-bitmap code: a few dozen bytes
/// that decode to a full-size picture.
pub fn bmp_rle(w: u32, h: u32) -> Vec<u8> {
    let palette = [0u8, 0, 0, 0, 255, 255, 255, 0];
    let data = [0u8, 1];
    let offset = 14 + 40 + palette.len() as u32;
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&(offset + data.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    // BI_RLE8, image size, resolution, 2 palette entries, 0 important.
    for v in [1u32, data.len() as u32, 2835, 2835, 2, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&palette);
    b.extend_from_slice(&data);
    b
}

/// The first KiB of a camera JPEG: its EXIF segment claims 9 544 bytes and runs past the end.
pub fn corrupt_header_jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x25, 0x48];
    b.extend_from_slice(b"Exif\0\0II*\0\x08\0\0\0");
    b.extend((0..1024 - b.len()).map(|i| (i * 31 % 251) as u8));
    b
}

/// Object keys no entry point may accept (routing, watermark images, saveas targets, the proxy):
/// traversal, absolute, backslash, control characters, empty and aliasing segments, too long.
pub const HOSTILE_KEYS: &[&str] = &[
    "",
    "/",
    "/etc/passwd",
    "//x.jpg",
    "..",
    ".",
    "../x.png",
    "a/../../x",
    "a/..",
    "./a",
    "a/./b",
    "a//b",
    "a\\b",
    "..\\x.png",
    "\\x.png",
    "a\0b",
    "a\nb.jpg",
    "a\rb.jpg",
    "\x7f.jpg",
    concat!("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"),
];

/// A HEIF `grid` made of one encoded AV1 tile repeated `rows × columns` times (every tile item
/// points at the same bytes, so the file stays small whatever the grid claims), from `avif`, a
/// single-image AVIF whose `mdat` holds only that tile (as imgedge's encoder writes it).
/// `grid_ispe` is what the grid item's `ispe` claims, `out` what its ImageGrid payload says.
pub struct HeifGrid {
    pub rows: u32,
    pub columns: u32,
    pub out: (u32, u32),
    pub grid_ispe: (u32, u32),
    pub tile_ispe: (u32, u32),
}

impl HeifGrid {
    pub fn build(&self, avif: &[u8]) -> Vec<u8> {
        let (av1c, tile) = avif_parts(avif);
        let n = self.rows * self.columns;
        // Two passes: the tile offset depends on the size of everything before the mdat.
        let meta_len = self.meta(&av1c, n, 0, tile.len() as u32).len();
        let ftyp = bx(b"ftyp", &[b"avif".as_slice(), &[0, 0, 0, 0], b"avifmif1miaf"].concat());
        let offset = (ftyp.len() + meta_len + 8) as u32;
        let meta = self.meta(&av1c, n, offset, tile.len() as u32);
        [ftyp, meta, bx(b"mdat", &tile)].concat()
    }

    fn meta(&self, av1c: &[u8], n: u32, offset: u32, len: u32) -> Vec<u8> {
        let be16 = |v: u32| (v as u16).to_be_bytes().to_vec();
        let be32 = |v: u32| v.to_be_bytes().to_vec();
        let hdlr = full(b"hdlr", 0, &[&[0u8; 4][..], b"pict", &[0u8; 13]].concat());
        let pitm = full(b"pitm", 0, &be16(1));
        let infe = |id: u32, kind: &[u8; 4], hidden: bool| {
            full(
                b"infe",
                (2 << 24) | u32::from(hidden),
                &[be16(id), be16(0), kind.to_vec(), vec![0]].concat(),
            )
        };
        let mut entries = vec![be16(n + 1), infe(1, b"grid", false)];
        entries.extend((0..n).map(|i| infe(i + 2, b"av01", true)));
        let iinf = full(b"iinf", 0, &entries.concat());
        // iloc v1: offset and length 4 bytes, no base offset or index.
        let mut loc = vec![vec![0x44, 0x00], be16(n + 1)];
        loc.push([be16(1), be16(1), be16(0), be16(1), be32(0), be32(12)].concat());
        for i in 0..n {
            loc.push([be16(i + 2), be16(0), be16(0), be16(1), be32(offset), be32(len)].concat());
        }
        let iloc = full(b"iloc", 1 << 24, &loc.concat());
        let (w, h) = self.out;
        let idat = bx(
            b"idat",
            &[vec![0, 1, (self.rows - 1) as u8, (self.columns - 1) as u8], be32(w), be32(h)].concat(),
        );
        let mut dimg = vec![be16(1), be16(n)];
        dimg.extend((0..n).map(|i| be16(i + 2)));
        let iref = full(b"iref", 0, &bx(b"dimg", &dimg.concat()));
        let ispe = |(w, h): (u32, u32)| full(b"ispe", 0, &[be32(w), be32(h)].concat());
        let ipco = bx(b"ipco", &[ispe(self.grid_ispe), ispe(self.tile_ispe), av1c.to_vec()].concat());
        let mut assoc = vec![be32(n + 1), be16(1), vec![1, 1]];
        for i in 0..n {
            assoc.push([be16(i + 2), vec![2, 2, 0x83]].concat());
        }
        let ipma = full(b"ipma", 0, &assoc.concat());
        let iprp = bx(b"iprp", &[ipco, ipma].concat());
        full(b"meta", 0, &[hdlr, pitm, iinf, iloc, idat, iref, iprp].concat())
    }
}

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [&((body.len() + 8) as u32).to_be_bytes()[..], kind, body].concat()
}

fn full(kind: &[u8; 4], version_flags: u32, body: &[u8]) -> Vec<u8> {
    bx(kind, &[&version_flags.to_be_bytes()[..], body].concat())
}

/// The `av1C` box and the `mdat` payload of a single-image AVIF.
fn avif_parts(avif: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let at = avif.windows(4).position(|w| w == b"av1C").expect("an av1C box") - 4;
    let size = u32::from_be_bytes(avif[at..at + 4].try_into().unwrap()) as usize;
    let av1c = avif[at..at + size].to_vec();
    let (mut i, mut data) = (0, None);
    while i + 8 <= avif.len() {
        let size = u32::from_be_bytes(avif[i..i + 4].try_into().unwrap()) as usize;
        if &avif[i + 4..i + 8] == b"mdat" {
            data = Some(avif[i + 8..i + size].to_vec());
        }
        i += size.max(8);
    }
    (av1c, data.expect("an mdat box"))
}
