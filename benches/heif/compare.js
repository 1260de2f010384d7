// Called by benches/heif/run.sh: times and scores AVIF/HEIC encoders on the PNGs it made.
const { execFileSync } = require("child_process");
const fs = require("fs");
const sharp = require("sharp");
const [work, bin] = process.argv.slice(2);
const RUNS = Number(process.env.RUNS || 7);
sharp.concurrency(1); // one thread, like one imgedge worker
sharp.cache(false);

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rgb(input) {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, w: info.width, h: info.height };
}

// Mean SSIM of BT.601 luma over 8x8 windows at stride 4 (tests/fidelity.rs).
function ssim(a, b) {
  if (a.w !== b.w || a.h !== b.h) return NaN;
  const luma = (p) => {
    const y = new Float64Array(p.w * p.h);
    for (let i = 0; i < y.length; i++) y[i] = 0.299 * p.data[3 * i] + 0.587 * p.data[3 * i + 1] + 0.114 * p.data[3 * i + 2];
    return y;
  };
  const [la, lb] = [luma(a), luma(b)];
  const c1 = (0.01 * 255) ** 2, c2 = (0.03 * 255) ** 2;
  let sum = 0, n = 0;
  for (let y0 = 0; y0 + 8 <= a.h; y0 += 4) {
    for (let x0 = 0; x0 + 8 <= a.w; x0 += 4) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let y = y0; y < y0 + 8; y++) {
        for (let x = x0; x < x0 + 8; x++) {
          const p = la[y * a.w + x], q = lb[y * a.w + x];
          sa += p; sb += q; saa += p * p; sbb += q * q; sab += p * q;
        }
      }
      const ma = sa / 64, mb = sb / 64;
      const va = saa / 64 - ma * ma, vb = sbb / 64 - mb * mb, cov = sab / 64 - ma * mb;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      n++;
    }
  }
  return sum / n;
}

// imgedge's answer decoded through imgedge (sharp's libheif cannot read HEVC), then read.
async function decodeViaImgedge(file) {
  const png = file + ".png";
  execFileSync(bin, ["process", file, "image/format,png", "-o", png]);
  return rgb(png);
}

async function main() {
  for (const w of [400, 1920]) {
    const src = `${work}/w${w}.png`;
    const ref = await rgb(src);
    const rows = [];
    // `env` carries the encoder-effort overrides of src/transform/codec/heif.rs for the sweep.
    const imgedge = async (label, proc, ext, env = {}) => {
      const out = `${work}/imgedge-w${w}-${label.replace(/\W+/g, "_")}.${ext}`;
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        execFileSync(bin, ["process", src, proc, "-o", out], { env: { ...process.env, ...env } });
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const s = ext === "bmp" ? NaN : ssim(await decodeViaImgedge(out), ref);
      rows.push([`imgedge ${label}`, median(times), fs.statSync(out).size, s, true]);
    };
    const viaSharp = async (label, opts) => {
      let buf;
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        buf = await sharp(src).avif(opts).toBuffer();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      rows.push([`sharp ${label}`, median(times), buf.length, ssim(await rgb(buf), ref), false]);
    };
    // The floor: process start and PNG decode, which sharp's in-process rows do not pay.
    await imgedge("png→bmp (floor)", "image/format,bmp", "bmp");
    const floor = rows[0][1];
    await imgedge("JPEG q80", "image/format,jpg/quality,Q_80", "jpg");
    await imgedge("WebP q80", "image/format,webp/quality,q_80", "webp");
    for (const speed of ["6", "8", "9"]) { // 9 is the default
      for (const q of [50, 60]) {
        await imgedge(`AVIF q${q} aom speed ${speed}`, `image/format,avif/quality,q_${q}`, "avif", { IMGEDGE_AVIF_SPEED: speed });
      }
    }
    for (const preset of ["medium", "fast", "ultrafast"]) { // ultrafast is the default
      for (const q of [40, 50, 60]) {
        await imgedge(`HEIC q${q} x265 ${preset}`, `image/format,heic/quality,q_${q}`, "heic", { IMGEDGE_HEIC_PRESET: preset });
      }
    }
    // sharp's effort e runs aom at speed 9 - e: effort 4 (its default) is speed 5, 1 is speed 8.
    await viaSharp("AVIF q50 effort 4 (default)", { quality: 50, effort: 4 });
    await viaSharp("AVIF q50 effort 1 (aom speed 8)", { quality: 50, effort: 1 });
    await viaSharp("AVIF q60 effort 1 (aom speed 8)", { quality: 60, effort: 1 });
    await viaSharp("AVIF q50 effort 0 (aom speed 9)", { quality: 50, effort: 0 });
    console.log(`\n${ref.w}×${ref.h} (photo6mp.jpg resized), median of ${RUNS}\n`);
    console.log("| encoder | ms | ms net of floor | bytes | SSIM |\n|---|---|---|---|---|");
    for (const [name, ms, bytes, s, ours] of rows) {
      const net = ours ? (ms - floor).toFixed(1) : ms.toFixed(1);
      console.log(`| ${name} | ${ms.toFixed(1)} | ${net} | ${bytes} | ${Number.isNaN(s) ? "–" : s.toFixed(4)} |`);
    }
  }
  // Quality curves at the default efforts: what each format's q means in SSIM and bytes, so
  // that OSS's JPEG-scale quality can be mapped (docs/decisions.md "Modern formats").
  for (const w of [400, 1920]) {
    const src = `${work}/w${w}.png`;
    const ref = await rgb(src);
    console.log(`\nquality curve, ${ref.w}×${ref.h}: bytes / SSIM\n`);
    console.log("| q | JPEG | WebP | AVIF | HEIC |\n|---|---|---|---|---|");
    for (const q of [20, 30, 40, 50, 60, 70, 80, 90]) {
      const cells = [];
      for (const [fmt, ext] of [["jpg", "jpg"], ["webp", "webp"], ["avif", "avif"], ["heic", "heic"]]) {
        const out = `${work}/curve-w${w}-q${q}.${ext}`;
        execFileSync(bin, ["process", src, `image/format,${fmt}/quality,Q_${q}`, "-o", out]);
        const s = ssim(await decodeViaImgedge(out), ref);
        cells.push(`${fs.statSync(out).size} / ${s.toFixed(4)}`);
      }
      console.log(`| ${q} | ${cells.join(" | ")} |`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
