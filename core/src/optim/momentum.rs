//! SGD with momentum (the "heavy ball").

use super::{accepts_one_slot, apply_one_slot, check_lr, check_state, check_unit, Rule};
use crate::{Result, Scalar};

/// Hyper-parameters of [`Momentum`] and [`Nesterov`](super::Nesterov).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MomentumConfig<S> {
    /// Learning rate η (> 0).
    pub lr: S,
    /// Momentum μ in `[0, 1)`.
    pub momentum: S,
}

impl<S: Scalar> Default for MomentumConfig<S> {
    /// η = 0.01, μ = 0.9 (CS231n's usual values).
    fn default() -> Self {
        MomentumConfig {
            lr: S::from_f64(0.01),
            momentum: S::from_f64(0.9),
        }
    }
}

impl<S: Scalar> MomentumConfig<S> {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for η ≤ 0 or
    /// μ outside `[0, 1)`, or a non-finite value.
    pub fn validate(self) -> Result<Self> {
        check_lr(self.lr)?;
        check_unit(self.momentum, "momentum must be in [0, 1)")?;
        Ok(self)
    }
}

/// SGD with momentum, as in CS231n: `v ← μ v − η g`, `w ← w + v`.
///
/// The velocity `v` (one scalar per parameter) lives in `B`: `[S; Net::PARAMS]` on the
/// device, a `&mut [S]` or `Vec` on the host.
#[derive(Clone, Debug)]
pub struct Momentum<S, B> {
    cfg: MomentumConfig<S>,
    v: B,
    params: usize,
}

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Momentum<S, B> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 1;

    /// Momentum with `cfg` and a velocity buffer (its contents are cleared).
    ///
    /// # Errors
    /// As [`MomentumConfig::validate`].
    pub fn new(cfg: MomentumConfig<S>, mut velocity: B) -> Result<Self> {
        let cfg = cfg.validate()?;
        velocity.as_mut().fill(S::ZERO);
        Ok(Momentum {
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

/// One parameter's step: `(w, v)` after `v ← μ v − η g`, `w ← w + v`.
#[inline(always)]
fn next<S: Scalar>(cfg: MomentumConfig<S>, w: S, g: S, v: S) -> (S, S) {
    let v = cfg.momentum * v - cfg.lr * g;
    (w + v, v)
}

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Rule<S> for Momentum<S, B> {
    const NAME: &'static str = "momentum";
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
        apply_one_slot(state, self.params, offset, params, grads, |w, g, v| {
            next(cfg, w, g, v)
        });
    }
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        accepts_one_slot(self.v.as_ref(), params, offset, block, grads, |w, g, v| {
            next(self.cfg, w, g, v)
        })
    }
}
