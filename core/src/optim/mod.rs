//! Optimizers: how a step turns gradients into weight updates.
//!
//! The trainer calls [`Optimizer::begin_step`] once per step, then
//! [`Optimizer::update`] once per parameter block (each layer's weights, then its biases,
//! first layer first) with the block's offset in a flat parameter index. Stateful
//! optimizers keep their state in one buffer indexed by that offset, so its size is fixed
//! at compile time (`[S; Net::PARAMS]`) on the device, or chosen at run time on the host.
//!
//! | optimizer | state (`SLOTS` × `PARAMS` scalars) | defaults ([`Default`] of its config) |
//! |---|---|---|
//! | [`Sgd`] | 0 | η = 0.01 |
//! | [`Momentum`], [`Nesterov`] | 1 (velocity) | η = 0.01, μ = 0.9 |
//! | [`AdaGrad`] | 1 (Σ g²) | η = 0.01, ε = 1e-8 |
//! | [`RmsProp`] | 1 (leaky Σ g²) | η = 0.01, ρ = 0.99, ε = 1e-8 |
//! | [`Adam`] | 2 (m, v) | η = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 |
//! | [`AdamW`] | 2 (m, v) | Adam's, λ = 0.01 |
//!
//! The state buffer is any `B: AsRef<[S]> + AsMut<[S]>`: `[0.0f32; 2 * Net::PARAMS]` on
//! the device (its bytes are `SLOTS · PARAMS · size_of::<S>()`, on top of
//! `Network::BYTES + Network::TRAINING_BYTES`), a `Vec` or `&mut [S]` on the host.
//! [`AnyOptimizer`] is any of them chosen at run time by an [`OptimizerKind`].

mod adagrad;
mod adam;
mod adamw;
mod any;
mod momentum;
mod nesterov;
mod rmsprop;
mod sgd;

