"""Helpers of benches/peers/run.sh, run with the Python of target/peers/check-venv (Pillow, numpy,
scikit-image). Subcommands:

  check FILE --format F --width W [--src-size WxH] [--quality Q] [--like GIF]
        One server answer: format F (JPEG, WEBP, GIF), width W, height W·h/w of the source
        (±1 for rounding), JPEG quality Q (estimated from the luma quantisation table, which
        all peers here take from the IJG scaling of the Annex K tables), and for --like the
        animation of that source GIF: as many frames, or (as libvips writes) one frame per
        run of identical source frames with the same total duration. Prints one line; exits 1
        on a mismatch.
  ssim SOURCE OUT       bytes, dims and SSIM of OUT against a reference: SOURCE decoded at full
                        resolution and resized with Pillow's LANCZOS to exactly OUT's size; SSIM
                        is skimage.metrics.structural_similarity on luma (Pillow's "L", ITU-R
                        601-2), 7×7 window, data_range 255.
  make-gif OUT          the 100-frame GIF of W6 (400×300, moving shapes, 40 ms a frame).
  frames FILE           frame count (Pillow n_frames).
  jpeg-quality FILE     estimated IJG quality of a JPEG.
  rss PGID              samples the summed VmRSS of process group PGID every 100 ms until
                        SIGTERM, then prints peak_rss_mb=... samples=... and the CPU used
                        meanwhile in core-seconds: wall_s, busy_cs (the whole machine, less
                        this sampler), niced_cs (the part of it at nice > 0), server_cs (the
                        group's processes).
  table TSV             the markdown tables of the run from its rows (see run.sh).
"""

import argparse
import io
import os
import signal
import sys
import time


def jpeg_quality(im):
    """The IJG quality whose luma table equals the file's, or None."""
    from PIL import Image

    tables = getattr(im, "quantization", None)
    if not tables:
        return None
    luma = list(tables[0])
    probe = Image.new("RGB", (16, 16), (128, 128, 128))
    for q in range(100, 0, -1):
        buf = io.BytesIO()
        probe.save(buf, "JPEG", quality=q)
        buf.seek(0)
        if list(Image.open(buf).quantization[0]) == luma:
            return q
    return None


def animation(path):
    """(frames, runs of identical consecutive frames, total duration in ms) of an image."""
    from PIL import Image, ImageSequence

    im = Image.open(path)
    if getattr(im, "n_frames", 1) == 1:
        return 1, 1, 0
    runs, total, prev = 0, 0, None
    for frame in ImageSequence.Iterator(im):
        total += frame.info.get("duration", 0)
        cur = frame.convert("RGBA").tobytes()
        runs += cur != prev
        prev = cur
    return im.n_frames, runs, total


def cmd_check(a):
    from PIL import Image

    im = Image.open(a.file)
    w, h = im.size
    want = [f"{a.format}", f"w={a.width}"]
    ok = im.format == a.format and w == a.width
    if a.src_size:
        sw, sh = (int(v) for v in a.src_size.split("x"))
        want_h = round(a.width * sh / sw)
        want[-1] = f"{a.width}x{want_h}±1"
        ok = ok and abs(h - want_h) <= 1
    got = [f"{im.format}", f"{w}x{h}", f"{os.path.getsize(a.file)} B"]
    if im.format == "JPEG":
        q = jpeg_quality(im)
        got.append(f"q{q}" if q else "q?")
        got.append("progressive" if im.info.get("progressive") else "baseline")
        if a.quality is not None:
            want.append(f"q{a.quality}")
            ok = ok and q == a.quality
    frames, _, total = animation(a.file)
    if a.like or frames > 1:
        got.append(f"{frames} frames {total} ms")
    if a.like:
        src_frames, src_runs, src_total = animation(a.like)
        want.append(f"{src_frames} frames {src_total} ms")
        if frames != src_frames and frames == src_runs and total == src_total:
            got.append(f"(the source's {src_frames} frames are {src_runs} runs of identical frames:"
                       " merged, same animation)")
        else:
            ok = ok and frames == src_frames and total == src_total
    print(f"  check: {' '.join(got)} (want {' '.join(want)})" + ("" if ok else "  MISMATCH"))
    return 0 if ok else 1


