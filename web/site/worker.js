// The playground's training thread: microprop-web (the .wasm) runs here, so the page's
// main thread only draws. Messages in: init, run, pause, step, model, surface; out: a
// reply per request ({id, ok, ...}) and, while running, ticks with the new epochs and the
// final measurements; between slices the page asks for a snapshot (snap) when it can draw
// one.
const BOUNDARY_GRID = 48;
const NEURON_GRID = 20;
const SLICE_MS = 4; // training per slice; the page asks for measurements (snap) between slices
const STATE_MS = 250; // the statistics' passes over the data at most this often

let wasm;
const enc = new TextEncoder();
const dec = new TextDecoder();
const outBytes = () => new Uint8Array(wasm.memory.buffer, wasm.mp_out_ptr(), wasm.mp_out_len());
const outText = () => dec.decode(outBytes());
const floats = () => new Float32Array(wasm.memory.buffer, wasm.mp_floats_ptr(), wasm.mp_floats_len()).slice();
function call(name, ...args) { if (wasm[name](...args) !== 0) throw new Error(outText()); }
function callJson(name, ...args) { call(name, ...args); return JSON.parse(outText()); }

const ready = (async () => {
  const bytes = await (await fetch("microprop_web.wasm")).arrayBuffer();
  const { instance } = await WebAssembly.instantiate(bytes, {});
  wasm = instance.exports;
  return bytes.byteLength;
})();

let running = false;
let gen = 0; // the run's number (ticks of an older run are ignored by the page)
let maxEpochs = Infinity;
let epochs = 0;
let stateAt = -Infinity;
let trainMs = 0;

// Each wasm call's count and total milliseconds since the run started (the browser test
// reports them).
let timing = {};
function timed(name, f) {
  const t = performance.now();
  const r = f();
  const e = (timing[name] ??= { calls: 0, ms: 0 });
  e.calls++;
  e.ms += performance.now() - t;
  return r;
}

function measure(full) {
  const m = {};
  const now = performance.now();
  if (full || now - stateAt >= STATE_MS) {
    m.state = timed("mp_state", () => callJson("mp_state"));
    stateAt = now;
  }
  // Both grids in one call and one copy, whose buffer is handed over (transferred), not
  // copied again, to the page.
  const grids = timed("mp_grids", () => { call("mp_grids", BOUNDARY_GRID, NEURON_GRID); return floats(); });
  m.boundary = grids.subarray(0, BOUNDARY_GRID * BOUNDARY_GRID);
  m.neurons = grids.subarray(BOUNDARY_GRID * BOUNDARY_GRID);
  m.timing = timing;
  return m;
}
const transfer = (m) => (m.boundary ? [m.boundary.buffer] : []);

function train(budgetMs) {
  const done = [];
  const t = performance.now();
  do {
    done.push(...timed("mp_epochs", () => callJson("mp_epochs", 1)));
    epochs++;
  } while (performance.now() - t < budgetMs && epochs < maxEpochs);
  trainMs += performance.now() - t;
  return done;
}

function slice() {
  if (!running) return;
  try {
    const done = train(SLICE_MS);
    const finished = epochs >= maxEpochs;
    if (finished) running = false;
    const m = finished ? measure(true) : {};
    postMessage({ op: "tick", gen, epochs: done, trainMs, done: finished, ...m }, transfer(m));
  } catch (e) {
    running = false;
    postMessage({ op: "tick", gen, epochs: [], error: e.message, done: true });
    return;
  }
  if (running) setTimeout(slice, 0);
}

onmessage = async ({ data: m }) => {
  const reply = (body) => postMessage({ id: m.id, ok: true, ...body }, transfer(body));
  try {
    const wasmBytes = await ready;
    switch (m.op) {
      case "init": {
        running = false;
        gen = m.gen;
        const bytes = enc.encode(JSON.stringify(m.cfg));
        const ptr = wasm.mp_input(bytes.length);
        new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
        const info = callJson("mp_init");
        epochs = 0;
        trainMs = 0;
        maxEpochs = Infinity;
        reply({ info, wasmBytes, ...measure(true) });
        break;
      }
      case "run":
        timing = {};
        maxEpochs = m.maxEpochs ?? Infinity;
        running = true;
        reply({});
        setTimeout(slice, 0);
        break;
      case "snap":
        reply({ gen, ...measure(false) });
        break;
      case "pause":
        running = false;
        reply({ ...measure(true) });
        break;
      case "step": {
        running = false;
        const done = callJson("mp_epochs", 1);
        epochs++;
        reply({ epochs: done, ...measure(true) });
        break;
      }
      case "model": {
        call("mp_model");
        reply({ bytes: outBytes().slice() });
        break;
      }
      case "surface": {
        running = false;
        const t = performance.now();
        const centre = callJson("mp_surface", m.n, m.span);
        reply({ centre, grid: floats(), ms: performance.now() - t });
        break;
      }
      default:
        throw new Error(`unknown request ${m.op}`);
    }
  } catch (e) {
    postMessage({ id: m.id, ok: false, error: e.message });
  }
};
