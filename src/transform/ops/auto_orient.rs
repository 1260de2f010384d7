//! `auto-orient,0|1`: whether the EXIF Orientation is applied. It is on by default and acts
//! before every other action wherever it is written (spec §2.1, §3.6).

use image::metadata::Orientation;
use image::DynamicImage;

use crate::transform::error::Result;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<bool> {
    let v = params::single_bare("auto-orient", ps, None)?;
    Ok(params::int_in(v, 0, 1, None, "auto-orient")? == 1)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;

    #[test]
    fn values() {
        assert!(parse(&split("1")).unwrap());
        assert!(!parse(&split("0")).unwrap());
        for bad in ["2", "-1", "yes", "", "a_1"] {
            assert!(parse(&split(bad)).is_err(), "{bad}");
        }
        assert!(parse(&[]).is_err());
    }
}
