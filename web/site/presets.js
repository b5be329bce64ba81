// The presets: a configuration of the controls and the paragraph of the notes
// (/work/shared/seed: CS231n lectures 6-7) it is about.
const BASE = {
  dataset: "clusters2", spread: 0.7, "offset-x": 0, "offset-y": 0, "test-ratio": 0.2,
  samples: 500, seed: 42, hidden: "16,16", activation: "relu", loss: "mse", init: "he",
  "init-scale": "", "bias-init": 0, "batch-norm": false, dropout: 0, optimizer: "sgd",
  lr: 0.1, schedule: "constant", "period": 500, gamma: 0.5, "min-lr": 0, warmup: 0, batch: 8, l2: 0,
};

export const PRESETS = [
  {
    name: "default",
    label: "Two clusters, 2-16-16-1 ReLU (the simulator's default)",
    text: "Two Gaussian clusters, a 2-16-16-1 ReLU net with a sigmoid output and MSE, He initialisation, SGD at 0.1 in batches of 8: microprop-sim train's defaults on 500 samples with a fifth held out.",
    controls: BASE,
  },
  {
    name: "vanishing",
    label: "Vanishing gradients: 9-deep sigmoid",
    text: "The sigmoid's derivative lies in (0, 0.25], so every sigmoid layer multiplies the back-propagated gradient by at most 0.25: the early layers of a deep sigmoid network get vanishing gradients (the notes work it through on z = W a + b, a = σ(z), MSE). Here nine 2-wide sigmoid layers: watch the gradient norms, layer 1 at the bottom, orders of magnitude below the last.",
    controls: { ...BASE, hidden: "2,2,2,2,2,2,2,2", activation: "sigmoid", init: "xavier", lr: 0.5 },
  },
  {
    name: "experiment-a",
    label: "Experiment A: 2-layer against 9-layer, 2 wide",
    text: "Experiment A: two clusters, networks whose every layer is 2 sigmoid neurons, a 2-layer and a 9-layer one. In the deep net the region where the loss changes is narrower and sharper; elsewhere the surface is a flat plateau where small updates change nothing. This preset trains the 2-layer net; set the hidden widths to 2,2,2,2,2,2,2,2 for the 9-layer one and compare how long the loss stays flat.",
    controls: { ...BASE, hidden: "2", activation: "sigmoid", init: "xavier", lr: 0.5 },
  },
  {
    name: "zigzag",
    label: "Zig-zag: all-positive inputs (offset 5, 5)",
    text: "The gradient of one neuron's weights is a common factor times its inputs a_j. When every input is positive (sigmoid or ReLU outputs, raw pixels) all of a neuron's weights move with the same sign, so the path to the optimum zig-zags. Zero-centre the inputs: set the offset back to 0, 0 and compare the loss curves.",
    controls: { ...BASE, "offset-x": 5, "offset-y": 5, hidden: "4", activation: "sigmoid", init: "xavier", lr: 0.3 },
  },
  {
    name: "dead-relu",
    label: "Dead ReLU: learning rate too high",
    text: "A ReLU whose pre-activation is negative for every input never learns again: a dead ReLU. A large update can push a unit there; the notes' remedy is a small positive bias (0.01). Train at this learning rate (binary cross-entropy, SGD at 10) and watch the dead fraction of layer 2 climb towards 100 % while the accuracy sticks at 50 %; then lower the rate to 0.1.",
    controls: { ...BASE, loss: "bce", lr: 10 },
  },
  {
    name: "symmetry",
    label: "Zero init: symmetry never broken",
    text: "All-zero initialisation makes every neuron identical: they get the same gradient and stay the same, the symmetry is never broken. Every hidden heatmap here stays identical however long it trains; choose a small random init (Normal, σ = 0.01) or He to break it.",
    controls: { ...BASE, init: "zeros", activation: "tanh", hidden: "8,8" },
  },
];
