//! Nesterov accelerated gradient.

use super::{block, check_state, MomentumConfig, Rule};
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
    fn apply_block(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
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

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Rule<S> for Nesterov<S, B> {
    const NAME: &'static str = "nesterov";
    fn lr(&self) -> S {
        self.cfg.lr
    }
    fn set_lr(&mut self, lr: S) {
        self.cfg.lr = lr;
    }
    fn state(&self) -> &[S] {
        self.v.as_ref()
    }
    fn state_mut(&mut self) -> &mut [S] {
        self.v.as_mut()
    }
    fn begin(&mut self, params: usize) -> Result<()> {
        check_state(self.v.as_ref().len(), Self::SLOTS, params)?;
        self.params = params;
        Ok(())
    }
    fn apply(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
        self.apply_block(offset, params, grads);
    }
}
