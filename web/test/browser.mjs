// The playground's browser test (`cargo xtask web --test`): headless Chromium driven by
// playwright-core. Usage: node browser.mjs URL CHROMIUM OUTDIR. Writes OUTDIR/result.json
// (measurements), OUTDIR/runs.tsv (each run's simulator flags, epochs and weights hash,
// which xtask repeats with microprop-sim), the downloaded model files and screenshots.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [url, executablePath, out] = process.argv.slice(2);
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
const page = await context.newPage();
// Chromium's long animation frames (each frame whose work, script to paint, took more
// than 50 ms), kept for the smoothness run.
await page.addInitScript(() => {
  window.longFrames = [];
  if (PerformanceObserver.supportedEntryTypes.includes("long-animation-frame")) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.longFrames.push({
          ms: e.duration, blockingMs: e.blockingDuration,
          renderMs: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
          scripts: e.scripts.map((x) => `${x.sourceFunctionName || x.invoker} ${x.duration.toFixed(0)} ms`),
        });
      }
    }).observe({ type: "long-animation-frame" });
  } else {
    window.longFrames = null;
  }
});
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
page.on("pageerror", (e) => errors.push(String(e)));
page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
const external = [];
page.on("request", (r) => { if (!r.url().startsWith(url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) external.push(r.url()); });

const t0 = Date.now();
await page.goto(url);
await page.waitForFunction(() => window.mp && window.mp.ready, null, { timeout: 30000 });
const load = await page.evaluate(() => ({
  loadMs: performance.now(), wasmBytes: window.mp.wasmBytes, startMs: window.mp.loadMs,
}));
console.log(`loaded in ${Date.now() - t0} ms (page clock ${load.loadMs.toFixed(0)} ms, wasm start ${load.startMs.toFixed(0)} ms), .wasm ${load.wasmBytes} bytes`);

// Every control has a label and can take the keyboard focus.
const unlabeled = await page.evaluate(() =>
  [...document.querySelectorAll("input, select, button")]
    .filter((el) => el.tagName !== "BUTTON" && el.labels.length === 0).map((el) => el.id));
check(unlabeled.length === 0, `every input and select has a label (${unlabeled.join(", ") || "all"})`);
await page.keyboard.press("Tab");
const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
check(Boolean(focused), `Tab focuses a control (${focused})`);

const runs = [];
const results = [];
async function presetControls(name) {
  return page.evaluate((n) => window.mpTest.presetControls(n), name);
}
const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const cdp = await context.newCDPSession(page);
await cdp.send("Performance.enable");
const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
async function train(name, controls, epochs, { download = false, preset = null, seed = null, smooth = false } = {}) {
  if (preset) controls = { ...(await presetControls(preset)), ...(seed != null ? { seed } : {}) };
  const err = await page.evaluate(([c, p]) => window.mpTest.setControls(c, p), [controls, preset]);
  check(!err, `${name}: configuration accepted${err ? `: ${err}` : ""}`);
  const loadBefore = loadavg();
  const m0 = await metrics();
  await page.evaluate(() => { if (window.longFrames) window.longFrames.length = 0; });
  const started = Date.now();
  await page.evaluate((n) => window.mpTest.playFor(n), epochs);
  await page.waitForFunction((n) => window.mp.history.length >= n && !window.mp.playing, epochs, { timeout: 120000 });
  const wall = (Date.now() - started) / 1000;
  const m1 = await metrics();
  const r = await page.evaluate(() => {
    const S = window.mp;
    // Nearest-rank quantiles, one convention for the median and the 95th percentile.
    const stats = (xs) => {
      const f = xs.length ? [...xs].sort((a, b) => a - b) : [0];
      const q = (p) => f[Math.min(f.length - 1, Math.max(0, Math.ceil(p * f.length) - 1))];
      return { n: xs.length, median: q(0.5), p95: q(0.95), max: f[f.length - 1] };
    };
    const f = stats(S.frames);
    const gaps = S.ticks.slice(1).map((t, i) => t - S.ticks[i]);
    return {
      last: S.history[S.history.length - 1], epochs: S.history.length, hash: S.state.weights_hash,
      sim_args: S.info.sim_args, frames: S.frames.length, frameMax: f.max,
      frameP95: f.p95, frameMedian: f.median,
      parts: Object.fromEntries(Object.entries(S.parts).map(([k, v]) => [k, stats(v)])),
      animationFrames: S.ticks.length, frameGaps: stats(gaps), worker: S.worker,
      longFrames: window.longFrames,
      trainMs: S.trainMs, error: S.error, state: S.state,
    };
  });
  r.name = name;
  r.loadavg = [loadBefore, loadavg()];
  const busy = (k) => 1000 * (m1[k] - m0[k]);
  r.mainThreadMs = { task: busy("TaskDuration"), script: busy("ScriptDuration"), layout: busy("LayoutDuration"), style: busy("RecalcStyleDuration") };
  r.wallSeconds = wall;
  r.epochsPerSecond = r.epochs / wall;
  r.framesPerSecond = r.frames / wall;
  check(!r.error, `${name}: no error shown (${r.error || "none"})`);
  console.log(`${name}: ${r.epochs} epochs in ${wall.toFixed(2)} s = ${r.epochsPerSecond.toFixed(1)} epochs/s, ` +
    `${r.frames} frames = ${r.framesPerSecond.toFixed(1)} frames/s, main-thread work per frame: median ${r.frameMedian.toFixed(1)} ms, ` +
    `p95 ${r.frameP95.toFixed(1)} ms, max ${r.frameMax.toFixed(1)} ms; accuracy ${(100 * r.last.train_accuracy).toFixed(1)} %` +
    (r.last.test_accuracy != null ? ` (test ${(100 * r.last.test_accuracy).toFixed(1)} %)` : "") + `, hash ${r.hash}`);
  if (smooth) {
    const ms = (x) => `median ${x.median.toFixed(1)}, p95 ${x.p95.toFixed(1)}, max ${x.max.toFixed(1)} ms`;
    console.log(`  load average ${r.loadavg[0]} before, ${r.loadavg[1]} after; ${r.animationFrames} animation frames = ` +
      `${(r.animationFrames / wall).toFixed(1)}/s, between them ${ms(r.frameGaps)}`);
    console.log(`  drawn per frame (JS, only what changed): ` +
      Object.entries(r.parts).map(([k, v]) => `${k} ${v.n}× ${ms(v)}`).join("; "));
    const m = r.mainThreadMs, per = (v) => (v / Math.max(1, r.frames)).toFixed(1);
    console.log(`  main thread per drawn frame (Chromium's Performance metrics): busy ${per(m.task)} ms ` +
      `(script ${per(m.script)}, layout ${per(m.layout)}, style ${per(m.style)}; the rest is paint, canvas raster, compositing)`);
    console.log(`  training thread (worker), per call: ` +
      Object.entries(r.worker || {}).map(([k, v]) => `${k} ${v.calls}× ${(v.ms / v.calls).toFixed(2)} ms`).join(", "));
    const lf = r.longFrames;
    console.log(lf == null ? "  long animation frames: not supported by this Chromium"
      : `  frames over 50 ms (Chromium's long-animation-frame): ${lf.length}` +
        (lf.length ? `, longest ${Math.max(...lf.map((e) => e.ms)).toFixed(0)} ms: ` +
          lf.slice().sort((a, b) => b.ms - a.ms).slice(0, 3).map((e) => `${e.ms.toFixed(0)} ms (rendering ${e.renderMs.toFixed(0)} ms; ${e.scripts.join(", ") || "no script"})`).join("; ") : ""));
  }
  r.model = "-";
  if (download) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    r.model = `${name}.mpm`;
    await dl.saveAs(path.join(out, r.model));
    const size = fs.statSync(path.join(out, r.model)).size;
    check(size > 0, `${name}: model downloaded (${size} bytes)`);
  }
  runs.push(r);
  const { state, ...kept } = r;
  results.push(kept);
  return r;
}

