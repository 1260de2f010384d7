#!/usr/bin/env bash
# The peer benchmark of issue 11: imgedge against thumbor, ipx and nginx's image_filter (and, for
# cache hits, nginx serving a static file), and against the decode floor (libjpeg-turbo alone).
# Not part of CI. From a fresh clone (the photos are the copies in tests/corpus):
#
#   benches/peers/run.sh                       everything, 10 s per run (about 7 min once installed)
#   DURATION=5s WORKLOADS="W1 W3" PEERS="imgedge ipx" NO_BUILD=1 benches/peers/run.sh
#
# Options (environment):
#   WORKLOADS="W1 W2 W3 W4 W5 W6"   which workloads (W6 is two runs: W6a and W6b)
#   PEERS="imgedge ipx thumbor nginx"  which servers; each runs only the workloads it can do
#   DURATION=10s                    wrk's -d for each run
#   NO_BUILD=1                      don't build imgedge and examples/decode_floor (release);
#                                   use what target/release has
#
# It installs what is missing: Debian wrk curl nginx libnginx-mod-http-image-filter gifsicle;
# PyPI thumbor 7.8.0 in target/peers/thumbor-venv; npm ipx 3.1.1 in target/peers/ipx; and a
# check venv target/peers/check-venv (Pillow, numpy, scikit-image) for the answer checks, SSIM,
# the generated GIF and the RSS sampler (benches/peers/peers.py). Then, one server at a time,
# each started for each workload in its own process group on a free loopback port and stopped
# after it, the workloads below run with wrk from the same box: -t1 --latency --timeout 10s,
# -d$DURATION. For W1-W3 and W5 a Lua generator makes widths 380..420 (Park-Miller from a
# fixed seed: the same sequence for every server, only the URL dialect differs) and counts
# statuses and body bytes. Sources are the same files for every server
# (tests/corpus/photos/photo6mp.jpg 2725x2225 q90, phone12mp.jpg 4032x3024 q95; their origin
# is in tests/corpus/SOURCES.md).
#
#   W1  photo6mp.jpg -> width w, JPEG quality 80, c=8. All four servers.
#   W2  photo6mp.jpg -> width w, WebP quality 80, c=8. imgedge, ipx, thumbor (image_filter
#       cannot change the format).
#   For W1, W2, W3 and W5 the checked w=400 answer of each server: bytes, dims and SSIM (luma)
#   against the full-resolution decode resized with Pillow's Lanczos to that size: a 2nd table.
#   W3  phone12mp.jpg -> width w, JPEG quality 80, c=8. imgedge, ipx, thumbor.
#   W4  a 101 KB variant (photo6mp.jpg resize,w_900/quality,Q_80) from imgedge's variant cache
#       (cache on, warmed by one request), c=32, against nginx serving the same bytes (saved from
#       imgedge's answer and compared) as a static file.
#   W5  W1 at c=64, all four servers. imgedge keeps its default admission (queue 64, queue_wait_ms
#       2000): a 503 with Retry-After is allowed and counted apart; any other non-2xx is a failure.
#   W6  animated GIFs, c=8, imgedge, ipx, thumbor: W6a rotating-squares.gif (80x80, 30 frames)
#       -> width 40 (it is narrower than 100 px, and no server enlarges by default); W6b a
#       400x300, 100-frame GIF made once into target/peers/anim100.gif -> width 100. Every
#       answer must keep the animation: all frames with the source's total duration, or (what
#       libvips writes, so ipx) one frame per run of identical source frames, same duration.
#       imgedge gets queue_wait_ms = 10000 here (a 100-frame GIF takes ~0.2 s alone and over
#       1 s on a busy box: with 2 running and 6 waiting, the default 2 s wait sheds requests).
#
# Result caches are off wherever a variant repeats: imgedge [cache] capacity_bytes = 0 (all but
# W4), thumbor RESULT_STORAGE = None and no storage, ipx has none (and libvips' operation cache
# is turned off with sharp.cache(false)), image_filter has none.
#
# Servers (everything on 127.0.0.1):
#   imgedge  target/release/imgedge serve, transform_workers 0 (one per core), default admission
#            (queue 64, queue_wait_ms 2000; W6: 10000), one directory bucket (the first bucket
#            answers any Host), metrics on a free port (cache and transform counters are logged
#            around each run).
#            /IMG?x-oss-process=image/resize,w_W/quality,Q_80   (Q_ is an absolute quality, capped
#            by the source's own: both sources are q90+, so the answer is q80; checked)
#            /IMG?x-oss-process=image/resize,w_W/format,webp/quality,Q_80
#            /anim.gif?x-oss-process=image/resize,w_100
#   ipx      node + ipx 3.1.1 (sharp 0.34, bundled libvips) behind a plain node:http server
#            (target/peers/ipx/serve-run-sh.mjs), baseline JPEG (ipx defaults to progressive).
#            /w_W,q_80/IMG   /w_W,f_webp,q_80/IMG   /w_100,animated/anim.gif
#   thumbor  thumbor 7.8.0 (Pillow), --processes $(nproc), file loader, PROGRESSIVE_JPEG = False
#            (its default is progressive), gifsicle engine for GIFs.
#            /unsafe/Wx0/filters:quality(80)/IMG   /unsafe/Wx0/filters:format(webp):quality(80)/IMG
#   nginx    Debian nginx 1.22 with its image_filter module (libgd), its own nginx.conf in the run's
#            temp dir: nginx -p DIR -c DIR/nginx.conf -e DIR/error.log -g 'daemon off;',
#            worker_processes = nproc, access_log off, error_log in DIR, sendfile on, tcp_nopush on,
#            other settings at nginx's defaults (keepalive_requests 1000, ...).
#            /resize/IMG?w=W: image_filter resize $arg_w -; image_filter_jpeg_quality 80;
#            image_filter_buffer 20M.   W4: /static/variant.jpg   (not in W2, W3, W6: it cannot
#            change the format, W3 is left to the three image servers, GIFs lose their animation)
#   Every server's answer for w=400 (W4: the variant, W6: each GIF) is checked before its run:
#   HTTP 200, format, width (and height ±1), JPEG quality 80 (from the quantisation tables),
#   frame count. A failing check skips that run (noted in the table) and fails the script.
#
# Measured per run: req/s, p50, p99 (wrk), non-2xx and socket errors, bytes per 2xx response
# (mean of the bodies, counted in Lua; W4: the variant's size), peak RSS of the server's whole
# process group (VmRSS summed over its processes every 100 ms during wrk; imgedge also VmHWM),
# and the CPU other processes used meanwhile (the machine's busy time less the server group's and
# wrk's) as a share of all cores, and the niced part of it (builds under nice -n 19 still compete:
# with autogroup scheduling nice ranks processes only within a session): near 0 % on a quiet
# machine, and a warning where it is not. Also 2xx answers per CPU-second of the server's
# processes, which a busy machine's share of the cores changes less than req/s.
# The decode floor: examples/decode_floor (the turbojpeg crate, the libjpeg-turbo 3.1 imgedge
# links) decodes the source at the DCT scale imgedge and sharp use for w≈400 (photo6mp 1/4,
# phone12mp 1/8: the largest shrink whose picture still covers the target, see dct_denom in
# src/transform/plan.rs; FLOOR_SCALE_W1 / FLOOR_SCALE_W3 override), median of 31, pinned to core 0 with taskset;
# measured just before and just after each
# imgedge W1 and W3 run. Floor req/s = nproc × 1000 / mean(before, after); the table gives
# imgedge's req/s as a fraction of it.
#
# Output: one markdown table (workload, server, req/s, p50, p99, peak RSS, bytes per response,
# non-2xx, imgedge's ratio to the best peer with no failures, ratio to the decode floor, other
# load, 2xx per server CPU-s), the quality table (W1, W2, W3, W5: bytes and SSIM of each server's
# checked w=400 answer), and the path of the results file
# (target/peers/results/peers-DATE.md) that gets the date, CPU, nproc, versions, each run's key
# wrk lines, the tables and the raw rows. Exits non-zero if a server did not start, an answer
# failed its check (thumbor's GIFs excepted: optional) or a request failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/deps.sh

