// The playground's page: controls → a JSON configuration → microprop-web (the .wasm) →
// curves, heatmaps and numbers on canvases. Training runs in slices inside
// a worker (worker.js) so that no frame waits for it; the main thread draws once per
// animation frame.
import uPlot from "./uPlot.esm.js";
import { PRESETS } from "./presets.js";
import { mcuPanel } from "./mcu.js";

const $ = (id) => document.getElementById(id);
const BOUNDARY_GRID = 48;
const NEURON_GRID = 20;

// ---- the training thread ------------------------------------------------------------------
// microprop-web runs in a worker (worker.js); the main thread only draws.
const worker = new Worker("worker.js", { type: "module" });
let nextId = 1;
const pending = new Map();
function ask(op, body = {}) {
  const id = nextId++;
  worker.postMessage({ id, op, ...body });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
worker.onmessage = ({ data: m }) => {
  if (m.op === "tick") return onTick(m);
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.ok) p.resolve(m); else p.reject(new Error(m.error));
};
worker.onerror = (e) => showError(`training thread: ${e.message}`);

// ---- state ------------------------------------------------------------------------------
const S = {
  info: null, state: null, history: [], gradHistory: [], playing: false, error: null,
  frames: [], epochTimes: [], trainedEpochs: 0, trainMs: 0, loadMs: 0, neuronsValid: false,
  maxEpochs: Infinity, parts: {}, ticks: [], worker: null,
};
window.mp = S; // the browser test reads its measurements here
const MEASURED = 10000; // frame measurements kept at most (the test's runs start afresh; a long session stops there)

// ---- configuration -----------------------------------------------------------------------
function num(id, fallback) {
  const v = parseFloat($(id).value);
  return Number.isFinite(v) ? v : fallback;
}

function readConfig() {
  const ds = $("dataset").value;
  const k = ds.endsWith("K") ? Math.round(num("classes", 3)) : 2;
  const dataset = ds.startsWith("clusters") ? "clusters" : ds.startsWith("spirals") ? "spirals" : "xor";
  const hidden = $("hidden").value.split(",").map((s) => s.trim()).filter((s) => s !== "")
    .map((s) => Number(s));
  if (hidden.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`hidden widths "${$("hidden").value}": whole numbers ≥ 1, comma-separated`);
  }
  const outputs = k === 2 ? 1 : k;
  const sched = $("schedule").value;
  const period = Math.max(1, Math.round(num("period", 500)));
  const schedule = sched === "constant" ? { kind: "constant" }
    : sched === "step" ? { kind: "step", every: period, gamma: num("gamma", 0.5) }
    : sched === "exponential" ? { kind: "exponential", gamma: num("gamma", 0.999) }
    : { kind: "cosine", steps: period, min_lr: num("min-lr", 0) };
  const scale = $("init-scale").value.trim();
  const dropout = num("dropout", 0);
  const spread = $("spread").value.trim();
  return {
    dataset, classes: k, samples: Math.round(num("samples", 500)),
    spread: spread === "" ? null : parseFloat(spread),
    offset: [num("offset-x", 0), num("offset-y", 0)],
    val_fraction: num("test-ratio", 0), seed: Math.max(0, Math.round(num("seed", 42))),
    layers: [2, ...hidden, outputs],
    activation: $("activation").value,
    output: k === 2 ? "sigmoid" : "softmax",
    loss: k === 2 ? $("loss").value : "ce",
    init: $("init").value, init_scale: scale === "" ? null : parseFloat(scale),
    bias_init: num("bias-init", 0), batch_norm: $("batch-norm").checked,
    dropout: dropout > 0 ? dropout : null,
    optimizer: $("optimizer").value, lr: num("lr", 0.1), schedule,
    warmup: Math.max(0, Math.round(num("warmup", 0))),
    batch: Math.max(1, Math.round(num("batch", 8))), l2: num("l2", 0),
  };
}

