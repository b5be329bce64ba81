//! Learning that continues on the device (issue 15): a stream of labelled samples whose
//! distribution drifts, learnt online with a replay buffer, checkpointed to flash on a
//! schedule, beside the same model frozen after its warm-up.
//!
//! * **The stream** comes from a [`Sensor`]: one labelled [`Sample`] per call. A board
//!   plugs in its own (an accelerometer with a button for the label, ...);
//!   [`DriftStream`] is the generated one: two Gaussian clusters at ±(cos θ, sin θ)
//!   whose centres rotate with the sample index `i`, θ = π · `half_turns` · i / `samples`.
//!   One half-turn over the run swaps the classes' regions, so a model frozen at the
//!   start ends well below chance. Sample `i` is a pure function of the seed and `i`, so
//!   the stream can be resumed at any position ([`Sensor::skip_to`]).
//! * **Prequential accuracy**: every sample is first predicted (by the online model and
//!   by the frozen one), then learnt from. Both accuracies are counted over the samples
//!   after the warm-up and logged per window of [`Config::window`] samples (during the
//!   warm-up the frozen model *is* the online one).
//! * **Learning**: one online SGD step (batch 1, MSE, the core's proven-finite online
//!   path) on the new sample, then [`Config::replay_steps`] online steps on samples drawn
//!   uniformly from the replay buffer, a [`Reservoir`] of `R` samples (sized at compile
//!   time, Algorithm R) to which the new sample is then offered. Sample `i`'s random draws
//!   come from a generator seeded by the seed and `i` alone, so nothing but `i` is needed
//!   to continue them. Replay is no free lunch under a steady rotation: Algorithm R
//!   keeps a uniform sample of the *whole* history, whose labels lag the current
//!   boundary, so more replay steps cost prequential accuracy there (at two half-turns,
//!   seeds 1–3: 96 % without replay, 82–86 % with two steps, 44 % frozen;
//!   `app/tests/drift.rs` keeps this true). What it buys is memory of regions the stream
//!   no longer visits, which a steady rotation never needs.
//! * **The frozen model** is a copy of the online network after [`Config::warmup`]
//!   samples; it predicts, never learns.
//! * **Checkpoints**: every [`Config::checkpoint_every`] samples, one record of
//!   [`microprop::checkpoint::Checkpoints`] holds the online model with its optimizer
//!   ([`format::save_model`]), the frozen network ([`format::save_network`]) and the
//!   program's state ([`STATE_MAGIC`]: stream position, the accuracy counters, the
//!   reservoir's count and items). A run cut at any moment and started again on the same
//!   flash resumes from the newest complete checkpoint and ends bit-identical to an
//!   uninterrupted one (same weights hashes, same figures, same log lines after the
//!   resume point).
//!
//! ```
//! use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
//! use microprop_app::drift::{self, Config, DefaultSession, DriftEvent};
//! use microprop_app::Sink;
//!
//! /// 16 KiB of RAM with NOR semantics (erase sets 0xFF, a write only clears bits).
//! struct Ram([u8; 16 * 1024]);
//! impl ErrorType for Ram { type Error = NorFlashErrorKind; }
//! impl ReadNorFlash for Ram {
//!     const READ_SIZE: usize = 1;
//!     fn read(&mut self, at: u32, out: &mut [u8]) -> Result<(), Self::Error> {
//!         let at = at as usize;
//!         out.copy_from_slice(self.0.get(at..at + out.len()).ok_or(NorFlashErrorKind::OutOfBounds)?);
//!         Ok(())
//!     }
//!     fn capacity(&self) -> usize { self.0.len() }
//! }
//! impl NorFlash for Ram {
//!     const WRITE_SIZE: usize = 4;
//!     const ERASE_SIZE: usize = 1024;
//!     fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
//!         self.0.get_mut(from as usize..to as usize).ok_or(NorFlashErrorKind::OutOfBounds)?.fill(0xFF);
//!         Ok(())
//!     }
//!     fn write(&mut self, at: u32, bytes: &[u8]) -> Result<(), Self::Error> {
//!         let at = at as usize;
//!         let to = self.0.get_mut(at..at + bytes.len()).ok_or(NorFlashErrorKind::OutOfBounds)?;
//!         to.iter_mut().zip(bytes).for_each(|(t, b)| *t &= b);
//!         Ok(())
//!     }
//! }
//! struct Quiet;
//! impl Sink<DriftEvent> for Quiet { fn event(&mut self, _: &DriftEvent) {} }
//!
//! let config = Config { samples: 600, ..Config::default() };
//! let mut flash = Ram([0xFF; 16 * 1024]);
//! // First boot: the power fails after 400 samples (one checkpoint written, at 250).
//! let mut session = DefaultSession::start(&config, config.stream(), &mut flash, &mut Quiet)?;
//! for _ in 0..400 {
//!     session.step(&mut Quiet)?;
//! }
//! drop(session);
//! // Second boot: resumes after sample 250 and ends as an uninterrupted run would.
//! let resumed = drift::run(&config, config.stream(), &mut flash, &mut Quiet)?;
//! let fresh = drift::run(&config, config.stream(), &mut Ram([0xFF; 16 * 1024]), &mut Quiet)?;
//! assert_eq!(resumed, fresh);
//! assert!(fresh.online.permille() > fresh.frozen.permille());
//! # Ok::<(), microprop_app::Error>(())
//! ```

