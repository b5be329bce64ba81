//! Nesterov accelerated gradient.

use super::{block, check_state, outer, MomentumConfig, Optimizer};
use crate::{Result, Scalar};

/// Nesterov momentum in the form CS231n gives (the look-ahead rewritten so the gradient
/// is taken at the current weights):
/// `v' ← μ v − η g`, `w ← w − μ v + (1 + μ) v'`, `v ← v'`.
///
/// State as [`Momentum`](super::Momentum): one scalar per parameter in `B`.
#[derive(Clone, Debug)]
pub struct Nesterov<S, B> {
    cfg: MomentumConfig<S>,
    v: B,
    params: usize,
}

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Nesterov<S, B> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 1;

    /// Nesterov momentum with `cfg` and a velocity buffer (cleared).
    ///
    /// # Errors
    /// As [`MomentumConfig::validate`].
    pub fn new(cfg: MomentumConfig<S>, mut velocity: B) -> Result<Self> {
        let cfg = cfg.validate()?;
        velocity.as_mut().fill(S::ZERO);
        Ok(Nesterov {
            cfg,
            v: velocity,
            params: 0,
        })
    }
    /// The hyper-parameters.
    pub fn config(&self) -> MomentumConfig<S> {
        self.cfg
    }

    /// One block of scaled gradients.
    fn apply(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
        let (lr, mu) = (self.cfg.lr, self.cfg.momentum);
        if let Some(v) = block(self.v.as_mut(), self.params, 0, offset, params.len()) {
            for ((w, g), v) in params.iter_mut().zip(grads).zip(v.iter_mut()) {
                let prev = *v;
                *v = mu * prev - lr * g;
                *w += (S::ONE + mu) * *v - mu * prev;
            }
        }
    }
}

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Optimizer<S> for Nesterov<S, B> {
    fn name(&self) -> &'static str {
        "nesterov"
    }
    fn learning_rate(&self) -> S {
        self.cfg.lr
    }
    fn set_learning_rate(&mut self, lr: S) {
        self.cfg.lr = lr;
    }
    fn state_len(&self) -> usize {
        self.v.as_ref().len()
    }
    fn state(&self) -> &[S] {
        self.v.as_ref()
    }
    fn state_mut(&mut self) -> &mut [S] {
        self.v.as_mut()
    }
    fn begin_step(&mut self, params: usize) -> Result<()> {
        check_state(self.v.as_ref().len(), Self::SLOTS, params)?;
        self.params = params;
        Ok(())
    }
    fn update(&mut self, offset: usize, params: &mut [S], grads: &[S], scale: S) {
        self.apply(offset, params, grads.iter().map(|&g| g * scale));
    }
    fn update_outer(&mut self, offset: usize, w: &mut [S], delta: &[S], x: &[S], scale: S) {
        self.apply(offset, w, outer(delta, x, scale));
    }
}
