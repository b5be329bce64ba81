//! # microprop-web
//!
//! The engine of the browser playground (`cargo xtask web`): a run-time shaped network of
//! the core's layers ([`microprop::layer::Sequential`] on the heap, [`Heap`]) trained by
//! the core's [`Trainer`] in WebAssembly, step by step, with everything the page draws
//! measured here: losses and accuracies, the decision boundary, every neuron's output on
//! a grid, weights, per-layer gradient norms, dead and saturated fractions, the weights
//! hash and the model file.
//!
//! A [`Playground`] trains through the same calls in the same order as `microprop-sim
//! train` (data, split, layers, initialisation, trainer, epochs), so the same
//! configuration and seed give the same weights hash and the same model file bytes
//! (`web/tests/web.rs` checks it against the simulator). [`ffi`] is the page's C-ABI
//! interface over one playground.

pub mod ffi;
pub mod named;
pub mod optim;

use microprop::format::{self, Extras, Progress};
use microprop::layer::{DynLayer, Kind, Pass, Sequential};
use microprop::{
    diagnostics, train as core_train, Activation, Decay, DefaultRng, Init, Libm, Loss, Model,
    Network, Optimizer, Regularization, Schedule, Trainer, Training,
};
use microprop_heap::Heap;
use serde::{Deserialize, Serialize};

pub use microprop_heap::data::{Data, DatasetKind};
pub use optim::{AnyOptimizer, OptimizerKind};

/// The playground's networks: the core's run-time layers on the heap, with their training
/// buffers (the simulator's `HostNet<f32, Libm>`).
pub type Net = Training<Sequential<f32, Heap>, Libm>;

/// What the page's messages are: a sentence naming what is wrong.
pub type Res<T> = std::result::Result<T, String>;

fn core_err(what: &str) -> impl Fn(microprop::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The loss, as `--loss` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Mean squared error.
    Mse,
    /// Binary cross-entropy.
    Bce,
    /// Cross-entropy over a softmax.
    Ce,
}

impl LossKind {
    /// The core's loss.
    pub fn loss(self) -> Loss {
        match self {
            LossKind::Mse => Loss::Mse,
            LossKind::Bce => Loss::BinaryCrossEntropy,
            LossKind::Ce => Loss::CrossEntropy,
        }
    }
}

/// The initialiser, as `--init` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InitKind {
    /// All zero.
    Zeros,
    /// Normal with σ = `init_scale` (default 0.01).
    Normal,
    /// Xavier normal, times `init_scale` (default 1).
    Xavier,
    /// He normal, times `init_scale` (default 1).
    He,
}

/// The learning-rate schedule (the core's [`Schedule`]); the simulator's `train` has
/// only `constant` without warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The rate stays.
    Constant,
    /// `γ^⌊t / every⌋`.
    Step {
        /// Steps between decays.
        every: u32,
        /// Factor per decay.
        gamma: f64,
    },
    /// `γ^t`.
    Exponential {
        /// Factor per step.
        gamma: f64,
    },
    /// Cosine annealing over `steps` to `min_lr`.
    Cosine {
        /// Length of the cosine in steps.
        steps: u32,
        /// Final rate.
        min_lr: f64,
    },
}