use core::fmt;

use embedded_storage::nor_flash::NorFlash;
use microprop::checkpoint::{CheckpointError, Checkpoints};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::layer::Dense;
use microprop::replay::Reservoir;
use microprop::{
    Activation, Dataset, DefaultRng, Init, Loss, Model, Network, Sgd, Trainer, Training,
};

use crate::event::Sink;
use crate::number::Percent;
use crate::Error;

/// The layers of [`Net`]: 2-8-1.
pub type Layers = (Dense<f32, 2, 8>, (Dense<f32, 8, 1>, ()));
/// The network (`mlp![f32; 2, 8, 1]`): ReLU hidden layer, sigmoid output.
pub type Net = Network<Layers>;
/// The optimizer: plain SGD (its state is the learning rate alone).
pub type Opt = Sgd<f32>;
/// The replay buffer's capacity in the firmware's images ([`DefaultSession`]).
pub const REPLAY: usize = 32;
/// The loss (MSE on the sigmoid output, as the demo).
pub const LOSS: Loss = Loss::Mse;
/// The first bytes of the program's state in a checkpoint, after the two models.
pub const STATE_MAGIC: [u8; 4] = *b"MPDR";
/// The state section's version.
pub const STATE_VERSION: u8 = 1;
/// Bytes of one sample in a checkpoint: two `f32` and the label.
pub const SAMPLE_BYTES: usize = 9;
/// Bytes of the state section before the items: magic, version, flags, 2 reserved, then
/// the stream position, four counters and the reservoir's count and length (`u32` each).
pub const STATE_HEADER: usize = 8 + 7 * 4;

/// Bytes of a checkpoint's payload with a reservoir of `r` samples: the two models'
/// lengths (`u32` each), the online model with SGD, the frozen network, the state
/// section.
pub const fn payload_len(r: usize) -> usize {
    8 + format::network_len::<Net>(Some(0))
        + format::network_len::<Net>(None)
        + STATE_HEADER
        + r * SAMPLE_BYTES
}

/// The program as the firmware runs it: [`REPLAY`] samples of replay, a payload buffer of
/// [`payload_len`]`(REPLAY)` bytes.
pub type DefaultSession<F, S> = Session<F, S, REPLAY, { payload_len(REPLAY) }>;

/// One labelled sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// The features.
    pub x: [f32; 2],
    /// The class, 0 or 1.
    pub label: u8,
}

/// Where samples come from: a board's sensors (with whatever supplies the label), or the
/// generated [`DriftStream`].
///
/// A board's implementation reads its peripherals and returns one labelled sample; a
/// failed read can be retried inside `sample`, or end the run with `None` (the next boot
/// resumes from the last checkpoint):
///
/// ```
/// use microprop_app::drift::{Sample, Sensor};
///
/// /// Two ADC channels and a button that says which class the user is showing.
/// struct Probe<A: FnMut(u8) -> Option<u16>, B: FnMut() -> bool> { adc: A, button: B }
///
/// impl<A: FnMut(u8) -> Option<u16>, B: FnMut() -> bool> Sensor for Probe<A, B> {
///     fn sample(&mut self) -> Option<Sample> {
///         let x0 = f32::from((self.adc)(0)?) / 2048.0 - 1.0;
///         let x1 = f32::from((self.adc)(1)?) / 2048.0 - 1.0;
///         Some(Sample { x: [x0, x1], label: u8::from((self.button)()) })
///     }
///     // `skip_to` keeps its default: a live sensor cannot rewind.
/// }
///
/// let mut probe = Probe { adc: |ch| Some(1024 * u16::from(ch + 1)), button: || true };
/// assert_eq!(probe.sample(), Some(Sample { x: [-0.5, 0.0], label: 1 }));
/// ```
pub trait Sensor {
    /// The next sample; `None` when the stream has ended (the program then finishes).
    fn sample(&mut self) -> Option<Sample>;

