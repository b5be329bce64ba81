//! On-device fine-tuning of a host-trained model (issue 15, "your model out").
//!
//! The story: a 4-16-16-3 iris classifier (a standardize layer fitted on the host's
//! data, two ReLU layers, softmax, cross-entropy) is trained on the host from one third of
//! Fisher's iris data ([`Split::Host`], clean measurements), saved
//! (`microprop-sim finetune --save-host-model`), exported as Rust
//! (`microprop-sim export --rust`, committed as [`iris_model`](crate::iris_model)) and
//! embedded in the firmware as a `static`. The device measures *other* flowers
//! ([`Split::DeviceTrain`], [`Split::DeviceTest`]) with a sensor whose petal readings
//! carry a calibration offset the host never saw ([`Config::offset`]): the embedded model
//! loses accuracy on them. The device fine-tunes a copy of the model on its labelled
//! samples ([`Split::DeviceTrain`]) and is scored on flowers it did not train on
//! ([`Split::DeviceTest`]); the program logs the accuracy before and after, the result
//! of training the same net from scratch on the device, and the embedded model's outputs
//! on a few fixed points ([`POINTS`], as `f32` bits) that the host's
//! `microprop-sim predict --load` must reproduce.
//!
//! [`run`] is the device's program (the firmware's `finetune` image, and
//! `microprop-sim finetune`); [`host_model`] is the host's training.

use core::fmt;

use microprop::layer::{Dense, Kind, Spec, Standardize, StandardizeSpec};
use microprop::{
    train, Activation, Dataset, Init, Libm, Loss, Model, Network, Preprocess, Sgd, Standardizer,
    Trainer, Training,
};

use crate::board::Cycles;
use crate::event::Sink;
use crate::number::{Fixed6, Percent};
use crate::Error;

mod data {
    include!(concat!(env!("OUT_DIR"), "/iris.rs"));
}
pub use data::{IRIS_ROWS, IRIS_X, IRIS_Y};

/// The layers of the iris net: standardize 4, dense 4→16 ReLU, 16→16 ReLU, 16→3 softmax.
pub type IrisLayers = (
    Standardize<f32, 4>,
    (
        Dense<f32, 4, 16>,
        (Dense<f32, 16, 16>, (Dense<f32, 16, 3>, ())),
    ),
);
/// The iris net (`layers![f32; 4 => standardize, dense 16, dense 16, dense 3]`): the type
/// of the exported [`NET`](crate::iris_model::NET).
pub type IrisNet = Network<IrisLayers, Libm>;
/// The iris net with training buffers for one row at a time (online SGD).
pub type IrisTraining = Training<IrisLayers, Libm, 1>;

/// The loss: softmax cross-entropy.
pub const LOSS: Loss = Loss::CrossEntropy;
/// Flowers in each third of the data.
pub const SPLIT_ROWS: usize = IRIS_ROWS / 3;

/// Fixed inputs whose outputs the device logs as `f32` bits, spelled as
/// `microprop-sim predict --point` takes them (raw sensor readings, cm).
pub const POINTS: [(&str, [f32; 4]); 3] = [
    ("5.0,3.4,1.5,0.2", [5.0, 3.4, 1.5, 0.2]),
    ("5.9,2.8,4.3,1.3", [5.9, 2.8, 4.3, 1.3]),
    ("6.6,3.0,5.6,2.1", [6.6, 3.0, 5.6, 2.1]),
];

/// Which third of the iris rows: row `i` is in `Host` if `i % 3 == 0`, `DeviceTrain` if
/// 1, `DeviceTest` if 2 (the rows are sorted by species, so each third has 50 flowers,
/// about a third of each species).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The host's training data (clean readings).
    Host,
    /// The device's labelled samples, for fine-tuning.
    DeviceTrain,
    /// The device's held-out samples, for scoring.
    DeviceTest,
}

impl Split {
    const fn residue(self) -> usize {
        match self {
            Split::Host => 0,
            Split::DeviceTrain => 1,
            Split::DeviceTest => 2,
        }
    }

    /// The split's rows, each feature read with `offset` added (the sensor's
    /// miscalibration; zeros for the host).
    pub fn rows(self, offset: [f32; 4]) -> ([[f32; 4]; SPLIT_ROWS], [u8; SPLIT_ROWS]) {
        let mut x = [[0.0f32; 4]; SPLIT_ROWS];
        let mut y = [0u8; SPLIT_ROWS];
        let rows = IRIS_X.iter().zip(IRIS_Y).skip(self.residue()).step_by(3);
        for ((dst, label), (src, l)) in x.iter_mut().zip(y.iter_mut()).zip(rows) {
            for ((d, &s), &o) in dst.iter_mut().zip(src).zip(&offset) {
                *d = s + o;
            }
            *label = l;
        }
        (x, y)
    }
}

