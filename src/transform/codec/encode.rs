//! TEMP stub
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;
use crate::transform::raster::Image;
#[derive(Debug, Clone)]
pub struct EncodeSettings { pub format: Format, pub quality: u8, pub progressive: bool }
pub fn encode(img: &Image, s: &EncodeSettings) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let f = match s.format { Format::Png => image::ImageFormat::Png, _ => image::ImageFormat::Png };
    img.frames[0].pixels.write_to(&mut out, f).map_err(|_| Error::internal("x"))?;
    Ok(out.into_inner())
}