def cmd_ssim(a):
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity

    out = Image.open(a.out)
    out.load()
    src = Image.open(a.source)
    src.load()  # no draft: the full-resolution decode
    ref = src.convert("RGB").resize(out.size, Image.LANCZOS)
    y_ref = np.asarray(ref.convert("L"), dtype=np.float64)
    y_out = np.asarray(out.convert("RGB").convert("L"), dtype=np.float64)
    s = structural_similarity(y_ref, y_out, data_range=255)
    print(f"{os.path.getsize(a.out)}\t{out.size[0]}x{out.size[1]}\t{s:.4f}")
    return 0


def cmd_make_gif(a):
    from PIL import Image, ImageDraw

    w, h, n = 400, 300, 100
    frames = []
    for i in range(n):
        im = Image.new("RGB", (w, h), (20 + i, 40, 90))
        d = ImageDraw.Draw(im)
        x = (i * 7) % (w + 80) - 80
        d.rectangle([x, 60, x + 80, 140], fill=(240, 200, 40))
        y = (i * 5) % (h + 60) - 60
        d.ellipse([250, y, 310, y + 60], fill=(220, 60, 60))
        d.line([(0, h - 1 - i * 3 % h), (w, i * 3 % h)], fill=(255, 255, 255), width=4)
        d.polygon([(50 + i, 250), (90 + i, 200), (130 + i, 250)], fill=(60, 200, 120))
        frames.append(im.quantize(colors=64, method=Image.Quantize.MEDIANCUT))
    frames[0].save(a.out, save_all=True, append_images=frames[1:], duration=40, loop=0,
                   optimize=False, disposal=1)
    check = Image.open(a.out)
    print(f"{a.out}: {check.size[0]}x{check.size[1]}, {check.n_frames} frames, "
          f"{os.path.getsize(a.out)} B")
    return 0 if check.n_frames == n else 1


def cmd_frames(a):
    from PIL import Image

    print(getattr(Image.open(a.file), "n_frames", 1))
    return 0


def cmd_jpeg_quality(a):
    from PIL import Image

    print(jpeg_quality(Image.open(a.file)))
    return 0


