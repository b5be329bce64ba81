//! The checkpoint-and-resume program: trains with Adam, checkpoints after every epoch into
//! a NOR flash, and on every start resumes from the newest complete checkpoint, so that a
//! run cut by a power loss at any moment ends with the same weights as an uninterrupted
//! one.
//!
//! The flash is any [`NorFlash`]; all of it
//! ([`capacity`](embedded_storage::nor_flash::ReadNorFlash::capacity)) is the checkpoint
//! region, so give the program a partition of its own (the QEMU firmware passes 16 KiB
//! of mps2's flash-RAM, the simulator a RAM-backed flash). The checkpoints are
//! [`microprop::checkpoint::Checkpoints`] in slots of [`slot_len`] bytes: the model with
//! its Adam state and the progress (epoch, step).
//!
//! Every epoch's shuffle comes from its own generator, seeded by the seed and the epoch
//! alone, and Adam's step count is restored from the checkpoint: a resumed run trains
//! exactly as an uninterrupted one.
//!
//! ```
//! use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
//! use microprop_app::{resume, ResumeEvent, Sink};
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
//! struct Print;
//! impl Sink<ResumeEvent> for Print { fn event(&mut self, e: &ResumeEvent) { println!("{e}"); } }
//!
//! let config = resume::Config { epochs: 3, ..resume::Config::default() };
//! let mut flash = Ram([0xFF; 16 * 1024]);
//! // First boot: the power fails after two epochs.
//! let mut session = resume::Session::start(&config, &mut flash, &mut Print)?;
//! session.epoch(&mut Print)?;
//! session.epoch(&mut Print)?;
//! drop(session);
//! // Second boot: resumes after epoch 2 and ends as an uninterrupted run would.
//! let resumed = resume::run(&config, &mut flash, &mut Print)?;
//! let uninterrupted = resume::run(&config, &mut Ram([0xFF; 16 * 1024]), &mut Print)?;
//! assert_eq!(resumed, uninterrupted);
//! # Ok::<(), microprop_app::Error>(())
//! ```

use embedded_storage::nor_flash::NorFlash;
use microprop::checkpoint::{CheckpointError, Checkpoints};
use microprop::format::{self, Extras, Progress, Targets};
use microprop::layer::Dense;
use microprop::{
    data::Clusters, train, Activation, Adam, AdamConfig, Dataset, Init, Loss, Model, Network,
    Trainer, Training,
};

use crate::event::{ResumeEvent, Sink};
use crate::number::{Fixed6, Percent};
use crate::Error;

/// The layers of [`Net`]: 2-16-16-1.
pub type Layers = (
    Dense<f32, 2, 16>,
    (Dense<f32, 16, 16>, (Dense<f32, 16, 1>, ())),
);
/// The network (`mlp![f32; 2, 16, 16, 1]`): ReLU hidden layers, sigmoid output.
pub type Net = Network<Layers>;
/// Adam with its two moment vectors.
pub type Opt = Adam<f32, [f32; 2 * Net::PARAMS]>;
/// Training samples (two clusters, generated from the seed).
pub const SAMPLES: usize = 128;
/// Bytes of one checkpoint's payload: the model with Adam's state.
pub const PAYLOAD: usize = format::network_len::<Net>(Some(2 * Net::PARAMS));
/// The loss.
pub const LOSS: Loss = Loss::Mse;

/// The program's parameters. Resuming needs the same ones as the run that wrote the
/// checkpoint (they are not stored in it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Seed of the data and the initial weights; epoch `e` shuffles with seed
    /// `seed + 1000 + e` (wrapping).
    pub seed: u64,
    /// Epochs in all.
    pub epochs: u32,
    /// Standard deviation of each cluster around its centre ±(1, 1).
    pub spread: f32,
    /// Adam's learning rate (the other hyper-parameters are `AdamConfig`'s defaults).
    pub lr: f32,
    /// Mini-batch size.
    pub batch: u16,
}

impl Default for Config {
    /// Seed 6, 150 epochs, spread 0.8, lr 0.005, batch 8.
    fn default() -> Self {
        Config {
            seed: 6,
            epochs: 150,
            spread: 0.8,
            lr: 0.005,
            batch: 8,
        }
    }
}

/// What a finished run achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Epochs trained in all.
    pub epochs: u32,
    /// Optimizer steps in all.
    pub steps: u32,
    /// Training-set accuracy.
    pub accuracy: Percent,
    /// `Model::weights_hash` of the trained net.
    pub hash: u64,
}

/// The slot size: header, [`PAYLOAD`], commit marker and seal, in whole erase pages of `F`.
pub const fn slot_len<F: NorFlash>() -> usize {
    Checkpoints::<F>::slot_len_for(PAYLOAD)
}

/// One boot of the program: the network, its optimizer and data, and the checkpoints.
/// [`Session::start`] loads the newest checkpoint; each [`Session::epoch`] trains one
/// epoch and checkpoints it; [`Session::finish`] reports. Dropping a session half-way is
/// a power cut after the last checkpoint; a cut *inside* a checkpoint is the flash
/// failing mid-write (the record is then ignored on the next start).
pub struct Session<F> {
    config: Config,
    checkpoints: Checkpoints<F>,
    x: [[f32; 2]; SAMPLES],
    labels: [u8; SAMPLES],
    model: Training<Layers>,
    opt: Opt,
    trainer: Trainer,
    buf: [u8; PAYLOAD],
    /// Epochs completed (the next epoch is `done + 1`).
    done: u32,
}

