//! The limits every run is held to, checked from the flags before anything is allocated:
//! a memory budget ([`MAX_BYTES`], [`BUDGET`]) and, for networks built from `--layers`,
//! the model format's depth ([`MAX_DEPTH`]), so that whatever `train` can build,
//! `train --save` can write and `predict --load` can read.
//!
//! The footprint of a network is computed from its layer specs (the core's
//! [`Spec::params`] and [`Spec::state`]) with the formulas of [`net::weight_bytes`] and
//! [`net::training_bytes`](crate::net::training_bytes) (`tests/sim_contract_api.rs` checks
//! that they agree with the built network).
//!
//! [`net::weight_bytes`]: crate::net::weight_bytes

use microprop::layer::{DenseSpec, Kind, Spec};
use microprop::Activation;

use crate::{ctx::usage, Res};

/// The memory budget of one run: weights, gradients, optimizer state, batch buffers and
/// the data together (1 GiB). Generous for the toy data sets (the largest net of the
/// notes needs a few kilobytes) and safe on a small machine.
pub const MAX_BYTES: u64 = 1 << 30;

/// [`MAX_BYTES`] as the messages and the help spell it.
pub const BUDGET: &str = "1 GiB";

/// The deepest network a `--layers` run builds: the model format's
/// [`MAX_DEPTH`](microprop::format::MAX_DEPTH), counting every layer (dense, batch norm,
/// dropout, preprocessing).
pub const MAX_DEPTH: usize = microprop::format::MAX_DEPTH;

/// Bytes of one scalar of the simulator's networks (`f32`).
const SCALAR: u64 = 4;

/// What a network and its run hold in memory, from its specs alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Layers.
    pub depth: usize,
    /// Trainable parameters.
    pub params: u64,
    /// Non-trainable state scalars.
    pub state: u64,
    /// Bytes of the parameters and state plus one activation per layer
    /// ([`net::weight_bytes`](crate::net::weight_bytes)).
    pub weight_bytes: u64,
    /// Bytes of the gradients and the batch buffers
    /// ([`net::training_bytes`](crate::net::training_bytes)).
    pub training_bytes: u64,
    /// Bytes of the optimizer's state.
    pub optimizer_bytes: u64,
    /// Everything else the run holds at once: the data, a model file being written, a
    /// command's own records.
    pub other_bytes: u64,
}

impl Footprint {
    /// The footprint of a network of `specs` with buffers for batches of `capacity` rows
    /// (optimizer and other bytes 0).
    pub fn of(specs: &[Spec], capacity: usize) -> Footprint {
        let sum = |f: fn(&Spec) -> usize| -> u64 { specs.iter().map(|s| f(s) as u64).sum() };
        let params = sum(Spec::params);
        let state = sum(Spec::state);
        let inputs = specs.first().map_or(0, |s| s.inputs() as u64);
        let rows = inputs.saturating_add(sum(Spec::outputs).saturating_mul(2));
        let activation = std::mem::size_of::<Activation<f32>>() as u64;
        Footprint {
            depth: specs.len(),
            params,
            state,
            weight_bytes: (params + state)
                .saturating_mul(SCALAR)
                .saturating_add(specs.len() as u64 * activation),
            training_bytes: params
                .saturating_add((capacity as u64).saturating_mul(rows))
                .saturating_add(2)
                .saturating_mul(SCALAR),
            optimizer_bytes: 0,
            other_bytes: 0,
        }
    }

    /// With an optimizer of `slots` scalars per parameter.
    pub fn with_optimizer(mut self, slots: u64) -> Footprint {
        self.optimizer_bytes = self.params.saturating_mul(slots).saturating_mul(SCALAR);
        self
    }

    /// With `bytes` more held by the run.
    pub fn plus(mut self, bytes: u64) -> Footprint {
        self.other_bytes = self.other_bytes.saturating_add(bytes);
        self
    }

    /// Everything together.
    pub fn total_bytes(&self) -> u64 {
        self.weight_bytes
            .saturating_add(self.training_bytes)
            .saturating_add(self.optimizer_bytes)
            .saturating_add(self.other_bytes)
    }

    /// Checks the total against [`MAX_BYTES`].
    ///
    /// # Errors
    /// A usage error naming `flags` (what sets the size) with the bytes needed, by part,
    /// and the budget.
    pub fn check(&self, flags: &str) -> Res<()> {
        if self.total_bytes() <= MAX_BYTES {
            return Ok(());
        }
        usage(format!(
            "{flags}: the run needs {} ({} parameters: weights {}, gradients and buffers {}, \
             optimizer state {}, data and the rest {}), more than the simulator's budget of \
             {BUDGET}",
            bytes_str(self.total_bytes()),
            self.params,
            bytes_str(self.weight_bytes),
            bytes_str(self.training_bytes),
            bytes_str(self.optimizer_bytes),
            bytes_str(self.other_bytes),
        ))
    }
}