function showError(msg) {
  S.error = msg;
  $("error").hidden = !msg;
  $("error").textContent = msg ? `⚠ ${msg}` : "";
}

let gen = 0;
async function reset() {
  pause();
  let cfg;
  const mine = ++gen;
  try {
    cfg = readConfig();
    const r = await ask("init", { cfg, gen: mine });
    if (mine !== gen) return;
    S.info = r.info;
    S.wasmBytes = r.wasmBytes;
    S.history = [];
    S.gradHistory = [];
    S.gradEpochs = [];
    S.trainMs = 0;
    S.state = null;
    absorb(r);
  } catch (e) {
    if (mine !== gen) return;
    S.info = null;
    showError(e.message);
    return;
  }
  showError(null);
  S.cfg = cfg;
  const scheduled = cfg.schedule.kind !== "constant" || cfg.warmup > 0;
  $("command").textContent = "microprop-sim train " + S.info.sim_args.map(shellWord).join(" ") + " --epochs N" +
    (scheduled ? "\n(microprop-sim train has no learning-rate schedule: this is the same run at a constant rate, not this one)" : "");
  touch("all");
  draw();
  $("mcu").replaceChildren(mcuPanel(S.info, cfg));
}

function shellWord(s) { return /^[\w.,:=+-]+$/.test(s) ? s : `'${s}'`; }

// ---- training -----------------------------------------------------------------------------
// What the worker measured: new epochs, and the latest state, boundary and neurons.
function absorb(m) {
  if (m.epochs && m.epochs.length) {
    for (const e of m.epochs) S.history.push(e);
    touch("history");
  }
  if (m.trainMs != null) S.trainMs = m.trainMs;
  if (m.state) {
    S.state = m.state;
    S.gradHistory.push(m.state.grad_norms);
    S.gradEpochs.push(m.state.epoch);
    touch("state");
  }
  if (m.boundary) S.boundary = m.boundary;
  if (m.neurons) S.neurons = m.neurons;
  if (m.boundary || m.neurons) touch("grids");
  if (m.timing) S.worker = m.timing;
}

function onTick(m) {
  if (m.gen !== gen) return;
  absorb(m);
  if (m.error) showError(m.error);
  if (m.done) pause(false);
}

// Draws what changed, once per animation frame.
// The next snapshot is asked for as soon as one arrives (the worker answers between
// training slices), so one is ready by the next frame.
function snap() {
  if (!S.playing || S.snapPending) return;
  S.snapPending = true;
  const mine = gen;
  ask("snap").then((r) => {
    S.snapPending = false;
    if (mine === gen && S.playing) {
      absorb(r);
      snap();
    }
  }).catch((e) => { S.snapPending = false; showError(e.message); });
}
function frame(now) {
  if (S.playing && S.ticks.length < MEASURED) S.ticks.push(now);
  snap();
  if (changed.size) {
    const start = performance.now();
    try {
      draw();
    } catch (e) {
      showError(e.message);
    }
    if (S.playing && S.frames.length < MEASURED) S.frames.push(performance.now() - start);
  }
  if (S.playing || changed.size) requestAnimationFrame(frame);
  else S.looping = false;
}
function loop() {
  if (!S.looping) {
    S.looping = true;
    requestAnimationFrame(frame);
  }
}

function play() {
  if (!S.info) return;
  S.playing = true;
  $("play").textContent = "⏸ Pause";
  $("play").setAttribute("aria-pressed", "true");
  ask("run", { maxEpochs: S.maxEpochs }).catch((e) => showError(e.message));
  loop();
}
function pause(tell = true) {
  const was = S.playing;
  S.playing = false;
  S.maxEpochs = Infinity;
  $("play").textContent = "▶ Play";
  $("play").setAttribute("aria-pressed", "false");
  if (tell && was) {
    const mine = gen;
    ask("pause").then((r) => { if (mine === gen) { absorb(r); loop(); } }).catch((e) => showError(e.message));
  }
  loop();
}
async function step() {
  if (!S.info) return;
  pause();
  const mine = gen;
  try {
    const r = await ask("step");
    if (mine === gen) absorb(r);
    loop();
  } catch (e) {
    showError(e.message);
  }
}

