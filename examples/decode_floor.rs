//! The decode floor of the peer benchmark (benches/peers/run.sh): how long libjpeg-turbo alone
//! takes to decode one JPEG at the DCT scale a request needs, in this process, on one thread.
//! Uses the `turbojpeg` crate, i.e. the same libjpeg-turbo 3.1 and the same call sequence as
//! imgedge's decoder (src/transform/codec/decode.rs: read_header, set_scaling_factor, RGB out).
//!
//! Usage: cargo run --release --example decode_floor -- FILE [SCALE] [N]
//!   SCALE  1/1, 1/2, 1/4 or 1/8 (default 1/1)
//!   N      decodes timed (default 31); one untimed decode warms caches first
//!
//! Prints one line: `decode_floor FILE SCALE WxH n=N median_ms=M min_ms=A max_ms=B`.
//! Pin it to a core (`taskset -c 0`) so the figure is one core's.

use std::process::ExitCode;
use std::time::Instant;

use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("decode_floor: {e}");
            eprintln!("usage: decode_floor FILE [1/1|1/2|1/4|1/8] [N]");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args.first().ok_or("no FILE")?;
    let scale = args.get(1).map_or("1/1", String::as_str);
    let n: usize = match args.get(2) {
        Some(s) => s.parse().map_err(|_| format!("N is not a count: {s}"))?,
        None => 31,
    };
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    let denom = match scale {
        "1/1" | "1" => 1,
        "1/2" => 2,
        "1/4" => 4,
        "1/8" => 8,
        _ => return Err(format!("SCALE must be 1/1, 1/2, 1/4 or 1/8, not {scale}")),
    };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;

    let mut d = Decompressor::new().map_err(|e| e.to_string())?;
    let factor = ScalingFactor::new(1, denom);
    d.set_scaling_factor(factor).map_err(|e| e.to_string())?;
    let scaled = d.read_header(&bytes).map_err(|e| e.to_string())?.scaled(factor);
    let (w, h) = (scaled.width, scaled.height);
    let mut pixels = vec![0u8; w * h * 3];

    let mut decode = |pixels: &mut [u8]| -> Result<f64, String> {
        let start = Instant::now();
        // As imgedge does per request: parse the header, then decompress into an RGB buffer.
        d.read_header(&bytes).map_err(|e| e.to_string())?;
        let out = Image { pixels, width: w, pitch: w * 3, height: h, format: PixelFormat::RGB };
        d.decompress(&bytes, out).map_err(|e| e.to_string())?;
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    };
    decode(&mut pixels)?;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        ms.push(decode(&mut pixels)?);
    }
    ms.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
    Ok(format!(
        "decode_floor {file} {scale} {w}x{h} n={n} median_ms={median:.3} min_ms={:.3} max_ms={:.3}",
        ms[0],
        ms[n - 1]
    ))
}