/// A playground run's configuration: the flags of `microprop-sim train` of the same
/// names (`--val-fraction` is `val_fraction`, the page's test ratio), plus a schedule.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Generated data set.
    pub dataset: DatasetKind,
    /// Classes (clusters and spirals; XOR has 2).
    pub classes: u32,
    /// Samples, held-out ones included.
    pub samples: u32,
    /// Cluster spread, spiral noise or XOR margin (`None`: the data set's default).
    pub spread: Option<f32>,
    /// Shift of every sample.
    pub offset: [f32; 2],
    /// Fraction of the rows held out as the test set (stratified, its own random stream).
    pub val_fraction: f64,
    /// Seed for data, initialisation and shuffling.
    pub seed: u64,
    /// Layer sizes, input first.
    pub layers: Vec<usize>,
    /// Hidden activation (the core's names, `leaky-relu:0.1` for another α).
    pub activation: String,
    /// Output activation.
    pub output: String,
    /// Loss.
    pub loss: LossKind,
    /// Initialiser.
    pub init: InitKind,
    /// σ for `normal`; a multiplier for `xavier`/`he`.
    pub init_scale: Option<f32>,
    /// Every bias starts at this value.
    pub bias_init: f32,
    /// Batch norm after every hidden dense layer.
    pub batch_norm: bool,
    /// Dropout probability after every hidden layer.
    pub dropout: Option<f64>,
    /// Optimizer.
    #[serde(with = "named")]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub lr: f32,
    /// Learning-rate schedule, per optimizer step.
    pub schedule: ScheduleKind,
    /// Linear warm-up steps before the schedule (0 = none).
    pub warmup: u32,
    /// Mini-batch size.
    pub batch: u32,
    /// L2 strength λ.
    pub l2: f32,
}

impl Default for Config {
    /// `microprop-sim train`'s defaults.
    fn default() -> Self {
        Config {
            dataset: DatasetKind::Clusters,
            classes: 2,
            samples: 200,
            spread: None,
            offset: [0.0, 0.0],
            val_fraction: 0.0,
            seed: 42,
            layers: vec![2, 16, 16, 1],
            activation: "relu".into(),
            output: "sigmoid".into(),
            loss: LossKind::Mse,
            init: InitKind::He,
            init_scale: None,
            bias_init: 0.0,
            batch_norm: false,
            dropout: None,
            optimizer: OptimizerKind::Sgd,
            lr: 0.1,
            schedule: ScheduleKind::Constant,
            warmup: 0,
            batch: 8,
            l2: 0.0,
        }
    }
}

