//! Everything between an authorized job and its bytes: the budget of a job, what it reads, the
//! render on the worker pool, the keys variants are filed under, the variant cache and the
//! shared tier, asynchronous tasks. No HTTP here: handlers call the engine and make answers.

pub mod budget;
pub mod cache;
pub mod keys;
pub mod render;
pub mod source;
pub mod tasks;
pub mod tier;
pub mod workers;

use crate::names::ObjectKey;
use crate::transform::Pipeline;

pub use render::render;

/// A processed request, authorized and ready to run: a source and what to do with it.
pub struct Job {
    pub object: ObjectKey,
    pub pipeline: Pipeline,
}