async function download() {
  if (!S.info) return;
  let r;
  try {
    r = await ask("model");
  } catch (e) {
    showError(e.message);
    return;
  }
  const blob = new Blob([r.bytes], { type: "application/octet-stream" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `microprop-${S.info.layers.length}layers-epoch${S.history.length}.mpm`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- drawing ------------------------------------------------------------------------------
const POINT = [[20, 60, 200], [200, 20, 20], [30, 140, 40], [230, 140, 0], [130, 50, 170],
  [0, 150, 160], [160, 100, 40], [220, 60, 150]];
const pointColor = (k) => POINT[k % POINT.length];
const pale = ([r, g, b]) => [r + (255 - r) * 0.65, g + (255 - g) * 0.65, b + (255 - b) * 0.65];
function ramp(p) { // the simulator's two-class background ramp over P(class 1)
  p = Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 0.5;
  return [150 + 105 * p, 170 + 40 * (1 - Math.abs(2 * p - 1)), 255 - 105 * p];
}
function diverging(v) { // −1 orange … 0 white … +1 blue
  const t = Math.min(1, Math.abs(v));
  const [r, g, b] = v >= 0 ? [31, 95, 191] : [230, 120, 20];
  return [255 + (r - 255) * t, 255 + (g - 255) * t, 255 + (b - 255) * t];
}

function sizeCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth || c.width;
  const h = c.clientHeight || c.height;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [ctx, w, h];
}

// Fills the n × n ImageData `img` with colour(value), y rising upwards.
function heatImage(img, values, n, colour) {
  for (let iy = 0; iy < n; iy++) {
    for (let ix = 0; ix < n; ix++) {
      const [r, g, b] = colour(values[iy * n + ix]);
      const o = ((n - 1 - iy) * n + ix) * 4; // y rises upwards
      img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
    }
  }
  return img;
}

const scratch = document.createElement("canvas");
function blit(ctx, img, x, y, w, h) {
  if (scratch.width !== img.width || scratch.height !== img.height) {
    scratch.width = img.width;
    scratch.height = img.height;
  }
  scratch.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, x, y, w, h);
}

// What to draw again, set as measurements arrive and cleared by draw(): "all" (a new
// run or a new size), "state" (weights, gradient norms, unit statistics: at most every
// 250 ms), "grids" (decision boundary, neurons), "history" (new epochs). Each part is
// drawn only when what it shows changed.
const changed = new Set(["all"]);
const touch = (...what) => { for (const w of what) changed.add(w); };

// The decision boundary: its BOUNDARY_GRID² values go into a canvas of that many pixels,
// which CSS scales (smoothly) to its box; the data points lie on a canvas above it,
// drawn once per run and size.
let boundaryImage = null;
function drawBoundary() {
  const c = $("boundary");
  const n = BOUNDARY_GRID;
  if (c.width !== n || c.height !== n) { c.width = n; c.height = n; }
  const ctx = c.getContext("2d");
  if (!boundaryImage) boundaryImage = ctx.createImageData(n, n);
  const k = S.info.classes;
  const colour = k === 2 ? ramp : (v) => pale(pointColor(Math.round(v)));
  heatImage(boundaryImage, S.boundary, n, colour);
  ctx.putImageData(boundaryImage, 0, 0);
}

function drawPoints() {
  const [ctx, w, h] = sizeCanvas($("boundary-points"));
  ctx.clearRect(0, 0, w, h);
  const info = S.info;
  const [[x0, x1], [y0, y1]] = info.bounds;
  const px = (x) => ((x - x0) / (x1 - x0)) * w;
  const py = (y) => h - ((y - y0) / (y1 - y0)) * h;
  const dots = (xs, labels, test) => {
    for (let k = 0; k < info.classes; k++) {
      const [r, g, b] = pointColor(k);
      ctx.beginPath();
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] !== k) continue;
        const x = px(xs[2 * i]), y = py(xs[2 * i + 1]);
        ctx.moveTo(x + 3, y);
        ctx.arc(x, y, 3, 0, 2 * Math.PI);
      }
      if (test) {
        ctx.strokeStyle = `rgb(${r},${g},${b})`;
        ctx.lineWidth = 1.5;
        ctx.stroke();
      } else {
        ctx.fillStyle = `rgb(${r},${g},${b})`;
        ctx.fill();
        ctx.strokeStyle = "rgba(255,255,255,0.8)";
        ctx.lineWidth = 0.6;
        ctx.stroke();
      }
    }
  };
  dots(info.train_x, info.train_labels, false);
  dots(info.test_x, info.test_labels, true);
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui";
  ctx.fillText(`x ∈ [${x0.toFixed(1)}, ${x1.toFixed(1)}], y ∈ [${y0.toFixed(1)}, ${y1.toFixed(1)}]`, 6, h - 6);
}

