//! Links Debian's jemalloc (libjemalloc-dev) into the server build as the process's malloc:
//! docs/decisions.md "Allocator" says why. Static, so the binary needs no runtime package; the
//! transform core alone (`--no-default-features`) keeps the system allocator.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=IMGEDGE_SYSTEM_MALLOC");
    let server = std::env::var_os("CARGO_FEATURE_SERVER").is_some();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !server || !linux || std::env::var_os("IMGEDGE_SYSTEM_MALLOC").is_some() {
        return;
    }
    // malloc, free and the rest then resolve to jemalloc for Rust code and the C codecs alike.
    let dir = format!("/usr/lib/{}-linux-gnu", std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default());
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=static=jemalloc_pic");
}
