//! # microprop-app: the on-device programs
//!
//! Every program the firmware runs lives here, board-independent: the training demo
//! ([`run`]), the checkpoint-and-resume program ([`resume`]) and the cost benchmark
//! ([`bench`](mod@bench)). The firmware runs them on Cortex-M cores (emulated M4F, M3 and
//! M0, and a real STM32F411) and only wires peripherals to them; the host simulator
//! (`microprop-sim demo`, `resume`, `bench`) runs the very same code. They reach the
//! board only through `embedded-hal` 1.0 / `embedded-storage` 0.3 traits and traits of
//! their own:
//!
//! * [`Board`]: the status LED ([`OutputPin`](embedded_hal::digital::OutputPin)), a delay
//!   ([`DelayNs`](embedded_hal::delay::DelayNs)) and a cycle counter ([`Cycles`]).
//! * A [`NorFlash`](embedded_storage::nor_flash::NorFlash) for the resume program's
//!   checkpoints; a [`bench::Meter`] (a [`Cycles`] plus the ends of each counted region)
//!   for the benchmark.
//! * [`Sink`]: receives one typed event per log line ([`Event`], [`ResumeEvent`],
//!   [`BenchEvent`]). Each event's `Display` is the line's text; the firmware logs the
//!   same fields with defmt format strings that print the same characters, so the device
//!   log and the simulator's output can be compared line by line. Numbers are printed
//!   from integers ([`number`]), because defmt's decoder and `core::fmt` format floats
//!   differently. Only [`Event::Timing`] lines (and the benchmark's ticks) differ between
//!   platforms ([`Event::is_deterministic`]).
//!
//! ## The demo ([`run`])
//! 1. Generates [`SAMPLES`] two-cluster samples (`Clusters::two(0.7)`, centres ±(1, 1))
//!    from [`Config::seed`].
//! 2. Fits the mean streaming (`Standardizer::update` per sample) and subtracts it.
//! 3. Trains, with MSE ([`LOSS`], why: see there) and SGD, a 2-16-16-1 ReLU net (He init,
//!    biases 0.01), and the notes' 2-layer (2-2-2-1) and 9-layer (nine hidden layers of 2)
//!    sigmoid nets (He init), logging loss and accuracy after every epoch.
//! 4. Logs the 9-layer net's per-layer gradient norms at init and after training: the
//!    first layers' gradients are orders of magnitude smaller than the last's.
//! 5. Logs each net's weights hash (`Model::weights_hash`, 16 hex digits) and the verdict
//!    (ReLU net ≥ 95 %), blinks the LED three times and returns an [`Outcome`].
//!
//! ```
//! use core::convert::Infallible;
//! use microprop_app::{run, Board, Config, Cycles, Event, Sink};
//!
//! struct Pin;
//! impl embedded_hal::digital::ErrorType for Pin { type Error = Infallible; }
//! impl embedded_hal::digital::OutputPin for Pin {
//!     fn set_low(&mut self) -> Result<(), Infallible> { Ok(()) }
//!     fn set_high(&mut self) -> Result<(), Infallible> { Ok(()) }
//! }
//! struct NoDelay;
//! impl embedded_hal::delay::DelayNs for NoDelay { fn delay_ns(&mut self, _: u32) {} }
//! struct Counter(u32);
//! impl Cycles for Counter { fn now(&mut self) -> u32 { self.0 += 1; self.0 } }
//! struct Print;
//! impl Sink for Print { fn event(&mut self, e: &Event) { println!("{e}"); } }
//!
//! let mut board = Board { led: Pin, delay: NoDelay, cycles: Counter(0) };
//! let outcome = run(&Config::default(), &mut board, &mut Print)?;
//! assert!(outcome.passed);
//! # Ok::<(), microprop_app::Error>(())
//! ```
//!
//! ## Checkpoint and resume ([`resume`])
//! Trains a 2-16-16-1 ReLU net with Adam, checkpoints after every epoch through
//! `microprop::checkpoint::Checkpoints` into any `NorFlash`, and on start resumes from the
//! newest complete checkpoint, so a run cut at any moment ends with the uninterrupted
//! run's weights ([`resume::Session`] drives it epoch by epoch, [`resume::run`] to the
//! end; its module docs have an example with a RAM flash).
//!
//! ## Fine-tuning a host-trained model (feature `finetune`, [`finetune`](mod@finetune))
//! The host-trained iris classifier, embedded as a `static` ([`iris_model`]), scored on
//! the device's miscalibrated readings, fine-tuned on its labelled samples, compared
//! with a net trained from scratch on the device.
//!
//! ## The minimal trainer (feature `tiny`, [`tiny`](mod@tiny))
//! N1 (2-16-1 sigmoid) trained online on a generated two-cluster stream that is never
//! stored, its held-out accuracy logged every epoch: the M0 image that keeps within
//! 16 KiB of flash and 1.5 KiB of RAM.
//!
//! ## The cost benchmark ([`bench`](mod@bench))
//! The protocol the benchmark firmware times (activation sweeps, training steps of N1, N2,
//! N3), the program that runs it ([`bench::run`]) and the host-side error of each maths
//! backend on the same inputs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod bench;
mod board;
mod demo;
#[cfg(feature = "drift")]
pub mod drift;
mod error;
mod event;
#[cfg(feature = "finetune")]
pub mod finetune;
/// The host-trained iris model, embedded: `microprop-sim export --rust`'s output for
/// `app/models/iris-host.mprp` (committed; `host-sim/tests/export.rs` checks that
/// exporting the file again gives these bytes). [`finetune::run`] fine-tunes it.
#[cfg(feature = "finetune")]
pub mod iris_model;
pub mod number;
pub mod resume;
#[cfg(feature = "tiny")]
pub mod tiny;

pub use board::{Board, Cycles};
pub use demo::{
    run, Config, DeepBatchNormNet, DeepNet, Outcome, ReluNet, Schedule, ShallowNet,
    BATCH_NORM_ROWS, LOSS, SAMPLES,
};
pub use error::Error;
pub use event::{pass_str, BenchEvent, Event, NetId, Phase, ResumeEvent, Sink};
