//! AVIF and HEIC through libheif (Debian's libheif1: aom encodes AV1 and dav1d decodes it,
//! x265 encodes HEVC and libde265 decodes it). Only the primary image of a file is read, and
//! its size comes from the `ispe` box before anything is decoded. libheif is driven through
//! its C API (libheif-sys); every handle is released by a guard, so an error path leaks none.

use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr;

use image::{DynamicImage, RgbImage, RgbaImage};
use libheif_sys as lh;

use crate::transform::env::Stop;
use crate::transform::error::{Error, Result};
use crate::transform::format::Format;

/// What the container says about its primary image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    /// Top-level images (an image sequence or collection); only the primary one is served.
    pub images: u32,
}

/// libheif's own cap on a side, set per context so a lying header fails in libheif too.
const MAX_SIDE: c_int = 65_535;

/// AV1 effort for AVIF: aom's speed 0 (slowest, smallest) .. 9. Chosen from the figures in
/// docs/benchmarks.md ("AVIF and HEIC encoding").
const AOM_SPEED: &str = "9";
/// x265 preset for HEIC, by the same measure.
const X265_PRESET: &str = "ultrafast";
const X265_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// The encoder efforts in use: the defaults above, or `IMGEDGE_AVIF_SPEED` (0–9) and
/// `IMGEDGE_HEIC_PRESET` (an x265 preset name) when set to a valid value, read once. They
/// exist for benches/heif/run.sh's sweep and for operators who trade CPU for bytes
/// (imgproxy's IMGPROXY_AVIF_SPEED); an invalid value is ignored.
fn efforts() -> &'static (String, String) {
    static EFFORTS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    EFFORTS.get_or_init(|| {
        let speed = std::env::var("IMGEDGE_AVIF_SPEED")
            .ok()
            .filter(|v| v.parse::<u8>().is_ok_and(|n| n <= 9))
            .unwrap_or_else(|| AOM_SPEED.to_string());
        let preset = std::env::var("IMGEDGE_HEIC_PRESET")
            .ok()
            .filter(|v| X265_PRESETS.contains(&v.as_str()))
            .unwrap_or_else(|| X265_PRESET.to_string());
        (speed, preset)
    })
}

/// Owners of libheif objects: each releases its pointer once, on every path out.
macro_rules! guard {
    ($name:ident, $ty:ty, $release:path) => {
        struct $name(*mut $ty);
        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: the pointer came from libheif and is released only here, once.
                unsafe { $release(self.0) }
            }
        }
    };
}
guard!(Ctx, lh::heif_context, lh::heif_context_free);
guard!(Handle, lh::heif_image_handle, lh::heif_image_handle_release);
guard!(Img, lh::heif_image, lh::heif_image_release);
guard!(Encoder, lh::heif_encoder, lh::heif_encoder_release);

/// libheif's error as ours: `what` names the step; libheif's own text is appended (it names
/// the box or the codec step, never memory or paths).
fn check(e: lh::heif_error, what: &'static str, source_error: bool) -> Result<()> {
    if e.code == lh::heif_error_code_heif_error_Ok {
        return Ok(());
    }
    let detail = if e.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif's messages are NUL-terminated strings that live as long as the context.
        unsafe { CStr::from_ptr(e.message) }.to_string_lossy().chars().take(120).collect()
    };
    let msg = if detail.is_empty() { what.to_string() } else { format!("{what}: {detail}") };
    Err(if source_error { Error::unsupported_source(msg) } else { Error::internal(msg) })
}

/// A source libheif could not read, with OSS's EC for a corrupt HEIC (0040-00000020) or AVIF
/// (…21); other errors (limits, budgets) pass unchanged.
pub fn as_corrupt(e: Error, format: Format) -> Error {
    if e.ec != Some(crate::transform::error::ec::UNSUPPORTED_FORMAT) {
        return e;
    }
    use crate::transform::error::ec;
    let ec = if format == Format::Avif { ec::AVIF_CORRUPT } else { ec::HEIC_CORRUPT };
    Error { ec: Some(ec), ..e }
}

