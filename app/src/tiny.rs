//! The minimal training program (feature `tiny`): N1 (2-16-1 sigmoid, Xavier-uniform
//! init) trained online (batch 1, SGD, η = 0.1, MSE) on a stream of two-cluster samples
//! that are generated one pair at a time and never stored, its accuracy measured after
//! every epoch on a held-out stream (the same samples each time, regenerated from their
//! own seed). Nothing but the model, the trainer, two generators and one pair of samples
//! is in RAM: what lets the M0 image (`firmware/src/bin/tiny.rs`) keep within 16 KiB of
//! flash and 1.5 KiB of RAM, stack included.
//!
//! Everything is `f32`: the samples are centre ± σ · an Irwin–Hall variate (the sum of
//! four uniforms, centred and scaled to unit variance: a normal's first two moments,
//! tails cut at ±3.46 σ) and the initial weights Xavier-uniform, both from 24-bit
//! uniforms, instead of the core's `f64` Box–Muller `Clusters` and `Init` (on the M0,
//! whose soft-float `f64` maths would take ~10 KiB of the flash).
//!
//! The model is trained where the caller keeps it ([`run`] takes it by `&mut`), so the
//! firmware decides where it lives and no copy of it is ever made.
//!
//! ```
//! use microprop_app::tiny::{self, Config, TinyEvent};
//! use microprop_app::Sink;
//!
//! struct Print;
//! impl Sink<TinyEvent> for Print {
//!     fn event(&mut self, e: &TinyEvent) { println!("{e}"); }
//! }
//! let config = Config { epochs: 2, ..Config::default() };
//! let mut model = tiny::Model::default();
//! let outcome = tiny::run(&config, &mut model, &mut Print)?;
//! assert!(outcome.passed, "{outcome:?}");
//! # Ok::<(), microprop_app::Error>(())
//! ```

use core::fmt;

use microprop::{
    layer::{Dense, Pass},
    mlp, Activation, Dataset, DefaultRng, Loss, Micromath, Model as _, Sgd, Trainer, Training,
};
use rand_core::RngCore;

use crate::{
    event::{pass_str, Sink},
    number::{Fixed6, Percent},
    Error,
};

/// N1: 2-16-1, sigmoid hidden and output layers.
pub type N1 = mlp![f32; 2, 16, 1];

/// N1's layers (what `mlp![f32; 2, 16, 1]` is a [`Network`](microprop::Network) of).
pub type Layers = (Dense<f32, 2, 16>, (Dense<f32, 16, 1>, ()));

/// N1 with its training buffers for online steps: what [`run`] trains.
pub type Model = Training<Layers, Micromath, 1>;

/// The loss: the notes' MSE, `½ (a − y)²` on the sigmoid output.
pub const LOSS: Loss = Loss::Mse;

/// The program's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Seed of the training stream and the initial weights.
    pub seed: u64,
    /// Seed of the held-out stream the accuracy is measured on.
    pub test_seed: u64,
    /// Standard deviation of each coordinate around its cluster's centre ±(1, 1).
    pub sigma: f32,
    /// SGD learning rate.
    pub lr: f32,
    /// Epochs.
    pub epochs: u16,
    /// Fresh training samples per epoch (even: they come in pairs, one of each class).
    pub samples: u16,
    /// Held-out samples (even).
    pub test: u16,
    /// Accuracy the last epoch must reach, in tenths of a percent.
    pub bar_permille: u32,
}

impl Default for Config {
    /// Seed 42 (held-out stream: 4242); σ 0.7 per coordinate (the benchmark protocol's);
    /// lr 0.1; 10 epochs of 512 fresh samples; 512 held-out samples; bar 95 %.
    fn default() -> Self {
        Config {
            seed: 42,
            test_seed: 4242,
            sigma: 0.7,
            lr: 0.1,
            epochs: 10,
            samples: 512,
            test: 512,
            bar_permille: 950,
        }
    }
}

