//! RMSProp: AdaGrad with a leaky cache.

use core::marker::PhantomData;

use super::{accepts_one_slot, apply_one_slot, check_eps, check_lr, check_state, check_unit, Rule};
use crate::{Float, Libm, Math, Result, Scalar};

/// Hyper-parameters of [`RmsProp`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RmsPropConfig<S> {
    /// Learning rate η (> 0).
    pub lr: S,
    /// Decay rate ρ of the cache, in `[0, 1)`.
    pub decay: S,
    /// ε added to the root of the cache (> 0).
    pub eps: S,
}

impl<S: Scalar> Default for RmsPropConfig<S> {
    /// η = 0.01, ρ = 0.99, ε = 1e-8 (PyTorch's defaults).
    fn default() -> Self {
        RmsPropConfig {
            lr: S::from_f64(0.01),
            decay: S::from_f64(0.99),
            eps: S::from_f64(1e-8),
        }
    }
}

impl<S: Scalar> RmsPropConfig<S> {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for η ≤ 0,
    /// ρ outside `[0, 1)`, ε ≤ 0 or a non-finite value.
    pub fn validate(self) -> Result<Self> {
        check_lr(self.lr)?;
        check_unit(self.decay, "decay rate must be in [0, 1)")?;
        check_eps(self.eps)?;
        Ok(self)
    }
}

/// RMSProp: `c ← ρ c + (1 − ρ) g²`, `w ← w − η g / (√c + ε)`.
///
/// The cache `c` (one scalar per parameter) lives in `B`; `M` computes the square root.
#[derive(Clone, Debug)]
pub struct RmsProp<S, B, M = Libm> {
    cfg: RmsPropConfig<S>,
    cache: B,
    params: usize,
    math: PhantomData<M>,
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> RmsProp<S, B, M> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 1;

    /// RMSProp with `cfg` and a cache buffer (cleared).
    ///
    /// # Errors
    /// As [`RmsPropConfig::validate`].
    pub fn new(cfg: RmsPropConfig<S>, mut cache: B) -> Result<Self> {
        let cfg = cfg.validate()?;
        cache.as_mut().fill(S::ZERO);
        Ok(RmsProp {
            cfg,
            cache,
            params: 0,
            math: PhantomData,
        })
    }
    /// The hyper-parameters.
    pub fn config(&self) -> RmsPropConfig<S> {
        self.cfg
    }
}

/// One parameter's step: `(w, c)` after `c ← ρ c + (1 − ρ) g²`, `w ← w − η g / (√c + ε)`.
#[inline(always)]
fn next<S: Scalar, M: Math<S>>(cfg: RmsPropConfig<S>, w: S, g: S, c: S) -> (S, S) {
    let rho = cfg.decay;
    let c = rho * c + (S::ONE - rho) * (g * g);
    (w - cfg.lr * g / (M::sqrt(c) + cfg.eps), c)
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> Rule<S> for RmsProp<S, B, M> {
    const NAME: &'static str = "rmsprop";
    fn lr(&self) -> S {
        self.cfg.lr
    }
    fn set_lr(&mut self, lr: S) {
        self.cfg.lr = lr;
    }
    fn state(&self) -> &[S] {
        self.cache.as_ref()
    }
    fn state_mut(&mut self) -> &mut [S] {
        self.cache.as_mut()
    }
    fn begin(&mut self, params: usize) -> Result<()> {
        check_state(self.cache.as_ref().len(), Self::SLOTS, params)?;
        self.params = params;
        Ok(())
    }
    fn apply(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
        let cfg = self.cfg;
        let state = self.cache.as_mut();
        apply_one_slot(state, self.params, offset, params, grads, |w, g, s| {
            next::<S, M>(cfg, w, g, s)
        });
    }
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        accepts_one_slot(
            self.cache.as_ref(),
            params,
            offset,
            block,
            grads,
            |w, g, s| next::<S, M>(self.cfg, w, g, s),
        )
    }
}