/// Bytes of the rows one inference of a network of `specs` holds at its peak (`f32`):
/// the run-time walk (`predict`) keeps the input row and every layer's output row until
/// the last layer has run, the output row is allocated before the walk, and while layer
/// `i` runs it also holds its own scratch row (dense and batch-norm layers a row of
/// pre-activations, a standardisation its scales; dropout and whitening none). The peak
/// over the layers of `inputs + Σ_{j ≤ i} outputs_j + outputs_last (for i < last) +
/// scratch_i` scalars (`tests/inspect_alloc.rs` measures it with a counting allocator).
pub fn inference_bytes(specs: &[Spec]) -> u64 {
    let inputs = specs.first().map_or(0, |s| s.inputs() as u64);
    let last = specs.last().map_or(0, |s| s.outputs() as u64);
    let (mut held, mut peak) = (inputs, 0u64);
    for (i, s) in specs.iter().enumerate() {
        let out = s.outputs() as u64;
        held = held.saturating_add(out);
        let scratch = match s.kind() {
            Kind::Dense | Kind::BatchNorm | Kind::Standardize => out,
            Kind::Dropout | Kind::Whiten => 0,
        };
        let output = if i + 1 < specs.len() { last } else { 0 };
        peak = peak.max(held.saturating_add(output).saturating_add(scratch));
    }
    peak.saturating_mul(SCALAR)
}

/// Checks a total of `bytes` named by `flags` against [`MAX_BYTES`] (a run whose memory
/// is not a network's, like `init`'s recorded activations).
///
/// # Errors
/// A usage error naming `flags`, the bytes needed and the budget.
pub fn check_bytes(flags: &str, what: &str, bytes: u64) -> Res<()> {
    if bytes <= MAX_BYTES {
        return Ok(());
    }
    usage(format!(
        "{flags}: the run needs {} ({what}), more than the simulator's budget of {BUDGET}",
        bytes_str(bytes)
    ))
}

/// Checks the depth of a network of `specs` (built from `flags`) against [`MAX_DEPTH`].
///
/// # Errors
/// A usage error naming `flags`, the layers by kind and the limit.
pub fn check_depth(flags: &str, specs: &[Spec]) -> Res<()> {
    if specs.len() <= MAX_DEPTH {
        return Ok(());
    }
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for s in specs {
        let name = s.kind().name();
        match kinds.iter_mut().find(|(k, _)| *k == name) {
            Some((_, n)) => *n += 1,
            None => kinds.push((name, 1)),
        }
    }
    let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    usage(format!(
        "{flags}: {} layers ({}), but the model format holds at most {MAX_DEPTH} \
         (a deeper network could be neither saved nor loaded)",
        specs.len(),
        by_kind.join(", ")
    ))
}

/// The dense layer specs of `sizes` (input first): `hidden` on every layer but the last,
/// `output` on the last (what [`net::dense_layers`](crate::net::dense_layers) builds).
pub fn dense_specs(sizes: &[usize], hidden: Activation, output: Activation) -> Vec<Spec> {
    let depth = sizes.len().saturating_sub(1);
    sizes
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let act = if i + 1 == depth { output } else { hidden };
            Spec::Dense(DenseSpec {
                inputs: w[0],
                outputs: w[1],
                activation: act.cast(),
            })
        })
        .collect()
}

/// `bytes` in the largest binary unit that keeps a digit before the point.
pub fn bytes_str(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_spelled_in_binary_units() {
        assert_eq!(bytes_str(0), "0 B");
        assert_eq!(bytes_str(1023), "1023 B");
        assert_eq!(bytes_str(1536), "1.5 KiB");
        assert_eq!(bytes_str(MAX_BYTES), "1.0 GiB");
        assert_eq!(BUDGET, "1 GiB");
        assert_eq!(MAX_BYTES, 1 << 30);
    }

    #[test]
    fn a_dense_footprint_counts_weights_biases_and_rows() {
        let specs = dense_specs(&[2, 16, 16, 1], Activation::Relu, Activation::Sigmoid);
        let f = Footprint::of(&specs, 1);
        assert_eq!(f.params, 337);
        assert_eq!(f.weight_bytes, 337 * 4 + 3 * 8);
        assert_eq!(f.training_bytes, (337 + (2 + 2 * 33) + 2) * 4);
        assert_eq!(f.with_optimizer(2).optimizer_bytes, 337 * 2 * 4);
        assert!(f.check("--layers").is_ok());
        assert!(check_depth("--layers", &specs).is_ok());
    }
}
