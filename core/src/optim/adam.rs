//! Adam: momentum and RMSProp together, with bias correction.

use core::marker::PhantomData;

use super::{block, block_ref, check_eps, check_lr, check_state, check_unit, finite, Rule};
use crate::{Float, Libm, Math, Result, Scalar};

/// Hyper-parameters of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdamConfig<S> {
    /// Learning rate η (> 0).
    pub lr: S,
    /// Decay of the first moment β₁, in `[0, 1)`.
    pub beta1: S,
    /// Decay of the second moment β₂, in `[0, 1)`.
    pub beta2: S,
    /// ε added to the root of the second moment (> 0).
    pub eps: S,
}

impl<S: Scalar> Default for AdamConfig<S> {
    /// η = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (Kingma & Ba).
    fn default() -> Self {
        AdamConfig {
            lr: S::from_f64(1e-3),
            beta1: S::from_f64(0.9),
            beta2: S::from_f64(0.999),
            eps: S::from_f64(1e-8),
        }
    }
}

impl<S: Scalar> AdamConfig<S> {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) for η ≤ 0,
    /// a β outside `[0, 1)`, ε ≤ 0 or a non-finite value.
    pub fn validate(self) -> Result<Self> {
        check_lr(self.lr)?;
        check_unit(self.beta1, "beta1 must be in [0, 1)")?;
        check_unit(self.beta2, "beta2 must be in [0, 1)")?;
        check_eps(self.eps)?;
        Ok(self)
    }
}

/// The moment buffers and bias-correction bookkeeping shared by [`Adam`] and
/// [`AdamW`](super::AdamW).
#[derive(Clone, Debug)]
pub(crate) struct Moments<S, B> {
    pub(crate) cfg: AdamConfig<S>,
    state: B,
    params: usize,
    steps: u32,
    /// β₁ᵗ and β₂ᵗ, by repeated multiplication (bit-identical on every target).
    pow1: S,
    pow2: S,
    /// `1 / (1 − β₁ᵗ)` and `1 / (1 − β₂ᵗ)` for the current step.
    c1: S,
    c2: S,
}

impl<S: Scalar, B: AsRef<[S]> + AsMut<[S]>> Moments<S, B> {
    pub(crate) fn new(cfg: AdamConfig<S>, mut state: B) -> Result<Self> {
        let cfg = cfg.validate()?;
        state.as_mut().fill(S::ZERO);
        Ok(Moments {
            cfg,
            state,
            params: 0,
            steps: 0,
            pow1: S::ONE,
            pow2: S::ONE,
            c1: S::ONE,
            c2: S::ONE,
        })
    }

    pub(crate) fn steps(&self) -> u32 {
        self.steps
    }

    /// Sets the step count (restoring a checkpoint): recomputes β₁ᵗ, β₂ᵗ by the same
    /// multiplications the steps made (bit for bit what an uninterrupted run has), stopping
    /// once both are 0 (β < 1: at most ~1.1e5 multiplications in f32, ~7.5e5 in f64,
    /// whatever `steps` is).
    pub(crate) fn set_steps(&mut self, steps: u32) {
        self.steps = steps;
        self.pow1 = S::ONE;
        self.pow2 = S::ONE;
        for _ in 0..steps {
            if self.pow1 == S::ZERO && self.pow2 == S::ZERO {
                break;
            }
            self.pow1 *= self.cfg.beta1;
            self.pow2 *= self.cfg.beta2;
        }
    }

    pub(crate) fn state(&self) -> &[S] {
        self.state.as_ref()
    }
    pub(crate) fn state_mut(&mut self) -> &mut [S] {
        self.state.as_mut()
    }

    pub(crate) fn begin_step(&mut self, params: usize) -> Result<()> {
        check_state(self.state.as_ref().len(), 2, params)?;
        self.params = params;
        self.steps = self.steps.saturating_add(1);
        self.pow1 *= self.cfg.beta1;
        self.pow2 *= self.cfg.beta2;
        (self.c1, self.c2) = self.corrections(self.pow1, self.pow2);
        Ok(())
    }

    /// `1 / (1 − β₁ᵗ)` and `1 / (1 − β₂ᵗ)` from β₁ᵗ, β₂ᵗ.
    #[inline(always)]
    fn corrections(&self, pow1: S, pow2: S) -> (S, S) {
        (S::ONE / (S::ONE - pow1), S::ONE / (S::ONE - pow2))
    }