pub use adagrad::{AdaGrad, AdaGradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use any::{AnyOptimizer, OptimizerKind, UnknownOptimizer};
pub use momentum::{Momentum, MomentumConfig};
pub use nesterov::Nesterov;
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::Sgd;

use crate::{Error, Result, Scalar};

/// An optimizer.
pub trait Optimizer<S: Scalar> {
    /// A short stable name (`"sgd"`, `"adam"`, …).
    fn name(&self) -> &'static str;
    /// The current learning rate.
    fn learning_rate(&self) -> S;
    /// Whether the optimizer takes `lr` as its learning rate: finite and `> 0` in `S` (the
    /// default), and whatever the optimizer adds (AdamW: `lr · λ ≤ 1`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming what is wrong.
    fn check_learning_rate(&self, lr: S) -> Result<()> {
        check_lr(lr).map(drop)
    }
    /// Sets the learning rate (schedules call this between steps), if
    /// [`check_learning_rate`](Optimizer::check_learning_rate) takes it.
    ///
    /// # Errors
    /// As [`check_learning_rate`](Optimizer::check_learning_rate); the rate is unchanged
    /// then.
    fn set_learning_rate(&mut self, lr: S) -> Result<()>;
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
    /// Steps taken, for optimizers whose update depends on it (Adam's bias correction);
    /// 0 for the others. Part of the state a checkpoint saves and restores.
    fn steps(&self) -> u32 {
        0
    }
    /// Sets the step count (restoring a checkpoint); ignored by optimizers without one.
    fn set_steps(&mut self, _steps: u32) {}
    /// Starts a step over a model with `params` parameters.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the state buffer does not fit `params`.
    fn begin_step(&mut self, params: usize) -> Result<()>;
    /// Updates one block of parameters from its (mean) gradients; `offset` is the block's
    /// first index in the flat parameter order.
    fn update(&mut self, offset: usize, params: &mut [S], grads: &[S]);
    /// Whether the next step — [`begin_step`](Self::begin_step)`(params)`, then
    /// [`update`](Self::update)`(offset, block, grads)` — would leave every value of the
    /// block and of its optimizer state finite. Reads only: the trainer asks it for every
    /// block before it changes anything, and refuses the whole step
    /// ([`Error::NonFiniteUpdate`]) if any block says no, so a refused step leaves the
    /// weights and the state bit-identical. An implementation must evaluate the very
    /// arithmetic of `update` (a bound is not enough: an accepted step must never produce
    /// ±∞ or NaN); it may answer `true` for a state buffer that does not fit `params`, which
    /// [`begin_step`](Self::begin_step) then refuses.
    fn accepts(&self, params: usize, offset: usize, block: &[S], grads: &[S]) -> bool;
    /// For a rule whose step depends on the gradient alone (no state): an upper bound of
    /// `|Δw|` for any gradient with `|g| ≤ grad_bound`, up to a relative 2⁻²⁰ of rounding
    /// (SGD: `η · grad_bound`). Online steps use it to prove their update finite from a
    /// bound on the weights, without evaluating it ([`accepts_outer`](Self::accepts_outer)).
    /// The default, `None`, for every rule with state: each step is checked exactly.
    fn max_step(&self, _grad_bound: S) -> Option<S> {
        None
    }
    /// [`accepts`](Self::accepts) for the outer-product gradient of
    /// [`update_outer`](Self::update_outer). The default asks `accepts` one element at a
    /// time, exactly as the default `update_outer` updates.
    fn accepts_outer(&self, params: usize, offset: usize, w: &[S], delta: &[S], x: &[S]) -> bool {
        let n = x.len().max(1);
        let mut index = offset;
        let mut ok = true;
        for (row, &d) in w.chunks_exact(n).zip(delta) {
            for (p, &x) in row.iter().zip(x) {
                ok &= self.accepts(params, index, core::slice::from_ref(p), &[d * x]);
                index += 1;
            }
        }
        ok
    }

    /// Updates a layer's weights (`delta.len()` rows of `x.len()`) whose gradient is the
    /// outer product `δ xᵀ` — one sample, online training — without materialising it.
    ///
    /// Must give bit-identical results to calling [`update`](Self::update) with the
    /// gradient `g[o][i] = δ_o · x_i`; the default does exactly that, one element at a
    /// time. Optimizers override it to fuse the loop.
    fn update_outer(&mut self, offset: usize, w: &mut [S], delta: &[S], x: &[S]) {
        let n = x.len().max(1);
        let mut index = offset;
        for (row, &d) in w.chunks_exact_mut(n).zip(delta) {
            for (p, &x) in row.iter_mut().zip(x) {
                self.update(index, core::slice::from_mut(p), &[d * x]);
                index += 1;
            }
        }
    }
}

/// An optimizer that updates every parameter from its own gradient and its own slots of
/// state: implement the rule, and [`Optimizer`] comes with it — `update` and
/// `update_outer` both feed [`Rule::apply`] the gradient, computed the same way
/// (`δ_o · x_i` for an outer product), so the two are bit-identical by construction.
pub trait Rule<S: Scalar> {
    /// A short stable name (`"momentum"`, `"adam"`, …).
    const NAME: &'static str;
    /// The current learning rate.
    fn lr(&self) -> S;
    /// Sets the learning rate (checked by [`Rule::check_lr`] and finite, `> 0`).
    fn set_lr(&mut self, lr: S);
    /// The rule's own check of a new learning rate (the default: none).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming what is wrong.
    fn check_lr(&self, _lr: S) -> Result<()> {
        Ok(())
    }
    /// The state, flat (slot `k` of parameter `i` at `k · params + i`).
    fn state(&self) -> &[S];
    /// The state, flat and writable.
    fn state_mut(&mut self) -> &mut [S];
    /// Steps taken ([`Optimizer::steps`]); 0 unless the rule counts them.
    fn step_count(&self) -> u32 {
        0
    }
    /// Sets the step count ([`Optimizer::set_steps`]).
    fn set_step_count(&mut self, _steps: u32) {}
    /// Starts a step over `params` parameters: checks the state's size, advances counters.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the state buffer does not fit `params`.
    fn begin(&mut self, params: usize) -> Result<()>;
    /// Updates one block of parameters (first flat index `offset`) from its gradients.
    fn apply(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>);
    /// Whether the next step's [`apply`](Rule::apply) on this block (before
    /// [`begin`](Rule::begin)`(params)` was called for it) leaves every parameter and state
    /// value finite: [`Optimizer::accepts`]. Write the rule's arithmetic once, as a function
    /// of one parameter, and call it from both.
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool;

    /// [`Optimizer::max_step`] (the default: `None`).
    fn max_step(&self, _grad_bound: S) -> Option<S> {
        None
    }

    /// [`Optimizer::accepts`]: [`Rule::accepts`] on `grads`. Override only to fuse the loop,
    /// with the same answer.
    #[inline]
    fn accepts_slice(&self, params: usize, offset: usize, block: &[S], grads: &[S]) -> bool {
        self.accepts(params, offset, block, grads.iter().copied())
    }

    /// [`Optimizer::accepts_outer`]: [`Rule::accepts`] on `δ_o · x_i`. Override only to
    /// fuse the loop, with the same answer.
    #[inline]
    fn accepts_outer(&self, params: usize, offset: usize, w: &[S], delta: &[S], x: &[S]) -> bool {
        self.accepts(params, offset, w, outer(delta, x))
    }

    /// [`Optimizer::update`]: [`Rule::apply`] on `grads`. Override only to fuse the loop,
    /// with bit-identical results.
    #[inline]
    fn apply_slice(&mut self, offset: usize, params: &mut [S], grads: &[S]) {
        self.apply(offset, params, grads.iter().copied());
    }

    /// [`Optimizer::update_outer`]: [`Rule::apply`] on `δ_o · x_i`. Override only to fuse
    /// the loop, with bit-identical results.
    #[inline]
    fn apply_outer(&mut self, offset: usize, w: &mut [S], delta: &[S], x: &[S]) {
        self.apply(offset, w, outer(delta, x));
    }
}

impl<S: Scalar, R: Rule<S>> Optimizer<S> for R {
    fn name(&self) -> &'static str {
        R::NAME
    }
    fn learning_rate(&self) -> S {
        self.lr()
    }
    fn check_learning_rate(&self, lr: S) -> Result<()> {
        check_lr(lr)?;
        self.check_lr(lr)
    }
    fn set_learning_rate(&mut self, lr: S) -> Result<()> {
        self.check_learning_rate(lr)?;
        self.set_lr(lr);
        Ok(())
    }
    fn state_len(&self) -> usize {
        Rule::state(self).len()
    }
    fn state(&self) -> &[S] {
        Rule::state(self)
    }
    fn state_mut(&mut self) -> &mut [S] {
        Rule::state_mut(self)
    }
    fn steps(&self) -> u32 {
        self.step_count()
    }
    fn set_steps(&mut self, steps: u32) {
        self.set_step_count(steps);
    }
    fn begin_step(&mut self, params: usize) -> Result<()> {
        self.begin(params)
    }
    #[inline]
    fn update(&mut self, offset: usize, params: &mut [S], grads: &[S]) {
        self.apply_slice(offset, params, grads);
    }
    #[inline]
    fn update_outer(&mut self, offset: usize, w: &mut [S], delta: &[S], x: &[S]) {
        self.apply_outer(offset, w, delta, x);
    }
    #[inline]
    fn accepts(&self, params: usize, offset: usize, block: &[S], grads: &[S]) -> bool {
        self.accepts_slice(params, offset, block, grads)
    }
    #[inline]
    fn max_step(&self, grad_bound: S) -> Option<S> {
        Rule::max_step(self, grad_bound)
    }
    #[inline]
    fn accepts_outer(&self, params: usize, offset: usize, w: &[S], delta: &[S], x: &[S]) -> bool {
        Rule::accepts_outer(self, params, offset, w, delta, x)
    }
}