THUMBOR_VERSION=7.8.0
IPX_VERSION=3.1.1
CHECK_PIP=(numpy==2.4.6 scikit-image==0.26.0 Pillow==12.3.0)
WORKLOADS=${WORKLOADS:-W1 W2 W3 W4 W5 W6}
PEERS=${PEERS:-imgedge ipx thumbor nginx}
DURATION=${DURATION:-10s}
NO_BUILD=${NO_BUILD:-0}
WRK_TIMEOUT=10s
SEED=20261111
W4_PIPELINE="image/resize,w_900/quality,Q_80"
W4_WIDTH=900
want() { [[ " $PEERS " == *" $1 "* ]]; }
want_w() { [[ " $WORKLOADS " == *" $1 "* ]]; }
for w in $WORKLOADS; do
    case "$w" in W1 | W2 | W3 | W4 | W5 | W6) ;; *) echo "unknown workload $w" >&2; exit 2 ;; esac
done
for p in $PEERS; do
    case "$p" in imgedge | ipx | thumbor | nginx) ;; *) echo "unknown server $p" >&2; exit 2 ;; esac
done

root=$PWD
peers=$root/target/peers
mkdir -p "$peers/results"
work=$(mktemp -d)
chmod 755 "$work" # nginx's workers run as another user and read the images from here
pid=""
sampler=""
stop_server() {
    # Each server runs in its own process group (setsid), so forked workers go with it.
    [ -n "$pid" ] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}