/// How a net is trained (online SGD when `batch` is 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Epochs.
    pub epochs: u16,
    /// SGD learning rate.
    pub lr: f32,
    /// Mini-batch size (at most the training buffers' one row: 1).
    pub batch: u16,
}

/// The program's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Seed of the generator (initial weights of the host and scratch nets, shuffling).
    pub seed: u64,
    /// What the device's sensor adds to each true reading (cm): its petal length and
    /// width read long.
    pub offset: [f32; 4],
    /// The host model's training on [`Split::Host`] ([`host_model`]).
    pub host: Schedule,
    /// Fine-tuning of the embedded model on [`Split::DeviceTrain`].
    pub finetune: Schedule,
    /// Training from scratch on [`Split::DeviceTrain`], for comparison.
    pub scratch: Schedule,
    /// Test accuracy the fine-tuned model must reach, in tenths of a percent.
    pub bar_permille: u32,
}

impl Default for Config {
    /// Seed 15; offset (0, 0, +1.0, +0.6) cm; host 60 epochs, fine-tuning 20, scratch
    /// 20 (all online SGD, lr 0.02); bar 90 %.
    fn default() -> Self {
        let online = |epochs| Schedule {
            epochs,
            lr: 0.02,
            batch: 1,
        };
        Config {
            seed: 15,
            offset: [0.0, 0.0, 1.0, 0.6],
            host: online(60),
            finetune: online(20),
            scratch: online(20),
            bar_permille: 900,
        }
    }
}

/// Which net a line is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// The embedded model, fine-tuned on the device.
    Finetune,
    /// The same net trained from scratch on the device.
    Scratch,
}

impl Run {
    /// The name used in the log.
    pub const fn name(self) -> &'static str {
        match self {
            Run::Finetune => "fine-tune",
            Run::Scratch => "from scratch",
        }
    }
}

/// One log line of the fine-tuning program. Text in the variant docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FinetuneEvent {
    /// `microprop finetune: iris 4-16-16-3, embedded model {params} params, weights hash {hash:016x}`
    Start {
        /// Trainable parameters.
        params: u16,
        /// `Network::weights_hash` of the embedded model.
        hash: u64,
    },
    /// `memory: model {weights} B, training buffers {training} B, optimizer state {optimizer} B, data {data} B`
    Memory {
        /// `IrisNet::BYTES`.
        weights: u32,
        /// `IrisNet::TRAINING_BYTES`.
        training: u32,
        /// The optimizer's state (SGD: 0).
        optimizer: u32,
        /// The device's two data sets (features and labels).
        data: u32,
    },
    /// `sensor offset (cm): +{o0} +{o1} +{o2} +{o3}`
    Offset {
        /// Per feature.
        offset: [Fixed6; 4],
    },
    /// `predict {point} -> class {class} [{y0:08x} {y1:08x} {y2:08x}]` — the embedded
    /// model's outputs as `f32` bits.
    Predict {
        /// The input, as `predict --point` spells it.
        point: &'static str,
        /// The most probable class.
        class: u8,
        /// `f32::to_bits` of each output.
        bits: [u32; 3],
    },
    /// `embedded model: host data {host}%, device train {train}%, device test {test}%`
    Before {
        /// Accuracy on the host's (clean) split.
        host: Percent,
        /// On the device's labelled samples.
        train: Percent,
        /// On the device's held-out samples.
        test: Percent,
    },
    /// `{run} epoch {epoch}: loss {loss} train {train}% test {test}%`
    Epoch {
        /// Which net.
        run: Run,
        /// 1-based epoch.
        epoch: u16,
        /// Mean cross-entropy over the device's training samples.
        loss: Fixed6,
        /// Accuracy on them.
        train: Percent,
        /// Accuracy on the held-out samples.
        test: Percent,
    },
    /// `{run} trained in {ticks} ticks` — platform-specific.
    Timing {
        /// Which net.
        run: Run,
        /// Cycle-counter ticks.
        ticks: u32,
    },
    /// `{run}: {epochs} epochs, device test {test}%, weights hash {hash:016x}`
    Done {
        /// Which net.
        run: Run,
        /// Epochs trained.
        epochs: u16,
        /// Final held-out accuracy.
        test: Percent,
        /// `Model::weights_hash`.
        hash: u64,
    },
    /// `result: device test accuracy {before}% embedded, {after}% fine-tuned, {scratch}% from scratch (bar {bar}%): {PASS|FAIL}`
    Verdict {
        /// The embedded model's.
        before: Percent,
        /// The fine-tuned model's.
        after: Percent,
        /// The scratch net's.
        scratch: Percent,
        /// The bar for `after`.
        bar: Percent,
        /// `after` reached the bar and beat `before`.
        pass: bool,
    },
}