impl Config {
    /// The `microprop-sim train` flags of this configuration (not the schedule, which
    /// `train` does not take): the page shows them so that a run can be repeated.
    pub fn sim_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--dataset".into(),
            self.dataset.name().into(),
            "--classes".into(),
            self.classes.to_string(),
            "--samples".into(),
            self.samples.to_string(),
            "--seed".into(),
            self.seed.to_string(),
            "--layers".into(),
            self.layers
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(","),
            "--activation".into(),
            self.activation.clone(),
            "--output".into(),
            self.output.clone(),
            "--loss".into(),
            format!("{:?}", self.loss).to_lowercase(),
            "--init".into(),
            format!("{:?}", self.init).to_lowercase(),
            "--bias-init".into(),
            self.bias_init.to_string(),
            "--optimizer".into(),
            self.optimizer.to_string(),
            "--lr".into(),
            self.lr.to_string(),
            "--batch".into(),
            self.batch.to_string(),
            "--l2".into(),
            self.l2.to_string(),
        ];
        if let Some(s) = self.spread {
            a.extend(["--spread".into(), s.to_string()]);
        }
        if self.offset != [0.0, 0.0] {
            a.push(format!("--offset={},{}", self.offset[0], self.offset[1]));
        }
        if self.val_fraction > 0.0 {
            a.extend(["--val-fraction".into(), self.val_fraction.to_string()]);
        }
        if let Some(s) = self.init_scale {
            a.extend(["--init-scale".into(), s.to_string()]);
        }
        if self.batch_norm {
            a.push("--batch-norm".into());
        }
        if let Some(p) = self.dropout {
            a.extend(["--dropout".into(), p.to_string()]);
        }
        a
    }

    fn activations(&self) -> Res<(Activation, Activation)> {
        let hidden: Activation = self
            .activation
            .parse()
            .map_err(|e| format!("activation `{}`: {e}", self.activation))?;
        if hidden.is_output_only() {
            return Err(format!(
                "activation `{}` is only valid on the output layer",
                self.activation
            ));
        }
        let output: Activation = self
            .output
            .parse()
            .map_err(|e| format!("output activation `{}`: {e}", self.output))?;
        Ok((hidden, output))
    }

    /// The checks of `microprop-sim train` that the core does not make itself.
    fn check(&self) -> Res<usize> {
        if self.layers.len() < 2 || self.layers.len() > 12 {
            return Err(format!(
                "layers: 2 to 12 sizes (input first), not {}",
                self.layers.len()
            ));
        }
        if self.layers.first() != Some(&2) {
            return Err("layers: the input layer takes the data's 2 features".into());
        }
        if self.layers.iter().any(|&n| n == 0 || n > 64) {
            return Err("layers: every size from 1 to 64".into());
        }
        if !(1..=4096).contains(&self.samples) {
            return Err(format!("samples {}: from 1 to 4096", self.samples));
        }
        if !(1..=4096).contains(&self.batch) {
            return Err(format!("batch {}: from 1 to 4096", self.batch));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(format!("test fraction {}: in [0, 1)", self.val_fraction));
        }
        let classes = match self.dataset {
            DatasetKind::Xor => 2,
            _ => self.classes as usize,
        };
        if !(2..=16).contains(&classes) {
            return Err(format!("classes {classes}: from 2 to 16"));
        }
        let outputs = self.layers.last().copied().unwrap_or(1);
        if !(outputs == classes || (outputs == 1 && classes == 2)) {
            return Err(format!(
                "the output layer has {outputs} unit(s) but the data has {classes} classes \
                 (use 1 output for 2 classes, or one per class)"
            ));
        }
        let (_, output) = self.activations()?;
        self.loss
            .loss()
            .check(output, outputs)
            .map_err(|e| format!("loss {:?} with output {}: {e}", self.loss, self.output))?;
        if self.batch_norm && self.batch < 2 {
            return Err("batch norm normalises over a batch: batch at least 2".into());
        }
        if self.dataset == DatasetKind::Xor && self.spread.is_some_and(|s| s >= 1.0) {
            return Err("spread: the XOR margin must be below 1".into());
        }
        if let Some(p) = self.dropout {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("dropout {p}: a probability in [0, 1)"));
            }
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(format!("L2 {}: finite and ≥ 0", self.l2));
        }
        Ok(classes)
    }

    fn schedule(&self) -> Res<Option<Schedule>> {
        let decay = match self.schedule {
            ScheduleKind::Constant if self.warmup == 0 => return Ok(None),
            ScheduleKind::Constant => Decay::Constant,
            ScheduleKind::Step { every, gamma } => Decay::Step { every, gamma },
            ScheduleKind::Exponential { gamma } => Decay::Exponential { gamma },
            ScheduleKind::Cosine { steps, min_lr } => Decay::Cosine { steps, min_lr },
        };
        Schedule::new(f64::from(self.lr), decay)
            .and_then(|s| s.with_warmup(self.warmup))
            .map(Some)
            .map_err(core_err("schedule"))
    }
}

/// The hidden layers with the extras, as `microprop-sim train` builds them: the core's
/// [`microprop_heap::layers_with`], all weights zero.
fn layers(cfg: &Config, hidden: Activation, output: Activation) -> Res<Vec<DynLayer<f32, Heap>>> {
    let extras = microprop_heap::Extras {
        batch_norm: cfg.batch_norm,
        dropout: cfg.dropout,
    };
    microprop_heap::layers_with(&cfg.layers, hidden, output, extras).map_err(core_err("layers"))
}

/// One epoch's measurements.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EpochStats {
    /// Epochs done (1-based).
    pub epoch: u32,
    /// Mean loss over the training rows (evaluation mode).
    pub train_loss: f64,
    /// Accuracy over the training rows.
    pub train_accuracy: f64,
    /// Mean loss over the held-out rows (`None` without a test set).
    pub test_loss: Option<f64>,
    /// Accuracy over the held-out rows.
    pub test_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub lr: f64,
}

/// The network's state now, for the page (see [`Playground::state`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct State {
    /// Epochs done.
    pub epoch: u32,
    /// Optimizer steps done.
    pub steps: u32,
    /// FNV-1a of the weights, as the simulator prints it (16 hex digits).
    pub weights_hash: String,
    /// Per trainable layer, the L2 norm of the mean gradient over the training rows.
    pub grad_norms: Vec<f64>,
    /// Per hidden layer with units, the fraction of units that are 0 on every training
    /// row (dead ReLUs).
    pub dead: Vec<f64>,
    /// Per layer with units, the fraction of activations within 1e-2 of a sigmoid's or
    /// tanh's bounds.
    pub saturated: Vec<f64>,
    /// Per layer with units, a histogram of its activations over the training rows.
    pub histograms: Vec<Histogram>,
    /// The dense layers' weights, `w[o · inputs + i]`, with their shapes.
    pub weights: Vec<DenseWeights>,
}

