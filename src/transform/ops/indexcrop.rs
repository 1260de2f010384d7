//! `indexcrop`: cut the image into strips along x or y and keep strip i; an index past the
//! last strip returns the image unchanged (spec §3.4).

use crate::transform::error::{Error, Result};
use crate::transform::params::{self, Param};
use crate::transform::plan::PlanCtx;

use super::crop::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexCropSpec {
    /// Strip size along x (vertical strips) or y (horizontal strips).
    pub axis: Axis,
    pub size: u32,
    pub i: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    X,
    Y,
}

const MAX: i64 = 1 << 20;

pub fn parse(ps: &[Param<'_>]) -> Result<IndexCropSpec> {
    let (mut x, mut y, mut i) = (None, None, 0);
    for p in ps {
        match *p {
            Param::Kv("x", v) => x = Some(params::int_in(v, 1, MAX, None, "indexcrop x")? as u32),
            Param::Kv("y", v) => y = Some(params::int_in(v, 1, MAX, None, "indexcrop y")? as u32),
            Param::Kv("i", v) => i = params::int_in(v, 0, MAX, None, "indexcrop i")? as u32,
            ref other => return Err(params::unknown("indexcrop", other)),
        }
    }
    // With both given, OSS uses y.
    match (x, y) {
        (_, Some(size)) => Ok(IndexCropSpec { axis: Axis::Y, size, i }),
        (Some(size), None) => Ok(IndexCropSpec { axis: Axis::X, size, i }),
        (None, None) => Err(Error::invalid(None, "indexcrop needs x or y")),
    }
}

pub fn plan(spec: &IndexCropSpec, ctx: &mut PlanCtx<'_>) -> Result<Option<Rect>> {
    let len = match spec.axis {
        Axis::X => ctx.w,
        Axis::Y => ctx.h,
    };
    let start = spec.i as u64 * spec.size as u64;
    if start >= len as u64 {
        return Ok(None);
    }
    let start = start as u32;
    let part = spec.size.min(len - start);
    let rect = match spec.axis {
        Axis::X => Rect { x: start, y: 0, w: part, h: ctx.h },
        Axis::Y => Rect { x: 0, y: start, w: ctx.w, h: part },
    };
    ctx.w = rect.w;
    ctx.h = rect.h;
    Ok(Some(rect))
}

pub fn canonical(spec: &IndexCropSpec) -> String {
    let axis = match spec.axis {
        Axis::X => "x",
        Axis::Y => "y",
    };
    format!("indexcrop,{axis}_{},i_{}", spec.size, spec.i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::params::split;
    use crate::transform::plan::tests::ctx_for;

    fn dims(p: &str) -> (u32, u32) {
        let mut ctx = ctx_for(400, 267);
        plan(&parse(&split(p)).unwrap(), &mut ctx).unwrap();
        (ctx.w, ctx.h)
    }

    #[test]
    fn documented_vectors() {
        assert_eq!(dims("x_100,i_0"), (100, 267));
        assert_eq!(dims("y_100,i_10"), (400, 267));
        assert_eq!(dims("x_150,i_2"), (100, 267));
        assert_eq!(dims("y_100,i_2"), (400, 67));
        assert_eq!(dims("x_100,y_100,i_1"), (400, 100));
        assert_eq!(dims("x_1000,i_0"), (400, 267));
    }

    #[test]
    fn rejects() {
        for bad in ["", "i_1", "x_0", "x_-3", "x_1,i_-1", "z_1"] {
            let ps = if bad.is_empty() { vec![] } else { split(bad) };
            assert!(parse(&ps).is_err(), "{bad}");
        }
    }
}