// The network: the weights (and the layer labels) are drawn when the weights change;
// every unit's heatmap is drawn on top of them, from one small atlas canvas holding
// NEURON_GRID² pixels per unit, whenever the grids change. The tiles are opaque and
// cover exactly their own squares, so the weights underneath need no redrawing.
const atlas = document.createElement("canvas");
let atlasImage = null;
let netLayout = null;
function drawWeights() {
  const c = $("net");
  const info = S.info;
  const widths = [2, ...info.unit_layers.map((i) => info.layers[i][2])];
  const maxUnits = Math.max(...widths);
  const cols = widths.length;
  // Tiles no larger than the columns' spacing allows (deep nets on a narrow window).
  const across = Math.floor(((c.clientWidth || c.width) - 24) / (1 + 1.2 * (cols - 1)));
  const cell = Math.max(10, Math.min(40, across, Math.floor(560 / (maxUnits * 1.25))));
  const gap = Math.round(cell * 0.25);
  const height = `${Math.max(220, maxUnits * (cell + gap) + 40)}px`;
  if (c.style.height !== height) c.style.height = height;
  const [ctx, w, h] = sizeCanvas(c);
  ctx.clearRect(0, 0, w, h);
  const colX = (j) => Math.round(12 + (j * (w - 24 - cell)) / Math.max(1, cols - 1));
  const unitY = (j, u) => {
    const total = widths[j] * (cell + gap) - gap;
    return Math.round(24 + (h - 32 - total) / 2 + u * (cell + gap));
  };
  // Weights: dense layer j connects column j to column j + 1; one path per colour and
  // width bucket (a few strokes instead of one per weight).
  const ws = S.state.weights;
  const BUCKETS = 6;
  const paths = new Map();
  for (let j = 0; j + 1 < cols && j < ws.length; j++) {
    const L = ws[j];
    let max = 1e-12;
    for (const v of L.w) max = Math.max(max, Math.abs(v));
    for (let o = 0; o < L.outputs; o++) {
      for (let i = 0; i < L.inputs; i++) {
        const v = L.w[o * L.inputs + i];
        const b = Math.min(BUCKETS - 1, Math.floor((BUCKETS * Math.abs(v)) / max));
        const key = `${v >= 0 ? 1 : 0}:${b}`;
        if (!paths.has(key)) paths.set(key, []);
        paths.get(key).push(colX(j) + cell, unitY(j, i) + cell / 2, colX(j + 1), unitY(j + 1, o) + cell / 2);
      }
    }
  }
  for (const [key, seg] of paths) {
    const [pos, b] = key.split(":").map(Number);
    ctx.strokeStyle = pos ? "rgba(31,95,191,0.7)" : "rgba(230,120,20,0.7)";
    ctx.lineWidth = 0.2 + (3 * (b + 0.5)) / BUCKETS;
    ctx.beginPath();
    for (let q = 0; q < seg.length; q += 4) {
      ctx.moveTo(seg[q], seg[q + 1]);
      ctx.lineTo(seg[q + 2], seg[q + 3]);
    }
    ctx.stroke();
  }
  ctx.font = "11px system-ui";
  ctx.fillStyle = "#333";
  // Short labels when the columns are too close for "hidden N" (deep nets).
  const short = cols > 1 && colX(1) - colX(0) < ctx.measureText("hidden 88 ").width;
  for (let j = 0; j < cols; j++) {
    const label = j === 0 ? "input" : j === cols - 1 ? "output" : short ? `h${j}` : `hidden ${j}`;
    ctx.fillText(label, colX(j), 14);
  }
  const tiles = [];
  for (let j = 0; j < cols; j++) for (let u = 0; u < widths[j]; u++) tiles.push([j, u, colX(j), unitY(j, u)]);
  netLayout = { ctx, cell, tiles };
}