impl FinetuneEvent {
    /// Whether the line is the same on every platform (all but [`FinetuneEvent::Timing`]).
    pub const fn is_deterministic(&self) -> bool {
        !matches!(self, FinetuneEvent::Timing { .. })
    }
}

impl fmt::Display for FinetuneEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FinetuneEvent::Start { params, hash } => write!(
                f,
                "microprop finetune: iris 4-16-16-3, embedded model {params} params, weights hash {hash:016x}"
            ),
            FinetuneEvent::Memory {
                weights,
                training,
                optimizer,
                data,
            } => write!(
                f,
                "memory: model {weights} B, training buffers {training} B, optimizer state {optimizer} B, data {data} B"
            ),
            FinetuneEvent::Offset { offset: [a, b, c, d] } => {
                write!(f, "sensor offset (cm): +{a} +{b} +{c} +{d}")
            }
            FinetuneEvent::Predict {
                point,
                class,
                bits: [y0, y1, y2],
            } => write!(
                f,
                "predict {point} -> class {class} [{y0:08x} {y1:08x} {y2:08x}]"
            ),
            FinetuneEvent::Before { host, train, test } => write!(
                f,
                "embedded model: host data {host}%, device train {train}%, device test {test}%"
            ),
            FinetuneEvent::Epoch {
                run,
                epoch,
                loss,
                train,
                test,
            } => write!(
                f,
                "{} epoch {epoch}: loss {loss} train {train}% test {test}%",
                run.name()
            ),
            FinetuneEvent::Timing { run, ticks } => {
                write!(f, "{} trained in {ticks} ticks", run.name())
            }
            FinetuneEvent::Done {
                run,
                epochs,
                test,
                hash,
            } => write!(
                f,
                "{}: {epochs} epochs, device test {test}%, weights hash {hash:016x}",
                run.name()
            ),
            FinetuneEvent::Verdict {
                before,
                after,
                scratch,
                bar,
                pass,
            } => write!(
                f,
                "result: device test accuracy {before}% embedded, {after}% fine-tuned, {scratch}% from scratch (bar {bar}%): {}",
                crate::pass_str(pass)
            ),
        }
    }
}

/// What the program measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The embedded model's device-test accuracy.
    pub before: Percent,
    /// The fine-tuned model's.
    pub after: Percent,
    /// The scratch net's.
    pub scratch: Percent,
    /// `after` reached [`Config::bar_permille`] and beat `before`.
    pub passed: bool,
}

/// The accuracy of `model` on `data` (the share of argmax hits, exactly).
fn accuracy<T: Model<Scalar = f32>>(
    model: &mut T,
    data: &Dataset<'_, f32>,
) -> Result<Percent, Error> {
    let m = train::evaluate(model, LOSS, data)?;
    let correct = libm::roundf(m.accuracy * data.len() as f32) as u32;
    Ok(Percent::of(correct, data.len() as u32))
}

/// The index of the largest output.
fn argmax(y: &[f32; 3]) -> u8 {
    let mut best = 0u8;
    for (i, &v) in y.iter().enumerate() {
        if y.get(usize::from(best)).is_some_and(|&b| v > b) {
            best = i as u8;
        }
    }
    best
}

