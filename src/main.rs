//! The `imgedge` binary: see `imgedge --help`.
//!
//!     imgedge process photo.jpg 'image/resize,w_300/format,webp' -o thumb.webp

fn main() -> std::process::ExitCode {
    imgedge::cli::main()
}