const base = {
  dataset: "clusters2", spread: 0.7, "offset-x": 0, "offset-y": 0, "test-ratio": 0.2, samples: 500,
  seed: 42, hidden: "16,16", activation: "relu", loss: "mse", init: "he", "init-scale": "",
  "bias-init": 0, "batch-norm": false, dropout: 0, optimizer: "sgd", lr: 0.1, schedule: "constant",
  warmup: 0, batch: 8, l2: 0,
};
for (const seed of [42, 7]) {
  const r = await train(`clusters-relu-seed${seed}`, { ...base, seed }, seed === 42 ? 200 : 30, { download: seed === 42 });
  check(r.last.train_accuracy >= 0.95 && r.last.test_accuracy >= 0.95,
    `two clusters, 2-16-16-1 ReLU, seed ${seed}: train and test accuracy ≥ 95 %`);
  if (seed === 42) await page.screenshot({ path: path.join(out, "playground-1280x800.png") });
}
// Smoothness: the issue's 2-16-16-1 on 500 points, long enough for a few seconds of frames.
// Always asserted: ≥ 10 epochs/s, and the page's own drawing per frame p95 ≤ 50 ms. The
// frame rate (≥ 30 per second with a new boundary and neurons) and the longest frame's
// drawing (≤ 50 ms) only when the machine is not crowded (1-minute load average ≤ 2 per
// core): at load averages 7–12 on this 2-core machine (other builds running) the page
// drew 25–50 such frames/s, a few runs below 30, and single frames waited 50–140 ms for
// the CPU: there the OS, not the page, sets the rate.
{
  const r = await train("smoothness-2-16-16-1", base, 750, { smooth: true });
  const cores = os.cpus().length;
  const load1 = parseFloat(r.loadavg[0]);
  const fresh = r.parts.boundary ? r.parts.boundary.n : 0;
  const freshRate = fresh / r.wallSeconds;
  const lf = r.longFrames;
  console.log(`smoothness: 2-16-16-1 on 500 points at load average ${r.loadavg[0]} on ${cores} cores: ` +
    `${r.epochsPerSecond.toFixed(1)} epochs/s, ${r.framesPerSecond.toFixed(1)} frames/s drawn ` +
    `(${freshRate.toFixed(1)}/s with a new boundary and neurons), main-thread work per frame median ` +
    `${r.frameMedian.toFixed(1)} ms, p95 ${r.frameP95.toFixed(1)} ms, max ${r.frameMax.toFixed(1)} ms` +
    (lf == null ? "" : `, ${lf.length} frame${lf.length === 1 ? "" : "s"} over 50 ms` +
      (lf.length ? ` (longest ${Math.max(...lf.map((e) => e.ms)).toFixed(0)} ms)` : "")));
  check(r.epochsPerSecond >= 10, `smoothness: ≥ 10 epochs/s while drawing (${r.epochsPerSecond.toFixed(1)})`);
  check(r.frameP95 <= 50, `smoothness: the page's drawing per frame p95 ≤ 50 ms (${r.frameP95.toFixed(1)} ms)`);
  if (load1 <= 2 * cores) {
    check(freshRate >= 30, `smoothness: ≥ 30 frames/s with a new boundary and neurons (${freshRate.toFixed(1)})`);
    check(r.frameMax <= 50, `smoothness: no frame's drawing over 50 ms (max ${r.frameMax.toFixed(1)} ms)`);
  } else {
    console.log(`  not asserted (load average ${load1} > 2 per core): ≥ 30 frames/s, no frame's drawing over 50 ms`);
  }
}
await train("spirals-bn-dropout-adam", {
  ...base, dataset: "spiralsK", classes: 3, samples: 300, hidden: "16,16", activation: "tanh",
  "batch-norm": true, dropout: 0.1, optimizer: "adam", lr: 0.01, batch: 16, "test-ratio": 0.2, seed: 3,
}, 20, { download: true });

