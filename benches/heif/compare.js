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
    const imgedge = async (label, proc, ext) => {
      const out = `${work}/imgedge-w${w}-${label.replace(/\W+/g, "_")}.${ext}`;
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        execFileSync(bin, ["process", src, proc, "-o", out]);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const s = ext === "bmp" ? NaN : ssim(await decodeViaImgedge(out), ref);
      rows.push([`imgedge ${label}`, median(times), fs.statSync(out).size, s]);
    };
    const viaSharp = async (label, opts) => {
      let buf;
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        buf = await sharp(src).avif(opts).toBuffer();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      rows.push([`sharp ${label}`, median(times), buf.length, ssim(await rgb(buf), ref)]);
    };
    await imgedge("png→bmp (process start + PNG decode)", "image/format,bmp", "bmp");
    await imgedge("AVIF q60 (aom speed 8)", "image/format,avif/quality,q_60", "avif");
    await imgedge("HEIC q60 (x265 fast)", "image/format,heic/quality,q_60", "heic");
    await imgedge("WebP q80", "image/format,webp/quality,q_80", "webp");
    await viaSharp("AVIF q50 effort 4 (default)", { quality: 50, effort: 4 });
    await viaSharp("AVIF q50 effort 2", { quality: 50, effort: 2 });
    await viaSharp("AVIF q60 effort 4", { quality: 60, effort: 4 });
    console.log(`\n${ref.w}×${ref.h} (photo6mp.jpg resized), median of ${RUNS}\n`);
    console.log("| encoder | ms | bytes | SSIM |\n|---|---|---|---|");
    for (const [name, ms, bytes, s] of rows) {
      console.log(`| ${name} | ${ms.toFixed(1)} | ${bytes} | ${Number.isNaN(s) ? "–" : s.toFixed(4)} |`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