cleanup() {
    [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

# --- installs (idempotent) ---------------------------------------------------------------------
pkgs=(wrk curl util-linux procps)
want nginx && pkgs+=(nginx libnginx-mod-http-image-filter)
want thumbor && want_w W6 && pkgs+=(gifsicle)
ensure_packages "${pkgs[@]}"
ensure_test_deps
pyv=$peers/check-venv
if ! "$pyv/bin/python" -c 'import PIL, numpy, skimage' 2>/dev/null; then
    echo "installing the check venv ($pyv): ${CHECK_PIP[*]}" >&2
    python3 -m venv "$pyv"
    nice -n 19 "$pyv/bin/pip" install -q --disable-pip-version-check "${CHECK_PIP[@]}"
fi
py() { "$pyv/bin/python" "$root/benches/peers/peers.py" "$@"; }
tvenv=$peers/thumbor-venv
if want thumbor && [ "$("$tvenv/bin/python" -c 'import thumbor; print(thumbor.__version__)' 2>/dev/null)" != "$THUMBOR_VERSION" ]; then
    echo "installing thumbor $THUMBOR_VERSION into $tvenv" >&2
    python3 -m venv "$tvenv"
    nice -n 19 "$tvenv/bin/pip" install -q --disable-pip-version-check "thumbor==$THUMBOR_VERSION"
fi
# A package's version, from its package.json (ipx's "exports" hides that file from require).
npm_version() { node -p "JSON.parse(require('fs').readFileSync('$peers/ipx/node_modules/$1/package.json')).version" 2>/dev/null; }
if want ipx && [ "$(npm_version ipx)" != "$IPX_VERSION" ]; then
    command -v npm >/dev/null || ensure_packages nodejs npm
    echo "installing ipx $IPX_VERSION into $peers/ipx" >&2
    mkdir -p "$peers/ipx"
    [ -f "$peers/ipx/package.json" ] || echo '{"private": true}' > "$peers/ipx/package.json"
    # sharp ships libvips prebuilt in @img/sharp-linux-x64; its install script only builds from
    # source when that is missing, so it is not run.
    (cd "$peers/ipx" && nice -n 19 npm install --no-audit --no-fund --ignore-scripts --silent "ipx@$IPX_VERSION")
fi
if want imgedge && [ "$NO_BUILD" != 1 ]; then
    ensure_build_deps
    # Two builds: an example takes the dev-dependencies' features, which would rebuild the binary
    # differently from a plain `cargo build --release`.
    nice -n 19 cargo build --release --locked --bin imgedge
    nice -n 19 cargo build --release --locked --example decode_floor
fi
imgedge_bin=$root/target/release/imgedge
floor_bin=$root/target/release/examples/decode_floor
if want imgedge && [ ! -x "$imgedge_bin" ]; then
    echo "$imgedge_bin is missing (NO_BUILD=1): build it or leave imgedge out of PEERS" >&2
    exit 1
fi
[ -x "$floor_bin" ] || floor_bin=""
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# --- the sources -------------------------------------------------------------------------------
mkdir -p "$work/images" "$work/static" "$work/out"
cp "$CORPUS/photos/photo6mp.jpg" "$CORPUS/photos/phone12mp.jpg" "$CORPUS/formats/rotating-squares.gif" "$work/images/"
[ -s "$peers/anim100.gif" ] || py make-gif "$peers/anim100.gif"
cp "$peers/anim100.gif" "$work/images/"
chmod 644 "$work"/images/*
chmod 755 "$work/images" "$work/static"
frames_rs=$(py frames "$work/images/rotating-squares.gif")
frames_a100=$(py frames "$work/images/anim100.gif")

# --- the results file --------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$peers/results/peers-$stamp.md
rows=$work/rows.tsv
ssim_rows=$work/ssim.tsv
: > "$rows"
: > "$ssim_rows"
log() { echo "$@" | tee -a "$results"; }
{
    echo "# Peer benchmark (benches/peers/run.sh), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo
    echo '```'
    grep 'model name' /proc/cpuinfo | head -1
    echo "nproc: $(nproc)   load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "WORKLOADS=$WORKLOADS PEERS=$PEERS DURATION=$DURATION wrk -t1 --latency --timeout $WRK_TIMEOUT"
    echo "imgedge: $(git describe --always --dirty 2>/dev/null) ($(git log -1 --format=%cd --date=iso 2>/dev/null)), turbojpeg-sys $(awk '/^name = "turbojpeg-sys"/ {getline; print $3}' Cargo.lock | tr -d '"')"
    want thumbor && echo "thumbor: $("$tvenv/bin/python" -c 'import thumbor, PIL; print(thumbor.__version__, "Pillow", PIL.__version__)')"
    want ipx && echo "ipx: $(npm_version ipx) sharp $(npm_version sharp) libvips $(cd "$peers/ipx" && node -p 'require("sharp").versions.vips'), node $(node --version)"
    want nginx && echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'), libgd $(dpkg-query -W -f='${Version}' libgd3 2>/dev/null)"
    echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "check venv: $("$pyv/bin/python" -c 'import PIL, numpy, skimage; print("Pillow", PIL.__version__, "numpy", numpy.__version__, "scikit-image", skimage.__version__)')"
    echo '```'
    echo
} > "$results"
cat "$results"

# --- helpers -----------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server NAME CMD...: runs CMD in its own process group, its output in $work/NAME.log.
start_server() {
    local name=$1; shift
    setsid "$@" > "$work/$name.log" 2>&1 &
    pid=$!
}

# wait_ready NAME PORT PATH: until the server answers HTTP on PATH (or has died).
wait_ready() {
    for _ in $(seq 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$1 exited during startup:" >&2; tail -20 "$work/$1.log" >&2; return 1
        fi
        curl -s -o /dev/null "http://127.0.0.1:$2$3" && return 0
        sleep 0.1
    done
    echo "$1 did not answer on port $2 within 30 s:" >&2; tail -20 "$work/$1.log" >&2
    return 1
}

# fetch URL FILE: one GET; fails unless it answers 200.
fetch() {
    local code
    code=$(curl -s -o "$2" -w '%{http_code}' "$1") || code="curl failed"
    [ "$code" = 200 ] && return 0
    echo "  check failed: HTTP $code for $1: $(head -c 300 "$2" 2>/dev/null | tr -c '[:print:]' ' ')" >&2
    return 1
}

# make_lua FILE TEMPLATE: a wrk script requesting TEMPLATE with {W} replaced by the generated
# width (or TEMPLATE as it is, if it has no {W}), counting statuses and body bytes.
make_lua() {
    local prefix=${2%%"{W}"*} suffix="" width="" 
    if [[ "$2" == *"{W}"* ]]; then
        suffix=${2#*"{W}"}
        width=' .. width() .. "'"$suffix"'"'
    fi
    cat > "$1" <<LUA
-- widths 380..420 from a Park-Miller generator with a fixed seed: the same sequence every run
local x = $SEED
local function width()
  x = (16807 * x) % 2147483647
  return 380 + x % 41
end
request = function()
  return wrk.format("GET", "$prefix"$width)
end
n2xx, bytes2xx, s503ra, s503, other, codes = 0, 0, 0, 0, 0, ""
response = function(status, headers, body)
  if status >= 200 and status < 300 then
    n2xx = n2xx + 1
    bytes2xx = bytes2xx + #body
  elseif status == 503 then
    local ra = false
    for k, _ in pairs(headers) do
      if string.lower(k) == "retry-after" then ra = true end
    end
    if ra then s503ra = s503ra + 1 else s503 = s503 + 1 end
  else
    other = other + 1
    if not string.find(codes, " " .. status .. " ", 1, true) then codes = codes .. " " .. status .. " " end
  end
end
local threads = {}
setup = function(t) table.insert(threads, t) end
done = function(summary, latency, requests)
  local a, b, c, d, e, f = 0, 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    a = a + t:get("n2xx"); b = b + t:get("bytes2xx"); c = c + t:get("s503ra")
    d = d + t:get("s503"); e = e + t:get("other"); f = f .. t:get("codes")
  end
  io.write(string.format("LUA n2xx=%d bytes2xx=%d s503ra=%d s503=%d other=%d codes=%s\n", a, b, c, d, e, f))
end
LUA
}

failures=0
# not_run WORKLOAD SERVER WHY: a row without figures.
not_run() {
    # the 12 figures of run_wrk's rows left empty
    printf '%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" >> "$rows"
    log "== $1 $2: not run: $3"
}

metrics_port=""
imgedge_counters() {
    [ -n "$metrics_port" ] || return 0
    { curl -s "http://127.0.0.1:$metrics_port/metrics" || true; } \
        | awk '/^(imgedge_)?(cache_hits|cache_misses|transforms)(_total)? / {printf "%s=%s ", $1, $2}'
}

floor_ms() { # floor_ms FILE SCALE: the median decode time in ms
    "${pin[@]}" "$floor_bin" "$1" "$2" 31 | tee -a "$work/floor.log" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'
}

# run_wrk WORKLOAD SERVER CONNECTIONS TARGET [FLOOR_FILE FLOOR_SCALE] [FIXED_BYTES]:
# TARGET is a Lua file or a path (W4, where the body size is fixed and known). Appends a row.
run_wrk() {
    local wl=$1 name=$2 conns=$3 target=$4 ffile=${5:-} fscale=${6:-} fixed=${7:-}
    local out="$work/wrk-$wl-$name.txt" args=() fb="" fa="" before after
    if [[ "$target" == *.lua ]]; then args=(-s "$target" "http://127.0.0.1:$port"); else args=("http://127.0.0.1:$port$target"); fi
    if [ -n "$ffile" ] && [ -n "$floor_bin" ]; then fb=$(floor_ms "$ffile" "$fscale"); fi
    before=$(imgedge_counters)
    log "== $wl $name: wrk -t1 -c$conns -d$DURATION --timeout $WRK_TIMEOUT --latency ${args[*]}"
    # not through py(): $! must be the sampler itself, not a subshell around it
    "$pyv/bin/python" "$root/benches/peers/peers.py" rss "$pid" > "$work/rss.txt" &
    sampler=$!
    for _ in $(seq 100); do [ -s "$work/rss.txt" ] && break; sleep 0.05; done # its "sampling" line
    local TIMEFORMAT='%U %S' # bash's `time`: wrk's own CPU seconds
    { time wrk -t1 -c"$conns" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency "${args[@]}" > "$out" 2>&1; } 2> "$work/wrk-cpu.txt" || true
    kill -TERM "$sampler"; wait "$sampler" || true; sampler=""
    # The CPU the rest of the machine used meanwhile, as a share of all cores' time, "all/niced":
    # on a shared machine a figure means little without it. Niced work competes too: with autogroup
    # scheduling nice only ranks processes within a session, and each server has its own session.
    local others
    others=$(awk -v n="$(nproc)" 'NR == FNR {wrk = $1 + $2; next}
        {for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}}
        END {o = v["busy_cs"] - v["server_cs"] - wrk; if (o < 0) o = 0;
             if (v["wall_s"] > 0) printf "%.0f/%.0f", 100 * o / (v["wall_s"] * n), 100 * v["niced_cs"] / (v["wall_s"] * n)}' \
        "$work/wrk-cpu.txt" "$work/rss.txt")
    local hwm=""
    [ "$name" = imgedge ] && hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
    after=$(imgedge_counters)
    if [ -n "$ffile" ] && [ -n "$floor_bin" ]; then fa=$(floor_ms "$ffile" "$fscale"); fi
    # The key lines, into the results file too.
    grep -E 'Latency|Req/Sec|^ +(50|75|90|99)%|requests in|Non-2xx|Socket errors|Requests/sec|Transfer/sec|^LUA' "$out" \
        | tee -a "$results" || { cat "$out"; echo "wrk gave no figures" >&2; }
    local rss rps p50 p99 non2xx sockerr n2xx bytes s503ra reqs
    rss=$(sed -n 's/.*peak_rss_mb=\([0-9.]*\).*/\1/p' "$work/rss.txt")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    reqs=$(awk '/requests in/ {print $1}' "$out")
    sockerr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    if grep -q '^LUA' "$out"; then
        n2xx=$(sed -n 's/^LUA n2xx=\([0-9]*\).*/\1/p' "$out")
        bytes=$(awk '/^LUA/ {split($2, a, "="); split($3, b, "="); if (a[2] > 0) printf "%.0f", b[2] / a[2]}' "$out")
        s503ra=$(sed -n 's/^LUA.* s503ra=\([0-9]*\).*/\1/p' "$out")
        non2xx=$(awk '/^LUA/ {split($4, a, "="); split($5, b, "="); split($6, c, "="); print a[2] + b[2] + c[2]}' "$out")
    else
        non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
        non2xx=${non2xx:-0}
        n2xx=$((${reqs:-0} - non2xx))
        bytes=$fixed
        s503ra=0
    fi
    log "-- peak RSS ${rss:-?} MB${hwm:+, VmHWM $hwm MB}${fb:+, decode floor $fb ms before, $fa ms after}"
    log "-- CPU: $(tail -1 "$work/rss.txt"), wrk $(cat "$work/wrk-cpu.txt") (user sys): other processes ${others:-?} % (all/niced) of the cores"
    [ -z "$before$after" ] || log "-- imgedge counters before: $before; after: $after"
    if [ -s "$work/$name.log" ]; then
        log "-- $name log: $(wc -l < "$work/$name.log") lines, last 3:"
        tail -3 "$work/$name.log" | cut -c1-240 | tee -a "$results"
    fi
    # A server too slow to finish one request in DURATION is a result (0 req/s), not a failure.
    local note=""
    if [ "${n2xx:-0}" = 0 ]; then
        note="no answer within $DURATION at c=$conns"
        log "-- $wl $name: $note"
    fi
    local server_cs
    server_cs=$(sed -n 's/.*server_cs=\([0-9.]*\).*/\1/p' "$work/rss.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$name" "$rps" "$p50" "$p99" \
        "$rss" "$hwm" "$bytes" "$n2xx" "${non2xx:-0}" "${s503ra:-0}" "${sockerr:-0}" "$fb" "$fa" "$note" "$others" \
        "$server_cs" >> "$rows"
    # any failed request but imgedge's 503 + Retry-After fails the script, as does a run with none
    if [ $((${non2xx:-0} - ${s503ra:-0} + ${sockerr:-0})) -gt 0 ]; then
        log "-- $wl $name: failed requests"
        failures=$((failures + 1))
    fi
}

# --- the servers -------------------------------------------------------------------------------
# start_NAME WORKLOAD: starts the server configured for WORKLOAD on $port and waits for it.
start_imgedge() {
    local capacity=0 wait_ms=2000
    [ "$1" = W4 ] && capacity=268435456
    # A 100-frame GIF takes ~0.2 s alone, over 1 s on a busy box: with 2 running and 6 waiting,
    # the default 2 s wait turns W6 into 503s, so W6 may wait as long as wrk does.
    [[ "$1" == W6? ]] && wait_ms=10000
    metrics_port=$(free_port)
    cat > "$work/imgedge.toml" <<CONF
[server]
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:$metrics_port"
queue_wait_ms = $wait_ms
upgrade_sock = "$work/imgedge-upgrade.sock"
[cache]
capacity_bytes = $capacity
[state.store]
type = "dir"
path = "$work/imgedge-state"
[[buckets]]
name = "bench"
[buckets.origin]
type = "dir"
path = "$work/images"
CONF
    start_server imgedge env RUST_LOG=warn "$imgedge_bin" serve --config "$work/imgedge.toml"
    wait_ready imgedge "$port" /
}

start_ipx() {
    # A plain node:http server instead of `ipx serve` (whose listhen front end adds its own
    # behaviour); the same createIPX + ipxFSStorage + createIPXNodeServer the CLI uses.
    cat > "$peers/ipx/serve-run-sh.mjs" <<'JS'
import { createServer } from "node:http";
import sharp from "sharp";
import { createIPX, ipxFSStorage, createIPXNodeServer } from "ipx";
const [dir, port] = process.argv.slice(2);
sharp.cache(false); // libvips' operation cache: no result may be reused
// ipx's own default is progressive JPEG; every server here writes baseline.
const ipx = createIPX({ storage: ipxFSStorage({ dir }), sharpOptions: { jpegProgressive: false } });
createServer(createIPXNodeServer(ipx)).listen(Number(port), "127.0.0.1");
JS
    start_server ipx node "$peers/ipx/serve-run-sh.mjs" "$work/images" "$port"
    wait_ready ipx "$port" /
}

start_thumbor() {
    cat > "$work/thumbor.conf" <<CONF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$work/images'
ALLOW_UNSAFE_URL = True
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
PROGRESSIVE_JPEG = False
USE_GIFSICLE_ENGINE = True
CONF
    start_server thumbor "$tvenv/bin/thumbor" --ip 127.0.0.1 --port "$port" --conf "$work/thumbor.conf" \
        --processes "$(nproc)" --log-level warning
    wait_ready thumbor "$port" /healthcheck
}

start_nginx() {
    local d=$work/nginx
    mkdir -p "$d/tmp"
    cat > "$d/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_image_filter_module.so;
worker_processes $(nproc);
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location /resize/ {
            alias $work/images/;
            image_filter resize \$arg_w -;
            image_filter_jpeg_quality 80;
            image_filter_buffer 20M;
        }
        location /static/ {
            alias $work/static/;
        }
    }
}
CONF
    start_server nginx nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;'
    wait_ready nginx "$port" /static/
}