function drawNeurons() {
  const { ctx, cell, tiles } = netLayout;
  const [[x0, x1], [y0, y1]] = S.info.bounds;
  const n = NEURON_GRID;
  const mx = Math.max(Math.abs(x0), Math.abs(x1)), my = Math.max(Math.abs(y0), Math.abs(y1));
  const units = tiles.length;
  if (atlas.width !== n * units || atlas.height !== n) {
    atlas.width = n * units;
    atlas.height = n;
    atlasImage = null;
  }
  const actx = atlas.getContext("2d");
  if (!atlasImage) atlasImage = actx.createImageData(n * units, n);
  const d = atlasImage.data;
  let off = 0;
  for (let slot = 0; slot < units; slot++) {
    const [j, u] = tiles[slot];
    let vals, max = 1e-12;
    if (j > 0) {
      vals = S.neurons.subarray(off, off + n * n);
      off += n * n;
      for (let q = 0; q < vals.length; q++) max = Math.max(max, Math.abs(vals[q]));
    }
    for (let iy = 0; iy < n; iy++) {
      for (let ix = 0; ix < n; ix++) {
        const v = j === 0
          ? (u === 0 ? (x0 + ((x1 - x0) * ix) / (n - 1)) / mx : (y0 + ((y1 - y0) * iy) / (n - 1)) / my)
          : vals[iy * n + ix] / max;
        // diverging(v), inlined: −1 orange … 0 white … +1 blue.
        const t = v > 1 ? 1 : v < -1 ? 1 : v < 0 ? -v : v;
        const o = ((n - 1 - iy) * n * units + slot * n + ix) * 4;
        if (v >= 0) {
          d[o] = 255 - 224 * t; d[o + 1] = 255 - 160 * t; d[o + 2] = 255 - 64 * t;
        } else {
          d[o] = 255 - 25 * t; d[o + 1] = 255 - 135 * t; d[o + 2] = 255 - 235 * t;
        }
        d[o + 3] = 255;
      }
    }
  }
  actx.putImageData(atlasImage, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.strokeStyle = "#888";
  ctx.lineWidth = 0.5;
  for (let slot = 0; slot < units; slot++) {
    const [, , x, y] = tiles[slot];
    ctx.drawImage(atlas, slot * n, 0, n, n, x, y, cell, cell);
    ctx.strokeRect(x + 0.25, y + 0.25, cell - 0.5, cell - 0.5); // inside the tile
  }
}

// Line charts through uPlot (web/node_modules/uplot, copied into the site by
// `cargo xtask web`): one per element, rebuilt when its series, its width or its scale
// change, otherwise only given new data. `xs` are the x values (epochs); a value that
// is not finite (or not positive on a log scale) is a gap.
const charts = {};
function lineChart(id, xs, series, opts = {}) {
  const el = $(id);
  const width = Math.max(200, Math.floor(el.clientWidth || 400));
  const key = `${series.map((s) => s.label).join()}|${width}|${!!opts.log}`;
  let c = charts[id];
  if (!c || c.key !== key) {
    if (c) c.plot.destroy();
    const plot = new uPlot(
      {
        width,
        height: 130,
        cursor: { show: false },
        legend: { live: false },
        scales: { x: { time: false }, y: opts.log ? { distr: 3 } : { range: (u, lo, hi) => [Math.min(0, lo), hi > lo ? hi : lo + 1] } },
        axes: [{ size: 28 }, { size: 52 }],
        series: [
          { label: "epoch" },
          ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.6, dash: s.dash ? [4, 3] : undefined })),
        ],
      },
      [[], ...series.map(() => [])],
      el,
    );
    c = charts[id] = { plot, key };
  }
  const ok = (v) => (Number.isFinite(v) && (!opts.log || v > 0) ? v : null);
  const ys = series.map((s) => xs.map((_, i) => ok(s.values[i])));
  // uPlot needs at least one value to scale; an empty chart stays empty.
  const any = ys.some((y) => y.some((v) => v !== null));
  c.plot.setData(any ? [xs, ...ys] : [[], ...series.map(() => [])]);
}

