//! Nesterov accelerated gradient.

use super::{accepts_one_slot, apply_one_slot, check_state, MomentumConfig, Rule};
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
}

/// One parameter's step: `(w, v')` after `v' ← μ v − η g`, `w ← w + (1 + μ) v' − μ v`.
#[inline(always)]
fn next<S: Scalar>(cfg: MomentumConfig<S>, w: S, g: S, v: S) -> (S, S) {
    let mu = cfg.momentum;
    let next = mu * v - cfg.lr * g;
    (w + ((S::ONE + mu) * next - mu * v), next)
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
        let cfg = self.cfg;
        let state = self.v.as_mut();
        apply_one_slot(state, self.params, offset, params, grads, |w, g, s| {
            next(cfg, w, g, s)
        });
    }
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        accepts_one_slot(self.v.as_ref(), params, offset, block, grads, |w, g, s| {
            next(self.cfg, w, g, s)
        })
    }
}
