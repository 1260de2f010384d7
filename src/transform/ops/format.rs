//! `format,<name>`: the output format, an encoder setting applied at the end wherever it is
//! written (spec §3.12). avif and heic exist in OSS as paid extras and are not provided yet.

use crate::transform::error::{ec, Error, Result};
use crate::transform::format::Format;
use crate::transform::params::{self, Param};

pub fn parse(ps: &[Param<'_>]) -> Result<Format> {
    let v = match ps {
        [] | [Param::Bare("")] => {
            return Err(Error::invalid(Some(ec::FORMAT_MISSING), "format needs a value"))
        }
        [Param::Bare(v)] => *v,
        _ => return Err(Error::invalid(Some(ec::FORMAT_INVALID), "format takes one value")),
    };
    Format::from_name(v).ok_or_else(|| {
        let msg = match v {
            "avif" | "heic" => format!("format {v} is not supported by this server"),
            _ => format!("unsupported output format \"{}\"", params::clip(v)),
        };
        Error::invalid(Some(ec::FORMAT_INVALID), msg)
    })
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
        assert_eq!(parse(&split("avif")).unwrap_err().ec, Some(ec::FORMAT_INVALID));
        assert_eq!(parse(&[]).unwrap_err().ec, Some(ec::FORMAT_MISSING));
        assert_eq!(parse(&split("")).unwrap_err().ec, Some(ec::FORMAT_MISSING));
    }
}
