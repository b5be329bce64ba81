//! microprop's run-time networks on the heap: the storage [`Heap`] (every buffer a `Vec`)
//! beside the core's `Bounded<N>`, the run-time layer builders the simulator's `train` and
//! the browser playground share, an optimizer with its state in a `Vec`, and owned data
//! ([`Data`]: the generated data sets and the held-out split).
//!
//! A crate of its own so that the core (`microprop`) never needs an allocator: it is
//! `no_std` with `alloc`, so it builds for the host and for `wasm32-unknown-unknown` alike.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod data;
pub use data::{Data, DatasetKind, EmptySide, Split};

use alloc::{vec, vec::Vec};
use core::fmt::Debug;

use microprop::layer::{BatchNormConfig, DynBatchNorm, DynDense, DynDropout, DynLayer, Family};
use microprop::optim::{AnyOptimizer, OptimizerKind};
use microprop::{Activation, Error, Float, Math, Result, Scalar};

/// A [`Family`] of `Vec`s: run-time shapes wherever there is a heap (the host
/// simulator, the browser playground).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heap;

impl Family for Heap {
    type Of<T: Clone + Debug + PartialEq> = Vec<T>;

    fn filled<T: Clone + Debug + PartialEq>(len: usize, value: T) -> Result<Vec<T>> {
        Ok(vec![value; len])
    }

    fn collect<T: Clone + Debug + PartialEq>(items: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
        Ok(items.into_iter().collect())
    }
}

/// The hidden layers' extras of [`layers_with`]: batch norm after every hidden dense
/// layer, dropout after every hidden layer's activation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Extras {
    /// Batch norm (default momentum and ε) after every hidden dense layer.
    pub batch_norm: bool,
    /// Dropout with this drop probability after every hidden layer.
    pub dropout: Option<f64>,
}

/// The dense layers of `sizes` (input first) with `activations[i]` on layer `i`, all
/// weights zero, on the [`Heap`].
///
/// # Errors
/// [`Error::InvalidHyperParameter`] for fewer than two sizes or a zero size;
/// [`Error::ShapeMismatch`] unless there is one activation per layer.
pub fn dense_layers_with<S: Scalar>(
    sizes: &[usize],
    activations: &[Activation<S>],
) -> Result<Vec<DynLayer<S, Heap>>> {
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(Error::InvalidHyperParameter(
            "layers: at least two sizes, none zero",
        ));
    }
    if activations.len() != sizes.len() - 1 {
        return Err(Error::ShapeMismatch {
            expected: sizes.len() - 1,
            found: activations.len(),
        });
    }
    sizes
        .windows(2)
        .zip(activations)
        .map(|(w, &act)| match *w {
            [n_in, n_out] => DynDense::zeroed(n_in, n_out, act).map(DynLayer::from),
            _ => Err(Error::InvalidHyperParameter("layers")),
        })
        .collect()
}

/// The dense layers of `sizes` (input first): `hidden` on every layer but the last,
/// `output` on the last, all weights zero, on the [`Heap`].
///
/// # Errors
/// As [`dense_layers_with`].
pub fn dense_layers<S: Scalar>(
    sizes: &[usize],
    hidden: Activation<S>,
    output: Activation<S>,
) -> Result<Vec<DynLayer<S, Heap>>> {
    let depth = sizes.len().saturating_sub(1);
    let acts: Vec<Activation<S>> = (0..depth)
        .map(|i| if i + 1 == depth { output } else { hidden })
        .collect();
    dense_layers_with(sizes, &acts)
}

/// The layers of `sizes` with `extras`, on the [`Heap`]: each hidden
/// dense layer (identity activation when batch norm follows it, which then applies
/// `hidden`), then dropout; the output layer plain; all weights zero. The simulator's
/// `train` and the browser playground build their networks with it.
///
/// # Errors
/// As [`dense_layers`]; [`Error::InvalidHyperParameter`] for a bad dropout probability.
pub fn layers_with<S: Scalar>(
    sizes: &[usize],
    hidden: Activation<S>,
    output: Activation<S>,
    extras: Extras,
) -> Result<Vec<DynLayer<S, Heap>>> {
    let dense = dense_layers::<S>(sizes, hidden, output)?;
    let depth = dense.len();
    let mut layers = Vec::with_capacity(3 * depth);
    for (i, (layer, w)) in dense.into_iter().zip(sizes.windows(2)).enumerate() {
        let [n_in, width] = *w else {
            return Err(Error::InvalidHyperParameter("layers"));
        };
        if i + 1 == depth {
            layers.push(layer);
            break;
        }
        if extras.batch_norm {
            let act = Activation::Identity;
            layers.push(DynDense::zeroed(n_in, width, act)?.into());
            let cfg = BatchNormConfig::default();
            layers.push(DynBatchNorm::new(width, hidden, cfg)?.into());
        } else {
            layers.push(layer);
        }
        if let Some(p) = extras.dropout {
            layers.push(DynDropout::new(width, p)?.into());
        }
    }
    Ok(layers)
}

/// An [`AnyOptimizer`] of `kind` for a model of `params` parameters, its state a zeroed
/// `Vec` of `kind.slots() × params` scalars.
///
/// # Errors
/// As [`AnyOptimizer::with_state`].
pub fn zeroed_optimizer<S: Float, M: Math<S>>(
    kind: OptimizerKind,
    lr: S,
    params: usize,
) -> Result<AnyOptimizer<S, Vec<S>, M>> {
    let state = vec![S::ZERO; kind.slots().saturating_mul(params)];
    AnyOptimizer::with_state(kind, lr, state)
}