/// Opens `bytes` (which must outlive the context: libheif reads them in place).
fn open(bytes: &[u8]) -> Result<(Ctx, Handle)> {
    // SAFETY: plain allocation; null is checked.
    let ctx = Ctx(unsafe { lh::heif_context_alloc() });
    if ctx.0.is_null() {
        return Err(Error::internal("cannot start the HEIF decoder"));
    }
    // SAFETY: ctx is valid; bytes stay borrowed for as long as the context lives (callers keep
    // both in one scope).
    unsafe {
        lh::heif_context_set_maximum_image_size_limit(ctx.0, MAX_SIDE);
        let e = lh::heif_context_read_from_memory_without_copy(
            ctx.0,
            bytes.as_ptr().cast(),
            bytes.len(),
            ptr::null(),
        );
        check(e, "invalid HEIF/AVIF file", true)?;
        let mut h = ptr::null_mut();
        check(lh::heif_context_get_primary_image_handle(ctx.0, &mut h), "HEIF/AVIF file has no image", true)?;
        Ok((ctx, Handle(h)))
    }
}

/// Most tiles a grid may have. libheif's cost grows with the square of the tile count (16 384
/// tiles of a 2048² image took 16 s); real grids have tens to a few hundred (a 48 MP phone
/// photo in 512-px tiles: 192).
pub const MAX_TILES: u32 = 1024;

/// Reads the primary image's size and alpha from the container's boxes; nothing is decoded.
/// A grid is checked first, by our own reading of its boxes (libheif 1.15 shows none of it):
/// its tile count is bounded, and its real output size must be the size it declares, since
/// that output is what libheif allocates.
pub fn header(bytes: &[u8]) -> Result<Header> {
    let primary = super::heif_boxes::primary(bytes)
        .map_err(|f| Error::unsupported_source(format!("invalid HEIF/AVIF file: {f}")))?;
    if let Some(g) = &primary.grid {
        if g.tiles > MAX_TILES {
            return Err(Error::too_large(None, format!("a grid of more than {MAX_TILES} tiles")));
        }
        if !g.well_formed() || primary.ispe.is_some_and(|s| s != (g.width, g.height)) {
            return Err(Error::unsupported_source("the image grid does not match its declared size"));
        }
    }
    let (ctx, h) = open(bytes)?;
    // SAFETY: valid handles from open().
    let (w, hgt, alpha, images) = unsafe {
        (
            // The size after the container's rotation and mirroring (`irot`, `imir`), which
            // libheif applies while decoding; read from the boxes, not the pixels.
            lh::heif_image_handle_get_width(h.0),
            lh::heif_image_handle_get_height(h.0),
            lh::heif_image_handle_has_alpha_channel(h.0) != 0,
            lh::heif_context_get_number_of_top_level_images(ctx.0),
        )
    };
    if w <= 0 || hgt <= 0 {
        return Err(Error::unsupported_source("HEIF/AVIF image without a size"));
    }
    Ok(Header { width: w as u32, height: hgt as u32, has_alpha: alpha, images: images.max(1) as u32 })
}

/// The executable that decodes in a child process (`<exe> heif-decode`), set once by the binary.
static HELPER: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Decodes in child processes run from `exe` (`imgedge heif-decode`, see [`decode_child_main`])
/// from now on: libheif 1.15 cannot be interrupted, and a process can be killed at the
/// deadline. Without it (library users, unit tests) libheif runs in this process.
pub fn use_helper(exe: std::path::PathBuf) {
    let _ = HELPER.set(exe);
}

/// Address space a decoding child may map besides the decode itself: the binary, its libraries
/// and codec threads' stacks.
const CHILD_BASE_BYTES: u64 = 768 << 20;

