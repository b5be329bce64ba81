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
            *p += step * g;
        }
    }
    fn accepts(
        &self,
        _params: usize,
        _offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        let step = -self.lr;
        block
            .iter()
            .zip(grads)
            .fold(true, |ok, (&w, g)| ok & (w + step * g).is_finite())
    }
    /// [`Rule::accepts`] over a slice, counting non-finite results so the loop vectorises.
    #[inline]
    fn accepts_slice(&self, _params: usize, _offset: usize, block: &[S], grads: &[S]) -> bool {
        let step = -self.lr;
        let bad = block.iter().zip(grads).fold(0u32, |n, (&w, &g)| {
            n + u32::from(!(w + step * g).is_finite())
        });
        bad == 0
    }
    /// `η · |g|`: SGD's step is the gradient's alone.
    #[inline]
    fn max_step(&self, grad_bound: S) -> Option<S> {
        Some(self.lr * grad_bound)
    }
    /// [`Rule::accepts_slice`] on `g = δ_o · x_i`, row by row, without storing `g`.
    #[inline]
    fn accepts_outer(&self, _params: usize, _offset: usize, w: &[S], delta: &[S], x: &[S]) -> bool {
        let step = -self.lr;
        let n = x.len().max(1);
        let mut bad = 0u32;
        for (row, &d) in w.chunks_exact(n).zip(delta) {
            bad += row.iter().zip(x).fold(0u32, |n, (&w, &x)| {
                n + u32::from(!(w + step * (d * x)).is_finite())
            });
        }
        bad == 0
    }
    /// `w += (−η) · g`: one multiply-add per weight.
    #[inline]
    fn apply_slice(&mut self, _offset: usize, params: &mut [S], grads: &[S]) {
        crate::kernel::axpy(-self.lr, grads, params);
    }
    /// The same arithmetic as [`Rule::apply_slice`] on `g = δ_o · x_i`, without storing `g`.
    #[inline]
    fn apply_outer(&mut self, _offset: usize, w: &mut [S], delta: &[S], x: &[S]) {
        let step = -self.lr;
        let n = x.len().max(1);
        for (row, &d) in w.chunks_exact_mut(n).zip(delta) {
            for (p, &x) in row.iter_mut().zip(x) {
                *p += step * (d * x);
            }
        }
    }
}