/// A histogram of one layer's activations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Counts per bin.
    pub counts: Vec<u32>,
}

/// One dense layer's weights and biases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DenseWeights {
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// Weights, row-major per output.
    pub w: Vec<f32>,
    /// Biases.
    pub b: Vec<f32>,
}

/// The static facts of a run, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Info {
    /// The training rows, `[x, y]` pairs.
    pub train_x: Vec<f32>,
    /// Their labels.
    pub train_labels: Vec<u8>,
    /// The held-out rows.
    pub test_x: Vec<f32>,
    /// Their labels.
    pub test_labels: Vec<u8>,
    /// Classes.
    pub classes: usize,
    /// The grids' bounds: `[x0, x1]`, `[y0, y1]` (the data's box, padded by 10 %).
    pub bounds: ([f64; 2], [f64; 2]),
    /// Trainable parameters.
    pub params: usize,
    /// Per layer: kind name, inputs, outputs, activation (as the core spells it).
    pub layers: Vec<(String, usize, usize, String)>,
    /// Indices into `layers` of the layers whose units the page draws (a dense layer's
    /// batch norm, not the identity dense under it).
    pub unit_layers: Vec<usize>,
    /// Bytes of the model file [`Playground::model_file`] writes.
    pub model_bytes: usize,
    /// Optimizer state scalars.
    pub optimizer_state: usize,
    /// Bytes of the network's parameters and state plus one activation per layer: what
    /// `microprop-sim train` reports as `bytes` (the formula of the core's
    /// `Network::BYTES` for the compile-time network of the same shape).
    pub weight_bytes: usize,
    /// Bytes of the training buffers for [`capacity`](Self::capacity) rows: the
    /// simulator's `training_bytes` (the core's `Network::training_bytes`).
    pub training_bytes: usize,
    /// Bytes of the optimizer's state (`f32` each).
    pub optimizer_bytes: usize,
    /// Batch capacity of the training buffers.
    pub capacity: usize,
    /// The equivalent `microprop-sim train` flags (no `--epochs`).
    pub sim_args: Vec<String>,
}

/// One training run: data, network, optimizer, trainer and their random stream, stepped
/// an epoch at a time exactly as `microprop-sim train` steps them.
#[derive(Debug)]
pub struct Playground {
    cfg: Config,
    data: Data,
    train: Data,
    test: Option<Data>,
    net: Net,
    opt: AnyOptimizer<Libm>,
    trainer: Trainer,
    schedule: Option<Schedule>,
    order: Vec<u16>,
    rng: DefaultRng,
    loss: Loss,
    history: Vec<EpochStats>,
}

