//! The process-wide sections of the configuration (server, limits, origin timeouts, cache,
//! signing, state, bucket API, video): their serde shape and defaults.

use std::path::PathBuf;

use serde::Deserialize;

use super::Origin;
use crate::transform::Limits;

/// How `video/snapshot` runs ffmpeg (docs/decisions.md "Video snapshots").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Video {
    /// The ffmpeg executable; a bare name is looked up in `PATH`. Missing: snapshots get 501.
    pub ffmpeg: PathBuf,
    /// Address-space cap of one ffmpeg process.
    pub memory_bytes: u64,
    /// Largest frame area the decoder may allocate (8K by default).
    pub max_pixels: u64,
}

impl Default for Video {
    fn default() -> Self {
        let g = crate::transform::video::ffmpeg::Grabber::default();
        Video { ffmpeg: g.program, memory_bytes: g.memory_bytes, max_pixels: g.max_pixels }
    }
}

/// Where the bucket APIs' changes (styles, processConfiguration, referer) persist.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct State {
    /// A directory (relative to the configuration file) or an S3-compatible bucket; HTTP
    /// origins cannot be written and are refused.
    pub store: Origin,
    /// Key prefix of the state documents inside the store (`<prefix><bucket>.json`).
    pub prefix: String,
    /// Seconds between looks at the store for changes other replicas made (documents' ETags,
    /// the purge log); 0: never (one replica alone).
    pub poll_s: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            store: Origin::Dir { path: PathBuf::from("imgedge-state") },
            prefix: String::new(),
            poll_s: 2,
        }
    }
}

/// The write path and the bucket APIs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Api {
    /// Largest POST/PUT body (saveas forms, XML documents); larger is refused before it is read.
    pub max_body_bytes: u64,
    /// Styles a bucket may hold (OSS: 50).
    pub max_styles: usize,
    /// Asynchronous tasks that may be queued or running at once; beyond: 503 + Retry-After.
    pub async_queue: usize,
    /// Finished asynchronous tasks whose status is kept for the status endpoint.
    pub async_kept: usize,
    /// Asynchronous tasks that may render at once (their share of the workers); 0 = half the
    /// transform workers, at least one. The others wait without taking a turn from requests.
    pub async_workers: usize,
    /// Seconds a client has to send a whole request body; then 400 RequestTimeout.
    pub body_timeout_s: u64,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            max_body_bytes: 64 << 10,
            max_styles: 50,
            async_queue: 64,
            async_kept: 1000,
            async_workers: 0,
            body_timeout_s: 30,
        }
    }
}

/// The browser console (src/console): off unless `listen` is set.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Console {
    /// Address of the console's own listener; empty: no console.
    pub listen: String,
    /// The console speaks plain HTTP with session cookies, so it listens on loopback only,
    /// unless this says it may listen elsewhere (behind a TLS-terminating proxy).
    pub allow_remote: bool,
    /// Seconds a sign-in lasts; then the browser signs in again.
    pub session_ttl_s: u64,
}

impl Default for Console {
    fn default() -> Self {
        Console { listen: String::new(), allow_remote: false, session_ttl_s: 3600 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    pub listen: String,
    /// Prometheus `/metrics` on its own listener; empty disables it.
    pub metrics_listen: String,
    /// pingora's async threads (network I/O only).
    pub threads: usize,
    /// Transform workers (CPU); 0 = one per core.
    pub transform_workers: usize,
    /// Transforms that may wait for a worker; beyond that: 503 with Retry-After.
    pub queue: usize,
    /// Longest wait for a worker, in milliseconds.
    pub queue_wait_ms: u64,
    /// Seconds to keep serving after SIGTERM before closing listeners.
    pub grace_period_s: u64,
    /// Seconds in-flight requests get to finish after the listeners close.
    pub graceful_shutdown_timeout_s: u64,
    /// Seconds a keep-alive connection may idle between requests.
    pub keepalive_timeout_s: u64,
    /// Seconds a client has to send a whole request head (after connecting, or after its
    /// keep-alive idle time).
    pub header_timeout_s: u64,
    /// `HostId` in error bodies; empty: the request's Host.
    pub host_id: String,
    /// Unix socket over which a running instance hands its listeners to `serve --upgrade`.
    pub upgrade_sock: String,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: "127.0.0.1:9090".into(),
            threads: 2,
            transform_workers: 0,
            queue: 64,
            queue_wait_ms: 2000,
            grace_period_s: 5,
            graceful_shutdown_timeout_s: 5,
            keepalive_timeout_s: 10,
            header_timeout_s: 10,
            host_id: String::new(),
            upgrade_sock: "/tmp/imgedge-upgrade.sock".into(),
        }
    }
}

