//! The transform core: parse → plan → execute, codecs, one small file per action.
//!
//! Rule: nothing under this module imports pingora, tokio, moka or prometheus; it builds with
//! `--no-default-features`. Entry points: [`parse::parse`] / [`parse::parse_query_value`] turn
//! a process string into a [`spec::Pipeline`], and [`execute::run`] renders it on source bytes.

pub mod b64;
pub mod child;
pub mod codec;
pub mod cost;
pub mod env;
pub mod error;
pub mod execute;
pub mod format;
pub mod gravity;
pub mod limits;
pub mod ops;
pub mod params;
pub mod parse;
pub mod plan;
pub mod raster;
pub mod resample;
pub mod saliency;
pub mod spec;
pub mod text;
pub mod video;

pub use env::{DirObjects, Env, NoObjects, Objects, Prefetched, Stop};
pub use error::{Code, Error, Result};
pub use execute::{estimate, run, Rendered, Timings};
pub use format::Format;
pub use limits::Limits;
pub use parse::{parse, parse_query_value, query_decode, NoStyles, Styles};
pub use spec::Pipeline;