    /// Called once on start with the number of samples the restored checkpoint had seen
    /// (0 on a fresh start). A live sensor cannot rewind: the default ignores it, and the
    /// run continues with whatever the world gives now. A replayable stream seeks to
    /// `position`, which makes a resumed run bit-identical to an uninterrupted one.
    fn skip_to(&mut self, position: u32) {
        let _ = position;
    }
}

/// The generated drifting stream: see the [module](self) documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriftStream {
    seed: u64,
    samples: u32,
    half_turns: f32,
    spread: f32,
    position: u32,
}

impl DriftStream {
    /// `samples` samples from `seed`, the centres turning by `half_turns` half-turns over
    /// them (0: no drift), each coordinate's noise of standard deviation `spread`.
    pub const fn new(seed: u64, samples: u32, half_turns: f32, spread: f32) -> Self {
        DriftStream {
            seed,
            samples,
            half_turns,
            spread,
            position: 0,
        }
    }

    /// Sample `i` (a pure function of the seed and `i`).
    pub fn at(&self, i: u32) -> Sample {
        let mut rng = microprop::rng(mix(self.seed ^ 0x5354_5245_414D_0000, i));
        let label = microprop::rng::below(&mut rng, 2) as u8;
        let turn = if self.samples == 0 {
            0.0
        } else {
            f64::from(self.half_turns) * f64::from(i) / f64::from(self.samples)
        };
        let theta = core::f64::consts::PI * turn;
        let sign = if label == 1 { 1.0 } else { -1.0 };
        let spread = f64::from(self.spread);
        let x0 = sign * libm::cos(theta) + spread * microprop::rng::normal(&mut rng);
        let x1 = sign * libm::sin(theta) + spread * microprop::rng::normal(&mut rng);
        Sample {
            x: [x0 as f32, x1 as f32],
            label,
        }
    }

    /// The next sample's index.
    pub fn position(&self) -> u32 {
        self.position
    }
}

impl Sensor for DriftStream {
    fn sample(&mut self) -> Option<Sample> {
        if self.position >= self.samples {
            return None;
        }
        let s = self.at(self.position);
        self.position += 1;
        Some(s)
    }
    fn skip_to(&mut self, position: u32) {
        self.position = position.min(self.samples);
    }
}

/// A seed for item `i` of the stream seeded `seed` (SplitMix64 expands it further).
const fn mix(seed: u64, i: u32) -> u64 {
    seed ^ (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The program's parameters. Resuming needs the same ones as the run that wrote the
/// checkpoint (they are not stored in it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Seed of the stream, the initial weights and the replay draws.
    pub seed: u64,
    /// Samples in the run.
    pub samples: u32,
    /// Half-turns of the clusters' centres over the run (0: no drift).
    pub half_turns: f32,
    /// Standard deviation of each coordinate around its centre.
    pub spread: f32,
    /// SGD's learning rate.
    pub lr: f32,
    /// Samples after which the frozen copy is taken (its "first epoch").
    pub warmup: u32,
    /// Replay steps after each new sample's step (0: no replay).
    pub replay_steps: u8,
    /// Samples per logged window.
    pub window: u32,
    /// Samples between checkpoints (0: never).
    pub checkpoint_every: u32,
}

impl Default for Config {
    /// Seed 7, 2,000 samples, one half-turn, spread 0.35, lr 0.3, warm-up 200, one replay
    /// step, windows of 200, a checkpoint every 250 samples.
    fn default() -> Self {
        Config {
            seed: 7,
            samples: 2000,
            half_turns: 1.0,
            spread: 0.35,
            lr: 0.3,
            warmup: 200,
            replay_steps: 1,
            window: 200,
            checkpoint_every: 250,
        }
    }
}

impl Config {
    /// The generated stream of this configuration.
    pub const fn stream(&self) -> DriftStream {
        DriftStream::new(self.seed, self.samples, self.half_turns, self.spread)
    }
}

/// What a finished run achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Samples seen in all (across boots).
    pub samples: u32,
    /// Samples scored after the warm-up.
    pub scored: u32,
    /// Of those, predicted right by the online model.
    pub online_correct: u32,
    /// Of those, predicted right by the frozen model.
    pub frozen_correct: u32,
    /// The online model's prequential accuracy after the warm-up.
    pub online: Percent,
    /// The frozen model's.
    pub frozen: Percent,
    /// Samples in the replay buffer at the end.
    pub replay_len: u32,
    /// Samples offered to it.
    pub replay_seen: u32,
    /// `Model::weights_hash` of the online network.
    pub online_hash: u64,
    /// `weights_hash` of the frozen network.
    pub frozen_hash: u64,
}

