//! Command-line front end. `imgedge process` runs a process string on a local file with the
//! same core the proxy uses; errors print OSS's Code, EC and message and exit non-zero.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::transform::env;
use crate::transform::{self, DirObjects, Env, Error, Limits};

/// imgedge: an image edge proxy that speaks Alibaba Cloud OSS's x-oss-process dialect.
#[derive(Debug, Parser)]
#[command(name = "imgedge", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy. Without --config it uses the embedded default (conf/imgedge.toml): the
    /// sample-image bucket in ./samples on 127.0.0.1:8080, metrics on 127.0.0.1:9090.
    Serve {
        /// The TOML configuration (see conf/imgedge.toml for every key).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Zero-downtime upgrade: take the listening sockets of the running instance (sent over
        /// `server.upgrade_sock` when it gets SIGQUIT) instead of binding them.
        #[arg(short, long)]
        upgrade: bool,
    },
    /// Check a configuration file: every key known, every value valid. Exits non-zero and
    /// names the key on the first problem.
    CheckConfig {
        /// The TOML file (see conf/imgedge.toml for every key).
        file: PathBuf,
    },
    /// Run an x-oss-process string on a local image and write the result.
    ///
    /// PROCESS is what follows `x-oss-process=` in an OSS URL, for example
    /// `image/resize,w_300/rotate,90/format,webp`, or `style/NAME` with --style.
    /// It may be given URL-encoded or not (it is percent-decoded once).
    /// `image/info` and `image/average-hue` write JSON instead of an image.
    ///
    /// Example: imgedge process photo.jpg 'image/resize,w_300/format,webp' -o thumb.webp
    #[command(verbatim_doc_comment)]
    Process {
        /// Source image (JPEG, PNG, WebP, GIF, BMP or TIFF; the format is sniffed from the bytes).
        input: PathBuf,
        /// The processing string, e.g. image/resize,w_100.
        process: String,
        /// Where to write the result; `-` writes to standard output.
        #[arg(short, long)]
        output: PathBuf,
        /// Define a style usable as style/NAME, e.g. --style thumb=image/resize,w_100.
        #[arg(long = "style", value_name = "NAME=CONTENT")]
        styles: Vec<String>,
        /// The bucket: the directory watermark image keys resolve in (never outside it).
        /// Default: the input's directory.
        #[arg(long, value_name = "DIR")]
        bucket: Option<PathBuf>,
    },
    /// Internal: decodes one HEIF/AVIF image from standard input for a parent imgedge process,
    /// which runs it confined and kills it at its deadline.
    #[command(hide = true)]
    HeifDecode,
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // libheif cannot be interrupted: AVIF/HEIC decodes run in a child process of this binary.
    #[cfg(feature = "heif")]
    if let Ok(exe) = std::env::current_exe() {
        transform::codec::heif::use_helper(exe);
    }
    match cli.command {
        #[cfg(feature = "heif")]
        Command::HeifDecode => {
            transform::codec::heif::decode_child_main(Limits::default().max_src_bytes.max(1 << 28))
        }
        #[cfg(not(feature = "heif"))]
        Command::HeifDecode => ExitCode::from(2),
        Command::Serve { config, upgrade } => serve(config.as_deref(), upgrade),
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(cfg) => {
                println!("{}: ok ({} bucket(s))", file.display(), cfg.buckets.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                ExitCode::from(1)
            }
        },
        Command::Process { input, process, output, styles, bucket } => {
            match process_file(&input, &process, &output, &styles, bucket.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(Failure::Oss(e)) => {
                    eprintln!("Code: {}", e.code);
                    eprintln!("EC: {}", e.ec.unwrap_or("-"));
                    eprintln!("Message: {}", e.message);
                    ExitCode::from(1)
                }
                Err(Failure::Io(msg)) => {
                    eprintln!("error: {msg}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn serve(config: Option<&Path>, upgrade: bool) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr (stdout stays free for output a wrapper may want).
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();
    let cfg = match config {
        Some(f) => Config::load(f),
        None => Config::embedded(),
    };
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration: {e}");
            return ExitCode::from(1);
        }
    };
    match crate::proxy::service::build(&cfg, upgrade) {
        Ok(server) => {
            tracing::info!(listen = %cfg.server.listen, metrics = %cfg.server.metrics_listen, "imgedge serving");
            crate::proxy::service::run(server, &cfg)
        }
        Err(e) => {
            eprintln!("cannot start: {e}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Oss(Error),
    Io(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Oss(e)
    }
}

fn process_file(
    input: &Path,
    process: &str,
    output: &Path,
    styles: &[String],
    bucket: Option<&Path>,
) -> Result<(), Failure> {
    let limits = Limits::default();
    let mut table = HashMap::new();
    for s in styles {
        let (name, content) =
            s.split_once('=').ok_or_else(|| Failure::Io(format!("--style {s}: expected NAME=CONTENT")))?;
        table.insert(name.to_string(), content.to_string());
    }
    let pipeline = transform::parse_query_value(process, &table, &limits)?;
    if pipeline.saveas.is_some() {
        return Err(Error::invalid(None, "sys/saveas needs a bucket: use POST against the proxy").into());
    }
    // A snapshot runs on the frame ffmpeg grabs from the video, as in the proxy.
    let (src, pipeline, limits) = match &pipeline.snapshot {
        Some(_) => {
            let path =
                std::fs::canonicalize(input).map_err(|e| Failure::Io(format!("{}: {e}", input.display())))?;
            let video = transform::video::ffmpeg::Input::File(path);
            let grabber = transform::video::ffmpeg::Grabber::default();
            let (frame, pipeline) =
                transform::video::snapshot(&grabber, &video, &pipeline, &transform::Stop::never())?;
            (frame, pipeline, transform::video::frame_limits(&limits, &grabber))
        }
        None => (read_bounded(input, limits.max_src_bytes)?, pipeline, limits),
    };
    let dir = match bucket {
        Some(b) => b.to_path_buf(),
        None => input.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let objects =
        DirObjects::new(&dir).map_err(|e| Failure::Io(format!("--bucket {}: {e}", dir.display())))?;
    let env = Env::with_objects(&limits, &objects);
    let rendered = transform::run(&src, &pipeline, &env)?;
    let written = if output.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout().write_all(&rendered.body)
    } else {
        std::fs::write(output, &rendered.body)
    };
    written.map_err(|e| Failure::Io(format!("{}: {e}", output.display())))
}

/// Reads at most `max` bytes; a larger file is refused without reading it all.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    env::read_bounded(path, max).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Error::source_too_large().into(),
        _ => Failure::Io(format!("{}: {e}", path.display())),
    })
}