/// Decodes the primary image to RGB8, or RGBA8 when it has alpha. `max_alloc` bounds the
/// decoded frame (checked from the header first); `stop` ends a decode running in a child.
pub fn decode(bytes: &[u8], max_alloc: u64, stop: &Stop) -> Result<DynamicImage> {
    let hd = header(bytes)?;
    let ch: u64 = if hd.has_alpha { 4 } else { 3 };
    // libheif holds the YUV planes and the RGB image at once: about 2.5× the output.
    if u64::from(hd.width) * u64::from(hd.height) * ch * 5 / 2 > max_alloc {
        return Err(Error::too_large(None, "image exceeds the decoder memory budget"));
    }
    match HELPER.get() {
        Some(exe) => decode_in_child(exe, bytes, &hd, max_alloc, stop),
        None => decode_here(bytes, &hd),
    }
}

/// Runs `<exe> heif-decode` on `bytes` and reads back what it writes: the rows, then 12 bytes
/// of width, height and channels (u32 LE). The child must answer the size the header promised;
/// anything else is refused.
fn decode_in_child(
    exe: &std::path::Path,
    bytes: &[u8],
    hd: &Header,
    max_alloc: u64,
    stop: &Stop,
) -> Result<DynamicImage> {
    let ch = if hd.has_alpha { 4 } else { 3 };
    let want = u64::from(hd.width) * u64::from(hd.height) * ch;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("heif-decode");
    let memory = max_alloc.saturating_add(CHILD_BASE_BYTES);
    let bounds = crate::transform::child::Bounds { max: want + 12, expect: want + 12, max_err: 4096 };
    let o = crate::transform::child::run(cmd, "the HEIF decoder", Some(bytes), bounds, memory, stop)?;
    if !o.status.success() {
        let why = String::from_utf8_lossy(&o.err);
        let why = why.lines().next().unwrap_or("").chars().take(160).collect::<String>();
        return Err(match why.strip_prefix("too large: ") {
            Some(m) => Error::too_large(None, m.to_string()),
            None if why.is_empty() => Error::unsupported_source("cannot decode HEIF/AVIF image"),
            None => Error::unsupported_source(why),
        });
    }
    // The size comes last, so the pixels need no move.
    let mut px = o.out;
    let tail = px.len().checked_sub(12).map(|at| px.split_off(at)).unwrap_or_default();
    let field = |i: usize| tail.get(i * 4..i * 4 + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let (w, h, c) = (field(0), field(1), field(2));
    if (w, h, c) != (Some(hd.width), Some(hd.height), Some(ch as u32)) || px.len() as u64 != want {
        return Err(Error::unsupported_source("the decoded image is not the size its header declares"));
    }
    let img = match ch {
        4 => RgbaImage::from_raw(hd.width, hd.height, px).map(DynamicImage::ImageRgba8),
        _ => RgbImage::from_raw(hd.width, hd.height, px).map(DynamicImage::ImageRgb8),
    };
    img.ok_or_else(|| Error::internal("HEIF plane"))
}

/// The child's side of [`decode_in_child`]: reads the file on standard input, decodes it here
/// and writes the pixels and their size on standard output. Errors go to standard error as one line
/// (`too large: …` for limits) with exit status 2.
pub fn decode_child_main(max_input: u64) -> std::process::ExitCode {
    use std::io::{Read, Write};
    let mut bytes = Vec::new();
    let read = std::io::stdin().lock().take(max_input + 1).read_to_end(&mut bytes);
    let result = match read {
        Ok(_) if bytes.len() as u64 <= max_input => header(&bytes).and_then(|hd| decode_here(&bytes, &hd)),
        _ => Err(Error::too_large(None, "the file is too large")),
    };
    match result {
        Ok(img) => {
            let ch: u32 = if img.color().has_alpha() { 4 } else { 3 };
            let mut out = std::io::stdout().lock();
            let size = [img.width(), img.height(), ch].map(u32::to_le_bytes).concat();
            match out.write_all(img.as_bytes()).and_then(|_| out.write_all(&size)).and_then(|_| out.flush()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(_) => std::process::ExitCode::from(2),
            }
        }
        Err(e) => {
            let kind =
                if e.code == crate::transform::error::Code::ImageTooLarge { "too large: " } else { "" };
            eprintln!("{kind}{}", e.message);
            std::process::ExitCode::from(2)
        }
    }
}

/// libheif's decode in this process.
fn decode_here(bytes: &[u8], hd: &Header) -> Result<DynamicImage> {
    let ch: u64 = if hd.has_alpha { 4 } else { 3 };
    let (_ctx, h) = open(bytes)?;
    let chroma = if hd.has_alpha {
        lh::heif_chroma_heif_chroma_interleaved_RGBA
    } else {
        lh::heif_chroma_heif_chroma_interleaved_RGB
    };
    let mut out = ptr::null_mut();
    // SAFETY: valid handle; out receives a new image we own.
    let e = unsafe {
        lh::heif_decode_image(h.0, &mut out, lh::heif_colorspace_heif_colorspace_RGB, chroma, ptr::null())
    };
    check(e, "cannot decode HEIF/AVIF image", true)?;
    let img = Img(out);
    let (px, w, hgt) = read_plane(&img, ch as usize)?;
    if (w, hgt) != (hd.width, hd.height) {
        return Err(Error::unsupported_source("the decoded image is not the size its header declares"));
    }
    Ok(if hd.has_alpha {
        DynamicImage::ImageRgba8(
            RgbaImage::from_raw(w, hgt, px).ok_or_else(|| Error::internal("HEIF plane"))?,
        )
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_raw(w, hgt, px).ok_or_else(|| Error::internal("HEIF plane"))?)
    })
}

