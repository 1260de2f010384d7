# Sourced by scripts/run and scripts/test: installs the system packages the build needs when
# they are missing, so both commands work on a fresh Debian machine with only Rust installed.
#   cmake, nasm   libjpeg-turbo (vendored by the turbojpeg crate) is built with CMake + NASM
#   pkg-config    probed by some -sys build scripts
#   fonts-*       the fonts OSS text watermarks name (wqy-zenhei, ...), mapped in src/transform/text.rs
#   ffmpeg        video/snapshot grabs frames in a confined ffmpeg subprocess (src/transform/video)

# The project's test and benchmark images (tests/corpus, see its SOURCES.md).
CORPUS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/corpus"

ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing system packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_build_deps() {
    # libjemalloc-dev: the server's allocator, linked statically (build.rs).
    # libheif-dev: AVIF and HEIC (libheif with aom, dav1d, x265 and libde265).
    ensure_packages cmake nasm pkg-config libjemalloc-dev libheif-dev
}

# The SDK compatibility tests run the official OSS Python SDK (oss2) from a venv in target/.
ensure_test_deps() {
    # liblcms2-dev: Little CMS, the reference the colour tests measure ΔE against.
    ensure_packages liblcms2-dev
    # chromium, chromium-driver: the console's browser test drives Debian's Chromium with Selenium.
    ensure_packages chromium chromium-driver
    command -v python3 >/dev/null || ensure_packages python3
    python3 -c 'import venv, ensurepip' 2>/dev/null || ensure_packages python3-venv
}

ensure_runtime_deps() {
    ensure_packages fonts-wqy-zenhei fonts-wqy-microhei fonts-droid-fallback fonts-arphic-ukai fonts-arphic-uming
    # HTTPS origins are verified against the system's roots.
    [ -s /etc/ssl/certs/ca-certificates.crt ] || ensure_packages ca-certificates
    # video/snapshot runs Debian's ffmpeg as a subprocess; the tests also make their clips with it.
    ensure_packages ffmpeg
}

# A real S3-compatible server for the S3-origin tests: s3s-fs from crates.io, built once into
# target/tools (0.14.1 is the newest that builds with our pinned toolchain; --locked uses its
# own lockfile).
ensure_s3_server() {
    [ -x target/tools/bin/s3s-fs ] && return 0
    cargo install --locked --quiet s3s-fs --version =0.14.1 --features binary --root target/tools
}
