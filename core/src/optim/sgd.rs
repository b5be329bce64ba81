//! Plain stochastic gradient descent.

use super::{check_lr, Rule};
use crate::{Result, Scalar};

/// Stochastic gradient descent: `w ← w − η g`. No state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<S> {
    lr: S,
}

impl<S: Scalar> Sgd<S> {
    /// SGD with learning rate η.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) unless η is
    /// finite and positive.
    pub fn new(lr: S) -> Result<Self> {
        Ok(Sgd { lr: check_lr(lr)? })
    }
}

impl<S: Scalar> Default for Sgd<S> {
    /// η = 0.01.
    fn default() -> Self {
        Sgd {
            lr: S::from_f32(0.01),
        }
    }
}

impl<S: Scalar> Rule<S> for Sgd<S> {
    const NAME: &'static str = "sgd";
    fn lr(&self) -> S {
        self.lr
    }
    fn set_lr(&mut self, lr: S) {
        self.lr = lr;
    }
    fn state(&self) -> &[S] {
        &[]
    }
    fn state_mut(&mut self) -> &mut [S] {
        &mut []
    }
    fn begin(&mut self, _params: usize) -> Result<()> {
        Ok(())
    }
    #[inline]
    fn apply(&mut self, _offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
        let step = -self.lr;
        for (p, g) in params.iter_mut().zip(grads) {
            *p = moved(step, *p, g);
        }
    }
    /// Counts the non-finite results instead of stopping at the first, so the loop
    /// vectorises (it also serves [`Rule::accepts_slice`]).
    #[inline]
    fn accepts(
        &self,
        _params: usize,
        _offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        stays_finite(-self.lr, block, grads)
    }
    /// `η · |g|`: SGD's step is the gradient's alone.
    #[inline]
    fn max_step(&self, grad_bound: S) -> Option<S> {
        Some(self.lr * grad_bound)
    }
    /// [`Rule::accepts`] on `g = δ_o · x_i`, row by row, without storing `g`.
    #[inline]
    fn accepts_outer(&self, _params: usize, _offset: usize, w: &[S], delta: &[S], x: &[S]) -> bool {
        let step = -self.lr;
        let n = x.len().max(1);
        let rows = w.chunks_exact(n).zip(delta);
        rows.fold(true, |ok, (row, &d)| {
            ok & stays_finite(step, row, x.iter().map(|&x| d * x))
        })
    }
    /// `w += (−η) · g`: one multiply-add per weight.
    #[inline]
    fn apply_slice(&mut self, _offset: usize, params: &mut [S], grads: &[S]) {
        crate::kernel::axpy(-self.lr, grads, params);
    }
    /// The same arithmetic as [`Rule::apply_slice`] on `g = δ_o · x_i`, without storing `g`.
    #[inline]
    fn apply_outer(&mut self, _offset: usize, w: &mut [S], delta: &[S], x: &[S]) {
        crate::kernel::outer_axpy(-self.lr, w, delta, x);
    }
}

/// One weight's step: `w + (−η) · g` (what [`crate::kernel::axpy`] computes for a slice).
#[inline(always)]
fn moved<S: Scalar>(step: S, w: S, g: S) -> S {
    w + step * g
}

/// Whether every weight of `block` stays finite under its step.
#[inline(always)]
fn stays_finite<S: Scalar>(step: S, block: &[S], grads: impl Iterator<Item = S>) -> bool {
    let bad = block.iter().zip(grads).fold(0u32, |n, (&w, g)| {
        n + u32::from(!moved(step, w, g).is_finite())
    });
    bad == 0
}