/// Copies the interleaved plane of a decoded image, row by row (libheif pads its rows).
fn read_plane(img: &Img, ch: usize) -> Result<(Vec<u8>, u32, u32)> {
    let chan = lh::heif_channel_heif_channel_interleaved;
    // SAFETY: img is a valid decoded image; the plane is `stride × height` bytes.
    unsafe {
        let (w, h) = (lh::heif_image_get_width(img.0, chan), lh::heif_image_get_height(img.0, chan));
        let mut stride: c_int = 0;
        let p = lh::heif_image_get_plane_readonly(img.0, chan, &mut stride);
        if p.is_null() || w <= 0 || h <= 0 || (stride as usize) < w as usize * ch {
            return Err(Error::internal("HEIF decoder returned no pixels"));
        }
        let row = w as usize * ch;
        let mut out = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            out.extend_from_slice(std::slice::from_raw_parts(p.add(y * stride as usize), row));
        }
        Ok((out, w as u32, h as u32))
    }
}

/// Encodes RGB8/RGBA8 pixels as AVIF or HEIC at `quality` 1..=100 (libheif's lossy quality,
/// which both encoders map onto their quantiser).
pub fn encode(px: &DynamicImage, format: Format, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>> {
    let (compression, name) = match format {
        Format::Avif => (lh::heif_compression_format_heif_compression_AV1, "AVIF"),
        Format::Heic => (lh::heif_compression_format_heif_compression_HEVC, "HEIC"),
        _ => return Err(Error::internal("not a HEIF format")),
    };
    let (w, h) = (px.width(), px.height());
    if w > MAX_SIDE as u32 || h > MAX_SIDE as u32 {
        return Err(Error::too_large(None, "image too large for AVIF/HEIC"));
    }
    let fail = |e: Error| Error::internal(format!("{name} encoder failed ({})", e.message));
    let rgba = px.color().has_alpha();
    let (chroma, ch) = if rgba {
        (lh::heif_chroma_heif_chroma_interleaved_RGBA, 4)
    } else {
        (lh::heif_chroma_heif_chroma_interleaved_RGB, 3)
    };
    let owned;
    let raw: &[u8] = match px {
        DynamicImage::ImageRgb8(b) if !rgba => b.as_raw(),
        DynamicImage::ImageRgba8(b) if rgba => b.as_raw(),
        other if rgba => {
            owned = other.to_rgba8().into_raw();
            &owned
        }
        other => {
            owned = other.to_rgb8().into_raw();
            &owned
        }
    };
    // SAFETY: every pointer comes from libheif and is checked; guards release them; the plane
    // copy stays within `stride × h` (libheif allocated it for w×h at 8 bits).
    unsafe {
        let ctx = Ctx(lh::heif_context_alloc());
        if ctx.0.is_null() {
            return Err(Error::internal("cannot start the HEIF encoder"));
        }
        let mut img = ptr::null_mut();
        check(
            lh::heif_image_create(
                w as c_int,
                h as c_int,
                lh::heif_colorspace_heif_colorspace_RGB,
                chroma,
                &mut img,
            ),
            "image",
            false,
        )
        .map_err(fail)?;
        let img = Img(img);
        let chan = lh::heif_channel_heif_channel_interleaved;
        check(lh::heif_image_add_plane(img.0, chan, w as c_int, h as c_int, 8), "plane", false)
            .map_err(fail)?;
        let mut stride: c_int = 0;
        let p = lh::heif_image_get_plane(img.0, chan, &mut stride);
        let row = w as usize * ch;
        if p.is_null() || (stride as usize) < row {
            return Err(fail(Error::internal("plane")));
        }
        for (y, src) in raw.chunks_exact(row).enumerate() {
            ptr::copy_nonoverlapping(src.as_ptr(), p.add(y * stride as usize), row);
        }
        let mut enc = ptr::null_mut();
        check(lh::heif_context_get_encoder_for_format(ctx.0, compression, &mut enc), "encoder", false)
            .map_err(fail)?;
        let enc = Encoder(enc);
        check(
            lh::heif_encoder_set_lossy_quality(enc.0, c_int::from(quality.clamp(1, 100))),
            "quality",
            false,
        )
        .map_err(fail)?;
        // One thread: the worker pool already runs one transform per core.
        let (speed, preset) = efforts();
        let params: &[(&str, &str)] = match format {
            Format::Avif => &[("speed", speed), ("threads", "1")],
            _ => &[("preset", preset), ("x265:pools", "1"), ("x265:frame-threads", "1")],
        };
        for (k, v) in params {
            let (k, v) = (CString::new(*k).unwrap_or_default(), CString::new(*v).unwrap_or_default());
            check(lh::heif_encoder_set_parameter(enc.0, k.as_ptr(), v.as_ptr()), "encoder parameter", false)
                .map_err(fail)?;
        }
        if let Some(p) = icc {
            let kind = c"prof";
            let e = lh::heif_image_set_raw_color_profile(img.0, kind.as_ptr(), p.as_ptr().cast(), p.len());
            check(e, "colour profile", false).map_err(fail)?;
        }
        let mut handle = ptr::null_mut();
        let e = lh::heif_context_encode_image(ctx.0, img.0, enc.0, ptr::null(), &mut handle);
        check(e, "encode", false).map_err(fail)?;
        if !handle.is_null() {
            drop(Handle(handle));
        }
        let mut out: Vec<u8> = Vec::new();
        let mut writer = lh::heif_writer { writer_api_version: 1, write: Some(write_to_vec) };
        let e = lh::heif_context_write(ctx.0, &mut writer, (&mut out as *mut Vec<u8>).cast());
        check(e, "write", false).map_err(fail)?;
        Ok(out)
    }
}

unsafe extern "C" fn write_to_vec(
    _ctx: *mut lh::heif_context,
    data: *const c_void,
    size: usize,
    user: *mut c_void,
) -> lh::heif_error {
    // SAFETY: `user` is the Vec passed to heif_context_write; data is `size` readable bytes.
    unsafe {
        let out = &mut *user.cast::<Vec<u8>>();
        out.extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), size));
    }
    lh::heif_error { code: lh::heif_error_code_heif_error_Ok, subcode: 0, message: c"".as_ptr() }
}