# template WORKLOAD SERVER: the URL template ({W} = width) of SERVER for WORKLOAD, or nothing.
template() {
    local img=photo6mp.jpg
    case "$1" in
        W3) img=phone12mp.jpg ;;
        W6a) img=rotating-squares.gif ;;
        W6b) img=anim100.gif ;;
    esac
    case "$1:$2" in
        W1:imgedge | W3:imgedge | W5:imgedge) echo "/$img?x-oss-process=image/resize,w_{W}/quality,Q_80" ;;
        W1:ipx | W3:ipx | W5:ipx) echo "/w_{W},q_80/$img" ;;
        W1:thumbor | W3:thumbor | W5:thumbor) echo "/unsafe/{W}x0/filters:quality(80)/$img" ;;
        W1:nginx | W5:nginx) echo "/resize/$img?w={W}" ;;
        W2:imgedge) echo "/$img?x-oss-process=image/resize,w_{W}/format,webp/quality,Q_80" ;;
        W2:ipx) echo "/w_{W},f_webp,q_80/$img" ;;
        W2:thumbor) echo "/unsafe/{W}x0/filters:format(webp):quality(80)/$img" ;;
        W4:imgedge) echo "/photo6mp.jpg?x-oss-process=$W4_PIPELINE" ;;
        W4:nginx) echo "/static/variant.jpg" ;;
        W6?:imgedge) echo "/$img?x-oss-process=image/resize,w_{W}" ;;
        W6?:ipx) echo "/w_{W},animated/$img" ;;
        W6?:thumbor) echo "/unsafe/{W}x0/$img" ;;
    esac
}