/// One log line of the program. Every line is deterministic (no timings): the device's
/// log equals the host's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TinyEvent {
    /// The start: seed, the model's parameters and bytes.
    Start {
        /// Seed of the training stream.
        seed: u64,
        /// Trainable parameters.
        params: u16,
        /// Bytes of the model with its training buffers (`size_of::<Model>()`).
        bytes: u32,
    },
    /// The start of the fixed-point program ([`q16::run`]): as [`TinyEvent::Start`].
    #[cfg(feature = "q16")]
    StartQ16 {
        /// Seed of the training stream.
        seed: u64,
        /// Trainable parameters.
        params: u16,
        /// Bytes of the model with its training buffers (`size_of::<q16::Model>()`).
        bytes: u32,
    },
    /// One epoch done.
    Epoch {
        /// 1-based.
        epoch: u16,
        /// Mean training loss over the epoch's steps.
        loss: Fixed6,
        /// Accuracy on the held-out stream.
        acc: Percent,
    },
    /// The trained weights' hash (`Model::weights_hash`).
    Hash {
        /// The hash.
        hash: u64,
    },
    /// The verdict: the last epoch's accuracy against the bar.
    Verdict {
        /// Final held-out accuracy.
        acc: Percent,
        /// The bar.
        bar: Percent,
        /// `acc >= bar`.
        pass: bool,
    },
}

impl fmt::Display for TinyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TinyEvent::Start {
                seed,
                params,
                bytes,
            } => write!(
                f,
                "microprop tiny: N1 2-16-1 sigmoid, online SGD, seed {seed}, {params} params, {bytes} B model+training buffers"
            ),
            #[cfg(feature = "q16")]
            TinyEvent::StartQ16 {
                seed,
                params,
                bytes,
            } => write!(
                f,
                "microprop tiny: N1 2-16-1 sigmoid in Q16.16 (q16-table), online SGD, seed {seed}, {params} params, {bytes} B model+training buffers"
            ),
            TinyEvent::Epoch { epoch, loss, acc } => {
                write!(f, "epoch {epoch}: loss {loss} held-out acc {acc}%")
            }
            TinyEvent::Hash { hash } => write!(f, "weights hash n1 {hash:016x}"),
            TinyEvent::Verdict { acc, bar, pass } => write!(
                f,
                "result: n1 accuracy {acc}% (bar {bar}%): {}",
                pass_str(pass)
            ),
        }
    }
}

/// What the program achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The last epoch's held-out accuracy.
    pub accuracy: Percent,
    /// Whether it reached [`Config::bar_permille`].
    pub passed: bool,
    /// The trained weights' hash.
    pub hash: u64,
}

/// Initialises `model` (sigmoid layers, Xavier-uniform weights, zero biases, from
/// [`Config::seed`]) and trains it online for [`Config::epochs`], logging every epoch's
/// loss and held-out accuracy, then the weights hash and the verdict.
///
/// # Errors
/// [`Error::Train`] if the core library refuses a step, or with
/// `InvalidHyperParameter` for an odd sample count or no held-out samples.
pub fn run<S: Sink<TinyEvent> + ?Sized>(
    config: &Config,
    model: &mut Model,
    sink: &mut S,
) -> Result<Outcome, Error> {
    if config.samples & 1 != 0 || config.test & 1 != 0 || config.test == 0 {
        return Err(microprop::Error::InvalidHyperParameter(
            "tiny: the training and held-out sample counts must be even (pairs), the held-out one non-zero",
        )
        .into());
    }
    let mut rng = microprop::rng(config.seed);
    init(model, &mut rng);
    sink.event(&TinyEvent::Start {
        seed: config.seed,
        params: model.params() as u16,
        bytes: core::mem::size_of::<Model>() as u32,
    });
    let mut trainer = Trainer::new(LOSS, 1)?;
    let mut opt = Sgd::new(config.lr)?;
    let mut acc = Percent::of(0, 1);
    for epoch in 1..=config.epochs {
        let mut loss = 0.0f32;
        for _ in 0..config.samples / 2 {
            let x = pair(&mut rng, config.sigma);
            let pair = Dataset::new(&x, &LABELS)?;
            for i in [0, 1] {
                loss += trainer.step(model, &mut opt, &pair, &[i], &mut rng)?;
            }
        }
        acc = accuracy(config, model)?;
        sink.event(&TinyEvent::Epoch {
            epoch,
            loss: fixed6(loss / f32::from(config.samples.max(1))),
            acc,
        });
    }
    let hash = model.weights_hash();
    sink.event(&TinyEvent::Hash { hash });
    let bar = Percent::from_permille(config.bar_permille);
    let passed = acc.permille() >= config.bar_permille;
    sink.event(&TinyEvent::Verdict {
        acc,
        bar,
        pass: passed,
    });
    Ok(Outcome {
        accuracy: acc,
        passed,
        hash,
    })
}

/// `x` (a mean loss, in `[0, 1]`) to six decimals, in `f32` and `u32` (`Fixed6::new`
/// rounds in `f64` and divides in `u64`: ~1.5 KiB of soft-float and division routines
/// on the M0); saturates at 4294.967295.
fn fixed6(x: f32) -> Fixed6 {
    let v = libm::roundf(x * 1e6) as u32;
    Fixed6 {
        int: v / 1_000_000,
        frac: v % 1_000_000,
    }
}