/// Makes `model` a fresh iris net: a standardize layer fitted on `x`, He-initialised
/// dense layers (biases 0.01). In place: callers build the `Training` in their own frame
/// (`Training::default`), so only one net is ever on the stack; out of line, so its
/// temporaries are gone before training starts.
#[inline(never)]
fn fresh(
    model: &mut IrisTraining,
    x: &[[f32; 4]],
    rng: &mut microprop::DefaultRng,
) -> Result<(), Error> {
    let fitted = Standardizer::fit(Preprocess::Standardize, x)?;
    // Everything in place in the zeroed net: activations, then the first layer's mode and
    // count (its spec), then its statistics (its state).
    let net = model.network_mut();
    net.set_activations(Activation::Relu, Activation::Softmax)?;
    let mut specs: [Option<Spec>; IrisNet::DEPTH] = [None; IrisNet::DEPTH];
    let mut slots = specs.iter_mut();
    net.specs(&mut |spec| {
        if let Some(slot) = slots.next() {
            *slot = Some(match spec {
                Spec::Standardize(s) => Spec::Standardize(StandardizeSpec {
                    mode: fitted.mode(),
                    count: fitted.count(),
                    ..s
                }),
                other => other,
            });
        }
    });
    let mut specs = specs.into_iter().flatten();
    net.set_specs(&mut || specs.next())?;
    let (mean, variance) = (*fitted.mean(), fitted.variance());
    net.visit_mut(|l| {
        if l.kind == Kind::Standardize {
            let stats = mean.iter().chain(&variance);
            l.state.iter_mut().zip(stats).for_each(|(s, &v)| *s = v);
        }
    });
    net.init(Init::HeNormal, 0.01, rng)?;
    Ok(())
}

/// The share of `data`'s samples whose most probable class (`net.predict`) is the label:
/// no training buffers needed.
fn accuracy_of(net: &IrisNet, x: &[[f32; 4]], y: &[u8]) -> Result<Percent, Error> {
    let mut correct = 0u32;
    for (x, &label) in x.iter().zip(y) {
        if argmax(&net.predict(x)?) == label {
            correct += 1;
        }
    }
    Ok(Percent::of(correct, x.len().min(y.len()) as u32))
}

/// Trains the host model: a fresh net on the clean [`Split::Host`] rows for
/// `config.host`. Deterministic: the committed `app/models/iris-host.mprp` is its
/// result for `Config::default()` (saved by `microprop-sim finetune --save-host-model`).
///
/// # Errors
/// [`Error::Train`] if the core refuses a step.
pub fn host_model(config: &Config) -> Result<IrisTraining, Error> {
    let mut rng = microprop::rng(config.seed);
    let (x, y) = Split::Host.rows([0.0; 4]);
    let data = Dataset::new(&x, &y)?;
    let mut model = IrisTraining::default();
    fresh(&mut model, &x, &mut rng)?;
    let mut order = [0u16; SPLIT_ROWS];
    train::fill_order(&mut order)?;
    let mut opt = Sgd::new(config.host.lr)?;
    let mut trainer = Trainer::new(LOSS, usize::from(config.host.batch))?;
    for _ in 0..config.host.epochs {
        trainer.epoch(&mut model, &mut opt, &data, &mut order, &mut rng)?;
    }
    Ok(model)
}

/// Runs the program on the embedded `model` (the firmware's `static`): logs its outputs
/// on [`POINTS`] and its accuracy on the device's data, fine-tunes a copy on the
/// device's labelled samples, trains the same net from scratch for comparison, and logs
/// the verdict.
///
/// # Errors
/// [`Error::Train`] if the core refuses a step or the model.
pub fn run<C: Cycles, S: Sink<FinetuneEvent> + ?Sized>(
    config: &Config,
    model: &IrisNet,
    cycles: &mut C,
    sink: &mut S,
) -> Result<Outcome, Error> {
    model.validate()?;
    sink.event(&FinetuneEvent::Start {
        params: IrisNet::PARAMS as u16,
        hash: model.weights_hash(),
    });
    let (train_x, train_y) = Split::DeviceTrain.rows(config.offset);
    let (test_x, test_y) = Split::DeviceTest.rows(config.offset);
    let data_bytes = 2 * (core::mem::size_of_val(&train_x) + core::mem::size_of_val(&train_y));
    sink.event(&FinetuneEvent::Memory {
        weights: IrisNet::BYTES as u32,
        training: IrisNet::TRAINING_BYTES as u32,
        optimizer: 0,
        data: data_bytes as u32,
    });
    sink.event(&FinetuneEvent::Offset {
        offset: config.offset.map(Fixed6::new),
    });
    for (point, x) in POINTS {
        let y = model.predict(&x)?;
        sink.event(&FinetuneEvent::Predict {
            point,
            class: argmax(&y),
            bits: y.map(f32::to_bits),
        });
    }
    let train_data = Dataset::new(&train_x, &train_y)?;
    let test_data = Dataset::new(&test_x, &test_y)?;
    let mut rng = microprop::rng(config.seed);
    let mut order = [0u16; SPLIT_ROWS];
    train::fill_order(&mut order)?;

    let before = before(model, config, sink)?;
    let mut ctx = Fit {
        train: &train_data,
        test: &test_data,
        order: &mut order,
        rng: &mut rng,
        cycles,
        sink,
    };
    let after = finetune(model, config.finetune, &mut ctx)?;
    let scratch = scratch(&train_x, config.scratch, &mut ctx)?;
    let bar = Percent::from_permille(config.bar_permille);
    let pass = after.permille() >= config.bar_permille && after.permille() > before.permille();
    ctx.sink.event(&FinetuneEvent::Verdict {
        before,
        after,
        scratch,
        bar,
        pass,
    });
    Ok(Outcome {
        before,
        after,
        scratch,
        passed: pass,
    })
}