impl<F: NorFlash> Session<F> {
    /// Generates the data, creates the network (so the generator advances exactly as in
    /// an uninterrupted run), then loads the newest complete checkpoint from `flash` if
    /// there is one that fits. Logs [`ResumeEvent::Resumed`], [`ResumeEvent::Fresh`] or
    /// [`ResumeEvent::Mismatch`].
    ///
    /// # Errors
    /// [`Error::Train`] for an invalid configuration; [`Error::Checkpoint`] if the flash
    /// is too small for two slots, or reading it fails.
    pub fn start<S: Sink<ResumeEvent> + ?Sized>(
        config: &Config,
        flash: F,
        sink: &mut S,
    ) -> Result<Self, Error> {
        let mut rng = microprop::rng(config.seed);
        let mut x = [[0.0f32; 2]; SAMPLES];
        let mut labels = [0u8; SAMPLES];
        Clusters::two(config.spread).generate(&mut rng, &mut x, &mut labels)?;
        let net = Net::new(
            Activation::Relu,
            Activation::Sigmoid,
            Init::HeNormal,
            0.01,
            &mut rng,
        )?;
        let adam = AdamConfig {
            lr: config.lr,
            ..AdamConfig::default()
        };
        let opt = Opt::new(adam, [0.0; 2 * Net::PARAMS])?;
        let trainer = Trainer::new(LOSS, usize::from(config.batch))?;
        let region = u32::try_from(flash.capacity()).unwrap_or(u32::MAX);
        let checkpoints = Checkpoints::new(flash, 0, region, slot_len::<F>() as u32)?;
        let mut s = Session {
            config: *config,
            checkpoints,
            x,
            labels,
            model: net.into_training(),
            opt,
            trainer,
            buf: [0; PAYLOAD],
            done: 0,
        };
        // The optimizer's whole state, its step count included, is restored with it.
        let targets = Targets {
            optimizer: Some(&mut s.opt),
        };
        match s.checkpoints.load(&mut s.model, targets, &mut s.buf) {
            Ok(Some((record, loaded))) => {
                s.done = loaded.progress.epoch;
                sink.event(&ResumeEvent::Resumed {
                    seq: record.seq,
                    epoch: loaded.progress.epoch,
                    step: loaded.progress.step,
                });
            }
            Ok(None) => sink.event(&ResumeEvent::Fresh),
            Err(CheckpointError::Model(error)) => sink.event(&ResumeEvent::Mismatch { error }),
            Err(e) => return Err(e.into()),
        }
        Ok(s)
    }

    /// Epochs completed so far (restored ones included).
    pub fn epochs_done(&self) -> u32 {
        self.done
    }

    /// Whether every epoch of the configuration is done.
    pub fn is_done(&self) -> bool {
        self.done >= self.config.epochs
    }

    /// Trains the next epoch and checkpoints it; logs [`ResumeEvent::Checkpoint`].
    /// Returns whether epochs remain.
    ///
    /// # Errors
    /// [`Error::Train`] if a step is refused; [`Error::Checkpoint`] if writing the
    /// checkpoint fails (a power cut, in the simulator).
    pub fn epoch<S: Sink<ResumeEvent> + ?Sized>(&mut self, sink: &mut S) -> Result<bool, Error> {
        if self.is_done() {
            return Ok(false);
        }
        let data = Dataset::new(&self.x, &self.labels)?;
        let mut order = [0u16; SAMPLES];
        train::fill_order(&mut order)?;
        let mut rng = microprop::rng(self.config.seed.wrapping_add(1000 + u64::from(self.done)));
        let loss =
            self.trainer
                .epoch(&mut self.model, &mut self.opt, &data, &mut order, &mut rng)?;
        let epoch = self.done + 1;
        let extras = Extras {
            optimizer: Some(&self.opt),
            progress: Progress {
                epoch,
                step: self.opt.steps(),
            },
        };
        let record = self.checkpoints.save(&self.model, &extras, &mut self.buf)?;
        self.done = epoch;
        sink.event(&ResumeEvent::Checkpoint {
            epoch,
            loss: Fixed6::new(loss),
            seq: record.seq,
            slot: record.slot,
        });
        Ok(!self.is_done())
    }

    /// Evaluates the trained net on the data and logs [`ResumeEvent::Done`].
    ///
    /// # Errors
    /// [`Error::Train`] if evaluation is refused.
    pub fn finish<S: Sink<ResumeEvent> + ?Sized>(mut self, sink: &mut S) -> Result<Outcome, Error> {
        let data = Dataset::new(&self.x, &self.labels)?;
        let m = train::evaluate(&mut self.model, LOSS, &data)?;
        let correct = libm::roundf(m.accuracy * SAMPLES as f32) as u32;
        let outcome = Outcome {
            epochs: self.done,
            steps: self.opt.steps(),
            accuracy: Percent::of(correct, SAMPLES as u32),
            hash: self.model.weights_hash(),
        };
        sink.event(&ResumeEvent::Done {
            epochs: outcome.epochs,
            steps: outcome.steps,
            acc: outcome.accuracy,
            hash: outcome.hash,
        });
        Ok(outcome)
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.checkpoints.into_inner()
    }
}

/// One boot from start to finish: [`Session::start`], every remaining
/// [`Session::epoch`], [`Session::finish`].
///
/// # Errors
/// As those.
pub fn run<F: NorFlash, S: Sink<ResumeEvent> + ?Sized>(
    config: &Config,
    flash: F,
    sink: &mut S,
) -> Result<Outcome, Error> {
    let mut session = Session::start(config, flash, sink)?;
    while session.epoch(sink)? {}
    session.finish(sink)
}
