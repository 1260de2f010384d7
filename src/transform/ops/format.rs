//! `format,<name>`: the output format, an encoder setting applied at the end wherever it is
//! written (spec §3.12). avif and heic are encoded through libheif (the `heif` feature).

use crate::transform::error::{ec, Error, Result};
use crate::transform::format::Format;
use crate::transform::params::{self, Param};

/// `format,auto` (an imgedge extension): the format is negotiated from `Accept` by the server.
pub fn is_auto(ps: &[Param<'_>]) -> bool {
    matches!(ps, [Param::Bare("auto")])
}

pub fn parse(ps: &[Param<'_>]) -> Result<Format> {
    let v = match ps {
        [] | [Param::Bare("")] => {
            return Err(Error::invalid(Some(ec::FORMAT_MISSING), "format needs a value"))
        }
        [Param::Bare(v)] => *v,
        _ => return Err(Error::invalid(Some(ec::FORMAT_INVALID), "format takes one value")),
    };
    match Format::from_name(v) {
        Some(f) if f.available() => Ok(f),
        Some(f) => Err(Error::invalid(
            Some(ec::FORMAT_INVALID),
            format!("format {f} is not supported by this build"),
        )),
        None => Err(Error::invalid(
            Some(ec::FORMAT_INVALID),
            format!("unsupported output format \"{}\"", params::clip(v)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;

    #[test]
    fn values_and_errors() {
        for f in Format::ALL {
            assert_eq!(parse(&split(f.name())).unwrap(), f);
        }
        assert_eq!(parse(&split("jpeg")).unwrap(), Format::Jpeg);
        assert_eq!(parse(&split("dng")).unwrap_err().ec, Some(ec::FORMAT_INVALID));
        assert_eq!(parse(&[]).unwrap_err().ec, Some(ec::FORMAT_MISSING));
        assert_eq!(parse(&split("")).unwrap_err().ec, Some(ec::FORMAT_MISSING));
    }
}