/// The labels of a [`pair`]: class 0 (centre −(1, 1)), then class 1 (centre +(1, 1)).
pub const LABELS: [u8; 2] = [0, 1];

/// A uniform `f32` in `[0, 1)` from the generator's top 24 bits.
fn unit(rng: &mut DefaultRng) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Zero mean, unit variance: the Irwin–Hall sum of four uniforms, centred, times √3.
fn gauss(rng: &mut DefaultRng) -> f32 {
    let sum = unit(rng) + unit(rng) + unit(rng) + unit(rng);
    (sum - 2.0) * 1.732_050_8
}

/// One sample of each class ([`LABELS`]): each coordinate its centre (∓1) plus `sigma`
/// times an Irwin–Hall variate (four uniforms, unit variance), drawn in order (class 0's
/// x₀, x₁, then class 1's).
pub fn pair(rng: &mut DefaultRng, sigma: f32) -> [[f32; 2]; 2] {
    let mut x = [[-1.0f32; 2], [1.0; 2]];
    for v in x.iter_mut().flatten() {
        *v += sigma * gauss(rng);
    }
    x
}

/// Sigmoid layers, weights uniform in `±√(6 / (inputs + outputs))` (Xavier), drawn layer
/// by layer in storage order, zero biases.
fn init(model: &mut Model, rng: &mut DefaultRng) {
    model.network_mut().visit_mut(|l| {
        if let Some(act) = l.activation {
            *act = Activation::Sigmoid;
        }
        let limit = libm::sqrtf(6.0 / (l.inputs + l.outputs) as f32);
        for w in l.w.iter_mut() {
            *w = limit * (2.0 * unit(rng) - 1.0);
        }
        l.b.fill(0.0);
    });
}

/// The share of the held-out stream (regenerated from [`Config::test_seed`]) that the
/// model classifies right (output ≥ ½ is class 1).
///
/// Each sample is run forward in evaluation mode into the model's own training buffers
/// (the next step's forward pass overwrites them; a dense layer keeps no state), not
/// through [`Network::predict`](microprop::Network::predict): the same kernels give the
/// same outputs, without `predict`'s output rows on the stack (this frame is the M0
/// image's stack peak) or a second copy of the forward pass in flash.
#[inline(never)]
fn accuracy(config: &Config, model: &mut Model) -> Result<Percent, Error> {
    let mut rng = microprop::rng(config.test_seed);
    let mut correct = 0u32;
    for _ in 0..config.test / 2 {
        let x = pair(&mut rng, config.sigma);
        for (x, &label) in x.iter().zip(&LABELS) {
            model.forward(&mut Pass::eval(), x)?;
            let y = model.output().first().copied().unwrap_or(f32::NAN);
            correct += u32::from(u8::from(y >= 0.5) == label);
        }
    }
    // In u32 (`Percent::of` divides in u64: a 900 B routine on the M0).
    Ok(Percent::from_permille(
        correct * 1000 / u32::from(config.test),
    ))
}

/// The same program in fixed point (feature `q16`): N1 in [`Q16`](microprop::Q16) under
/// the integer backend [`FixedTable`](microprop::FixedTable), trained on the same streams
/// with the same protocol. The samples and the initial weights are drawn exactly as in
/// `f32` (the same generator calls, the same `f32` arithmetic) and rounded to Q16 to
/// nearest; everything from there on (forward, loss, backward, update, the held-out
/// accuracy, the mean loss) is integer arithmetic, so the weights are bit-identical on
/// every core and on the host. Its log is [`run`]'s, the start line naming the scalar.
#[cfg(feature = "q16")]
pub mod q16 {
    use microprop::{
        layer::{Dense, Pass},
        Activation, Dataset, DefaultRng, FixedTable, Model as _, Scalar as _, Sgd, Trainer,
        Training, Q16,
    };

    use super::{pair, unit, Config, TinyEvent, LABELS, LOSS};
    use crate::{
        event::Sink,
        number::{Fixed6, Percent},
        Error,
    };

    /// N1's layers in Q16.
    pub type Layers = (Dense<Q16, 2, 16>, (Dense<Q16, 16, 1>, ()));

    /// N1 in Q16 with its training buffers for online steps: what [`run`] trains.
    pub type Model = Training<Layers, FixedTable, 1>;