/// The memory the program keeps, in bytes (the same on every target).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// The online model: weights and training buffers (`Net::BYTES + Net::TRAINING_BYTES`).
    pub model: u32,
    /// The frozen network's weights (`Net::BYTES`).
    pub frozen: u32,
    /// The optimizer's state (`size_of::<Sgd<f32>>()`).
    pub optimizer: u32,
    /// Replay capacity in samples.
    pub replay_capacity: u32,
    /// The replay buffer (`size_of::<Reservoir<Sample, R>>()`).
    pub replay: u32,
    /// The checkpoint payload buffer (`P`; on the stack only while a checkpoint is loaded
    /// or written).
    pub buffer: u32,
    /// One checkpoint slot on the flash.
    pub slot: u32,
}

/// One log line of the drift program. Text in the variant docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DriftEvent {
    /// `drift: seed {seed}, {samples} samples, {turn} half-turns, spread {spread}, lr {lr}, warm-up {warmup}, replay {capacity} x {steps}, checkpoint every {every}`
    /// (`turn`, `spread` and `lr` in thousandths: `{}.{:03}`).
    Start {
        /// The seed.
        seed: u64,
        /// Samples in the run.
        samples: u32,
        /// Half-turns, in thousandths.
        turn_milli: u32,
        /// Spread, in thousandths.
        spread_milli: u32,
        /// Learning rate, in thousandths.
        lr_milli: u32,
        /// Warm-up samples.
        warmup: u32,
        /// Replay capacity.
        capacity: u32,
        /// Replay steps per sample.
        steps: u8,
        /// Samples between checkpoints.
        every: u32,
    },
    /// `memory: model {model} B, frozen {frozen} B, optimizer {optimizer} B, replay {capacity} samples {replay} B, checkpoint buffer {buffer} B, slot {slot} B`
    Memory(Memory),
    /// `no checkpoint: from the start`
    Fresh,
    /// `resumed from checkpoint seq {seq} at sample {samples}`
    Resumed {
        /// The checkpoint's sequence number.
        seq: u32,
        /// Samples it had seen.
        samples: u32,
    },
    /// `checkpoint does not fit ({error:?}): from the start`
    Mismatch {
        /// Why the newest checkpoint did not load.
        error: microprop::Error,
    },
    /// `frozen after {samples} samples`
    Frozen {
        /// Samples seen when the copy was taken.
        samples: u32,
    },
    /// `samples {first}-{last}: online {online}% frozen {frozen}%` — prequential accuracy
    /// over the window.
    Window {
        /// First sample of the window (1-based).
        first: u32,
        /// Last sample of the window.
        last: u32,
        /// The online model's accuracy over it.
        online: Percent,
        /// The frozen model's (the online model's during the warm-up).
        frozen: Percent,
    },
    /// `checkpoint seq {seq} in slot {slot} at sample {samples}`
    Checkpoint {
        /// Samples seen.
        samples: u32,
        /// The record's sequence number.
        seq: u32,
        /// Its slot.
        slot: u32,
    },
    /// `result: online {online}% frozen {frozen}% over {scored} samples after warm-up, replay {len} of {seen} seen`
    Result {
        /// Samples scored.
        scored: u32,
        /// The online model's prequential accuracy.
        online: Percent,
        /// The frozen model's.
        frozen: Percent,
        /// Samples in the replay buffer.
        len: u32,
        /// Samples offered to it.
        seen: u32,
    },
    /// `done: {samples} samples, weights hash online {online:016x} frozen {frozen:016x}`
    Done {
        /// Samples seen in all.
        samples: u32,
        /// The online network's hash.
        online: u64,
        /// The frozen network's hash.
        frozen: u64,
    },
}

/// `n / 1000` as `{}.{:03}`.
struct Milli(u32);

impl fmt::Display for Milli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// `x` in thousandths, rounded (negative and NaN: 0).
fn milli(x: f32) -> u32 {
    let v = libm::round(f64::from(x) * 1000.0);
    if v.is_nan() || v < 0.0 {
        0
    } else if v > f64::from(u32::MAX) {
        u32::MAX
    } else {
        v as u32
    }
}

