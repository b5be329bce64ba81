//! Optimizers: how a step turns gradients into weight updates.
//!
//! The trainer calls [`Optimizer::begin_step`] once per step, then
//! [`Optimizer::update`] once per parameter block (each layer's weights, then its biases,
//! first layer first) with the block's offset in a flat parameter index. Stateful
//! optimizers keep their state in one buffer indexed by that offset, so its size is fixed
//! at compile time (`[S; Net::PARAMS]`) on the device, or chosen at run time on the host.

mod sgd;

pub use sgd::Sgd;

use crate::{Error, Result, Scalar};

/// An optimizer.
pub trait Optimizer<S: Scalar> {
    /// A short stable name (`"sgd"`, `"adam"`, …).
    fn name(&self) -> &'static str;
    /// The current learning rate.
    fn learning_rate(&self) -> S;
    /// Sets the learning rate (schedules call this between steps).
    fn set_learning_rate(&mut self, lr: S);
    /// Scalars of optimizer state (0 for plain SGD).
    fn state_len(&self) -> usize {
        0
    }
    /// The optimizer state, flat (for checkpoints).
    fn state(&self) -> &[S] {
        &[]
    }
    /// The optimizer state, flat and writable (for restoring checkpoints).
    fn state_mut(&mut self) -> &mut [S] {
        &mut []
    }
    /// Starts a step over a model with `params` parameters.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the state buffer does not fit `params`.
    fn begin_step(&mut self, params: usize) -> Result<()>;
    /// Updates one block of parameters from its gradients (multiplied by `scale`, the
    /// inverse batch size); `offset` is the block's first index in the flat parameter order.
    fn update(&mut self, offset: usize, params: &mut [S], grads: &[S], scale: S);

    /// Updates a layer's weights (`delta.len()` rows of `x.len()`) whose gradient is the
    /// outer product `δ xᵀ` — one sample, online training — without materialising it.
    ///
    /// Must give bit-identical results to calling [`update`](Self::update) with the
    /// gradient `g[o][i] = δ_o · x_i`; the default does exactly that, one element at a
    /// time. Optimizers override it to fuse the loop.
    fn update_outer(&mut self, offset: usize, w: &mut [S], delta: &[S], x: &[S], scale: S) {
        let n = x.len().max(1);
        let mut index = offset;
        for (row, &d) in w.chunks_exact_mut(n).zip(delta) {
            for (p, &x) in row.iter_mut().zip(x) {
                self.update(index, core::slice::from_mut(p), &[d * x], scale);
                index += 1;
            }
        }
    }
}

/// Checks a learning rate: finite and positive.
pub(crate) fn check_lr<S: Scalar>(lr: S) -> Result<S> {
    if lr.is_finite() && lr > S::ZERO {
        Ok(lr)
    } else {
        Err(Error::InvalidHyperParameter(
            "learning rate must be finite and > 0",
        ))
    }
}
