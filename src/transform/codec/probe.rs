//! TEMP stub
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
#[derive(Debug, Clone)]
pub struct SourceInfo { pub format: Format, pub width: u32, pub height: u32, pub frames: u32, pub orientation: u8, pub jpeg_quality: Option<u8>, pub file_size: u64, pub has_alpha: bool }
pub fn probe(bytes: &[u8]) -> Result<SourceInfo> {
    let r = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|_| Error::unsupported_source("x"))?;
    let f = match r.format() { Some(image::ImageFormat::Jpeg) => Format::Jpeg, Some(image::ImageFormat::Png) => Format::Png, Some(image::ImageFormat::Gif) => Format::Gif, _ => return Err(Error::unsupported_source("x")) };
    let (w, h) = r.into_dimensions().map_err(|_| Error::unsupported_source("x"))?;
    Ok(SourceInfo { format: f, width: w, height: h, frames: 1, orientation: 1, jpeg_quality: if f == Format::Jpeg { Some(82) } else { None }, file_size: bytes.len() as u64, has_alpha: false })
}