    /// Whether the next step's [`update`](Self::update) keeps the block finite (see
    /// [`Rule::accepts`]): the bias corrections the next [`begin_step`](Self::begin_step)
    /// will compute, then every parameter's step.
    pub(crate) fn accepts<M: Math<S>>(
        &self,
        params: usize,
        offset: usize,
        block_of: &[S],
        grads: impl Iterator<Item = S>,
        decay: S,
    ) -> bool {
        let c = self.corrections(self.pow1 * self.cfg.beta1, self.pow2 * self.cfg.beta2);
        let Some((ms, vs)) = self.state.as_ref().split_at_checked(params) else {
            return true;
        };
        let len = block_of.len();
        let (Some(m), Some(v)) = (
            block_ref(ms, params, 0, offset, len),
            block_ref(vs, params, 0, offset, len),
        ) else {
            return true;
        };
        let moments = m.iter().zip(v);
        block_of
            .iter()
            .zip(grads)
            .zip(moments)
            .fold(true, |ok, ((&w, g), (&m, &v))| {
                let (w, m, v) = next::<S, M>(self.cfg, c, decay, (w, g, m, v));
                ok & finite([w, m, v])
            })
    }

    /// `w ← w − η (m̂ / (√v̂ + ε) + λ w)`; λ = 0 is Adam.
    pub(crate) fn update<M: Math<S>>(
        &mut self,
        offset: usize,
        params: &mut [S],
        grads: impl Iterator<Item = S>,
        decay: S,
    ) {
        let c = (self.c1, self.c2);
        let (n, len) = (self.params, params.len());
        let cfg = self.cfg;
        let state = self.state.as_mut();
        let Some((ms, vs)) = state.split_at_mut_checked(n) else {
            return;
        };
        let (Some(m), Some(v)) = (block(ms, n, 0, offset, len), block(vs, n, 0, offset, len))
        else {
            return;
        };
        for (((w, g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v) {
            (*w, *m, *v) = next::<S, M>(cfg, c, decay, (*w, g, *m, *v));
        }
    }
}

/// One parameter's step from `(w, g, m, v)`: `(w, m, v)` after the moments' updates and
/// `w ← w − η (m̂ / (√v̂ + ε) + λ w)`, with the bias corrections `c`.
#[inline(always)]
fn next<S: Scalar, M: Math<S>>(
    cfg: AdamConfig<S>,
    c: (S, S),
    decay: S,
    (w, g, m, v): (S, S, S, S),
) -> (S, S, S) {
    let AdamConfig {
        lr,
        beta1,
        beta2,
        eps,
    } = cfg;
    let m = beta1 * m + (S::ONE - beta1) * g;
    let v = beta2 * v + (S::ONE - beta2) * (g * g);
    let m_hat = m * c.0;
    let v_hat = v * c.1;
    (w - lr * (m_hat / (M::sqrt(v_hat) + eps) + decay * w), m, v)
}

/// Adam (Kingma & Ba, 2015) with bias correction:
/// `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`,
/// `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`, `w ← w − η m̂ / (√v̂ + ε)`.
///
/// The two moments live in one buffer `B` of `2 · PARAMS` scalars (first moments, then
/// second moments): `Adam::new(AdamConfig::default(), [0.0f32; 2 * P])` on the device.
#[derive(Clone, Debug)]
pub struct Adam<S, B, M = Libm> {
    moments: Moments<S, B>,
    math: PhantomData<M>,
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> Adam<S, B, M> {
    /// State scalars per parameter.
    pub const SLOTS: usize = 2;

    /// Adam with `cfg` and a moment buffer of `2 · PARAMS` scalars (cleared).
    ///
    /// # Errors
    /// As [`AdamConfig::validate`].
    pub fn new(cfg: AdamConfig<S>, state: B) -> Result<Self> {
        Ok(Adam {
            moments: Moments::new(cfg, state)?,
            math: PhantomData,
        })
    }
    /// The hyper-parameters.
    pub fn config(&self) -> AdamConfig<S> {
        self.moments.cfg
    }
    /// Steps taken (the `t` of the bias correction).
    pub fn steps(&self) -> u32 {
        self.moments.steps()
    }
    /// Sets the step count, e.g. when restoring a checkpoint together with
    /// [`Optimizer::state_mut`](super::Optimizer::state_mut).
    pub fn set_steps(&mut self, steps: u32) {
        self.moments.set_steps(steps);
    }
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> Rule<S> for Adam<S, B, M> {
    const NAME: &'static str = "adam";
    fn lr(&self) -> S {
        self.moments.cfg.lr
    }
    fn set_lr(&mut self, lr: S) {
        self.moments.cfg.lr = lr;
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
        self.moments.update::<M>(offset, params, grads, S::ZERO);
    }
    fn accepts(
        &self,
        params: usize,
        offset: usize,
        block: &[S],
        grads: impl Iterator<Item = S>,
    ) -> bool {
        self.moments
            .accepts::<M>(params, offset, block, grads, S::ZERO)
    }
}
