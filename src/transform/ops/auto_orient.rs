//! `auto-orient,0|1`: whether the EXIF Orientation is applied. It is on by default and acts
//! before every other action wherever it is written (spec §2.1, §3.6).

use image::metadata::Orientation;
use image::DynamicImage;

use crate::transform::error::Result;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<bool> {
    params::flag("auto-orient", ps)
}

/// Whether an EXIF orientation swaps width and height.
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

pub fn apply(orientation: u8, mut img: DynamicImage) -> DynamicImage {
    if let Some(o) = Orientation::from_exif(orientation) {
        img.apply_orientation(o);
    }
    img
}