    /// As [`super::run`], in Q16: the learning rate is `config.lr` rounded to Q16 (0.1 is
    /// 6554 units, 6,554 / 65,536 = 0.100006), the epoch's mean loss the Q16 sum of the
    /// step losses divided by the sample count in Q16 (logged to six decimals, exactly
    /// from the Q16 bits). The start event is [`TinyEvent::StartQ16`].
    ///
    /// # Errors
    /// As [`super::run`].
    pub fn run<S: Sink<TinyEvent> + ?Sized>(
        config: &Config,
        model: &mut Model,
        sink: &mut S,
    ) -> Result<super::Outcome, Error> {
        if config.samples & 1 != 0 || config.test & 1 != 0 || config.test == 0 {
            return Err(microprop::Error::InvalidHyperParameter(
                "tiny: the training and held-out sample counts must be even (pairs), the held-out one non-zero",
            )
            .into());
        }
        let mut rng = microprop::rng(config.seed);
        init(model, &mut rng);
        sink.event(&TinyEvent::StartQ16 {
            seed: config.seed,
            params: model.params() as u16,
            bytes: core::mem::size_of::<Model>() as u32,
        });
        let mut trainer = Trainer::new(LOSS, 1)?;
        let mut opt = Sgd::new(Q16::from_f32(config.lr))?;
        let mut acc = Percent::of(0, 1);
        for epoch in 1..=config.epochs {
            let mut loss = Q16::ZERO;
            for _ in 0..config.samples / 2 {
                let x = to_q16(pair(&mut rng, config.sigma));
                let pair = Dataset::new(&x, &LABELS)?;
                for i in [0, 1] {
                    loss += trainer.step(model, &mut opt, &pair, &[i], &mut rng)?;
                }
            }
            acc = accuracy(config, model)?;
            let n = Q16::from_bits(i32::from(config.samples.max(1)) << 16);
            sink.event(&TinyEvent::Epoch {
                epoch,
                loss: fixed6(loss / n),
                acc,
            });
        }
        let hash = model.weights_hash();
        sink.event(&TinyEvent::Hash { hash });
        let bar = Percent::from_permille(config.bar_permille);
        let passed = acc.permille() >= config.bar_permille;
        sink.event(&TinyEvent::Verdict {
            acc,
            bar,
            pass: passed,
        });
        Ok(super::Outcome {
            accuracy: acc,
            passed,
            hash,
        })
    }

    /// A [`pair`] rounded to Q16.
    fn to_q16(x: [[f32; 2]; 2]) -> [[Q16; 2]; 2] {
        x.map(|p| p.map(Q16::from_f32))
    }

    /// A non-negative Q16 `x` to six decimals, exactly rounded from its bits (integer
    /// arithmetic only); a negative one (not a loss) as 0.
    fn fixed6(x: Q16) -> Fixed6 {
        let bits = u64::try_from(x.to_bits()).unwrap_or(0);
        let micro = (bits * 1_000_000 + (1 << 15)) >> 16;
        Fixed6 {
            int: (micro / 1_000_000) as u32,
            frac: (micro % 1_000_000) as u32,
        }
    }

    /// As the `f32` program's initialisation (the same draws, the same `f32` values),
    /// each weight then rounded to Q16.
    fn init(model: &mut Model, rng: &mut DefaultRng) {
        model.network_mut().visit_mut(|l| {
            if let Some(act) = l.activation {
                *act = Activation::Sigmoid;
            }
            let limit = libm::sqrtf(6.0 / (l.inputs + l.outputs) as f32);
            for w in l.w.iter_mut() {
                *w = Q16::from_f32(limit * (2.0 * unit(rng) - 1.0));
            }
            l.b.fill(Q16::ZERO);
        });
    }

    /// As the `f32` program's held-out accuracy (forward in evaluation mode into the
    /// model's own buffers), in Q16 (output ≥ ½ is class 1).
    #[inline(never)]
    fn accuracy(config: &Config, model: &mut Model) -> Result<Percent, Error> {
        let mut rng = microprop::rng(config.test_seed);
        let half = Q16::from_bits(1 << 15);
        let mut correct = 0u32;
        for _ in 0..config.test / 2 {
            let x = to_q16(pair(&mut rng, config.sigma));
            for (x, &label) in x.iter().zip(&LABELS) {
                model.forward(&mut Pass::eval(), x)?;
                let y = model.output().first().copied().unwrap_or(Q16::ZERO);
                correct += u32::from(u8::from(y >= half) == label);
            }
        }
        Ok(Percent::from_permille(
            correct * 1000 / u32::from(config.test),
        ))
    }
}
