//! TIFF with CCITT Group 3 (T.4, one-dimensional) compression, common for scanned documents and
//! faxes. The `tiff` crate decodes only Group 4, so Group 3 strips are read here and decoded by
//! the `fax` crate (the one `tiff` itself uses for Group 4).

use std::io::Cursor;

use image::{DynamicImage, GrayImage};
use tiff::decoder::Decoder;
use tiff::tags::Tag;

use crate::transform::error::{Error, Result};

const COMPRESSION_CCITT_T4: u32 = 3;

/// Decodes `bytes` if it is a Group 3 TIFF; `None` for every other TIFF.
pub fn decode_g3_tiff(bytes: &[u8], max_alloc: u64) -> Option<Result<DynamicImage>> {
    let mut dec = Decoder::new(Cursor::new(bytes)).ok()?;
    if dec.get_tag_u32(Tag::Compression).ok()? != COMPRESSION_CCITT_T4 {
        return None;
    }
    Some(decode(&mut dec, bytes, max_alloc))
}

fn decode(dec: &mut Decoder<Cursor<&[u8]>>, bytes: &[u8], max_alloc: u64) -> Result<DynamicImage> {
    let bad = || Error::unsupported_source("cannot decode CCITT Group 3 TIFF");
    let width = dec.get_tag_u32(Tag::ImageWidth).map_err(|_| bad())?;
    let height = dec.get_tag_u32(Tag::ImageLength).map_err(|_| bad())?;
    if width == 0 || height == 0 || width > u16::MAX as u32 {
        return Err(bad());
    }
    if width as u64 * height as u64 > max_alloc {
        return Err(Error::too_large(None, "image exceeds the decoder memory budget"));
    }
    // T4Options bit 0: two-dimensional coding, which the fax crate's Group 3 decoder lacks.
    let t4 = dec.find_tag_unsigned::<u32>(Tag::Unknown(292)).ok().flatten().unwrap_or(0);
    if t4 & 1 != 0 {
        return Err(Error::unsupported_source("2-D CCITT Group 3 TIFF is not supported"));
    }
    let lsb_first = dec.find_tag_unsigned::<u32>(Tag::FillOrder).ok().flatten() == Some(2);
    let white_is_zero =
        dec.find_tag_unsigned::<u32>(Tag::PhotometricInterpretation).ok().flatten() != Some(1);
    let offsets = dec.get_tag_u32_vec(Tag::StripOffsets).map_err(|_| bad())?;
    let counts = dec.get_tag_u32_vec(Tag::StripByteCounts).map_err(|_| bad())?;
    let (white, black) = if white_is_zero { (255u8, 0u8) } else { (0, 255) };
    let (w, h) = (width as usize, height as usize);
    let mut pixels = Vec::with_capacity(w * h);
    for (&off, &len) in offsets.iter().zip(&counts) {
        let strip = bytes.get(off as usize..(off as usize).saturating_add(len as usize)).ok_or_else(bad)?;
        let input = strip.iter().map(|&b| if lsb_first { b.reverse_bits() } else { b });
        fax::decoder::decode_g3(input, |transitions| {
            if pixels.len() < w * h {
                pixels.extend(fax::decoder::pels(transitions, width as u16).map(|c| match c {
                    fax::Color::White => white,
                    fax::Color::Black => black,
                }));
            }
        });
        if pixels.len() >= w * h {
            break;
        }
    }
    if pixels.len() < w * h / 2 {
        // Less than half the rows: not an image worth showing.
        return Err(bad());
    }
    // Missing rows at the end (a truncated file) stay white, as fax viewers show them.
    pixels.resize(w * h, white);
    let gray = GrayImage::from_raw(width, height, pixels).ok_or_else(bad)?;
    Ok(DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(gray).to_rgb8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::fixtures::read as corpus;

    #[test]
    fn decodes_the_group3_sample() {
        let img = decode_g3_tiff(&corpus("formats/G31D.TIF"), 1 << 30).expect("is G3").unwrap();
        assert_eq!((img.width(), img.height()), (2464, 3248));
        // A scanned page: mostly white paper with some black ink.
        let g = img.to_luma8();
        let black = g.pixels().filter(|p| p.0[0] == 0).count() as f64 / (2464.0 * 3248.0);
        assert!(black > 0.005 && black < 0.5, "black share {black}");
    }

    #[test]
    fn other_tiffs_are_not_claimed_and_damage_is_an_error() {
        assert!(decode_g3_tiff(&corpus("formats/uncompressed_tiff.tiff"), 1 << 30).is_none());
        let mut cut = corpus("formats/G31D.TIF");
        cut.truncate(2000);
        if let Some(r) = decode_g3_tiff(&cut, 1 << 30) {
            assert!(r.is_err());
        }
        assert!(matches!(decode_g3_tiff(&corpus("formats/G31D.TIF"), 1000), Some(Err(_))));
    }
}
