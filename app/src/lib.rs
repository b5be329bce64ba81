//! # microprop-app: the on-device training application
//!
//! Board-independent: the firmware runs it on Cortex-M cores (emulated M4F, M3 and M0, and
//! a real STM32F411), and the host simulator runs the very same code. It reaches the board
//! only through `embedded-hal` 1.0 traits and one trait of its own:
//!
//! * [`Board`]: the status LED ([`OutputPin`](embedded_hal::digital::OutputPin)), a delay
//!   ([`DelayNs`](embedded_hal::delay::DelayNs)) and a cycle counter ([`Cycles`]).
//! * [`Sink`]: receives one typed [`Event`] per log line. Each event's `Display` is the
//!   line's text; the firmware logs the same fields with defmt format strings that print
//!   the same characters, so the device log and the simulator's output can be compared
//!   line by line. Numbers are printed from integers ([`number`]), because defmt's decoder
//!   and `core::fmt` format floats differently. Only [`Event::Timing`] lines differ between
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
//! ## The cost benchmark ([`bench`](mod@bench))
//! The protocol the benchmark firmware times (activation sweeps, training steps of N1, N2,
//! N3) and the host-side error of each maths backend on the same inputs.
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
mod error;
mod event;
pub mod number;

pub use board::{Board, Cycles};
pub use demo::{run, Config, DeepNet, Outcome, ReluNet, Schedule, ShallowNet, LOSS, SAMPLES};
pub use error::Error;
pub use event::{pass_str, Event, NetId, Phase, Sink};
