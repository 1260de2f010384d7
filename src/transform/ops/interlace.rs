//! `interlace,0|1`: progressive JPEG output; other formats ignore it (spec §3.13).

use crate::transform::error::Result;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<bool> {
    params::flag("interlace", ps)
}