const LAYER = ["#1f5fbf", "#d0401b", "#2a9d3a", "#9b3fb5", "#c08a00", "#00929b", "#7a5230", "#e0609a"];

function drawLoss() {
  const H = S.history;
  lineChart("loss-chart", H.map((e, i) => e.epoch ?? i + 1), [
    { values: H.map((e) => e.train_loss), colour: "#1f5fbf", label: "train" },
    { values: H.map((e) => e.test_loss ?? NaN), colour: "#d0401b", dash: true, label: "test" },
  ]);
}

function drawStatistics() {
  const layers = S.gradHistory.length ? S.gradHistory[S.gradHistory.length - 1].length : 0;
  const grads = [];
  for (let l = 0; l < layers; l++) {
    grads.push({ values: S.gradHistory.map((g) => g[l]), colour: LAYER[l % LAYER.length], label: `L${l + 1}` });
  }
  lineChart("grad-chart", S.gradEpochs, grads, { log: true });
  drawUnits();
  drawHistograms();
}

function drawUnits() {
  const [ctx, w, h] = sizeCanvas($("units-chart"));
  ctx.clearRect(0, 0, w, h);
  const st = S.state;
  const rows = [["dead", st.dead, "#444"], ["saturated", st.saturated, "#d0401b"]];
  ctx.font = "11px system-ui";
  const n = Math.max(st.dead.length, st.saturated.length, 1);
  const bw = (w - 80) / n;
  rows.forEach(([name, vals, colour], r) => {
    const y = 8 + r * ((h - 16) / 2);
    const bh = (h - 16) / 2 - 14;
    ctx.fillStyle = "#333";
    ctx.fillText(name, 4, y + bh / 2 + 4);
    vals.forEach((v, i) => {
      ctx.strokeStyle = "#ccc";
      ctx.strokeRect(76 + i * bw, y, bw - 4, bh);
      ctx.fillStyle = colour;
      ctx.fillRect(76 + i * bw, y + bh * (1 - v), bw - 4, bh * v);
      ctx.fillStyle = "#222";
      ctx.fillText(`L${i + 1} ${(100 * v).toFixed(0)}%`, 78 + i * bw, y + bh + 11);
    });
  });
}

