//! What the programs report: one typed event per log line. [`Event`] is the training
//! demo's, [`ResumeEvent`] the checkpoint-and-resume program's, [`BenchEvent`] the cost
//! benchmark's.
//!
//! A program never formats text itself; it hands events to a [`Sink`]. Each event's
//! [`Display`](core::fmt::Display) is *the* text of its log line. The firmware logs the
//! same fields with defmt format strings that produce exactly that text (checked by
//! `cargo xtask test`, which compares the decoded device log of the demo with the host's,
//! and by `host-sim/tests/sim_parity.rs` for the resume program), and the host simulator
//! prints `Display` directly.

use core::fmt;

use microprop::Activation;

use crate::bench::StepNet;
use crate::number::{Fixed6, Percent, Sci};

/// Receives a program's events, in order: `Sink` (= `Sink<Event>`) for the demo,
/// `Sink<ResumeEvent>` and `Sink<BenchEvent>` for the other two programs.
pub trait Sink<E = Event> {
    /// One event (one log line).
    fn event(&mut self, event: &E);
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
    /// The same nine hidden layers, each dense layer followed by a batch norm (which then
    /// applies the sigmoid).
    DeepBatchNorm,
}

impl NetId {
    /// The nets the demo trains, in training order.
    pub const ALL: [NetId; 4] = [
        NetId::Relu,
        NetId::Shallow,
        NetId::Deep,
        NetId::DeepBatchNorm,
    ];

    /// The name used in the log.
    pub const fn name(self) -> &'static str {
        match self {
            NetId::Relu => "relu-2-16-16-1",
            NetId::Shallow => "sigmoid-2-2-2-1",
            NetId::Deep => "sigmoid-2-9x2-1",
            NetId::DeepBatchNorm => "sigmoid-2-9x2bn-1",
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
    /// `batch norm: sigmoid-2-9x2-1 {without}% without, sigmoid-2-9x2bn-1 {with}% with
    /// (bar {bar}%): {PASS|FAIL}`: the notes' 9-deep sigmoid net, trained as it is and
    /// with a batch norm after every hidden dense layer.
    BatchNorm {
        /// The plain deep net's final training accuracy.
        without: Percent,
        /// The batch-norm net's final training accuracy.
        with: Percent,
        /// The accuracy the batch-norm net must reach
        /// ([`Config::bar_permille`](crate::Config::bar_permille)).
        bar: Percent,
        /// Whether it reached the bar.
        pass: bool,
    },
    /// `result: relu-2-16-16-1 accuracy {acc}% (bar {bar}%): {PASS|FAIL}`
    Verdict {
        /// The ReLU net's final training accuracy.
        acc: Percent,
        /// The accuracy it must reach ([`Config::bar_permille`](crate::Config::bar_permille)).
        bar: Percent,
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
            Event::BatchNorm {
                without,
                with,
                bar,
                pass,
            } => write!(
                f,
                "batch norm: {} {without}% without, {} {with}% with (bar {bar}%): {}",
                NetId::Deep,
                NetId::DeepBatchNorm,
                pass_str(pass)
            ),
            Event::Verdict { acc, bar, pass } => write!(
                f,
                "result: relu-2-16-16-1 accuracy {acc}% (bar {bar}%): {}",
                pass_str(pass)
            ),
        }
    }
}

/// One log line of the checkpoint-and-resume program ([`resume`](crate::resume)). Text
/// in the variant docs. `tools/power-cut.sh` reads `checkpoint seq {seq}`,
/// `resumed from checkpoint seq {seq}`, `done:` and `weights hash {hash}` from them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ResumeEvent {
    /// `resumed from checkpoint seq {seq} (epoch {epoch}, step {step})`
    Resumed {
        /// The checkpoint's sequence number.
        seq: u32,
        /// Epochs completed when it was written.
        epoch: u32,
        /// Optimizer steps completed when it was written.
        step: u32,
    },
    /// `no checkpoint: training from the start`
    Fresh,
    /// `checkpoint does not fit this network ({error:?}): from the start` — the error's
    /// `Debug` form (defmt's derived `Format` prints the same characters).
    Mismatch {
        /// Why the newest checkpoint did not load.
        error: microprop::Error,
    },
    /// `epoch {epoch} loss {loss}: checkpoint seq {seq} in slot {slot}`
    Checkpoint {
        /// 1-based epoch just completed.
        epoch: u32,
        /// Mean training loss over the epoch (`Trainer::epoch`).
        loss: Fixed6,
        /// The checkpoint's sequence number.
        seq: u32,
        /// The slot it was written to.
        slot: u32,
    },
    /// `done: {epochs} epochs, {steps} steps, accuracy {acc}%, weights hash {hash:016x}`
    Done {
        /// Epochs trained in all (across boots).
        epochs: u32,
        /// Optimizer steps in all.
        steps: u32,
        /// Training-set accuracy.
        acc: Percent,
        /// `Model::weights_hash`.
        hash: u64,
    },
}

