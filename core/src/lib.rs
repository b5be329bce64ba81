//! # microprop
//!
//! Train and run small fully-connected neural networks on a microcontroller: `no_std`,
//! no heap, every buffer sized at compile time, exact backprop.
//!
//! ```
//! use microprop::{data::Clusters, mlp, train, Activation, Dataset, Init, Loss, Sgd, Trainer};
//!
//! type Net = mlp![f32; 2, 16, 16, 1]; // 2 inputs, two hidden layers of 16, 1 output
//!
//! let mut rng = microprop::rng(42);
//! let (mut x, mut labels) = ([[0.0f32; 2]; 200], [0u8; 200]);
//! Clusters::two(0.7).generate(&mut rng, &mut x, &mut labels)?;
//! let data = Dataset::new(&x, &labels)?;
//!
//! let net = Net::new(Activation::Relu, Activation::Sigmoid, Init::HeNormal, 0.01, &mut rng)?;
//! let mut model = net.into_training(); // adds gradients and the forward cache
//! let mut opt = Sgd::new(0.1)?;
//! let mut trainer = Trainer::new(Loss::Mse, 8)?;
//! let mut order = [0u16; 200];
//! train::fill_order(&mut order)?;
//! for _ in 0..20 {
//!     trainer.epoch(&mut model, &mut opt, &data, &mut order, &mut rng)?;
//! }
//! let metrics = train::evaluate(&mut model, Loss::Mse, &data)?;
//! assert!(metrics.accuracy >= 0.95);
//!
//! let net = model.into_network(); // inference needs only the weights
//! let p = net.predict(&[1.0, 1.0])?;
//! assert!(p[0] > 0.5);
//! # Ok::<(), microprop::Error>(())
//! ```
//!
//! ## Memory
//! A [`Network`] holds the weights only: [`Network::BYTES`] = parameters × scalar size +
//! one [`Activation`] per layer (8 bytes for `f32`, 16 for `f64`: α is a scalar). [`Training`] adds gradients and the forward
//! cache: [`Network::TRAINING_BYTES`] = (parameters + 2 × units) × scalar size. Nothing
//! is allocated; a test checks `size_of` against these formulas.
//!
//! ## Maths backends
//! [`Libm`] (accurate, default) and [`Micromath`] (fast approximations) are types, chosen
//! per network: `mlp![f32, Micromath; 2, 16, 1]`. See [`math`] and [`activation`].
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

pub mod activation;
pub mod babysit;
pub mod checkpoint;
pub mod data;
pub mod diagnostics;
mod error;
pub mod fixed;
pub mod format;
pub mod hash;
pub mod init;
pub mod kernel;
pub mod layer;
pub mod loss;
pub mod math;
mod model;
mod network;
pub mod optim;
pub mod preprocess;
pub mod regularization;
pub mod replay;
pub mod rng;
mod scalar;
pub mod schedule;
pub mod search;
pub mod train;
pub mod whitening;

pub use activation::{Activation, ParseActivationError};
pub use data::Dataset;
pub use error::{Error, FormatError, Result};
pub use fixed::{FixedPoly, FixedTable, Q16};
pub use init::Init;
pub use layer::Mode;
pub use loss::Loss;
pub use math::{Fast, Libm, Math, Micromath};
pub use model::Model;
pub use network::{Network, Training};
pub use optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Momentum, MomentumConfig,
    Nesterov, Optimizer, RmsProp, RmsPropConfig, Sgd,
};
pub use preprocess::{Preprocess, Standardizer};
pub use regularization::Regularization;
pub use rng::{rng, DefaultRng};
pub use scalar::{Float, Scalar};
pub use schedule::{Decay, Schedule};
pub use train::{Metrics, Trainer, Walked};
pub use whitening::PcaWhitening;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
