// The presets: a configuration of the controls and the paragraph of the notes it is about.
export const PRESETS = [
  {
    name: "custom",
    label: "Two clusters, 2-16-16-1 ReLU (the simulator's default)",
    text: "Two Gaussian clusters, a 2-16-16-1 ReLU net with a sigmoid output and MSE, He initialisation, SGD at 0.1 in batches of 8: microprop-sim train's defaults on 500 samples with a fifth held out.",
    controls: {
      dataset: "clusters2", spread: 0.7, "offset-x": 0, "offset-y": 0, "test-ratio": 0.2,
      samples: 500, seed: 42, hidden: "16,16", activation: "relu", loss: "mse", init: "he",
      "init-scale": "", "bias-init": 0, "batch-norm": false, dropout: 0, optimizer: "sgd",
      lr: 0.1, schedule: "constant", warmup: 0, batch: 8, l2: 0,
    },
  },
];