impl fmt::Display for DriftEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DriftEvent::Start {
                seed,
                samples,
                turn_milli,
                spread_milli,
                lr_milli,
                warmup,
                capacity,
                steps,
                every,
            } => write!(
                f,
                "drift: seed {seed}, {samples} samples, {} half-turns, spread {}, lr {}, warm-up {warmup}, replay {capacity} x {steps}, checkpoint every {every}",
                Milli(turn_milli),
                Milli(spread_milli),
                Milli(lr_milli)
            ),
            DriftEvent::Memory(m) => write!(
                f,
                "memory: model {} B, frozen {} B, optimizer {} B, replay {} samples {} B, checkpoint buffer {} B, slot {} B",
                m.model, m.frozen, m.optimizer, m.replay_capacity, m.replay, m.buffer, m.slot
            ),
            DriftEvent::Fresh => f.write_str("no checkpoint: from the start"),
            DriftEvent::Resumed { seq, samples } => {
                write!(f, "resumed from checkpoint seq {seq} at sample {samples}")
            }
            DriftEvent::Mismatch { error } => {
                write!(f, "checkpoint does not fit ({error:?}): from the start")
            }
            DriftEvent::Frozen { samples } => write!(f, "frozen after {samples} samples"),
            DriftEvent::Window {
                first,
                last,
                online,
                frozen,
            } => write!(
                f,
                "samples {first}-{last}: online {online}% frozen {frozen}%"
            ),
            DriftEvent::Checkpoint { samples, seq, slot } => write!(
                f,
                "checkpoint seq {seq} in slot {slot} at sample {samples}"
            ),
            DriftEvent::Result {
                scored,
                online,
                frozen,
                len,
                seen,
            } => write!(
                f,
                "result: online {online}% frozen {frozen}% over {scored} samples after warm-up, replay {len} of {seen} seen"
            ),
            DriftEvent::Done {
                samples,
                online,
                frozen,
            } => write!(
                f,
                "done: {samples} samples, weights hash online {online:016x} frozen {frozen:016x}"
            ),
        }
    }
}

/// The counters a checkpoint stores besides the models and the reservoir.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counters {
    /// Samples seen (the stream position).
    samples: u32,
    /// Right predictions after the warm-up: online, frozen.
    online: u32,
    frozen: u32,
    /// Right predictions in the current window: online, frozen.
    window_online: u32,
    window_frozen: u32,
}

/// One boot of the program: see the [module](self) documentation. `R` is the replay
/// capacity, `P` the size of the payload buffer a checkpoint is encoded in, on the stack
/// while loading or writing (at least [`payload_len`]`(R)`; use
/// [`DefaultSession`] or `Session<F, S, R, { payload_len(R) }>`).
pub struct Session<F, S, const R: usize, const P: usize> {
    config: Config,
    sensor: S,
    checkpoints: Checkpoints<F>,
    online: Training<Layers>,
    opt: Opt,
    trainer: Trainer,
    frozen: Net,
    replay: Reservoir<Sample, R>,
    counts: Counters,
}

/// The initial network, optimizer and trainer of `config`.
fn fresh(config: &Config) -> Result<(Training<Layers>, Net, Opt, Trainer), Error> {
    let mut rng = microprop::rng(config.seed);
    let net = Net::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut rng,
    )?;
    let frozen = net.clone();
    Ok((
        net.into_training(),
        frozen,
        Sgd::new(config.lr)?,
        Trainer::new(LOSS, 1)?,
    ))
}

/// Little-endian reader of the state section.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], microprop::Error> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(microprop::Error::Format(microprop::FormatError::Truncated))?;
        self.0 = rest;
        Ok(*head)
    }
    fn u32(&mut self) -> Result<u32, microprop::Error> {
        self.take::<4>().map(u32::from_le_bytes)
    }
}

impl<F: NorFlash, S: Sensor, const R: usize, const P: usize> Session<F, S, R, P> {
    /// The memory the program keeps (see [`Memory`]).
    pub fn memory() -> Memory {
        Memory {
            model: (Net::BYTES + Net::TRAINING_BYTES) as u32,
            frozen: Net::BYTES as u32,
            optimizer: core::mem::size_of::<Opt>() as u32,
            replay_capacity: R as u32,
            replay: core::mem::size_of::<Reservoir<Sample, R>>() as u32,
            buffer: P as u32,
            slot: Checkpoints::<F>::slot_len_for(payload_len(R)) as u32,
        }
    }

