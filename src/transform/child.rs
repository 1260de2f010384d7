//! Runs work that cannot be interrupted in a child process that can: ffmpeg for video frames,
//! and libheif decodes (`imgedge heif-decode`). The child gets no environment, an address-space
//! cap, no core dumps, a CPU-time backstop and dies with the thread that started it; its input
//! is written from a thread, its output and messages are read with bounds, and it is killed at
//! the caller's deadline or cancellation.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::env::Stop;
use super::error::{Code, Error, Result};

/// What a finished child left.
pub struct Output {
    pub status: ExitStatus,
    /// Standard output, at most `max_out + 1` bytes (one more than allowed says it was too much).
    pub out: Vec<u8>,
    /// The start of its standard error.
    pub err: Vec<u8>,
}

/// What may come out of a child: at most `max` bytes on standard output (`expect` of them are
/// allocated up front, when the caller knows), and the first `max_err` of standard error.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max: u64,
    pub expect: u64,
    pub max_err: u64,
}

/// Runs `cmd` confined to `memory_bytes` of address space, feeding it `input` on its standard
/// input, until it exits; killed (and reaped) when `stop` says so. `what` names it in errors.
pub fn run(
    mut cmd: Command,
    what: &'static str,
    input: Option<&[u8]>,
    bounds: Bounds,
    memory_bytes: u64,
    stop: &Stop,
) -> Result<Output> {
    let Bounds { max: max_out, expect, max_err } = bounds;
    stop.check()?;
    cmd.env_clear()
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    confine(&mut cmd, memory_bytes);
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::new(Code::NotImplemented, None, format!("{what} is not installed on this server"))
        }
        _ => Error::internal(format!("cannot start {what}: {e}")),
    })?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    std::thread::scope(|scope| {
        // A child that stops reading (it failed, or was killed) ends the write with EPIPE.
        if let (Some(mut w), Some(bytes)) = (stdin, input) {
            scope.spawn(move || {
                let _ = w.write_all(bytes);
            });
        }
        let out = stdout.map(|o| {
            wide_pipe(&o, expect);
            scope.spawn(move || read_bounded(o, max_out, expect))
        });
        let err = stderr.map(|e| scope.spawn(move || read_bounded(e, max_err, 0)));
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Ok(st),
                Ok(None) => {}
                Err(e) => break Err(Error::internal(format!("{what}: {e}"))),
            }
            if let Err(e) = stop.check() {
                let _ = child.kill();
                let _ = child.wait();
                break Err(e);
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let join = |h: Option<std::thread::ScopedJoinHandle<'_, Vec<u8>>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        let (out, err) = (join(out), join(err));
        Ok(Output { status: status?, out, err })
    })
}

/// Reads `r` to its end, keeping at most `max + 1` bytes and discarding the rest so that the
/// writer never blocks; `expect` bytes are allocated at once (no copies while it grows).
fn read_bounded(mut r: impl Read, max: u64, expect: u64) -> Vec<u8> {
    let mut kept = Vec::with_capacity(expect.min(max.saturating_add(1)) as usize);
    let _ = (&mut r).take(max + 1).read_to_end(&mut kept);
    let _ = std::io::copy(&mut r, &mut std::io::sink());
    kept
}

/// A larger pipe for a large output: the default 64 KiB makes the child and the reader take
/// turns every 64 KiB (a 6-megapixel decode is 18 MB). Best effort, up to the system's limit.
#[cfg(target_os = "linux")]
fn wide_pipe(out: &std::process::ChildStdout, expect: u64) {
    use std::os::fd::AsRawFd;
    if expect >= 1 << 20 {
        // SAFETY: fcntl on a pipe descriptor we own; failure leaves the default size.
        unsafe { libc::fcntl(out.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
    }
}

#[cfg(not(target_os = "linux"))]
fn wide_pipe(_: &std::process::ChildStdout, _: u64) {}

/// Limits applied in the child between fork and exec.
#[cfg(target_os = "linux")]
fn confine(cmd: &mut Command, memory_bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setrlimit, prctl) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let set = |res, v: u64| {
                let l = libc::rlimit { rlim_cur: v as libc::rlim_t, rlim_max: v as libc::rlim_t };
                libc::setrlimit(res, &l)
            };
            set(libc::RLIMIT_AS, memory_bytes);
            set(libc::RLIMIT_CORE, 0);
            // A backstop only: the caller's deadline kills it much sooner.
            set(libc::RLIMIT_CPU, 120);
            // Dies with the thread that started it (imgedge killed, or its worker gone).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn confine(_cmd: &mut Command, _memory_bytes: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_bounded_input_is_fed_and_a_stop_kills() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; head -c 100000 /dev/zero; echo oops >&2"]);
        let b = |max, max_err| Bounds { max, expect: 0, max_err };
        let o = run(cmd, "sh", Some(b"hello"), b(10, 100), 1 << 30, &Stop::never()).unwrap();
        assert!(o.status.success());
        assert_eq!(o.out, b"hello\0\0\0\0\0\0", "max + 1 bytes kept");
        assert_eq!(o.err, b"oops\n");
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let t = std::time::Instant::now();
        let e = run(cmd, "sleep", None, b(10, 10), 1 << 30, &Stop::within(Duration::from_millis(100)))
            .err()
            .unwrap();
        assert_eq!(e.code, Code::ProcessTimeout);
        assert!(t.elapsed() < Duration::from_secs(5));
        let e =
            run(Command::new("/nonexistent/x"), "x", None, b(1, 1), 1 << 30, &Stop::never()).err().unwrap();
        assert_eq!(e.code, Code::NotImplemented);
    }
}