function drawHistograms() {
  const [ctx, w, h] = sizeCanvas($("hist-chart"));
  ctx.clearRect(0, 0, w, h);
  const hs = S.state.histograms;
  const bw = w / Math.max(1, hs.length);
  ctx.font = "10px system-ui";
  hs.forEach((hist, l) => {
    const max = Math.max(1, ...hist.counts);
    const cw = (bw - 8) / hist.counts.length;
    hist.counts.forEach((c, i) => {
      const bh = ((h - 28) * c) / max;
      ctx.fillStyle = LAYER[l % LAYER.length];
      ctx.fillRect(l * bw + 4 + i * cw, h - 16 - bh, Math.max(1, cw - 1), bh);
    });
    ctx.fillStyle = "#333";
    const kind = S.info.layers[l][0];
    ctx.fillText(`${l + 1} ${kind}`, l * bw + 4, 10);
    ctx.fillText(`${hist.lo.toPrecision(2)} … ${hist.hi.toPrecision(2)}`, l * bw + 4, h - 4);
  });
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}
function drawText() {
  const last = S.history[S.history.length - 1];
  setText("epoch", String(S.state.epoch));
  setText("train-loss", last ? last.train_loss.toFixed(4) : "–");
  setText("test-loss", last && last.test_loss != null ? last.test_loss.toFixed(4) : "–");
  setText("accuracy", last
    ? `${(100 * last.train_accuracy).toFixed(1)} %` +
      (last.test_accuracy != null ? ` / test ${(100 * last.test_accuracy).toFixed(1)} %` : "")
    : "–");
  setText("hash", S.state.weights_hash);
}

// Draws the parts whose data changed (`changed`); the canvases' sizes are read (a
// layout) only when the weights or the size change.
function draw() {
  if (!S.info || !S.state) { changed.clear(); return; }
  const all = changed.has("all");
  const has = (w) => all || changed.has(w);
  const [text, grids, state, history] = [has("history") || has("state"), has("grids"), has("state"), has("history")];
  changed.clear();
  if (all) timed("points", drawPoints);
  if (grids) timed("boundary", drawBoundary);
  if (state) timed("weights", drawWeights);
  if (state || grids) timed("neurons", drawNeurons);
  if (history) timed("loss", drawLoss);
  if (state) timed("statistics", drawStatistics);
  if (text) timed("text", drawText);
}

// Each part's drawing time per frame while playing (the browser test reports them).
function timed(name, f) {
  const t = performance.now();
  f();
  if (!S.playing) return;
  const times = (S.parts[name] ??= []);
  if (times.length < MEASURED) times.push(performance.now() - t);
}

// ---- Experiment A's surfaces ----------------------------------------------------------------
const SURFACE_GRID = 32;
function viridis(t) { // a short approximation of viridis
  t = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  return stops[i].map((a, k) => a + (stops[i + 1][k] - a) * f);
}
function drawSurface(id, vals, log) {
  const [ctx, w, h] = sizeCanvas($(id));
  const tf = log ? (v) => Math.log10(Math.max(v, 1e-30)) : (v) => v;
  let lo = Infinity, hi = -Infinity;
  for (const v of vals) { const t = tf(v); if (Number.isFinite(t)) { lo = Math.min(lo, t); hi = Math.max(hi, t); } }
  const span = hi - lo || 1;
  const img = heatImage(ctx.createImageData(SURFACE_GRID, SURFACE_GRID), vals, SURFACE_GRID, (v) => viridis((tf(v) - lo) / span));
  blit(ctx, img, 0, 0, w, h);
  ctx.strokeStyle = "#fff";
  ctx.strokeRect(w / 2 - 3, h / 2 - 3, 6, 6); // the trained weights
  return [lo, hi];
}
async function surfaces() {
  if (!S.info) return null;
  pause();
  const span = Math.max(0.5, num("span", 8));
  try {
    const r = await ask("surface", { n: SURFACE_GRID, span });
    const n = SURFACE_GRID * SURFACE_GRID;
    const centre = r.centre;
    S.surface = { loss: r.grid.subarray(0, n), grad: r.grid.subarray(n), centre, span, ms: r.ms };
    const [l0, l1] = drawSurface("surface-loss", S.surface.loss, false);
    const [g0, g1] = drawSurface("surface-grad", S.surface.grad, true);
    $("surface-info").textContent = `w[0][0] ${centre[0].toFixed(2)} ± ${span}, w[1][0] ${centre[1].toFixed(2)} ± ${span}; ` +
      `loss ${l0.toPrecision(3)} … ${l1.toPrecision(3)}, ‖g‖ ${(10 ** g0).toExponential(1)} … ${(10 ** g1).toExponential(1)}`;
    return S.surface;
  } catch (e) {
    showError(e.message);
    return null;
  }
}

