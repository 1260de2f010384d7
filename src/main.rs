//! The `imgedge` binary: see `imgedge --help`.
//!
//!     imgedge process photo.jpg 'image/resize,w_300/format,webp' -o thumb.webp

/// jemalloc's settings (build.rs links it): purge from a background thread rather than inside
/// requests; give freed pages back after 1 s unused (the default 10 s keeps a burst's peak
/// resident long after it), and straight away rather than through MADV_FREE, so that the
/// resident size reported to the operator is what is really held.
#[cfg(all(target_os = "linux", feature = "server"))]
#[no_mangle]
pub static malloc_conf: MallocConf =
    MallocConf(c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// A C string pointer that may live in a static.
#[repr(transparent)]
pub struct MallocConf(*const std::ffi::c_char);
// SAFETY: it points at a string literal, immutable for the life of the process.
unsafe impl Sync for MallocConf {}

fn main() -> std::process::ExitCode {
    imgedge::cli::main()
}
