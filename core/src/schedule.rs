//! Learning-rate schedules: a base rate, a decay, and an optional linear warm-up in front.
//!
//! ```
//! use microprop::schedule::{Decay, Schedule};
//! // 100 warm-up steps, then cosine from 0.1 down to 0.001 over 900 steps.
//! let s = Schedule::new(0.1, Decay::Cosine { steps: 900, min_lr: 0.001 })?.with_warmup(100)?;
//! assert!((s.lr(0) - 0.001).abs() < 1e-12); // 0.1 · 1/100
//! assert!((s.lr(99) - 0.1).abs() < 1e-12);
//! assert!((s.lr(100) - 0.1).abs() < 1e-12);
//! assert!((s.lr(1000) - 0.001).abs() < 1e-12);
//! # Ok::<(), microprop::Error>(())
//! ```

use rand_core::RngCore;

use crate::{
    optim::Optimizer,
    train::{SetLearningRate, StepHook},
    Dataset, Error, Model, Result, Scalar, Trainer,
};

/// How the rate decays after warm-up (`t` counts steps after the warm-up, from 0).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decay {
    /// `η(t) = η₀`.
    Constant,
    /// Step decay: `η(t) = η₀ γ^⌊t / every⌋`.
    Step {
        /// Steps between decays (> 0).
        every: u32,
        /// Factor per decay, in `(0, 1]`.
        gamma: f64,
    },
    /// Exponential decay: `η(t) = η₀ γ^t`.
    Exponential {
        /// Factor per step, in `(0, 1]`.
        gamma: f64,
    },
    /// Cosine annealing: `η(t) = η_min + ½ (η₀ − η_min)(1 + cos(π min(t, T) / T))`.
    Cosine {
        /// Length `T` of the cosine (> 0); `η_min` after it.
        steps: u32,
        /// Final rate `η_min`, in `[0, η₀]`.
        min_lr: f64,
    },
}

/// A learning-rate schedule: [`Decay`] after an optional linear warm-up.
///
/// During warm-up (`warmup` steps) the rate rises linearly, `η₀ (s + 1) / warmup` at
/// step `s`, reaching `η₀` on its last step; after it the decay runs with
/// `t = s − warmup`. Warm-up then cosine is `Schedule::new(η₀, Decay::Cosine {..})?
/// .with_warmup(n)?`; plain linear warm-up is the same with [`Decay::Constant`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Schedule {
    base: f64,
    decay: Decay,
    warmup: u32,
}

impl Schedule {
    /// A schedule from base rate `lr` (η₀) with `decay`, no warm-up.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for η₀ ≤ 0, a γ outside `(0, 1]`, a zero period,
    /// or `min_lr` outside `[0, η₀]`, or a non-finite value.
    pub fn new(lr: f64, decay: Decay) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::InvalidHyperParameter(
                "learning rate must be finite and > 0",
            ));
        }
        let gamma_ok = |g: f64| g.is_finite() && g > 0.0 && g <= 1.0;
        let ok = match decay {
            Decay::Constant => true,
            Decay::Step { every, gamma } => every > 0 && gamma_ok(gamma),
            Decay::Exponential { gamma } => gamma_ok(gamma),
            Decay::Cosine { steps, min_lr } => {
                steps > 0 && min_lr.is_finite() && (0.0..=lr).contains(&min_lr)
            }
        };
        if ok {
            Ok(Schedule {
                base: lr,
                decay,
                warmup: 0,
            })
        } else {
            Err(Error::InvalidHyperParameter("schedule decay parameters"))
        }
    }

    /// A constant rate.
    ///
    /// # Errors
    /// As [`Schedule::new`].
    pub fn constant(lr: f64) -> Result<Self> {
        Self::new(lr, Decay::Constant)
    }

    /// The same schedule after `steps` of linear warm-up (0 = none).
    ///
    /// # Errors
    /// Never at present; kept fallible so limits can be added.
    pub fn with_warmup(self, steps: u32) -> Result<Self> {
        Ok(Schedule {
            warmup: steps,
            ..self
        })
    }

    /// The base rate η₀.
    pub fn base(&self) -> f64 {
        self.base
    }
    /// The decay.
    pub fn decay(&self) -> Decay {
        self.decay
    }
    /// Warm-up steps.
    pub fn warmup(&self) -> u32 {
        self.warmup
    }

    /// The rate at optimizer step `step` (0-based).
    pub fn lr(&self, step: u32) -> f64 {
        if step < self.warmup {
            return self.base * (f64::from(step) + 1.0) / f64::from(self.warmup);
        }
        let t = step - self.warmup;
        match self.decay {
            Decay::Constant => self.base,
            Decay::Step { every, gamma } => {
                self.base * libm::pow(gamma, f64::from(t / every.max(1)))
            }
            Decay::Exponential { gamma } => self.base * libm::pow(gamma, f64::from(t)),
            Decay::Cosine { steps, min_lr } => {
                let frac = f64::from(t.min(steps)) / f64::from(steps.max(1));
                min_lr
                    + 0.5 * (self.base - min_lr) * (1.0 + libm::cos(core::f64::consts::PI * frac))
            }
        }
    }

    /// Sets `opt`'s rate for step `step` (in `S`: a rate that is finite in `f64` may not
    /// be in `f32`).
    ///
    /// # Errors
    /// As [`Optimizer::set_learning_rate`] (the rate is unchanged then).
    pub fn apply<S: Scalar, O: Optimizer<S> + ?Sized>(&self, opt: &mut O, step: u32) -> Result<()> {
        opt.set_learning_rate(S::from_f64(self.lr(step)))
    }

    /// One epoch as [`Trainer::epoch`], setting `opt`'s rate before every step from the
    /// trainer's step count (so the schedule runs per optimizer step, across epochs).
    ///
    /// # Errors
    /// As [`Trainer::epoch`].
    pub fn epoch<T: Model, O: Optimizer<T::Scalar>, R: RngCore + ?Sized>(
        &self,
        trainer: &mut Trainer,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        order: &mut [u16],
        rng: &mut R,
    ) -> Result<T::Scalar> {
        trainer.epoch_with(model, opt, data, order, rng, &mut &*self)
    }
}

/// A schedule sets the learning rate before every step of [`Trainer::epoch_with`].
impl<S: Scalar> StepHook<S> for &Schedule {
    fn before(&mut self, opt: &mut dyn SetLearningRate<S>, step: u32) -> Result<()> {
        opt.set_lr(S::from_f64(self.lr(step)))
    }
}
