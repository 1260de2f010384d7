//! Bounds-checked walkers over container structure (GIF blocks, WebP RIFF chunks, JPEG marker
//! segments and TIFF IFD0) that read sizes, counts and flags without decoding any pixel. Every
//! read goes through `get`, so no input can make them panic, and they allocate nothing.

/// What a GIF's block structure says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GifScan {
    /// Number of image descriptors seen (frames).
    pub frames: u32,
    /// max(logical screen, every frame's left+width), so a frame outside the screen is counted.
    pub width: u32,
    /// max(logical screen, every frame's top+height).
    pub height: u32,
    /// Whether any Graphic Control Extension sets the transparency flag.
    pub has_transparency: bool,
}

/// What a WebP's RIFF chunks say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebpScan<'a> {
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    pub animated: bool,
    /// Number of ANMF chunks when animated, else 1.
    pub frames: u32,
    /// The EXIF chunk payload (a TIFF structure), if any.
    pub exif: Option<&'a [u8]>,
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u16_be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u24_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, 0]))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// Skips a chain of GIF data sub-blocks starting at `pos`; returns the position after the
/// terminating zero-length block, or `None` when the data ends first.
fn skip_sub_blocks(b: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*b.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos = pos.checked_add(len)?;
    }
}

/// Walks a GIF's blocks. A truncated file reports what was found up to the cut; a file with no
/// image descriptor at all is an error (`None`).
pub(crate) fn scan_gif(b: &[u8]) -> Option<GifScan> {
    if !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return None;
    }
    let screen_w = u32::from(u16_le(b, 6)?);
    let screen_h = u32::from(u16_le(b, 8)?);
    let packed = *b.get(10)?;
    let mut pos = 13usize;
    if packed & 0x80 != 0 {
        pos += 3 << ((packed & 7) + 1);
    }
    let mut scan = GifScan { frames: 0, width: screen_w, height: screen_h, has_transparency: false };
    // Any `None` inside the loop means the data ended: keep what was found so far.
    let _ = (|| -> Option<()> {
        loop {
            match *b.get(pos)? {
                0x21 => {
                    let label = *b.get(pos + 1)?;
                    // A Graphic Control Extension's first sub-block: size 4, packed flags, ...
                    if label == 0xF9 && *b.get(pos + 2)? >= 1 && *b.get(pos + 3)? & 1 != 0 {
                        scan.has_transparency = true;
                    }
                    pos = skip_sub_blocks(b, pos + 2)?;
                }
                0x2C => {
                    let left = u32::from(u16_le(b, pos + 1)?);
                    let top = u32::from(u16_le(b, pos + 3)?);
                    let w = u32::from(u16_le(b, pos + 5)?);
                    let h = u32::from(u16_le(b, pos + 7)?);
                    let flags = *b.get(pos + 9)?;
                    // Counted as soon as the descriptor is complete, so limits see it even
                    // when its pixel data is missing.
                    scan.frames += 1;
                    scan.width = scan.width.max(left + w);
                    scan.height = scan.height.max(top + h);
                    pos += 10;
                    if flags & 0x80 != 0 {
                        pos += 3 << ((flags & 7) + 1);
                    }
                    // LZW minimum code size, then the data sub-blocks.
                    b.get(pos)?;
                    pos = skip_sub_blocks(b, pos + 1)?;
                }
                // Trailer, or a byte that starts no block: the stream ends here.
                _ => return None,
            }
        }
    })();
    (scan.frames > 0).then_some(scan)
}

