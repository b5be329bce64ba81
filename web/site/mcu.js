// The MCU panel: the chosen network's exact bytes (the core's formulas, as
// `microprop-sim train` reports them) and an estimate of its cost per training step on
// the M0, M3 and M4F from the measured cost table.

// firmware/README.md, "Training steps: instructions per step (batch 1, SGD, MSE, sigmoid
// output)", libm rows: N1 2-16-1 sigmoid, N2 2-32-32-1 sigmoid, N2 2-32-32-1 relu,
// N3 2-(9×2)-1 sigmoid, measured by `cargo xtask bench-mcu` (exact instruction counts).
export const COST_TABLE = "firmware/README.md, “Training steps: instructions per step (batch 1, SGD, MSE, sigmoid output)”, libm";
// A least-squares fit to those four rows of instructions = c + p · parameters + t ·
// (units with an exponential: sigmoid, tanh, elu, gelu, softmax); within 7.4 % (M4F),
// 0.8 % (M3) and 1.0 % (M0) of each measured net.
export const FIT = {
  M4F: { c: 514.6, p: 11.1, t: 50.6, worst: 0.074 },
  M3: { c: -30754.2, p: 356.6, t: 3221.2, worst: 0.008 },
  M0: { c: -75228.3, p: 572.2, t: 6957.9, worst: 0.010 },
};
const EXP = new Set(["sigmoid", "tanh", "elu", "gelu", "gelu-tanh", "softmax"]);
const M0_RAM = 16 * 1024;

export function estimate(core, params, expUnits) {
  const f = FIT[core];
  // The fit's constant is negative on the soft-float cores: never below the parameters'
  // own share.
  return Math.max(f.c + f.p * params + f.t * expUnits, f.p * params);
}

function cell(tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}
const fmt = (n) => Math.round(n).toLocaleString("en-US");

export function mcuPanel(info, cfg) {
  const div = document.createElement("div");
  const expUnits = info.layers
    .filter(([kind, , , act]) => (kind === "dense" || kind === "batch-norm") && EXP.has(act.split(":")[0]))
    .reduce((n, [, , out]) => n + out, 0);
  const toTrain = info.weight_bytes + info.training_bytes + info.optimizer_bytes;
  const data = info.train_labels.length * 9; // two f32 features and a u8 label per row
  const t = document.createElement("table");
  const rows = [
    ["weights, biases, state (+ one activation per layer)", info.weight_bytes],
    [`training buffers (batch capacity ${info.capacity})`, info.training_bytes],
    [`optimizer state (${cfg.optimizer})`, info.optimizer_bytes],
    ["to train", toTrain],
    [`training rows (${info.train_labels.length} × 9 B)`, data],
    ["model file", info.model_bytes],
  ];
  t.append(cell("caption", "Exact bytes (f32)"));
  for (const [name, v] of rows) {
    const tr = document.createElement("tr");
    tr.append(cell("td", name), cell("td", `${fmt(v)} B`));
    t.append(tr);
  }
  div.append(t);
  const fits = toTrain + data <= M0_RAM;
  const p = cell("p", fits
    ? `Fits a 16 KiB-RAM M0: ${fmt(toTrain + data)} B of 16,384 B (stack not counted).`
    : `Does not fit a 16 KiB-RAM M0: ${fmt(toTrain + data)} B > 16,384 B.`, fits ? "fits" : "nofit");
  div.append(p);
  const c = document.createElement("table");
  c.append(cell("caption", "Estimated cost per training sample (one online SGD step)"));
  const head = document.createElement("tr");
  head.append(cell("th", "core"), cell("th", "instructions"), cell("th", "per epoch"));
  c.append(head);
  for (const core of ["M0", "M3", "M4F"]) {
    const n = estimate(core, info.params, expUnits);
    const tr = document.createElement("tr");
    tr.append(cell("td", core), cell("td", `≈ ${fmt(n)}`), cell("td", `≈ ${fmt(n * info.train_labels.length)}`));
    c.append(tr);
  }
  div.append(c);
  div.append(cell("p", `An estimate: a linear fit (constant, ${info.params} parameters, ${expUnits} units with an ` +
    `exponential) to the measured table ${COST_TABLE}; within 7.4 % / 0.8 % / 1.0 % (M4F / M3 / M0) of each ` +
    `measured net. Batch norm, dropout, other optimizers and larger batches add work the table does not measure.` +
    (info.params < 57 || info.params > 1185 ? ` Extrapolated: the measured nets have 57 to 1,185 parameters.` : "")));
  return div;
}
