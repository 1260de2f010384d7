// imgedge console: the style editor (pipeline builder, live preview, style URLs) and the
// overview's charts. Everything shown is set with textContent or DOM nodes, never innerHTML:
// nothing a bucket holds can become markup here.
"use strict";

// The actions of OSS's image guide and their parameters. "=" is a positional value
// (rotate,90); a trailing "*" marks a URL-safe base64 parameter, edited as plain text.
const ACTIONS = {
  resize: ["m:lfit|mfit|fill|pad|fixed", "w", "h", "l", "s", "limit:1|0", "color", "p"],
  crop: ["w", "h", "x", "y", "g:nw|north|ne|west|center|east|sw|south|se"],
  rotate: ["="],
  "auto-orient": ["=:1|0"],
  circle: ["r"],
  "rounded-corners": ["r"],
  indexcrop: ["x", "y", "i"],
  blur: ["r", "s"],
  bright: ["="],
  contrast: ["="],
  sharpen: ["="],
  quality: ["q", "Q"],
  format: ["=:jpg|png|webp|avif|heic|gif|bmp|tiff|auto"],
  interlace: ["=:1|0"],
  watermark: ["text*", "image*", "type*", "color", "size", "t", "g:nw|north|ne|west|center|east|sw|south|se", "x", "y", "rotate", "fill:0|1", "shadow"],
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function b64encode(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64decode(value) {
  try {
    const bin = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch (_) {
    return null;
  }
}

// "image/resize,w_300/rotate,90" -> [{name, params: [[key, value], ...]}]; null when it is
// not an image/ pipeline (the raw text is then the only editor).
function parsePipeline(text) {
  text = text.trim();
  if (!text.startsWith("image/")) return null;
  return text.slice(6).split("/").filter((s) => s !== "").map((s) => {
    const [name, ...parts] = s.split(",");
    const params = parts.map((p) => {
      const i = p.indexOf("_");
      return i > 0 ? [p.slice(0, i), p.slice(i + 1)] : ["", p];
    });
    return { name, params };
  });
}

function serialize(steps) {
  return "image/" + steps.map((s) => [s.name, ...s.params.filter(([, v]) => v !== "").map(([k, v]) => (k === "" ? v : k + "_" + v))].join(",")).join("/");
}

function editor() {
  const content = document.getElementById("style-content");
  const builder = document.getElementById("builder");
  const add = document.getElementById("add-action");
  const keyInput = document.getElementById("preview-key");
  const nameInput = document.getElementById("style-name");
  const preview = document.getElementById("preview");
  const bucket = preview.dataset.bucket;
  const readOnly = content.disabled;
  let steps = parsePipeline(content.value);

  for (const name of Object.keys(ACTIONS)) add.append(el("option", { value: name, text: name }));

  function setParam(step, key, value) {
    const p = step.params.find(([k]) => k === key);
    if (p) p[1] = value; else step.params.push([key, value]);
  }

  function changed() {
    content.value = serialize(steps);
    schedule();
    urls();
  }

  function renderBuilder() {
    builder.replaceChildren();
    if (steps === null) {
      builder.append(el("p", { class: "hint", text: "Only image/ pipelines have a builder: edit the text below." }));
      return;
    }
    steps.forEach((step, index) => {
      const spec = ACTIONS[step.name];
      const params = el("div", { class: "params" });
      if (spec) {
        for (const d of spec) {
          const [rawKey, options] = d.split(":");
          const b64 = rawKey.endsWith("*");
          const key = rawKey.replace("*", "").replace("=", "");
          const current = (step.params.find(([k]) => k === key) || [key, ""])[1];
          const shown = b64 ? (b64decode(current) ?? current) : current;
          let input;
          if (options) {
            input = el("select", { "data-param": key });
            input.append(el("option", { value: "", text: "—" }));
            for (const o of options.split("|")) input.append(el("option", { value: o, text: o }));
            input.value = shown;
          } else {
            input = el("input", { "data-param": key, value: shown, size: "6" });
          }
          if (readOnly) input.disabled = true;
          input.addEventListener("input", () => {
            setParam(step, key, b64 && input.value !== "" ? b64encode(input.value) : input.value);
            changed();
          });
          params.append(el("label", {}, key === "" ? "value" : key + (b64 ? " (text)" : ""), input));
        }
      }
      const known = new Set((spec || []).map((d) => d.split(":")[0].replace("*", "").replace("=", "")));
      const others = step.params.filter(([k]) => !known.has(k));
      if (!spec || others.length) {
        const other = el("input", { value: others.map(([k, v]) => (k === "" ? v : k + "_" + v)).join(","), size: "10" });
        if (readOnly) other.disabled = true;
        other.addEventListener("change", () => {
          step.params = step.params.filter(([k]) => known.has(k));
          for (const p of other.value.split(",").filter((p) => p !== "")) {
            const i = p.indexOf("_");
            step.params.push(i > 0 ? [p.slice(0, i), p.slice(i + 1)] : ["", p]);
          }
          changed();
        });
        params.append(el("label", {}, "other", other));
      }
      const remove = el("button", { type: "button", class: "secondary", "aria-label": "Remove " + step.name, text: "✕" });
      const up = el("button", { type: "button", class: "secondary", "aria-label": "Move up", text: "↑" });
      remove.addEventListener("click", () => { steps.splice(index, 1); renderBuilder(); changed(); });
      up.addEventListener("click", () => {
        if (index > 0) { [steps[index - 1], steps[index]] = [steps[index], steps[index - 1]]; renderBuilder(); changed(); }
      });
      if (readOnly) { remove.disabled = true; up.disabled = true; }
      builder.append(el("div", { class: "step", "data-action": step.name }, el("header", {}, el("strong", { text: step.name }), up, remove), params));
    });
  }

  document.getElementById("add-step").addEventListener("click", () => {
    if (steps === null) steps = [];
    steps.push({ name: add.value, params: [] });
    renderBuilder();
    changed();
  });
  content.addEventListener("input", () => { steps = parsePipeline(content.value); renderBuilder(); schedule(); });

  // The preview: the original and the result of the pipeline as typed, side by side.
  let timer = null;
  let seq = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  async function show(which, process, mine) {
    const img = document.getElementById(which + "-img");
    const info = document.getElementById(which + "-info");
    const error = document.getElementById("preview-error");
    const key = keyInput.value.trim();
    if (key === "") { info.textContent = ""; return; }
    let url = "/b/" + encodeURIComponent(bucket) + "/preview?key=" + encodeURIComponent(key);
    if (process !== null) url += "&process=" + encodeURIComponent(process);
    info.textContent = "…";
    const res = await fetch(url, { credentials: "same-origin" });
    if (mine !== seq) return;
    const blob = await res.blob();
    if (mine !== seq) return;
    if (!res.ok) {
      const doc = new DOMParser().parseFromString(await blob.text(), "application/xml");
      const code = doc.querySelector("Code")?.textContent || String(res.status);
      const message = doc.querySelector("Message")?.textContent || "";
      error.textContent = which + ": " + code + (message ? ": " + message : "");
      info.textContent = "";
      img.removeAttribute("src");
      img.dataset.width = img.dataset.height = "";
      return;
    }
    const type = res.headers.get("x-preview-type") || blob.type;
    const old = img.src;
    img.onload = () => {
      if (mine !== seq) return;
      img.dataset.width = img.naturalWidth;
      img.dataset.height = img.naturalHeight;
      info.textContent = img.naturalWidth + "×" + img.naturalHeight + " · " + type + " · " + blob.size + " bytes";
    };
    img.onerror = () => { info.textContent = type + " · " + blob.size + " bytes (this browser cannot show it)"; };
    img.src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  }

  async function refresh() {
    const mine = ++seq;
    document.getElementById("preview-error").textContent = "";
    await Promise.all([show("original", null, mine), show("result", content.value.trim(), mine)]);
  }

  function urls() {
    const list = document.getElementById("style-urls");
    const base = list.dataset.base;
    const name = nameInput.value.trim() || "<name>";
    const key = keyInput.value.trim() || "photo.jpg";
    const forms = [base + "/" + key + "?x-oss-process=style/" + name];
    for (const d of list.dataset.delimiters.split(" ").filter((d) => d !== "")) forms.push(base + "/" + key + d + name);
    list.replaceChildren(...forms.map((u) => {
      const copy = el("button", { type: "button", class: "secondary", text: "Copy" });
      copy.addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(u));
      return el("li", {}, el("code", { text: u }), copy);
    }));
  }

  keyInput.addEventListener("change", () => { schedule(); urls(); });
  nameInput.addEventListener("input", urls);
  renderBuilder();
  urls();
  fetch("/b/" + encodeURIComponent(bucket) + "/objects.json", { credentials: "same-origin" })
    .then((r) => r.json())
    .then(({ keys }) => {
      const list = document.getElementById("object-keys");
      list.replaceChildren(...keys.map((k) => el("option", { value: k })));
      if (keyInput.value === "") {
        keyInput.value = keys.find((k) => /\.(jpe?g|png|webp|gif|avif|heic|bmp|tiff?)$/i.test(k)) || "";
      }
      urls();
      refresh();
    });
}

// The overview's charts: small SVG line charts of the last ten minutes, redrawn every 5 s.
function charts() {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#0b63c5", "#d97706", "#b42318"];
  function draw(figure, points) {
    const key = figure.dataset.series;
    const series = points.map((p) => (Array.isArray(p[key]) ? p[key] : [p[key]]));
    const lines = series.length ? series[0].length : 1;
    const values = series.flat().filter((v) => v !== null && v !== undefined);
    const max = Math.max(1e-9, ...values) * 1.1;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 300 90");
    svg.setAttribute("preserveAspectRatio", "none");
    for (let l = 0; l < lines; l++) {
      let d = "";
      let pen = false;
      series.forEach((s, i) => {
        const v = s[l];
        if (v === null || v === undefined) { pen = false; return; }
        const x = series.length > 1 ? (i / (series.length - 1)) * 300 : 150;
        const y = 88 - (v / max) * 86;
        d += (pen ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
        pen = true;
      });
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", COLORS[l % COLORS.length]);
      path.setAttribute("stroke-width", "1.5");
      svg.append(path);
    }
    const last = series.length ? series[series.length - 1] : [];
    const now = el("div", { class: "now", text: "now: " + last.map((v) => (v === null || v === undefined ? "–" : String(v))).join(" / ") });
    figure.querySelector(".plot").replaceChildren(svg, now);
  }
  async function tick() {
    try {
      const res = await fetch("/stats.json", { credentials: "same-origin" });
      if (res.ok) {
        const { points } = await res.json();
        for (const f of document.querySelectorAll("figure.chart")) draw(f, points);
      }
    } catch (_) { /* the next tick tries again */ }
  }
  tick();
  setInterval(tick, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "editor") editor();
  if (page === "overview") charts();
});
