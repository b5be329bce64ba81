//! What the application reports: one typed [`Event`] per log line.
//!
//! The application never formats text itself; it hands events to a [`Sink`]. Each event's
//! [`Display`](core::fmt::Display) is *the* text of its log line. The firmware logs the
//! same fields with defmt format strings that produce exactly that text (checked by
//! `cargo xtask test`, which compares the decoded device log with the host's), and the
//! host simulator prints `Display` directly.

use core::fmt;

use crate::number::{Fixed6, Percent, Sci};

/// Receives the application's events, in order.
pub trait Sink {
    /// One event (one log line).
    fn event(&mut self, event: &Event);
}

/// The networks the demo trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetId {
    /// 2-16-16-1, ReLU hidden layers, sigmoid output.
    Relu,
    /// The notes' "2-layer" net: two hidden layers of 2 sigmoid units (2-2-2-1).
    Shallow,
    /// The notes' "9-layer" net: nine hidden layers of 2 sigmoid units.
    Deep,
}

impl NetId {
    /// The three nets in training order.
    pub const ALL: [NetId; 3] = [NetId::Relu, NetId::Shallow, NetId::Deep];

    /// The name used in the log.
    pub const fn name(self) -> &'static str {
        match self {
            NetId::Relu => "relu-2-16-16-1",
            NetId::Shallow => "sigmoid-2-2-2-1",
            NetId::Deep => "sigmoid-2-9x2-1",
        }
    }
}

impl fmt::Display for NetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When gradient norms are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Right after initialisation.
    Init,
    /// After training.
    Trained,
}

impl Phase {
    /// The name used in the log.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Init => "init",
            Phase::Trained => "trained",
        }
    }
}

/// One log line. Text in the variant docs; `{x}` means the field's `Display`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `microprop demo: seed {seed}, {samples} two-cluster samples`
    Start {
        /// The run's seed.
        seed: u64,
        /// Training samples generated on the device.
        samples: u16,
    },
    /// `input mean x{feature} = {mean} (streamed, subtracted)`
    Mean {
        /// Feature index (0 or 1).
        feature: u8,
        /// The fitted mean.
        mean: Sci,
    },
    /// `train {net}: {params} params, {bytes} B weights+training buffers, {epochs} epochs, lr {lr}, batch {batch}`
    Begin {
        /// Which net.
        net: NetId,
        /// Trainable parameters.
        params: u16,
        /// `Network::BYTES + Network::TRAINING_BYTES`.
        bytes: u32,
        /// Epochs to run.
        epochs: u16,
        /// Learning rate.
        lr: Fixed6,
        /// Batch size.
        batch: u16,
    },
    /// `{net} epoch {epoch}: loss {loss} acc {acc}%`
    Epoch {
        /// Which net.
        net: NetId,
        /// 1-based epoch number.
        epoch: u16,
        /// Mean MSE over the training set after the epoch.
        loss: Fixed6,
        /// Accuracy over the training set after the epoch.
        acc: Percent,
    },
    /// `{net} grad-norm {phase} layer {layer}: {norm}`
    GradNorm {
        /// Which net.
        net: NetId,
        /// Before or after training.
        phase: Phase,
        /// 1-based layer (1 = first hidden layer).
        layer: u8,
        /// L2 norm of the layer's mean gradient (weights and biases) over the data.
        norm: Sci,
    },
    /// `{net} trained in {ticks} ticks` — the one platform-specific line (cycles on a
    /// board, instructions / 40 under QEMU `-icount`, host-defined in the simulator).
    Timing {
        /// Which net.
        net: NetId,
        /// Cycle-counter ticks the training took.
        ticks: u32,
    },
    /// `weights hash {net} {hash:016x}` — one line per trained net.
    Hash {
        /// Which net.
        net: NetId,
        /// `Model::weights_hash` after training.
        hash: u64,
    },
    /// `result: relu-2-16-16-1 accuracy {acc}% (bar 95.0%): {PASS|FAIL}`
    Verdict {
        /// The ReLU net's final training accuracy.
        acc: Percent,
        /// Whether it reached the bar.
        pass: bool,
    },
}

impl Event {
    /// Whether the line is the same on every platform for the same seed (all but
    /// [`Event::Timing`]).
    pub const fn is_deterministic(&self) -> bool {
        !matches!(self, Event::Timing { .. })
    }
}

/// `"PASS"` or `"FAIL"`.
pub const fn pass_str(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::Start { seed, samples } => write!(
                f,
                "microprop demo: seed {seed}, {samples} two-cluster samples"
            ),
            Event::Mean { feature, mean } => {
                write!(f, "input mean x{feature} = {mean} (streamed, subtracted)")
            }
            Event::Begin {
                net,
                params,
                bytes,
                epochs,
                lr,
                batch,
            } => write!(
                f,
                "train {net}: {params} params, {bytes} B weights+training buffers, {epochs} epochs, lr {lr}, batch {batch}"
            ),
            Event::Epoch {
                net,
                epoch,
                loss,
                acc,
            } => write!(f, "{net} epoch {epoch}: loss {loss} acc {acc}%"),
            Event::GradNorm {
                net,
                phase,
                layer,
                norm,
            } => write!(
                f,
                "{net} grad-norm {} layer {layer}: {norm}",
                phase.name()
            ),
            Event::Timing { net, ticks } => write!(f, "{net} trained in {ticks} ticks"),
            Event::Hash { net, hash } => write!(f, "weights hash {net} {hash:016x}"),
            Event::Verdict { acc, pass } => write!(
                f,
                "result: relu-2-16-16-1 accuracy {acc}% (bar 95.0%): {}",
                pass_str(pass)
            ),
        }
    }
}