/// Logs the embedded model's accuracy on the host's clean third and on the device's two
/// sets; returns the device-test accuracy.
#[inline(never)]
fn before<S: Sink<FinetuneEvent> + ?Sized>(
    model: &IrisNet,
    config: &Config,
    sink: &mut S,
) -> Result<Percent, Error> {
    let score = |split: Split, offset| {
        let (x, y) = split.rows(offset);
        accuracy_of(model, &x, &y)
    };
    let host = score(Split::Host, [0.0; 4])?;
    let train = score(Split::DeviceTrain, config.offset)?;
    let test = score(Split::DeviceTest, config.offset)?;
    sink.event(&FinetuneEvent::Before { host, train, test });
    Ok(test)
}

/// What both trainings share.
struct Fit<'a, C, S: ?Sized> {
    train: &'a Dataset<'a, f32>,
    test: &'a Dataset<'a, f32>,
    order: &'a mut [u16],
    rng: &'a mut microprop::DefaultRng,
    cycles: &'a mut C,
    sink: &'a mut S,
}

/// Fine-tunes a copy of `model` (its own frame: one net on the stack at a time).
#[inline(never)]
fn finetune<C: Cycles, S: Sink<FinetuneEvent> + ?Sized>(
    model: &IrisNet,
    schedule: Schedule,
    ctx: &mut Fit<'_, C, S>,
) -> Result<Percent, Error> {
    let mut tuned = IrisTraining::default();
    copy_into(&mut tuned, model);
    fit(Run::Finetune, &mut tuned, schedule, ctx)
}

/// `model`'s weights into `tuned`: out of line, so the copy's temporary is gone before
/// training starts.
#[inline(never)]
fn copy_into(tuned: &mut IrisTraining, model: &IrisNet) {
    tuned.network_mut().clone_from(model);
}

/// Trains a fresh net (its standardize layer fitted on the device's samples).
#[inline(never)]
fn scratch<C: Cycles, S: Sink<FinetuneEvent> + ?Sized>(
    x: &[[f32; 4]],
    schedule: Schedule,
    ctx: &mut Fit<'_, C, S>,
) -> Result<Percent, Error> {
    let mut net = IrisTraining::default();
    fresh(&mut net, x, ctx.rng)?;
    fit(Run::Scratch, &mut net, schedule, ctx)
}

fn fit<C: Cycles, S: Sink<FinetuneEvent> + ?Sized>(
    run: Run,
    model: &mut IrisTraining,
    schedule: Schedule,
    ctx: &mut Fit<'_, C, S>,
) -> Result<Percent, Error> {
    let mut opt = Sgd::new(schedule.lr)?;
    let mut trainer = Trainer::new(LOSS, usize::from(schedule.batch))?;
    let mut ticks = 0u32;
    let mut test = Percent::of(0, 1);
    for epoch in 1..=schedule.epochs {
        let t0 = ctx.cycles.now();
        trainer.epoch(model, &mut opt, ctx.train, ctx.order, ctx.rng)?;
        ticks = ticks.wrapping_add(ctx.cycles.now().wrapping_sub(t0));
        let m = train::evaluate(model, LOSS, ctx.train)?;
        let correct = libm::roundf(m.accuracy * ctx.train.len() as f32) as u32;
        test = accuracy(model, ctx.test)?;
        ctx.sink.event(&FinetuneEvent::Epoch {
            run,
            epoch,
            loss: Fixed6::new(m.loss),
            train: Percent::of(correct, ctx.train.len() as u32),
            test,
        });
    }
    ctx.sink.event(&FinetuneEvent::Timing { run, ticks });
    ctx.sink.event(&FinetuneEvent::Done {
        run,
        epochs: schedule.epochs,
        test,
        hash: model.weights_hash(),
    });
    Ok(test)
}
