//! # microprop-sim
//!
//! The host simulator: the firmware's programs on any machine (`demo`, `resume` against
//! a RAM flash that can lose power, `bench` with the host clock), training of
//! run-time shaped networks on the core's exact arithmetic (`train`, on a generated data set
//! or the rows of a CSV file), model files in and described (`import` from PyTorch's
//! safetensors, `inspect`), and the lecture
//! notes' experiments as numbers and figures (`gradcheck`, `vanishing`, `landscape`,
//! `zigzag`, `init`, `dead-relu`, `activations`, `report`).
//!
//! The binary `microprop-sim` is a thin clap front end over the modules here.

pub mod activations;
pub mod babysit;
pub mod bench;
pub mod bn_hist;
pub mod centring;
pub mod cli;
pub mod convergence;
pub mod ctx;
pub mod data;
pub mod dead_relu;
pub mod demo;
pub mod drift;
pub mod export;
pub mod finetune;
pub mod gradcheck;
pub mod import;
pub mod init_stats;
pub mod inspect;
pub mod landscape;
pub mod limits;
pub mod lr_sweep;
pub mod net;
pub mod optim;
pub mod optimizers;
pub mod overfit;
pub mod plot;
pub mod predict;
pub mod report;
pub mod resume;
pub mod schedules;
pub mod search;
pub mod stats;
pub mod symmetry;
pub mod table;
pub mod train;
pub mod vanishing;
pub mod zigzag;

pub use ctx::{Ctx, ErrorKind, Failure, Output, UsageError};
pub use net::{Heap, HostLayer, HostLayers, HostNet, HostNetwork};

/// The error type of the commands: anything displayable.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
