//! TEMP stub
use crate::transform::error::{Error, Result};
use crate::transform::raster::Image;
use super::SourceInfo;
#[derive(Debug, Clone)]
pub struct DecodeOptions { pub jpeg_scale_denom: u8, pub first_frame_only: bool, pub max_alloc: u64 }
pub fn decode(bytes: &[u8], _info: &SourceInfo, _o: &DecodeOptions) -> Result<Image> {
    let img = image::load_from_memory(bytes).map_err(|_| Error::unsupported_source("x"))?;
    Ok(Image::still(img))
}
