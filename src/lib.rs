//! imgedge: an image edge proxy that speaks Alibaba Cloud OSS's `x-oss-process` dialect.
//!
//! The [`transform`] module is the core (parse → plan → execute, codecs, one file per action);
//! it never depends on the server stack, which sits behind the default `server` feature.

pub mod names;
pub mod transform;

#[cfg(feature = "server")]
pub mod access;
#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod bucket;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod console;
#[cfg(feature = "server")]
pub mod dispatch;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod exchange;
#[cfg(feature = "server")]
pub mod handlers;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod proxy;
#[cfg(feature = "server")]
pub mod request;
#[cfg(feature = "server")]
pub mod route;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(test)]
mod testing;