/// Checks a learning rate: finite and `> 0` in the network's scalar type (every
/// optimizer's constructor and [`Optimizer::check_learning_rate`]).
pub(crate) fn check_lr<S: Scalar>(lr: S) -> Result<S> {
    if lr.is_finite() && lr > S::ZERO {
        Ok(lr)
    } else {
        Err(Error::InvalidHyperParameter(
            "learning rate must be finite and > 0",
        ))
    }
}

/// Checks that a state buffer of `len` scalars holds `slots` per parameter.
pub(crate) fn check_state(len: usize, slots: usize, params: usize) -> Result<()> {
    let expected = slots * params;
    if len == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            expected,
            found: len,
        })
    }
}

/// Checks a decay rate (momentum, β, ρ): finite and in `[0, 1)`.
pub(crate) fn check_unit<S: Scalar>(x: S, what: &'static str) -> Result<S> {
    if x.is_finite() && x >= S::ZERO && x < S::ONE {
        Ok(x)
    } else {
        Err(Error::InvalidHyperParameter(what))
    }
}

/// Checks an ε: finite and > 0.
pub(crate) fn check_eps<S: Scalar>(eps: S) -> Result<S> {
    if eps.is_finite() && eps > S::ZERO {
        Ok(eps)
    } else {
        Err(Error::InvalidHyperParameter(
            "epsilon must be finite and > 0",
        ))
    }
}

