# Sourced by the long-run scripts (scripts/flood, scripts/soak, scripts/slowloris): the release
# binary (built when missing, niced), a proxy on free loopback ports with a config the script
# writes, its cleanup, and the run's identity (date, machine, commit) for docs/robustness.md.
# The client side of each script is Python 3 (standard library only, helpers in
# scripts/longrun.py). None of these are CI steps; each runs for a bounded time.
#
# Niceness: run a whole script niced (`nice -n 19 scripts/soak`) on a shared machine; the proxy
# and the load generator then share the same niceness, so neither is favoured.

. scripts/deps.sh

export PYTHONDONTWRITEBYTECODE=1
work=$(mktemp -d)
pid=""
longrun_stop() {
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}
longrun_cleanup() {
    longrun_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap longrun_cleanup EXIT

# The release binary, built once (BUILD=1 rebuilds), niced: the machine is shared.
longrun_build() {
    ensure_build_deps
    command -v python3 >/dev/null || ensure_packages python3
    if [ -x target/release/imgedge ] && [ "${BUILD:-0}" != 1 ]; then return 0; fi
    nice -n 19 cargo build --locked --release --bin imgedge
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A directory bucket with the photos of tests/corpus (4–12 MP) and the small OSS example.
longrun_bucket() {
    mkdir -p "$work/bucket"
    cp "$CORPUS"/photos/*.jpg "$CORPUS/oss/example.jpg" "$work/bucket/"
}

# Validates $work/imgedge.toml with the binary's own check; a key the binary does not know is
# exit 3 (the build predates it), any other problem exit 2.
longrun_check_config() {
    local out
    if ! out=$(target/release/imgedge check-config "$work/imgedge.toml" 2>&1); then
        echo "config refused by target/release/imgedge: $out" >&2
        if grep -q "unknown field" <<<"$out"; then
            echo "(the binary predates a key this script sets: rebuild it from a newer main with BUILD=1)" >&2
            exit 3
        fi
        exit 2
    fi
}

# Starts the proxy on $work/imgedge.toml (log in $work/imgedge.log) and waits until it answers
# on $port; sets $pid.
longrun_start() {
    longrun_check_config
    RUST_LOG=warn target/release/imgedge serve --config "$work/imgedge.toml" >"$work/imgedge.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the proxy exited at startup:" >&2
            cat "$work/imgedge.log" >&2
            exit 2
        fi
        python3 - "$port" <<'PY' && return 0
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
except OSError:
    sys.exit(1)
PY
        sleep 0.1
    done
    echo "the proxy did not listen on $port" >&2
    exit 2
}

# What each report starts with: when, where, what.
longrun_identity() {
    local commit dirty=""
    commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || dirty=" (+ uncommitted changes in src)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average at start $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, niceness $(nice)"
    echo "- commit: $commit$dirty, binary built $(date -u -r target/release/imgedge '+%Y-%m-%d %H:%M UTC')"
}