/// The transform limits; the size defaults are OSS's (see `transform::Limits`), the resource
/// bounds are imgedge's own (docs/decisions.md, "Hostile inputs").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConf {
    pub max_src_bytes: u64,
    /// Largest video `video/snapshot` reads from.
    pub max_video_bytes: u64,
    pub max_src_side: u32,
    pub max_src_pixels: u64,
    pub max_out_side: u32,
    pub max_out_pixels: u64,
    /// Frames an animated source may have.
    pub max_frames: u32,
    /// Memory one request may need (estimated from the header before decoding).
    pub max_decode_bytes: u64,
    /// Memory all requests together may hold for sources and processing; a request waits
    /// (at most `server.queue_wait_ms`) for its share, then gets 503.
    pub memory_budget_bytes: u64,
    /// Work one pipeline may ask for, in megapixel passes; more is refused with 400.
    pub max_work_mpx: u64,
    /// Longest a transform may run, in milliseconds (checked between actions and frames).
    pub process_timeout_ms: u64,
}

impl Default for LimitsConf {
    fn default() -> Self {
        let l = Limits::default();
        LimitsConf {
            max_src_bytes: l.max_src_bytes,
            max_video_bytes: l.max_video_bytes,
            max_src_side: l.max_src_side,
            max_src_pixels: l.max_src_pixels,
            max_out_side: l.max_out_side,
            max_out_pixels: l.max_out_pixels,
            max_frames: l.max_frames,
            max_decode_bytes: l.max_decode_bytes,
            memory_budget_bytes: 1 << 30,
            max_work_mpx: l.max_work_mpx,
            process_timeout_ms: 10_000,
        }
    }
}

impl LimitsConf {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_src_bytes: self.max_src_bytes,
            max_video_bytes: self.max_video_bytes,
            max_src_side: self.max_src_side,
            max_src_pixels: self.max_src_pixels,
            max_out_side: self.max_out_side,
            max_out_pixels: self.max_out_pixels,
            max_frames: self.max_frames,
            max_decode_bytes: self.max_decode_bytes,
            max_work_mpx: self.max_work_mpx,
            ..Limits::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OriginTimeouts {
    pub connect_ms: u64,
    /// Until the response headers arrive.
    pub first_byte_ms: u64,
    /// One deadline for all the origin reads of a client request (HEADs, source, watermarks),
    /// from its first read; writes after the transform get their own.
    pub total_ms: u64,
    /// Seconds a remote source's validator (ETag / Last-Modified, from a HEAD) is trusted
    /// before the origin is asked again; 0 asks on every processed request.
    pub revalidate_s: u64,
    /// Seconds past `revalidate_s` during which a source whose origin is unreachable or answers
    /// 5xx keeps its cached variants served (RFC 5861's stale-if-error); 0 never.
    pub stale_if_error_s: u64,
}

impl Default for OriginTimeouts {
    fn default() -> Self {
        OriginTimeouts {
            connect_ms: 1000,
            first_byte_ms: 5000,
            total_ms: 15000,
            revalidate_s: 10,
            stale_if_error_s: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Cache {
    /// Bytes of processed variants kept in memory; 0 disables the cache.
    pub capacity_bytes: u64,
    pub ttl_s: u64,
    /// `Cache-Control` of processed responses.
    pub cache_control: String,
    /// Header naming the source of a processed response for CDN purges (`Cache-Tag`,
    /// `Surrogate-Key`); empty: none.
    pub tag_header: String,
    /// The shared variant tier (L2): an S3-compatible bucket or a directory; none by default.
    pub store: Option<Origin>,
    /// Key prefix of the tier's entries (`<prefix><bucket>/<source hash>/<variant hash>`).
    pub store_prefix: String,
    /// Age past which an entry is never served, and is swept.
    pub store_ttl_s: u64,
    /// Longest an L1 miss waits for the tier before transforming instead.
    pub store_wait_ms: u64,
    /// Seconds between sweeps of entries older than `store_ttl_s`; 0: leave it to the store's
    /// lifecycle rules.
    pub store_sweep_s: u64,
    /// Variants larger than this are not written to the tier.
    pub store_max_entry_bytes: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            capacity_bytes: 256 << 20,
            ttl_s: 3600,
            cache_control: "public, max-age=86400".into(),
            tag_header: "Cache-Tag".into(),
            store: None,
            store_prefix: "variants/".into(),
            store_ttl_s: 30 * 86_400,
            store_wait_ms: 250,
            store_sweep_s: 3600,
            store_max_entry_bytes: 32 << 20,
        }
    }
}

/// What signed requests must agree to besides their signature (docs/decisions.md, "Signatures").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Signing {
    /// The region V4 credentials must name (`<ak>/<date>/<region>/oss/aliyun_v4_request`), as
    /// the SDKs' `region` setting; empty: any region (each signature still binds its own).
    pub region: String,
    /// How far in the future a V1 presigned URL's `Expires` may lie, in seconds (V4's own
    /// bound, `x-oss-expires` ≤ 7 days, is fixed by the protocol).
    pub max_v1_expires_s: u64,
}

impl Default for Signing {
    fn default() -> Self {
        Signing { region: String::new(), max_v1_expires_s: 604_800 }
    }
}