# check WORKLOAD SERVER URL FILE: the answer's format, size, quality and frames.
check() {
    fetch "http://127.0.0.1:$port$3" "$4" || return 1
    case "$1" in
        W1 | W5) py check "$4" --format JPEG --width 400 --src-size 2725x2225 --quality 80 ;;
        W2) py check "$4" --format WEBP --width 400 --src-size 2725x2225 ;;
        W3) py check "$4" --format JPEG --width 400 --src-size 4032x3024 --quality 80 ;;
        W4) py check "$4" --format JPEG --width "$W4_WIDTH" --src-size 2725x2225 --quality 80 ;;
        W6a) py check "$4" --format GIF --width 40 --src-size 80x80 --like "$work/images/rotating-squares.gif" ;;
        W6b) py check "$4" --format GIF --width 100 --src-size 400x300 --like "$work/images/anim100.gif" ;;
    esac
}

# bench WORKLOAD SERVER CONNECTIONS: start, check, run, stop.
bench() {
    local wl=$1 name=$2 conns=$3 tpl url lua check_w=400
    tpl=$(template "$wl" "$name")
    [ -n "$tpl" ] || return 0
    # W6 asks for one fixed width; the others for 380..420 (the check for 400)
    case "$wl" in W6a) check_w=40 tpl=${tpl//"{W}"/40} ;; W6b) check_w=100 tpl=${tpl//"{W}"/100} ;; esac
    url=${tpl//"{W}"/$check_w}
    port=$(free_port)
    metrics_port=""
    log "== $wl $name: starting on port $port"
    if ! "start_$name" "$wl"; then
        not_run "$wl" "$name" "did not start"; failures=$((failures + 1)); stop_server; return 0
    fi
    local out=$work/out/$wl-$name.bin
    local ok=1
    check "$wl" "$name" "$url" "$out" > "$work/check.txt" 2>&1 || ok=0
    tee -a "$results" < "$work/check.txt"
    if [ "$ok" = 0 ]; then
        local why="answer check failed for $url"
        # thumbor on GIFs is optional: recorded, not a failure
        if [[ "$wl:$name" == W6?:thumbor ]]; then not_run "$wl" "$name" "$why (optional)"; else
            not_run "$wl" "$name" "$why"; failures=$((failures + 1)); fi
        stop_server; return 0
    fi
    case "$wl" in
        W1 | W2 | W5) printf '%s\t%s\t%s\n' "$wl" "$name" "$(py ssim "$work/images/photo6mp.jpg" "$out")" >> "$ssim_rows" ;;
        W3) printf '%s\t%s\t%s\n' "$wl" "$name" "$(py ssim "$work/images/phone12mp.jpg" "$out")" >> "$ssim_rows" ;;
    esac
    local ffile="" fscale=""
    if [ "$name" = imgedge ]; then
        case "$wl" in
            W1) ffile=$work/images/photo6mp.jpg fscale=${FLOOR_SCALE_W1:-1/4} ;;
            W3) ffile=$work/images/phone12mp.jpg fscale=${FLOOR_SCALE_W3:-1/8} ;;
        esac
    fi
    if [ "$wl" = W4 ]; then
        run_wrk "$wl" "$name" "$conns" "$url" "" "" "$(stat -c %s "$out")"
    else
        lua=$work/$wl-$name.lua
        make_lua "$lua" "$tpl"
        run_wrk "$wl" "$name" "$conns" "$lua" "$ffile" "$fscale"
    fi
    stop_server
}