    /// Creates the models, then loads the newest complete checkpoint from `flash` if one
    /// fits, and moves `sensor` to its position ([`Sensor::skip_to`]). Logs
    /// [`DriftEvent::Start`], [`DriftEvent::Memory`], then [`DriftEvent::Resumed`],
    /// [`DriftEvent::Fresh`] or [`DriftEvent::Mismatch`].
    ///
    /// # Errors
    /// [`Error::Train`] for an invalid configuration ([`microprop::Error::Capacity`] if
    /// `P < payload_len(R)`); [`Error::Checkpoint`] if the flash is too small for two
    /// slots, or reading it fails.
    pub fn start<K: Sink<DriftEvent> + ?Sized>(
        config: &Config,
        sensor: S,
        flash: F,
        sink: &mut K,
    ) -> Result<Self, Error> {
        if P < payload_len(R) || R == 0 {
            return Err(Error::Train(microprop::Error::Capacity));
        }
        sink.event(&DriftEvent::Start {
            seed: config.seed,
            samples: config.samples,
            turn_milli: milli(config.half_turns),
            spread_milli: milli(config.spread),
            lr_milli: milli(config.lr),
            warmup: config.warmup,
            capacity: R as u32,
            steps: config.replay_steps,
            every: config.checkpoint_every,
        });
        sink.event(&DriftEvent::Memory(Self::memory()));
        let (online, frozen, opt, trainer) = fresh(config)?;
        let region = u32::try_from(flash.capacity()).unwrap_or(u32::MAX);
        let slot = Checkpoints::<F>::slot_len_for(payload_len(R)) as u32;
        let region = region - region % slot;
        let checkpoints = Checkpoints::new(flash, 0, region, slot)?;
        let mut s = Session {
            config: *config,
            sensor,
            checkpoints,
            online,
            opt,
            trainer,
            frozen,
            replay: Reservoir::new(Sample::default()),
            counts: Counters::default(),
        };
        let mut buf = [0u8; P];
        let loaded = {
            let Session {
                checkpoints,
                online,
                opt,
                frozen,
                replay,
                counts,
                ..
            } = &mut s;
            checkpoints.load_with(&mut buf, |payload| {
                decode::<R>(payload, online, opt, frozen, replay, counts)
            })
        };
        match loaded {
            Ok(Some((record, ()))) => sink.event(&DriftEvent::Resumed {
                seq: record.seq,
                samples: s.counts.samples,
            }),
            Ok(None) => sink.event(&DriftEvent::Fresh),
            Err(CheckpointError::Model(error)) => {
                s.reset()?;
                sink.event(&DriftEvent::Mismatch { error });
            }
            Err(e) => return Err(e.into()),
        }
        s.sensor.skip_to(s.counts.samples);
        Ok(s)
    }

    /// Back to the initial state (after a load that failed half-way).
    fn reset(&mut self) -> Result<(), Error> {
        let (online, frozen, opt, trainer) = fresh(&self.config)?;
        self.online = online;
        self.frozen = frozen;
        self.opt = opt;
        self.trainer = trainer;
        self.replay.clear();
        self.counts = Counters::default();
        Ok(())
    }

    /// Samples seen so far (restored ones included).
    pub fn samples_done(&self) -> u32 {
        self.counts.samples
    }

    /// Whether the run is complete.
    pub fn is_done(&self) -> bool {
        self.counts.samples >= self.config.samples
    }

    /// The online model's class for `x` (output ≥ 0.5).
    fn class(net: &Net, x: &[f32; 2]) -> Result<u8, Error> {
        Ok(u8::from(net.predict(x)?[0] >= 0.5))
    }

    /// One online step on `s` (batch 1, no dropout: `rng` is not drawn from).
    fn learn(&mut self, s: &Sample, rng: &mut DefaultRng) -> Result<(), Error> {
        let x = [s.x];
        let y = [s.label];
        let data = Dataset::new(&x, &y)?;
        self.trainer
            .step(&mut self.online, &mut self.opt, &data, &[0], rng)?;
        Ok(())
    }

