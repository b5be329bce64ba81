//! AdamW: Adam with decoupled weight decay.

use core::marker::PhantomData;

use super::{adam::Moments, AdamConfig, Rule};
use crate::{Error, Float, Libm, Math, Result, Scalar};

/// Hyper-parameters of [`AdamW`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdamWConfig<S> {
    /// The Adam part.
    pub adam: AdamConfig<S>,
    /// Decoupled weight decay λ (≥ 0).
    pub weight_decay: S,
}

impl<S: Scalar> Default for AdamWConfig<S> {
    /// Adam's defaults and λ = 0.01 (Loshchilov & Hutter; PyTorch's default).
    fn default() -> Self {
        AdamWConfig {
            adam: AdamConfig::default(),
            weight_decay: S::from_f64(0.01),
        }
    }
}

/// The decay of one step, `η · λ`, must be at most 1.
fn decay_ok<S: Scalar>(lr: S, wd: S) -> Result<()> {
    let decay = lr * wd;
    if decay.is_finite() && decay <= S::ONE {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter(
            "weight decay times learning rate must be <= 1",
        ))
    }
}

/// AdamW (Loshchilov & Hutter, 2019): Adam whose weight decay is applied to the weights
/// directly instead of through the gradient (so the adaptive scaling does not weaken it):
/// `w ← w − η (m̂ / (√v̂ + ε) + λ w)`, with `m̂`, `v̂` as in [`Adam`](super::Adam).
/// The decay applies to every parameter, biases included (as PyTorch's default).
///
/// State as Adam: `2 · PARAMS` scalars in `B`.
#[derive(Clone, Debug)]
pub struct AdamW<S, B, M = Libm> {
    moments: Moments<S, B>,
    weight_decay: S,
    math: PhantomData<M>,
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> AdamW<S, B, M> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 2;

    /// AdamW with `cfg` and a moment buffer of `2 · PARAMS` scalars (cleared).
    ///
    /// # Errors
    /// As [`AdamConfig::validate`], and
    /// [`Error::InvalidHyperParameter`] for a negative or non-finite λ, or a decay `η · λ`
    /// above 1 (a step would flip the weights' signs, or grow them).
    pub fn new(cfg: AdamWConfig<S>, state: B) -> Result<Self> {
        let wd = cfg.weight_decay;
        if !(wd.is_finite() && wd >= S::ZERO) {
            return Err(Error::InvalidHyperParameter(
                "weight decay must be finite and >= 0",
            ));
        }
        decay_ok(cfg.adam.lr, wd)?;
        Ok(AdamW {
            moments: Moments::new(cfg.adam, state)?,
            weight_decay: wd,
            math: PhantomData,
        })
    }
    /// The hyper-parameters.
    pub fn config(&self) -> AdamWConfig<S> {
        AdamWConfig {
            adam: self.moments.cfg,
            weight_decay: self.weight_decay,
        }
    }
    /// Steps taken (the `t` of the bias correction).
    pub fn steps(&self) -> u32 {
        self.moments.steps()
    }
    /// Sets the step count (restoring a checkpoint).
    pub fn set_steps(&mut self, steps: u32) {
        self.moments.set_steps(steps);
    }
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> Rule<S> for AdamW<S, B, M> {
    const NAME: &'static str = "adamw";
    fn lr(&self) -> S {
        self.moments.cfg.lr
    }
    fn set_lr(&mut self, lr: S) {
        self.moments.cfg.lr = lr;
    }
    fn check_lr(&self, lr: S) -> Result<()> {
        decay_ok(lr, self.weight_decay)
    }
    fn state(&self) -> &[S] {
        self.moments.state()
    }
    fn step_count(&self) -> u32 {
        self.moments.steps()
    }
    fn set_step_count(&mut self, steps: u32) {
        self.moments.set_steps(steps);
    }
    fn state_mut(&mut self) -> &mut [S] {
        self.moments.state_mut()
    }
    fn begin(&mut self, params: usize) -> Result<()> {
        self.moments.begin_step(params)
    }
    fn apply(&mut self, offset: usize, params: &mut [S], grads: impl Iterator<Item = S>) {
        self.moments
            .update::<M>(offset, params, grads, self.weight_decay);
    }
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        self.moments
            .accepts::<M>(params, offset, block, grads, self.weight_decay)
    }
}