# W4 first warms imgedge and saves its answer as nginx's static file; both must then match it.
bench_w4() {
    local url
    if want imgedge; then
        url=$(template W4 imgedge)
        port=$(free_port)
        log "== W4 imgedge: starting on port $port (cache on)"
        if ! start_imgedge W4; then not_run W4 imgedge "did not start"; failures=$((failures + 1)); stop_server; return 0; fi
        if fetch "http://127.0.0.1:$port$url" "$work/static/variant.jpg"; then
            chmod 644 "$work/static/variant.jpg"
            log "-- W4 variant ($W4_PIPELINE): $(stat -c %s "$work/static/variant.jpg") bytes"
            if fetch "http://127.0.0.1:$port$url" "$work/out/W4-imgedge.bin" \
                && cmp -s "$work/static/variant.jpg" "$work/out/W4-imgedge.bin" \
                && py check "$work/out/W4-imgedge.bin" --format JPEG --width "$W4_WIDTH" --src-size 2725x2225 --quality 80 | tee -a "$results"; then
                log "-- counters after warming: $(imgedge_counters)"
                run_wrk W4 imgedge 32 "$url" "" "" "$(stat -c %s "$work/static/variant.jpg")"
            else
                not_run W4 imgedge "the second answer differs from the first or fails the check"; failures=$((failures + 1))
            fi
        else
            not_run W4 imgedge "no answer"; failures=$((failures + 1))
        fi
        stop_server
    else
        # Without imgedge the static file is made by the CLI (same bytes as the server's).
        [ -x "$imgedge_bin" ] || { not_run W4 nginx "no variant: imgedge binary missing"; return 0; }
        "$imgedge_bin" process "$work/images/photo6mp.jpg" "$W4_PIPELINE" -o "$work/static/variant.jpg"
        chmod 644 "$work/static/variant.jpg"
    fi
    if want nginx; then
        url=$(template W4 nginx)
        port=$(free_port)
        metrics_port=""
        log "== W4 nginx: starting on port $port"
        if ! start_nginx W4; then not_run W4 nginx "did not start"; failures=$((failures + 1)); stop_server; return 0; fi
        if fetch "http://127.0.0.1:$port$url" "$work/out/W4-nginx.bin" && cmp "$work/static/variant.jpg" "$work/out/W4-nginx.bin"; then
            log "  check: nginx serves the same $(stat -c %s "$work/out/W4-nginx.bin") bytes"
            run_wrk W4 nginx 32 "$url" "" "" "$(stat -c %s "$work/out/W4-nginx.bin")"
        else
            not_run W4 nginx "static answer differs"; failures=$((failures + 1))
        fi
        stop_server
    fi
}

