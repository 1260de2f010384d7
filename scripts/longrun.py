"""Client-side helpers of the long-run scripts (scripts/flood, scripts/soak, scripts/slowloris):
the proxy's memory from /proc, HTTP requests with their latency, the metrics listener,
percentiles, and the markdown report whose failed checks make the script exit non-zero.
Standard library only."""

import http.client
import math
import os
import re
import sys
import threading
import time

MIB = 1 << 20


def proc_status(pid):
    """VmRSS and VmHWM of `pid` in bytes, or None once the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    fields = dict(re.findall(r"^(\w+):\s+(.*)$", text, re.M))
    if fields.get("State", "").startswith(("Z", "X")):
        return None
    kib = lambda k: int(fields[k].split()[0]) * 1024
    return {"rss": kib("VmRSS"), "hwm": kib("VmHWM")}


def alive(pid):
    return proc_status(pid) is not None


class RssSampler(threading.Thread):
    """VmRSS of `pid` every `every` seconds (the first at `every`), with an optional extra
    reading per sample (e.g. the metrics' cache bytes)."""

    def __init__(self, pid, every, extra=None):
        super().__init__(daemon=True)
        self.pid, self.every, self.extra = pid, every, extra
        self.samples = []  # (seconds since start, rss bytes, extra)
        self.died_at = None
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        n = 1
        while not self._halt.wait(max(0.0, self.t0 + n * self.every - time.monotonic())):
            s = proc_status(self.pid)
            t = time.monotonic() - self.t0
            if s is None:
                self.died_at = t
                return
            extra = self.extra() if self.extra else None
            self.samples.append((t, s["rss"], extra))
            n += 1

    def stop(self):
        self._halt.set()
        self.join()


class CpuAccount:
    """CPU time spent while it runs, in core-seconds: by the proxy, by this load generator (this
    process and its finished children), and by everything else on the machine (other users'
    work competes with the measurement on a shared machine, so the report says how much)."""

    def __init__(self, pid):
        self.pid, self.tick = pid, os.sysconf("SC_CLK_TCK")
        self.start = self._now()

    def _now(self):
        with open("/proc/stat") as f:
            cpu = [int(x) for x in f.readline().split()[1:]]
        busy = sum(cpu[:8]) - cpu[3] - cpu[4]  # all but idle and iowait
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            proxy = int(fields[11]) + int(fields[12])
        except OSError:
            proxy = 0
        me = os.times()
        return time.monotonic(), busy / self.tick, proxy / self.tick, me.user + me.system + me.children_user + me.children_system

    def summary(self):
        """(wall s, cores, busy, proxy, load generator, others) over the run so far."""
        t1 = self._now()
        wall, busy, proxy, gen = (b - a for a, b in zip(self.start, t1))
        return wall, os.cpu_count(), busy, proxy, gen, max(0.0, busy - proxy - gen)

    def line(self):
        wall, cores, busy, proxy, gen, others = self.summary()
        return (f"CPU over {wall:.0f} s on {cores} cores ({wall * cores:.0f} core-s): busy {busy:.0f}, "
                f"proxy {proxy:.0f}, load generator {gen:.0f}, other processes {others:.0f} core-s")


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    xs = sorted(values)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]


def fmt_ms(seconds):
    return "–" if seconds is None else f"{seconds * 1000:.1f}"


def fmt_mib(b):
    return "–" if b is None else f"{b / MIB:.1f}"


class Response:
    __slots__ = ("status", "headers", "body", "secs", "error")

    def __init__(self, status, headers, body, secs, error=None):
        self.status, self.headers, self.body, self.secs, self.error = status, headers, body, secs, error

    def header(self, name):
        return self.headers.get(name.lower())


class Client:
    """One keep-alive connection to the proxy; reconnects after an error or a closing answer."""

    def __init__(self, port, timeout=30.0):
        self.port, self.timeout, self.conn = port, timeout, None
        self.reconnects = 0

    def get(self, path, method="GET"):
        t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.reconnects += 1
            self.conn.request(method, path)
            r = self.conn.getresponse()
            body = r.read()
            headers = {k.lower(): v for k, v in r.getheaders()}
            if r.will_close:
                self.close()
            return Response(r.status, headers, body, time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return Response(None, {}, b"", time.monotonic() - t0, f"{type(e).__name__}: {e}")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def metrics(port):
    """The metrics listener's samples as {'name{labels}': value}; {} when unreachable."""
    if not port:
        return {}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
    except (OSError, http.client.HTTPException):
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def metric_sum(m, prefix):
    """Sum of every sample whose name (with labels) starts with `prefix`."""
    return sum(v for k, v in m.items() if k.startswith(prefix))


def oss_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


class Report:
    """Markdown on stdout; `check` records a bound, `finish` prints them and exits 1 if any
    failed."""

    def __init__(self, title):
        self.checks = []
        print(f"## {title}\n")

    @staticmethod
    def line(text=""):
        print(text, flush=True)

    @staticmethod
    def table(header, rows):
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(str(c) for c in r) + " |")
        print(flush=True)

    def check(self, bound, ok, measured):
        self.checks.append((bound, ok, measured))

    def finish(self):
        self.line("### Bounds\n")
        self.table(["bound", "measured", "result"], [(b, m, "pass" if ok else "**FAIL**") for b, ok, m in self.checks])
        failed = [b for b, ok, _ in self.checks if not ok]
        if failed:
            print(f"FAILED: {len(failed)} bound(s) broken: " + "; ".join(failed), file=sys.stderr)
            sys.exit(1)
        print("all bounds held", file=sys.stderr)


def env_int(name, default):
    return int(os.environ.get(name, default))