    /// Takes the next sample: predicts it with both models, learns from it (and from
    /// replayed samples), offers it to the replay buffer, and logs a window, the freeze
    /// and a checkpoint when they fall due. Returns whether samples remain.
    ///
    /// # Errors
    /// [`Error::Train`] if a step is refused; [`Error::Checkpoint`] if writing a
    /// checkpoint fails (a power cut, in the simulator).
    pub fn step<K: Sink<DriftEvent> + ?Sized>(&mut self, sink: &mut K) -> Result<bool, Error> {
        if self.is_done() {
            return Ok(false);
        }
        let Some(sample) = self.sensor.sample() else {
            self.config.samples = self.counts.samples;
            return Ok(false);
        };
        let c = &self.config;
        let n = self.counts.samples + 1;
        let online_ok = Self::class(self.online.network(), &sample.x)? == sample.label;
        let frozen_ok = if n > c.warmup {
            Self::class(&self.frozen, &sample.x)? == sample.label
        } else {
            online_ok
        };
        let mut rng = microprop::rng(mix(self.config.seed ^ 0x5245_504C_4159_0000, n));
        self.learn(&sample, &mut rng)?;
        for _ in 0..self.config.replay_steps {
            if let Some(old) = self.replay.choose(&mut rng).copied() {
                self.learn(&old, &mut rng)?;
            }
        }
        self.replay.offer(sample, &mut rng)?;
        let k = &mut self.counts;
        k.samples = n;
        k.window_online += u32::from(online_ok);
        k.window_frozen += u32::from(frozen_ok);
        if n > self.config.warmup {
            k.online += u32::from(online_ok);
            k.frozen += u32::from(frozen_ok);
        }
        if n == self.config.warmup {
            self.frozen = self.online.network().clone();
            sink.event(&DriftEvent::Frozen { samples: n });
        }
        let w = self.config.window.max(1);
        if n.is_multiple_of(w) || n == self.config.samples {
            let first = (n - 1) / w * w + 1;
            let len = n - first + 1;
            sink.event(&DriftEvent::Window {
                first,
                last: n,
                online: Percent::of(k.window_online, len),
                frozen: Percent::of(k.window_frozen, len),
            });
            k.window_online = 0;
            k.window_frozen = 0;
        }
        let every = self.config.checkpoint_every;
        if every > 0 && n.is_multiple_of(every) && n < self.config.samples {
            self.checkpoint(sink)?;
        }
        Ok(!self.is_done())
    }

    /// Writes a checkpoint of everything and logs [`DriftEvent::Checkpoint`].
    fn checkpoint<K: Sink<DriftEvent> + ?Sized>(&mut self, sink: &mut K) -> Result<(), Error> {
        let mut buf = [0u8; P];
        let n = encode(
            &self.online,
            &self.opt,
            &self.frozen,
            &self.replay,
            &self.counts,
            &mut buf,
        )?;
        let record = self.checkpoints.write(buf.get(..n).unwrap_or(&[]))?;
        sink.event(&DriftEvent::Checkpoint {
            samples: self.counts.samples,
            seq: record.seq,
            slot: record.slot,
        });
        Ok(())
    }

    /// Logs [`DriftEvent::Result`] and [`DriftEvent::Done`] and returns the figures.
    pub fn finish<K: Sink<DriftEvent> + ?Sized>(self, sink: &mut K) -> Result<Outcome, Error> {
        let k = self.counts;
        let scored = k.samples.saturating_sub(self.config.warmup);
        let outcome = Outcome {
            samples: k.samples,
            scored,
            online_correct: k.online,
            frozen_correct: k.frozen,
            online: Percent::of(k.online, scored),
            frozen: Percent::of(k.frozen, scored),
            replay_len: self.replay.len() as u32,
            replay_seen: self.replay.seen(),
            online_hash: self.online.weights_hash(),
            frozen_hash: self.frozen.weights_hash(),
        };
        sink.event(&DriftEvent::Result {
            scored,
            online: outcome.online,
            frozen: outcome.frozen,
            len: outcome.replay_len,
            seen: outcome.replay_seen,
        });
        sink.event(&DriftEvent::Done {
            samples: k.samples,
            online: outcome.online_hash,
            frozen: outcome.frozen_hash,
        });
        Ok(outcome)
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.checkpoints.into_inner()
    }
}