/// Walks a WebP's RIFF chunks (simple lossy, simple lossless, extended and animated files).
pub(crate) fn scan_webp(b: &[u8]) -> Option<WebpScan<'_>> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WEBP" {
        return None;
    }
    // Chunks end at the RIFF size or at the end of the data, whichever comes first.
    let riff_end = usize::try_from(u32_le(b, 4)?).ok()?.saturating_add(8).min(b.len());
    let mut s = WebpScan { width: 0, height: 0, has_alpha: false, animated: false, frames: 0, exif: None };
    let mut have_dims = false;
    let mut pos = 12usize;
    while pos.checked_add(8).is_some_and(|end| end <= riff_end) {
        let fourcc = b.get(pos..pos + 4)?;
        let size = usize::try_from(u32_le(b, pos + 4)?).ok()?;
        let start = pos + 8;
        let end = start.saturating_add(size).min(riff_end);
        let payload = b.get(start..end)?;
        match fourcc {
            b"VP8X" => {
                let flags = *payload.first()?;
                s.has_alpha |= flags & 0x10 != 0;
                s.animated = flags & 0x02 != 0;
                s.width = u24_le(payload, 4)? + 1;
                s.height = u24_le(payload, 7)? + 1;
                have_dims = true;
            }
            b"VP8 " if !have_dims => {
                // 3-byte frame tag, then the key-frame start code 9d 01 2a and 14-bit sizes.
                if payload.get(3..6)? != [0x9d, 0x01, 0x2a] {
                    return None;
                }
                s.width = u32::from(u16_le(payload, 6)? & 0x3fff);
                s.height = u32::from(u16_le(payload, 8)? & 0x3fff);
                have_dims = true;
            }
            b"VP8L" if !have_dims => {
                if *payload.first()? != 0x2f {
                    return None;
                }
                let bits = u32_le(payload, 1)?;
                s.width = (bits & 0x3fff) + 1;
                s.height = ((bits >> 14) & 0x3fff) + 1;
                s.has_alpha |= (bits >> 28) & 1 != 0;
                have_dims = true;
            }
            b"ALPH" => s.has_alpha = true,
            b"ANMF" => s.frames = s.frames.saturating_add(1),
            b"EXIF" => s.exif = Some(payload),
            _ => {}
        }
        // Chunks are padded to an even size.
        pos = start.saturating_add(size).saturating_add(size & 1);
    }
    if !have_dims || s.width == 0 || s.height == 0 {
        return None;
    }
    if !s.animated {
        s.frames = 1;
    } else if s.frames == 0 {
        return None;
    }
    Some(s)
}

/// The segments of a JPEG from SOI up to and including SOS, as (marker, payload). Stops at EOI,
/// at SOS, at anything that is not a marker, and at a truncated segment.
pub(crate) fn jpeg_segments(b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = if b.starts_with(&[0xFF, 0xD8]) { 2 } else { b.len() };
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        loop {
            if *b.get(pos)? != 0xFF {
                done = true;
                return None;
            }
            // Fill bytes: any number of 0xFF before the marker code.
            while b.get(pos) == Some(&0xFF) {
                pos += 1;
            }
            let marker = *b.get(pos)?;
            pos += 1;
            match marker {
                // Standalone markers carry no length.
                0x01 | 0xD0..=0xD7 => continue,
                0xD9 => {
                    done = true;
                    return None;
                }
                _ => {}
            }
            let len = usize::from(u16_be(b, pos)?);
            let payload = b.get(pos + 2..(pos + len).max(pos + 2))?;
            if len < 2 {
                done = true;
                return None;
            }
            pos += len;
            if marker == 0xDA {
                done = true;
            }
            return Some((marker, payload));
        }
    })
}

/// The EXIF Orientation (1..=8) in IFD0 of a TIFF structure (`II*\0` or `MM\0*`); 1 when absent
/// or out of range.
pub(crate) fn tiff_orientation(t: &[u8]) -> u8 {
    fn find(t: &[u8]) -> Option<u16> {
        let le = match t.get(0..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        let rd16 = |at: usize| if le { u16_le(t, at) } else { u16_be(t, at) };
        let rd32 = |at: usize| -> Option<u32> {
            let v: [u8; 4] = t.get(at..at.checked_add(4)?)?.try_into().ok()?;
            Some(if le { u32::from_le_bytes(v) } else { u32::from_be_bytes(v) })
        };
        let ifd = usize::try_from(rd32(4)?).ok()?;
        let count = usize::from(rd16(ifd)?);
        for i in 0..count {
            let entry = ifd.checked_add(2 + 12 * i)?;
            if rd16(entry)? == 0x0112 {
                // Type SHORT, count 1: the value sits in the first two bytes of the value field.
                return rd16(entry + 8);
            }
        }
        None
    }
    match find(t) {
        Some(v @ 1..=8) => v as u8,
        _ => 1,
    }
}

/// The TIFF structure inside an EXIF blob, skipping the `Exif\0\0` prefix when present.
pub(crate) fn exif_tiff(blob: &[u8]) -> &[u8] {
    blob.strip_prefix(b"Exif\0\0").unwrap_or(blob)
}

#[cfg(test)]
mod tests;