def group_rss_kib(pgid):
    """(summed VmRSS in KiB, summed user + system CPU in ticks) of the processes of a group."""
    total, ticks = 0, 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            # The command may hold spaces and parentheses: fields follow the last ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            # its own CPU and its reaped children's (thumbor's gifsicle runs end within the run)
            ticks += sum(int(v) for v in fields[11:15])
            with open(f"/proc/{name}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total, ticks


def busy_seconds():
    """CPU time of the whole machine, all but idle and iowait, and the part of it spent by
    niced processes, in core-seconds."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(cpu[:8]) - cpu[3] - cpu[4]) / tick, cpu[1] / tick


def cmd_rss(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    tick = os.sysconf("SC_CLK_TCK")
    print("sampling", flush=True)  # run.sh starts wrk once this is there
    t0, (busy0, nice0), (_, server0) = time.monotonic(), busy_seconds(), group_rss_kib(a.pgid)
    me0 = sum(os.times()[:2])
    peak, samples, server1 = 0, 0, server0
    while not stop:
        rss, server1 = group_rss_kib(a.pgid)
        peak = max(peak, rss)
        samples += 1
        time.sleep(a.interval)
    busy1, nice1 = busy_seconds()
    busy = busy1 - busy0 - (sum(os.times()[:2]) - me0)
    print(f"peak_rss_mb={peak / 1024:.1f} samples={samples} wall_s={time.monotonic() - t0:.2f} "
          f"busy_cs={busy:.2f} niced_cs={nice1 - nice0:.2f} server_cs={(server1 - server0) / tick:.2f}")
    return 0


# --- the report ---------------------------------------------------------------------------------
COLS = ["workload", "server", "rps", "p50", "p99", "rss_mb", "hwm_mb", "bytes", "n2xx", "non2xx",
        "s503ra", "sockerr", "floor_before", "floor_after", "note", "others_pct", "server_cs"]


def fnum(v, digits=1):
    try:
        return f"{float(v):,.{digits}f}".replace(",", " ")
    except ValueError:
        return v or "—"


def per_cpu(r):
    """2xx answers per CPU-second the server's processes used: what a busy machine's share of
    the cores does not change as much as req/s."""
    try:
        return fnum(int(r["n2xx"]) / float(r["server_cs"]))
    except (ValueError, ZeroDivisionError):
        return ""


def other_load(v):
    """'45 % (39 niced)' from run.sh's 'all/niced' percentages."""
    if not v:
        return ""
    total, _, niced = v.partition("/")
    niced = str(min(int(niced or 0), int(total)))  # kernel time (loopback) may land in either
    return f"{total} %" + (f" ({niced} niced)" if niced and niced != "0" else "")


def cmd_table(a):
    rows = []
    with open(a.tsv) as f:
        for line in f:
            if line.strip():
                vals = line.rstrip("\n").split("\t")
                rows.append(dict(zip(COLS, vals + [""] * (len(COLS) - len(vals)))))
    nproc = len(os.sched_getaffinity(0))  # as nproc(1) counts
    print("| Workload | Server | req/s | p50 | p99 | peak RSS MB | bytes/resp (mean) | non-2xx "
          "| vs best peer | vs decode floor | other load | 2xx per server CPU-s |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|")
    for r in rows:
        def failed(x):
            return int(x["non2xx"] or 0) - int(x["s503ra"] or 0) + int(x["sockerr"] or 0)

        peers = [x for x in rows if x["workload"] == r["workload"] and x["server"] != "imgedge"
                 and x["rps"] and float(x["rps"]) > 0 and failed(x) == 0]
        vs_peer = ""
        if r["server"] == "imgedge" and r["rps"] and peers:
            best = max(peers, key=lambda x: float(x["rps"]))
            vs_peer = f"{float(r['rps']) / float(best['rps']):.2f}× {best['server']}"
        vs_floor = ""
        if r["floor_before"] and r["floor_after"] and r["rps"]:
            before, after = float(r["floor_before"]), float(r["floor_after"])
            floor_rps = nproc * 1000 / ((before + after) / 2)
            vs_floor = (f"{float(r['rps']) / floor_rps:.2f} of {floor_rps:.0f} req/s "
                        f"({before:.1f} / {after:.1f} ms)")
        rss = fnum(r["rss_mb"])
        if r["hwm_mb"]:
            rss += f" (HWM {fnum(r['hwm_mb'])})"
        non2xx = r["non2xx"] or "0"
        if r["server"] == "imgedge" and r["rps"]:
            non2xx += f" ({r['s503ra'] or 0}× 503+Retry-After)"
        if int(r["sockerr"] or 0):
            non2xx += f"; {r['sockerr']} socket errors"
        rps = fnum(r["rps"]) if r["rps"] else f"not run: {r['note']}"
        p50, p99 = r["p50"] or "—", r["p99"] or "—"
        if r["rps"] and r["note"]:  # ran, but no answer came back in time
            rps, p50, p99 = f"0 ({r['note']})", "—", "—"
        print(f"| {r['workload']} | {r['server']} | {rps} | {p50} | {p99} "
              f"| {rss} | {fnum(r['bytes'], 0)} | {non2xx} | {vs_peer} | {vs_floor} "
              f"| {other_load(r['others_pct'])} | {per_cpu(r)} |")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("file")
    c.add_argument("--format", required=True)
    c.add_argument("--width", type=int, required=True)
    c.add_argument("--src-size")
    c.add_argument("--quality", type=int)
    c.add_argument("--like")
    s = sub.add_parser("ssim")
    s.add_argument("source")
    s.add_argument("out")
    g = sub.add_parser("make-gif")
    g.add_argument("out")
    fr = sub.add_parser("frames")
    fr.add_argument("file")
    jq = sub.add_parser("jpeg-quality")
    jq.add_argument("file")
    r = sub.add_parser("rss")
    r.add_argument("pgid", type=int)
    r.add_argument("--interval", type=float, default=0.1)
    t = sub.add_parser("table")
    t.add_argument("tsv")
    a = p.parse_args()
    return {"check": cmd_check, "ssim": cmd_ssim, "make-gif": cmd_make_gif, "frames": cmd_frames,
            "jpeg-quality": cmd_jpeg_quality, "rss": cmd_rss, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