/// Writes the payload: online model with SGD, frozen network, state. Returns its length.
fn encode<const R: usize>(
    online: &Training<Layers>,
    opt: &Opt,
    frozen: &Net,
    replay: &Reservoir<Sample, R>,
    k: &Counters,
    buf: &mut [u8],
) -> Result<usize, microprop::Error> {
    let extras = Extras {
        optimizer: Some(opt),
        progress: Progress {
            epoch: 0,
            step: k.samples,
        },
    };
    let (lens, models) = buf
        .split_first_chunk_mut::<8>()
        .ok_or(microprop::Error::Capacity)?;
    let a = format::save_model(online, &extras, models)?;
    let rest = models.get_mut(a..).ok_or(microprop::Error::Capacity)?;
    let b = format::save_network(frozen, &Extras::none(), rest)?;
    let state = rest.get_mut(b..).ok_or(microprop::Error::Capacity)?;
    let need = STATE_HEADER + replay.len() * SAMPLE_BYTES;
    let state = state.get_mut(..need).ok_or(microprop::Error::Capacity)?;
    let (head, items) = state.split_at_mut(STATE_HEADER);
    let words = [
        k.samples,
        k.online,
        k.frozen,
        k.window_online,
        k.window_frozen,
        replay.seen(),
        replay.len() as u32,
    ];
    let (magic, fields) = head.split_at_mut(8);
    magic.copy_from_slice(&[
        STATE_MAGIC[0],
        STATE_MAGIC[1],
        STATE_MAGIC[2],
        STATE_MAGIC[3],
        STATE_VERSION,
        0,
        0,
        0,
    ]);
    for (dst, w) in fields.chunks_exact_mut(4).zip(words) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    for (dst, s) in items.chunks_exact_mut(SAMPLE_BYTES).zip(replay.as_slice()) {
        let (x0, rest) = dst.split_at_mut(4);
        let (x1, label) = rest.split_at_mut(4);
        x0.copy_from_slice(&s.x[0].to_bits().to_le_bytes());
        x1.copy_from_slice(&s.x[1].to_bits().to_le_bytes());
        label.fill(s.label);
    }
    let len = |n: usize| u32::try_from(n).map_err(|_| microprop::Error::Capacity);
    let (la, lb) = lens.split_at_mut(4);
    la.copy_from_slice(&len(a)?.to_le_bytes());
    lb.copy_from_slice(&len(b)?.to_le_bytes());
    Ok(8 + a + b + need)
}

/// Reads a payload [`encode`] wrote. The state section is parsed and checked first (every
/// replayed sample finite with a label 0 or 1, the counts consistent); then the online
/// model and SGD are loaded (all checked before anything is written), then the frozen
/// network, the reservoir and the counters. Only a frozen network that fails to load
/// after the online one loaded leaves the session half-set: [`Session::start`] then
/// resets it. (Both are [`Net`], so if the first fits, the second's shape does.)
fn decode<const R: usize>(
    payload: &[u8],
    online: &mut Training<Layers>,
    opt: &mut Opt,
    frozen: &mut Net,
    replay: &mut Reservoir<Sample, R>,
    k: &mut Counters,
) -> Result<(), microprop::Error> {
    let malformed = microprop::Error::Format(microprop::FormatError::Malformed);
    let mut r = Reader(payload);
    let a = r.u32()? as usize;
    let b = r.u32()? as usize;
    let models = r.0;
    let second = a.checked_add(b).ok_or(malformed)?;
    let (online_bytes, frozen_bytes) = (
        models.get(..a).ok_or(malformed)?,
        models.get(a..second).ok_or(malformed)?,
    );
    let mut r = Reader(models.get(second..).ok_or(malformed)?);
    let head = r.take::<8>()?;
    if head[..4] != STATE_MAGIC || head[4] != STATE_VERSION {
        return Err(malformed);
    }
    let counts = Counters {
        samples: r.u32()?,
        online: r.u32()?,
        frozen: r.u32()?,
        window_online: r.u32()?,
        window_frozen: r.u32()?,
    };
    let seen = r.u32()?;
    let len = r.u32()? as usize;
    if len != R.min(seen as usize) || seen != counts.samples {
        return Err(malformed);
    }
    let mut items = [Sample::default(); R];
    for item in items.iter_mut().take(len) {
        let x0 = f32::from_bits(r.u32()?);
        let x1 = f32::from_bits(r.u32()?);
        let [label] = r.take::<1>()?;
        if !(x0.is_finite() && x1.is_finite()) || label > 1 {
            return Err(malformed);
        }
        *item = Sample { x: [x0, x1], label };
    }
    let targets = Targets {
        optimizer: Some(opt),
    };
    format::load_model(online_bytes, online, targets)?;
    format::load_network(frozen_bytes, frozen, Targets::none())?;
    replay.restore(seen, items.get(..len).ok_or(malformed)?)?;
    *k = counts;
    Ok(())
}

/// One boot from start to finish: [`Session::start`], every remaining
/// [`Session::step`], [`Session::finish`].
///
/// # Errors
/// As those.
pub fn run<F: NorFlash, S: Sensor, K: Sink<DriftEvent> + ?Sized>(
    config: &Config,
    sensor: S,
    flash: F,
    sink: &mut K,
) -> Result<Outcome, Error> {
    let mut session = DefaultSession::start(config, sensor, flash, sink)?;
    while session.step(sink)? {}
    session.finish(sink)
}