// ---- presets and wiring -------------------------------------------------------------------
const CUSTOM_TEXT =
  "Your own configuration: every control below is yours; pick an experiment above to load one of the notes' set-ups.";

function applyPreset(name) {
  const p = PRESETS.find((q) => q.name === name);
  $("preset-text").textContent = p ? p.text : "";
  if (!p || !p.controls) return;
  for (const [id, v] of Object.entries(p.controls)) {
    const el = $(id);
    if (el.type === "checkbox") el.checked = Boolean(v); else el.value = String(v);
  }
  updateVisibility();
}

function updateVisibility() {
  const ds = $("dataset").value;
  const k = ds.endsWith("K");
  $("classes").disabled = !k;
  $("loss").disabled = k;
  const s = $("schedule").value;
  $("gamma").disabled = !(s === "step" || s === "exponential");
  $("period").disabled = !(s === "step" || s === "cosine");
  $("min-lr").disabled = s !== "cosine";
}

async function main() {
  const t0 = performance.now();
  const sel = $("preset");
  for (const p of PRESETS) sel.add(new Option(p.label, p.name));
  sel.add(new Option("Custom (your own settings)", "custom"));
  sel.addEventListener("change", () => { applyPreset(sel.value); reset(); });
  $("config").addEventListener("change", (e) => {
    if (e.target.id === "preset") return;
    // Any other change makes it a configuration of the user's own, no longer the preset.
    sel.value = "custom";
    $("preset-text").textContent = CUSTOM_TEXT;
    if (e.target.id === "dataset") {
      // Each data set's own default spread (the simulator's: clusters 0.7, XOR margin
      // 0.1, spiral noise 0.05).
      const d = $("dataset").value;
      $("spread").value = d.startsWith("clusters") ? 0.7 : d === "xor" ? 0.1 : 0.05;
    }
    updateVisibility();
    reset();
  });
  $("config").addEventListener("submit", (e) => e.preventDefault());
  $("reset").addEventListener("click", reset);
  $("play").addEventListener("click", () => (S.playing ? pause() : play()));
  $("step").addEventListener("click", step);
  $("download").addEventListener("click", download);
  $("surface").addEventListener("click", surfaces);
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === " " && !e.target.closest("button")) { e.preventDefault(); S.playing ? pause() : play(); }
    if (e.key === "s") step();
    if (e.key === "r") reset();
  });
  window.addEventListener("resize", () => { touch("all"); loop(); });
  applyPreset(PRESETS[0].name);
  updateVisibility();
  await reset();
  S.loadMs = performance.now() - t0;
  S.ready = true;
}

// The browser test's hooks: a configuration set directly, and bounded training.
window.mpTest = {
  async setControls(controls, preset = null) {
    $("preset").value = preset || "custom";
    const p = PRESETS.find((q) => q.name === preset);
    $("preset-text").textContent = p ? p.text : CUSTOM_TEXT;
    for (const [id, v] of Object.entries(controls)) {
      const el = $(id);
      if (el.type === "checkbox") el.checked = Boolean(v); else el.value = String(v);
    }
    updateVisibility();
    await reset();
    return S.error;
  },
  presetControls(name) { return { ...PRESETS.find((q) => q.name === name).controls }; },
  async surfaces() {
    const r = await surfaces();
    return r && { loss: [...r.loss], grad: [...r.grad], ms: r.ms };
  },
  playFor(epochs) { S.frames = []; S.parts = {}; S.ticks = []; S.maxEpochs = S.history.length + epochs; play(); },
};

main().catch((e) => showError(`cannot start: ${e.message}`));