# --- the workloads -----------------------------------------------------------------------------
order=(imgedge ipx thumbor nginx)
for wl in $WORKLOADS; do
    case "$wl" in
        W4) bench_w4 ;;
        W6) for g in W6a W6b; do for s in "${order[@]}"; do want "$s" && bench "$g" "$s" 8; done; done ;;
        W5) for s in "${order[@]}"; do want "$s" && bench W5 "$s" 64; done ;;
        *) for s in "${order[@]}"; do want "$s" && bench "$wl" "$s" 8; done ;;
    esac
done

# --- the report --------------------------------------------------------------------------------
{
    echo
    echo "## Results: wrk -t1 --latency -d$DURATION, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    py table "$rows"
    echo
    echo "W6a: rotating-squares.gif (80×80, $frames_rs frames) → width 40; W6b: anim100.gif (400×300, $frames_a100 frames) → width 100."
    echo "bytes/resp: mean body of the 2xx answers. vs best peer: imgedge's req/s over the fastest other"
    echo "server's with no failed request. vs decode floor: imgedge's req/s over nproc × 1000 / (median decode ms"
    echo "at the scale imgedge uses, mean of before and after the run). other load: CPU used by other processes"
    echo "during the run (all but the server's process group and wrk), as a share of all cores, and the part of it"
    echo "niced (which still competes: with autogroup scheduling nice ranks processes only within a session)."
    echo "2xx per server CPU-s: answers over the CPU time of the server's processes (and their reaped children)."
    if [ -s "$ssim_rows" ]; then
        echo
        echo "Quality of the checked answer at w=400, q80 (SSIM on luma against the full-resolution decode resized"
        echo "with Lanczos to the same size; W4 serves identical bytes from both servers, W6 is checked frame by frame):"
        echo
        echo "| Workload | Server | dims | bytes | SSIM |"
        echo "|---|---|---|---:|---:|"
        awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $4, $3, $5}' "$ssim_rows"
    fi
} > "$work/report.md"
echo
cat "$work/report.md"
{
    cat "$work/report.md"
    echo
    echo "Raw rows (workload server rps p50 p99 rss_mb hwm_mb bytes n2xx non2xx 503+RA socket_errors floor_before floor_after note others_pct server_cpu_s):"
    echo '```'
    cat "$rows"
    [ ! -s "$work/floor.log" ] || cat "$work/floor.log"
    echo '```'
} >> "$results"
echo
echo "results: $results"
[ "$failures" = 0 ] || { echo "$failures run(s) failed or were skipped: see above" >&2; exit 1; }
