//! Helpers shared by the integration tests: corpus paths and running a process string.

#![allow(dead_code)]

pub mod fixtures;
pub mod origin;
pub mod s3;
pub mod sdk;
pub mod server;
pub mod sign;
pub mod tls;

use std::path::PathBuf;

use imgedge::transform::{self, Env, Limits, NoStyles, Rendered, Result};

#[allow(unused_imports)]
pub use fixtures::{folder, read};

/// A fixture as a file (see `fixtures::path`).
pub fn corpus(rel: &str) -> PathBuf {
    fixtures::path(rel)
}

/// Parses and runs `process` on `src` with default limits.
pub fn run(src: &[u8], process: &str) -> Result<Rendered> {
    let limits = Limits::default();
    let pipeline = transform::parse(process, &NoStyles, &limits)?;
    transform::run(src, &pipeline, &Env::new(&limits))
}

/// Runs and decodes the image result.
pub fn run_image(src: &[u8], process: &str) -> image::DynamicImage {
    let out = run(src, process).unwrap_or_else(|e| panic!("{process}: {e}"));
    image::load_from_memory(&out.body).unwrap_or_else(|e| panic!("{process}: output does not decode: {e}"))
}

/// Runs and returns the decoded output's size.
pub fn dims(src: &[u8], process: &str) -> (u32, u32) {
    let img = run_image(src, process);
    (img.width(), img.height())
}

/// A JPEG of the given size (a smooth gradient), encoded by the image crate.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Runs `process` with `dir` as the bucket that watermark keys resolve in.
pub fn run_in(dir: &std::path::Path, src: &[u8], process: &str) -> Result<Rendered> {
    let limits = Limits::default();
    let pipeline = transform::parse(process, &NoStyles, &limits)?;
    let objects = transform::DirObjects::new(dir).expect("bucket dir");
    let env = Env::with_objects(&limits, &objects);
    transform::run(src, &pipeline, &env)
}

/// Encodes an image as PNG.
pub fn png(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// URL-safe base64 without padding, as OSS documents for watermark parameters.
pub fn b64(s: &str) -> String {
    imgedge::transform::b64::encode(s.as_bytes())
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imgedge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