// The presets, each with the finding it is about (asserted for two seeds where it is a
// claim about training).
const ratio = (g) => g[0] / g[g.length - 1];
for (const seed of [42, 7]) {
  const v = await train(`preset-vanishing-seed${seed}`, null, 3, { preset: "vanishing", seed });
  check(ratio(v.state.grad_norms) < 1e-3,
    `vanishing, seed ${seed}: first layer's gradient norm < 1e-3 of the last's (${ratio(v.state.grad_norms).toExponential(2)}: ${v.state.grad_norms.map((g) => g.toExponential(1)).join(", ")})`);
  const dead = await train(`preset-dead-relu-seed${seed}`, null, 10, { preset: "dead-relu", seed });
  const calm = await train(`dead-relu-lr0.1-seed${seed}`, { ...(await presetControls("dead-relu")), lr: 0.1, seed }, 10);
  const frac = (r) => Math.max(...r.state.dead);
  check(frac(dead) > frac(calm) && frac(dead) >= 0.5,
    `dead ReLU, seed ${seed}: at lr 10 a layer has ${(100 * frac(dead)).toFixed(0)} % dead units, at lr 0.1 ${(100 * frac(calm)).toFixed(0)} %`);
  const sym = await train(`preset-symmetry-seed${seed}`, null, 10, { preset: "symmetry", seed });
  const rows = (L) => [...Array(L.outputs).keys()].map((o) => JSON.stringify(L.w.slice(o * L.inputs, (o + 1) * L.inputs)));
  const same = sym.state.weights.slice(0, -1).every((L) => new Set(rows(L)).size === 1);
  check(same, `zero init, seed ${seed}: every hidden layer's units keep identical weights after 10 epochs`);
  const zz = await train(`preset-zigzag-seed${seed}`, null, 20, { preset: "zigzag", seed });
  const centred = await train(`zigzag-centred-seed${seed}`, { ...(await presetControls("zigzag")), "offset-x": 0, "offset-y": 0, seed }, 20);
  check(centred.last.train_loss < zz.last.train_loss,
    `zig-zag, seed ${seed}: zero-centred inputs reach a lower loss in 20 epochs (${centred.last.train_loss.toFixed(4)} < ${zz.last.train_loss.toFixed(4)})`);
}
// Experiment A: the 9-layer 2-wide sigmoid net's surface over w[0][0] × w[1][0] is a
// plateau: its steepest gradient is below 1e-3 of the 2-layer net's.
for (const seed of [42, 7]) {
  const steepest = {};
  for (const [depth, hidden] of [[2, "2"], [9, "2,2,2,2,2,2,2,2"]]) {
    await train(`experiment-a-${depth}-layers-seed${seed}`, { ...(await presetControls("experiment-a")), hidden, seed }, 30);
    const s = await page.evaluate(() => window.mpTest.surfaces());
    steepest[depth] = Math.max(...s.grad);
    console.log(`experiment A, ${depth} layers, seed ${seed}: surface (32 × 32) in ${s.ms.toFixed(0)} ms, steepest gradient ${steepest[depth].toExponential(2)}`);
  }
  check(steepest[9] < 1e-3 * steepest[2],
    `experiment A, seed ${seed}: the 9-layer surface is a plateau (steepest ${steepest[9].toExponential(2)} < 1e-3 × ${steepest[2].toExponential(2)})`);
}
await page.screenshot({ path: path.join(out, "playground-preset.png") });

await page.setViewportSize({ width: 390, height: 844 });
await page.waitForTimeout(200);
await page.evaluate(() => window.dispatchEvent(new Event("resize")));
const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
check(overflow <= 1, `narrow window: no horizontal scrolling (${overflow} px)`);
await page.screenshot({ path: path.join(out, "playground-narrow.png"), fullPage: true });

check(errors.length === 0, `no console error (${errors.join(" | ") || "none"})`);
check(external.length === 0, `nothing loaded from elsewhere (${external.join(", ") || "none"})`);
await browser.close();

fs.writeFileSync(path.join(out, "result.json"), JSON.stringify({ url, load, loadavg: loadavg(), runs: results, errors, failures }, null, 2));
fs.writeFileSync(path.join(out, "runs.tsv"),
  runs.map((r) => [r.name, r.epochs, r.hash, r.model, ...r.sim_args].join("\t")).join("\n") + "\n");
if (failures.length) {
  console.error(`browser test: ${failures.length} check(s) failed`);
  process.exit(1);
}
