//! `interlace,0|1`: progressive JPEG output; other formats ignore it (spec §3.13).

use crate::transform::error::Result;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<bool> {
    let v = params::single_bare("interlace", ps, None)?;
    Ok(params::int_in(v, 0, 1, None, "interlace")? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;

    #[test]
    fn values() {
        assert!(parse(&split("1")).unwrap());
        assert!(!parse(&split("0")).unwrap());
        for bad in ["2", "x", ""] {
            assert!(parse(&split(bad)).is_err(), "{bad}");
        }
    }
}
