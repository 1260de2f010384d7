//! One handler per action, HTTP in and out only: each reads what it needs of the request, calls
//! the engine or the bucket's settings, and makes the answer. `crate::dispatch` picks the
//! handler after authorizing the request; the pingora glue writes what they answer.

mod accept;
pub mod async_task;
pub mod bucket_conf;
mod hints;
pub mod object;
pub mod process;
pub mod purge;
pub mod raw;
pub mod saveas;
pub mod style;
pub mod vars;