impl Playground {
    /// A fresh run of `cfg`: data generated, held-out rows split off, network initialised
    /// (the simulator's order of random draws).
    ///
    /// # Errors
    /// A sentence naming the bad setting.
    pub fn new(cfg: Config) -> Res<Self> {
        let classes = cfg.check()?;
        let (hidden, output) = cfg.activations()?;
        let mut rng = microprop::rng(cfg.seed);
        let spread = cfg.spread.unwrap_or_else(|| cfg.dataset.default_spread());
        let mut data = Data::generate(cfg.dataset, cfg.samples as usize, classes, spread, &mut rng)
            .map_err(core_err("data"))?;
        if !data.is_finite() {
            return Err(format!("spread {spread:e}: the data overflows f32"));
        }
        data.shift(cfg.offset);
        if !data.is_finite() {
            return Err("offset: the shifted data overflows f32".into());
        }
        let (train, test) = if cfg.val_fraction > 0.0 {
            let split = data.split(cfg.val_fraction, cfg.seed).map_err(|e| {
                format!(
                    "test fraction {}: {} samples leave {} for training and {} for testing; \
                     each side needs at least one",
                    e.fraction, e.rows, e.train, e.val
                )
            })?;
            (split.train, Some(split.val))
        } else {
            (data.clone(), None)
        };
        if cfg.batch_norm && train.len() % cfg.batch as usize == 1 {
            return Err(format!(
                "batch norm: {} training samples in batches of {} leave a last batch of 1 \
                 (change samples, test fraction or batch)",
                train.len(),
                cfg.batch
            ));
        }
        let (init, mult) = match cfg.init {
            InitKind::Zeros => (Init::Zeros, 1.0),
            InitKind::Normal => (Init::Normal(cfg.init_scale.unwrap_or(0.01)), 1.0),
            InitKind::Xavier => (Init::XavierNormal, cfg.init_scale.unwrap_or(1.0)),
            InitKind::He => (Init::HeNormal, cfg.init_scale.unwrap_or(1.0)),
        };
        let layers = layers(&cfg, hidden, output)?;
        let mut net: Network<Sequential<f32, Heap>, Libm> =
            Network::from_layers(Sequential::new(layers).map_err(core_err("layers"))?)
                .map_err(core_err("network"))?;
        net.init(init, cfg.bias_init, &mut rng)
            .map_err(core_err("init"))?;
        let capacity = if cfg.batch_norm {
            cfg.batch as usize
        } else {
            1
        };
        let mut net = Training::new(net, capacity).map_err(core_err("training buffers"))?;
        if mult != 1.0 {
            net.visit_layers_mut(|l| {
                if l.kind == Kind::Dense {
                    l.w.iter_mut().for_each(|w| *w *= mult);
                }
            });
        }
        let mut finite = true;
        net.visit_layers(|l| finite &= l.w.iter().chain(l.b).all(|v| v.is_finite()));
        if !finite {
            return Err(format!(
                "init scale {mult}: the initial weights overflow f32"
            ));
        }
        let loss = cfg.loss.loss();
        let opt = optim::new::<Libm>(cfg.optimizer, cfg.lr, net.params())?;
        let trainer = Trainer::new(loss, cfg.batch as usize)
            .map_err(core_err("batch"))?
            .with_regularization(
                Regularization::new(f64::from(cfg.l2), None).map_err(core_err("L2"))?,
            );
        let mut order = vec![0u16; train.len()];
        core_train::fill_order(&mut order).map_err(core_err("samples"))?;
        let schedule = cfg.schedule()?;
        Ok(Playground {
            cfg,
            data,
            train,
            test,
            net,
            opt,
            trainer,
            schedule,
            order,
            rng,
            loss,
            history: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The network.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Every epoch's measurements so far.
    pub fn history(&self) -> &[EpochStats] {
        &self.history
    }

    /// Epochs done.
    pub fn epochs(&self) -> u32 {
        self.trainer.epochs()
    }

    /// FNV-1a of the weights ([`Model::weights_hash`]).
    pub fn weights_hash(&self) -> u64 {
        self.net.weights_hash()
    }

    /// One epoch (the simulator's `trainer.epoch`, or the schedule's), then the training
    /// and test rows evaluated.
    ///
    /// # Errors
    /// The trainer's error (a diverged step names itself).
    pub fn epoch(&mut self) -> Res<EpochStats> {
        let e = self.trainer.epochs() + 1;
        let train = self.train.view().map_err(core_err("data"))?;
        let done = match &self.schedule {
            None => self.trainer.epoch(
                &mut self.net,
                &mut self.opt,
                &train,
                &mut self.order,
                &mut self.rng,
            ),
            Some(s) => s.epoch(
                &mut self.trainer,
                &mut self.net,
                &mut self.opt,
                &train,
                &mut self.order,
                &mut self.rng,
            ),
        };
        done.map_err(|err| format!("epoch {e}: {err}"))?;
        let m =
            core_train::evaluate(&mut self.net, self.loss, &train).map_err(core_err("evaluate"))?;
        let (test_loss, test_accuracy) = match &self.test {
            Some(t) => {
                let view = t.view().map_err(core_err("data"))?;
                let m = core_train::evaluate(&mut self.net, self.loss, &view)
                    .map_err(core_err("evaluate"))?;
                (Some(f64::from(m.loss)), Some(f64::from(m.accuracy)))
            }
            None => (None, None),
        };
        let stats = EpochStats {
            epoch: self.trainer.epochs(),
            train_loss: f64::from(m.loss),
            train_accuracy: f64::from(m.accuracy),
            test_loss,
            test_accuracy,
            lr: f64::from(self.opt.learning_rate()),
        };
        self.history.push(stats);
        Ok(stats)
    }

    /// The static facts: the data, the layers, the sizes.
    pub fn info(&self) -> Info {
        let mut layers = Vec::new();
        self.net.visit_layers(|l| {
            layers.push((
                l.kind.name().to_string(),
                l.inputs,
                l.outputs,
                l.activation.map_or(String::new(), |a| a.to_string()),
            ));
        });
        let kinds: Vec<&str> = layers.iter().map(|l| l.0.as_str()).collect();
        let unit_layers = kinds
            .iter()
            .enumerate()
            .filter(|&(i, &k)| {
                (k == Kind::Dense.name() && kinds.get(i + 1) != Some(&Kind::BatchNorm.name()))
                    || k == Kind::BatchNorm.name()
            })
            .map(|(i, _)| i)
            .collect();
        let empty = Data::empty(self.data.classes);
        let test = self.test.as_ref().unwrap_or(&empty);
        Info {
            train_x: self.train.x.clone(),
            train_labels: self.train.labels.clone(),
            test_x: test.x.clone(),
            test_labels: test.labels.clone(),
            classes: self.data.classes,
            bounds: self.data.bounds(),
            params: self.net.params(),
            layers,
            unit_layers,
            model_bytes: self.model_file().map_or(0, |b| b.len()),
            optimizer_state: self.opt.state().len(),
            weight_bytes: weight_bytes(&self.net),
            training_bytes: training_bytes(&self.net),
            optimizer_bytes: std::mem::size_of_val(self.opt.state()),
            capacity: self.net.capacity(),
            sim_args: self.cfg.sim_args(),
        }
    }

    /// The measurements that cost a pass over the training rows: gradient norms, dead and
    /// saturated fractions, histograms; and the weights. Nothing the training reads is
    /// changed (the gradients are left zero, as after the simulator's own measurement).
    ///
    /// # Errors
    /// Forward-pass errors.
    pub fn state(&mut self) -> Res<State> {
        let train = self.train.view().map_err(core_err("data"))?;
        diagnostics::accumulate_gradients(&mut self.net, self.loss, &train)
            .map_err(core_err("gradients"))?;
        let mut norms = vec![0.0; self.net.depth()];
        let n = diagnostics::grad_norms(&self.net, 1.0, &mut norms);
        norms.truncate(n);
        self.net.zero_grads();
        let mut units = 0;
        self.net.visit_layers(|l| units += l.outputs);
        let mut alive = vec![false; units];
        let mut dead = vec![0.0; self.net.depth()];
        diagnostics::dead_units(&mut self.net, &train, &mut alive, &mut dead)
            .map_err(core_err("dead units"))?;
        let mut hidden = 0;
        let depth = self.net.depth();
        self.net
            .visit_layers(|l| hidden += usize::from(l.index + 1 < depth));
        dead.truncate(hidden);
        let mut act = vec![diagnostics::ActivationStats::default(); self.net.depth()];
        let n = diagnostics::activation_stats(&mut self.net, &train, &mut act)
            .map_err(core_err("activation statistics"))?;
        act.truncate(n);
        let histograms = histograms(&mut self.net, &train)?;
        let mut weights = Vec::new();
        self.net.visit_layers(|l| {
            if l.kind == Kind::Dense {
                weights.push(DenseWeights {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    w: l.w.to_vec(),
                    b: l.b.to_vec(),
                });
            }
        });
        Ok(State {
            epoch: self.trainer.epochs(),
            steps: self.trainer.steps(),
            weights_hash: format!("{:016x}", self.net.weights_hash()),
            grad_norms: norms,
            dead,
            saturated: act.iter().map(|s| s.saturated).collect(),
            histograms,
            weights,
        })
    }

    /// Per layer, 20 bins of its activations over the training rows (evaluation mode).
    /// The decision boundary: on an `n × n` grid over [`Info::bounds`] (row by row, `y`
    /// rising), the class-1 probability for one output, else the predicted class, as the
    /// simulator's `--plot` computes it.
    ///
    /// # Errors
    /// Forward-pass errors.
    pub fn boundary(&self, n: usize) -> Res<Vec<f32>> {
        let ([x0, x1], [y0, y1]) = self.data.bounds();
        let act = self.net.output_activation().unwrap_or(Activation::Identity);
        let outputs = self.net.outputs();
        let mut a = vec![0.0f32; outputs];
        let mut out = Vec::with_capacity(n * n);
        let step = |lo: f64, hi: f64, i: usize| lo + (hi - lo) * i as f64 / (n.max(2) - 1) as f64;
        for iy in 0..n {
            for ix in 0..n {
                let x = [step(x0, x1, ix) as f32, step(y0, y1, iy) as f32];
                self.net
                    .network()
                    .predict_slice(&x, &mut a)
                    .map_err(core_err("predict"))?;
                let v = match a.as_slice() {
                    [z] if self.loss == Loss::BinaryCrossEntropy && act == Activation::Identity => {
                        1.0 / (1.0 + (-z).exp())
                    }
                    [p] => *p,
                    _ => self.loss.predicted_class(act, &a, &a) as f32,
                };
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Every unit's output on an `n × n` grid over [`Info::bounds`] (evaluation mode):
    /// for each layer of [`Info::unit_layers`], for each unit, `n × n` values (row by
    /// row, `y` rising).
    ///
    /// # Errors
    /// Forward-pass errors.
    pub fn neurons(&mut self, n: usize) -> Res<Vec<f32>> {
        let ([x0, x1], [y0, y1]) = self.data.bounds();
        let step = |lo: f64, hi: f64, i: usize| lo + (hi - lo) * i as f64 / (n.max(2) - 1) as f64;
        let mut xs = Vec::with_capacity(2 * n * n);
        for iy in 0..n {
            for ix in 0..n {
                xs.push(step(x0, x1, ix) as f32);
                xs.push(step(y0, y1, iy) as f32);
            }
        }
        let labels = vec![0u8; n * n];
        let grid = microprop::Dataset::from_flat(&xs, &labels, 2).map_err(core_err("grid"))?;
        let shown = self.info().unit_layers;
        // Per shown layer, per unit, the grid's values in order.
        let mut cols: Vec<Vec<Vec<f32>>> = Vec::new();
        self.net.visit_layers(|l| {
            if shown.contains(&l.index) {
                cols.push(vec![Vec::with_capacity(n * n); l.outputs]);
            }
        });
        core_train::walk_all(
            &mut self.net,
            None,
            &grid,
            &mut Pass::eval(),
            None,
            Some(&mut |m: &Net| {
                let mut k = 0;
                m.visit_layers(|l| {
                    if shown.contains(&l.index) {
                        if let Some(units) = cols.get_mut(k) {
                            for row in l.a.chunks_exact(l.outputs.max(1)) {
                                for (u, &a) in units.iter_mut().zip(row) {
                                    u.push(a);
                                }
                            }
                        }
                        k += 1;
                    }
                });
            }),
        )
        .map_err(core_err("neurons"))?;
        Ok(cols.into_iter().flatten().flatten().collect())
    }

    /// Experiment A's surfaces: the mean training loss and the norm of its gradient over
    /// `(w[0][0], w[1][0])` (the first layer's weight from input 0 into neurons 0 and 1),
    /// each on `n` values from −`span` to +`span` around its current value, every other
    /// parameter as it is (the core's [`diagnostics::loss_slice`]): `n × n` losses, then
    /// `n × n` gradient norms, rows of constant `w[1][0]`. The weights are restored.
    ///
    /// # Errors
    /// A first layer with fewer than two neurons; the slice's errors.
    pub fn surface(&mut self, n: usize, span: f64) -> Res<Vec<f32>> {
        use diagnostics::{Axis, Param, SliceGrad};
        let (p, q) = (Param::weight(0, 0, 0), Param::weight(0, 1, 0));
        let e = |_| "the loss surface needs a first layer of at least two neurons".to_string();
        let (p0, q0) = (
            f64::from(p.get(&mut self.net).map_err(e)?),
            f64::from(q.get(&mut self.net).map_err(e)?),
        );
        let axis = |param, at: f64| Axis {
            param,
            from: at - span,
            to: at + span,
            steps: n,
        };
        let train = self.train.view().map_err(core_err("data"))?;
        let mut losses = vec![0.0f32; n * n];
        let mut grads = vec![0.0f32; n * n];
        diagnostics::loss_slice(
            &mut self.net,
            self.loss,
            &train,
            axis(p, p0),
            axis(q, q0),
            SliceGrad::Swept,
            &mut losses,
            &mut grads,
        )
        .map_err(core_err("loss surface"))?;
        losses.extend_from_slice(&grads);
        Ok(losses)
    }

    /// The trained network and its optimizer state as microprop's model file (what
    /// `microprop-sim train --save` writes; `predict --load` and the firmware read it).
    ///
    /// # Errors
    /// The format's errors.
    pub fn model_file(&self) -> Res<Vec<u8>> {
        let mut buf = vec![0u8; format::model_len(&self.net, Some(self.opt.state().len()))];
        let extras = Extras {
            optimizer: Some(&self.opt),
            progress: Progress {
                epoch: self.trainer.epochs(),
                step: self.trainer.steps(),
            },
        };
        let n = format::save_model(&self.net, &extras, &mut buf).map_err(core_err("save"))?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Per layer, 20 bins of its activations over `data` (evaluation mode).
fn histograms(net: &mut Net, data: &microprop::Dataset<'_, f32>) -> Res<Vec<Histogram>> {
    const BINS: usize = 20;
    let depth = net.depth();
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); depth];
    core_train::walk_all(
        net,
        None,
        data,
        &mut Pass::eval(),
        None,
        Some(&mut |m: &Net| {
            m.visit_layers(|l| {
                if let Some(v) = values.get_mut(l.index) {
                    v.extend_from_slice(l.a);
                }
            });
        }),
    )
    .map_err(core_err("histograms"))?;
    Ok(values
        .iter()
        .map(|v| {
            let lo = v.iter().fold(f64::INFINITY, |m, &x| m.min(f64::from(x)));
            let hi = v
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
            let (lo, hi) = if lo.is_finite() && hi.is_finite() {
                (lo, if hi > lo { hi } else { lo + 1.0 })
            } else {
                (0.0, 1.0)
            };
            let mut counts = vec![0u32; BINS];
            for &x in v {
                let t = (f64::from(x) - lo) / (hi - lo) * BINS as f64;
                let i = if t.is_finite() {
                    (t as usize).min(BINS - 1)
                } else {
                    0
                };
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            }
            Histogram { lo, hi, counts }
        })
        .collect())
}

/// host-sim's `net::weight_bytes`: parameters and state, plus one activation per layer.
fn weight_bytes(net: &Net) -> usize {
    let mut bytes = 0;
    net.visit_layers(|l| {
        bytes += (l.w.len() + l.b.len() + l.state.len()) * core::mem::size_of::<f32>();
        bytes += core::mem::size_of::<Activation>();
    });
    bytes
}

/// host-sim's `net::training_bytes`: gradients, two activations per unit and row, the
/// row count and the weight bound.
fn training_bytes(net: &Net) -> usize {
    let (mut grads, mut rows) = (0, net.inputs());
    net.visit_layers(|l| {
        grads += l.gw.len() + l.gb.len();
        rows += 2 * l.outputs;
    });
    (grads + net.capacity() * rows + 2) * core::mem::size_of::<f32>()
}