/// The slots of a state buffer for one block: `slot` `k` of parameters
/// `offset..offset + len` lives at `k · params + offset`.
pub(crate) fn block<S>(
    state: &mut [S],
    params: usize,
    slot: usize,
    offset: usize,
    len: usize,
) -> Option<&mut [S]> {
    let start = slot.checked_mul(params)?.checked_add(offset)?;
    state.get_mut(start..start.checked_add(len)?)
}

/// A block's slot `slot`, read-only (see [`block`]).
pub(crate) fn block_ref<S>(
    state: &[S],
    params: usize,
    slot: usize,
    offset: usize,
    len: usize,
) -> Option<&[S]> {
    let start = slot.checked_mul(params)?.checked_add(offset)?;
    state.get(start..start.checked_add(len)?)
}

/// [`Rule::apply`] for a rule with one slot of state per parameter whose step is
/// `(w, s) ← next(w, g, s)`: every parameter of the block and its slot.
#[inline(always)]
pub(crate) fn apply_one_slot<S: Scalar>(
    state: &mut [S],
    params: usize,
    offset: usize,
    block_of: &mut [S],
    grads: impl Iterator<Item = S>,
    next: impl Fn(S, S, S) -> (S, S),
) {
    if let Some(slots) = block(state, params, 0, offset, block_of.len()) {
        for ((w, g), s) in block_of.iter_mut().zip(grads).zip(slots) {
            (*w, *s) = next(*w, g, *s);
        }
    }
}

/// [`Rule::accepts`] for the rules of [`apply_one_slot`]: whether `next` keeps every
/// parameter and slot of the block finite (`true` for a state that does not fit
/// `params`: [`Rule::begin`] refuses it).
#[inline(always)]
pub(crate) fn accepts_one_slot<S: Scalar>(
    state: &[S],
    params: usize,
    offset: usize,
    block_of: &[S],
    grads: impl Iterator<Item = S>,
    next: impl Fn(S, S, S) -> (S, S),
) -> bool {
    let Some(slots) = block_ref(state, params, 0, offset, block_of.len()) else {
        return true;
    };
    block_of
        .iter()
        .zip(grads)
        .zip(slots)
        .fold(true, |ok, ((&w, g), &s)| {
            let (w, s) = next(w, g, s);
            ok & finite([w, s])
        })
}

/// Whether every value is finite, without stopping early (so the loops that call it stay
/// branch-free).
#[inline(always)]
pub(crate) fn finite<S: Scalar, const N: usize>(values: [S; N]) -> bool {
    values.iter().fold(true, |ok, v| ok & v.is_finite())
}

/// The gradient `g[o][i] = δ_o · x_i` of a dense layer's weights, row by row: what
/// [`Optimizer::update_outer`] stands for, computed exactly as [`Optimizer::update`] would
/// see it.
pub(crate) fn outer<'a, S: Scalar>(delta: &'a [S], x: &'a [S]) -> impl Iterator<Item = S> + 'a {
    delta
        .iter()
        .flat_map(move |&d| x.iter().map(move |&x| d * x))
}
