//! Hostile input: decompression bombs are refused from the header without large allocations
//! (measured by a counting global allocator), and random pipelines on real images never panic.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{read, run};
use imgedge::transform::Code;

/// Tracks the live and the peak heap bytes of the whole test process.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocation measurements must not overlap other tests' work.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap growth while `f` runs.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

#[test]
fn bombs_are_refused_from_the_header() {
    let _g = SERIAL.lock().unwrap();
    // The meter works: a real 2000×2000 decode does show up (12 MB of RGB at least).
    let real = common::jpeg(2000, 2000);
    let (res, grew) = peak_growth(|| run(&real, "image/format,bmp"));
    assert!(res.is_ok() && grew > 12_000_000, "meter saw only {grew} bytes");
    for (file, process) in [
        ("bad/giant-image.jpg", "image/resize,w_100"),
        ("bad/giant-image.jpg", "image/format,png"),
        ("bad/65536-uint32-limit.png", "image/resize,w_100"),
        ("bad/65536-uint32-limit.png", "image/average-hue"),
    ] {
        let src = read(file);
        let (res, grew) = peak_growth(|| run(&src, process));
        let e = res.expect_err(file);
        assert_eq!(e.code, Code::ImageTooLarge, "{file} {process}");
        // A 20000×14000 raster alone would be 840 MB; the refusal must cost next to nothing.
        assert!(grew < 4 << 20, "{file} {process}: heap grew by {grew} bytes");
    }
}

#[test]
fn frame_bombs_are_refused_while_scanning() {
    let _g = SERIAL.lock().unwrap();
    // 1000×1000 screen, 300 frames: 300 M pixels > 250 M, in a file of a few hundred KB.
    let mut gif = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut gif, 1000, 1000, &[0, 0, 0, 255, 255, 255]).unwrap();
        for _ in 0..300 {
            let f = gif::Frame { width: 1, height: 1, buffer: vec![0].into(), ..Default::default() };
            enc.write_frame(&f).unwrap();
        }
    }
    let (res, grew) = peak_growth(|| run(&gif, "image/resize,w_100"));
    assert_eq!(res.unwrap_err().code, Code::ImageTooLarge);
    assert!(grew < 4 << 20, "heap grew by {grew} bytes");
}

#[test]
fn animations_are_transformed_frame_by_frame() {
    let _g = SERIAL.lock().unwrap();
    // 200 full frames of 500×500 (50 M pixels, 200 MB as RGBA): resizing to 50 px keeps only
    // small frames, so the heap never holds the decoded animation.
    let mut gif = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut gif, 500, 500, &[0, 0, 0, 255, 255, 255]).unwrap();
        for i in 0..200u32 {
            let buffer: Vec<u8> = (0..500 * 500).map(|p| ((p / 500 + i) % 2) as u8).collect();
            let f = gif::Frame { width: 500, height: 500, buffer: buffer.into(), ..Default::default() };
            enc.write_frame(&f).unwrap();
        }
    }
    let (res, grew) = peak_growth(|| run(&gif, "image/resize,w_50"));
    let out = res.unwrap();
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&out.body)).unwrap();
    let frames = image::AnimationDecoder::into_frames(frames).collect_frames().unwrap();
    assert_eq!(frames.len(), 200);
    assert_eq!(frames[0].buffer().dimensions(), (50, 50));
    assert!(grew < 40 << 20, "heap grew by {grew} bytes (all frames would be 200 MB)");
}

#[test]
fn output_bombs_are_refused_before_allocating() {
    let _g = SERIAL.lock().unwrap();
    let src = common::jpeg(100, 100);
    for p in [
        "image/resize,w_16384,h_16384,m_fixed,limit_0",
        "image/resize,p_1000/resize,p_1000",
        "image/resize,m_pad,w_16384,h_16384,limit_0",
        "image/resize,w_16384,limit_0/rotate,45",
    ] {
        let (res, grew) = peak_growth(|| run(&src, p));
        assert_eq!(res.expect_err(p).code, Code::ImageTooLarge, "{p}");
        assert!(grew < 4 << 20, "{p}: heap grew by {grew} bytes");
    }
}

