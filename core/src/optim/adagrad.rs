//! AdaGrad: per-parameter learning rates from the sum of squared gradients.

use core::marker::PhantomData;

use super::{accepts_one_slot, apply_one_slot, check_eps, check_lr, check_state, Rule};
use crate::{Float, Libm, Math, Result, Scalar};

/// Hyper-parameters of [`AdaGrad`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdaGradConfig<S> {
    /// Learning rate η (> 0).
    pub lr: S,
    /// ε added to the root of the cache (> 0).
    pub eps: S,
}

impl<S: Scalar> Default for AdaGradConfig<S> {
    /// η = 0.01, ε = 1e-8 (Duchi et al.; PyTorch's learning rate).
    fn default() -> Self {
        AdaGradConfig {
            lr: S::from_f64(0.01),
            eps: S::from_f64(1e-8),
        }
    }
}

impl<S: Scalar> AdaGradConfig<S> {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for η ≤ 0,
    /// ε ≤ 0 or a non-finite value.
    pub fn validate(self) -> Result<Self> {
        check_lr(self.lr)?;
        check_eps(self.eps)?;
        Ok(self)
    }
}

/// AdaGrad: `c ← c + g²`, `w ← w − η g / (√c + ε)`.
///
/// The cache `c` (one scalar per parameter) lives in `B`; `M` computes the square root.
#[derive(Clone, Debug)]
pub struct AdaGrad<S, B, M = Libm> {
    cfg: AdaGradConfig<S>,
    cache: B,
    params: usize,
    math: PhantomData<M>,
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> AdaGrad<S, B, M> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 1;

    /// AdaGrad with `cfg` and a cache buffer (cleared).
    ///
    /// # Errors
    /// As [`AdaGradConfig::validate`].
    pub fn new(cfg: AdaGradConfig<S>, mut cache: B) -> Result<Self> {
        let cfg = cfg.validate()?;
        cache.as_mut().fill(S::ZERO);
        Ok(AdaGrad {
            cfg,
            cache,
            params: 0,
            math: PhantomData,
        })
    }
    /// The hyper-parameters.
    pub fn config(&self) -> AdaGradConfig<S> {
        self.cfg
    }
}

/// One parameter's step: `(w, c)` after `c ← c + g²`, `w ← w − η g / (√c + ε)`.
#[inline(always)]
fn next<S: Scalar, M: Math<S>>(cfg: AdaGradConfig<S>, w: S, g: S, c: S) -> (S, S) {
    let c = c + g * g;
    (w - cfg.lr * g / (M::sqrt(c) + cfg.eps), c)
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> Rule<S> for AdaGrad<S, B, M> {
    const NAME: &'static str = "adagrad";
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
