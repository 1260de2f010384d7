#!/usr/bin/env bash
# AVIF and HEIC encoders side by side (issue 13): imgedge (libheif: aom, x265) against sharp
# (libvips + libheif + aom, prebuilt from npm), both on one thread, same pixels: photo6mp.jpg
# resized by imgedge to 400 px and 1920 px wide PNGs. Prints one markdown table per size:
# median milliseconds, bytes and SSIM (luma, 8x8 windows, as tests/fidelity.rs) against the PNG.
# imgedge runs as `imgedge process` (process start included: the `png→bmp` row is that floor,
# subtracted in the "net" column); the sweep sets IMGEDGE_AVIF_SPEED / IMGEDGE_HEIC_PRESET;
# sharp runs in-process. Not a CI step: results go in docs/benchmarks.md.
# Usage: benches/heif/run.sh   (RUNS=7)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/deps.sh
ensure_build_deps
cargo build --locked --release --bin imgedge
work=target/bench-heif
mkdir -p "$work"
if [ ! -d "$work/node/node_modules/sharp" ]; then
    npm install --silent --no-audit --no-fund --prefix "$work/node" sharp@0.33.5 >/dev/null
fi
bin=target/release/imgedge
for w in 400 1920; do
    "$bin" process "$CORPUS/photos/photo6mp.jpg" "image/resize,w_$w/format,png" -o "$work/w$w.png"
done
NODE_PATH="$work/node/node_modules" RUNS="${RUNS:-7}" node benches/heif/compare.js "$work" "$bin"