#[test]
fn random_pipelines_on_real_images_never_panic() {
    let sources =
        [read("oss/example.jpg"), read("oss/example.gif"), read("oss/aws_logo.png"), read("oss/f.jpg")];
    let actions = [
        "resize,w_#",
        "resize,h_#,m_fill",
        "resize,l_#,s_#,m_pad",
        "resize,p_#",
        "resize,w_#,h_#,m_fixed,limit_0",
        "crop,x_#,y_#,w_#,h_#,g_se",
        "crop,w_#,g_center",
        "circle,r_#",
        "indexcrop,x_#,i_#",
        "indexcrop,y_#,i_#",
        "rounded-corners,r_#",
        "rotate,#",
        "auto-orient,0",
        "format,png",
        "format,webp",
        "format,gif",
        "format,jpg",
        "quality,q_#",
        "quality,Q_#",
        "interlace,1",
        "format,bmp",
        "format,tiff",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..300 {
        let n = 1 + next() % 4;
        let mut parts = Vec::new();
        for _ in 0..n {
            let a = actions[(next() % actions.len() as u64) as usize];
            let mut s = String::new();
            for piece in a.split('#') {
                if !s.is_empty() || a.starts_with('#') {
                    // Numbers around the interesting edges: 0, 1, small, image-sized, huge.
                    let v = [0, 1, 2, 3, 50, 99, 100, 133, 266, 267, 399, 400, 500, 1000, 4096, 16384, 99999];
                    s.push_str(&v[(next() % v.len() as u64) as usize].to_string());
                }
                s.push_str(piece);
            }
            parts.push(s);
        }
        let process = format!("image/{}", parts.join("/"));
        let src = &sources[i % sources.len()];
        match run(src, &process) {
            Ok(out) => {
                if out.content_type.starts_with("image/") {
                    image::load_from_memory(&out.body).unwrap_or_else(|e| panic!("{process}: {e}"));
                }
            }
            Err(e) => assert_ne!(e.code, Code::InternalError, "{process}: {e}"),
        }
    }
}

#[test]
fn tiny_files_with_huge_canvases_are_refused_before_allocating() {
    use common::fixtures::{bmp_rle, gif_canvas, huge_png, webp_animation, webp_lossless_header};
    let _g = SERIAL.lock().unwrap();
    // Each is within the 250-megapixel source limit (or the frame limit is what stops it) and
    // a few bytes long, and each would allocate 0.4–1.9 GB if decoded.
    let cases: [(&str, Vec<u8>); 6] = [
        ("GIF with a 15000×16000 screen", gif_canvas(15000, 16000, 0, 0)),
        ("GIF with a 1-px frame far away", gif_canvas(1, 1, 14999, 15999)),
        ("lossless WebP of 10000²", webp_lossless_header(10000, 10000)),
        ("RLE BMP of 30000×8000", bmp_rle(30000, 8000)),
        ("PNG of 240 MP", huge_png(16000, 15000)),
        ("animated WebP of 1000 frames", webp_animation(1000)),
    ];
    for (what, src) in &cases {
        assert!(src.len() < 64_000, "{what} is {} bytes", src.len());
        for process in ["image/resize,w_100", "image/format,png"] {
            let (res, grew) = peak_growth(|| run(src, process));
            let e = res.expect_err(what);
            assert_eq!(e.code, Code::ImageTooLarge, "{what} {process}: {e}");
            assert!(grew < 32 << 20, "{what} {process}: heap grew by {grew} bytes");
        }
    }
    // The same kinds of file at a size that fits are decoded.
    for (what, src) in [("small GIF", gif_canvas(300, 200, 0, 0)), ("small BMP", bmp_rle(300, 200))] {
        assert_eq!(common::dims(&src, "image/resize,w_100"), (100, 67), "{what}");
    }
}

#[test]
fn costly_pipelines_are_refused_up_front() {
    let _g = SERIAL.lock().unwrap();
    let big = common::png(&image::DynamicImage::new_rgb8(4000, 4000));
    // Forty full-frame sharpens of 16 megapixels: ~2 000 megapixel passes, refused before
    // decoding (the PNG alone would be 48 MB of pixels).
    let sharpen = vec!["sharpen,100"; 40].join("/");
    let (res, grew) = peak_growth(|| run(&big, &format!("image/{sharpen}")));
    let e = res.unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument, "{e}");
    assert!(e.message.contains("megapixel passes"), "{e}");
    assert!(grew < 4 << 20, "heap grew by {grew} bytes");
    // A few are fine, and so is a long pipeline on a small image.
    let small = read("oss/example.jpg");
    assert!(run(&small, &format!("image/{sharpen}")).is_ok());
    assert!(run(&big, "image/sharpen,100/resize,w_100").is_ok());
}

#[test]
fn a_run_stops_at_its_deadline_or_when_cancelled() {
    use imgedge::transform::{parse, Env, Limits, NoStyles, Stop};
    let _g = SERIAL.lock().unwrap();
    let limits = Limits::default();
    let src = common::jpeg(2000, 2000);
    let blurs = vec!["blur,r_50,s_50"; 40].join("/");
    let pipeline = parse(&format!("image/{blurs}"), &NoStyles, &limits).unwrap();
    let mut env = Env::new(&limits);
    env.stop = Stop::within(Duration::ZERO);
    assert_eq!(imgedge::transform::run(&src, &pipeline, &env).unwrap_err().code, Code::ProcessTimeout);
    // Cancelled from another thread while it runs: it ends at the next action, not after 40.
    let stop = Stop::never();
    let (s2, src2, p2) = (stop.clone(), src.clone(), pipeline.clone());
    let run = std::thread::spawn(move || {
        let limits = Limits::default();
        let mut env = Env::new(&limits);
        env.stop = s2;
        let t = Instant::now();
        (imgedge::transform::run(&src2, &p2, &env), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    stop.cancel();
    let (res, took) = run.join().unwrap();
    assert_eq!(res.unwrap_err().code, Code::Cancelled, "after {took:?}");
    // Without a stop the same pipeline runs to the end.
    assert!(imgedge::transform::run(&src, &pipeline, &Env::new(&limits)).is_ok());
}