impl fmt::Display for ResumeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResumeEvent::Resumed { seq, epoch, step } => write!(
                f,
                "resumed from checkpoint seq {seq} (epoch {epoch}, step {step})"
            ),
            ResumeEvent::Fresh => f.write_str("no checkpoint: training from the start"),
            ResumeEvent::Mismatch { error } => write!(
                f,
                "checkpoint does not fit this network ({error:?}): from the start"
            ),
            ResumeEvent::Checkpoint {
                epoch,
                loss,
                seq,
                slot,
            } => write!(
                f,
                "epoch {epoch} loss {loss}: checkpoint seq {seq} in slot {slot}"
            ),
            ResumeEvent::Done {
                epochs,
                steps,
                acc,
                hash,
            } => write!(
                f,
                "done: {epochs} epochs, {steps} steps, accuracy {acc}%, weights hash {hash:016x}"
            ),
        }
    }
}

/// One log line of the cost benchmark ([`bench`](crate::bench)). Text in the variant
/// docs; `cargo xtask bench-mcu` parses them by these words, so they must not change.
/// Times are ticks of the platform's counter (SysTick under QEMU `-icount`: 40
/// instructions a tick; host nanoseconds in the simulator).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BenchEvent {
    /// `region 0 calibration -` — the plugin's region 0: the markers alone.
    Calibration,
    /// `region {index} {net} {backend}` — which net and backend counted region `index`
    /// (numbered in order, from 1) timed.
    Region {
        /// The plugin's region number.
        index: u32,
        /// The net whose steps the region timed.
        net: StepNet,
        /// `Math::NAME` of the backend.
        backend: &'static str,
    },
    /// `act {name} {backend} fwd {fwd} bwd {bwd} fill {fill} n {n}` — ticks for `n`
    /// elements forward, backward (including the refill of the upstream gradient) and the
    /// refill alone.
    Activation {
        /// The activation.
        act: Activation,
        /// `Math::NAME` of the backend.
        backend: &'static str,
        /// Ticks of the forward passes.
        fwd: u32,
        /// Ticks of the backward passes, refills included.
        bwd: u32,
        /// Ticks of the refills alone.
        fill: u32,
        /// Elements processed in each of the three.
        n: u32,
    },
    /// `step {net} {backend} total {total} steps {steps} fwd {fwd} sample {sample} n {n}
    /// hash {hash:016x}` — ticks for `steps` training steps from the fresh init, then for
    /// `n` forward passes and `n` forward + loss + backward passes; the weights hash after
    /// the steps.
    Step {
        /// The net.
        net: StepNet,
        /// `Math::NAME` of the backend.
        backend: &'static str,
        /// Ticks of the training steps.
        total: u32,
        /// Training steps timed.
        steps: u32,
        /// Ticks of the forward passes.
        fwd: u32,
        /// Ticks of the one-sample walks (forward, loss, backward: `train::walk`).
        sample: u32,
        /// Forward passes (and walks) timed.
        n: u32,
        /// `Model::weights_hash` after the steps.
        hash: u64,
    },
    /// `memory N1 weights {weights} training {training} trainer {trainer} optimizer {optimizer}`
    Memory {
        /// `N1::BYTES`.
        weights: u32,
        /// `N1::TRAINING_BYTES`.
        training: u32,
        /// `size_of::<Trainer>()` on this platform.
        trainer: u32,
        /// `size_of::<Sgd<f32>>()`.
        optimizer: u32,
    },
    /// `bench done`
    Done,
}

impl fmt::Display for BenchEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BenchEvent::Calibration => f.write_str("region 0 calibration -"),
            BenchEvent::Region {
                index,
                net,
                backend,
            } => write!(f, "region {index} {} {backend}", net.name()),
            BenchEvent::Activation {
                act,
                backend,
                fwd,
                bwd,
                fill,
                n,
            } => write!(
                f,
                "act {} {backend} fwd {fwd} bwd {bwd} fill {fill} n {n}",
                act.name()
            ),
            BenchEvent::Step {
                net,
                backend,
                total,
                steps,
                fwd,
                sample,
                n,
                hash,
            } => write!(
                f,
                "step {} {backend} total {total} steps {steps} fwd {fwd} sample {sample} n {n} \
                 hash {hash:016x}",
                net.name()
            ),
            BenchEvent::Memory {
                weights,
                training,
                trainer,
                optimizer,
            } => write!(
                f,
                "memory N1 weights {weights} training {training} trainer {trainer} optimizer {optimizer}"
            ),
            BenchEvent::Done => f.write_str("bench done"),
        }
    }
}
