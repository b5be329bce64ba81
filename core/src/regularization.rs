//! Regularisation: the L2 penalty, inverted dropout, and gradient clipping by global norm.
//!
//! L2 and clipping act on a step's mean gradients between the backward pass and the
//! optimizer update; [`Trainer`](crate::Trainer) applies them when given a
//! [`Regularization`] ([`Trainer::with_regularization`](crate::Trainer::with_regularization)).
//! Dropout sits between layers: it is a layer kind,
//! [`layer::Dropout`](crate::layer::Dropout).

use crate::{layer::Params, Error, Model, Result, Scalar};

/// `½ λ Σ w²` over every dense weight of `model` (biases and batch norm's γ, β are not
/// penalised, as in CS231n).
pub fn l2_penalty<T: Model>(model: &T, lambda: f64) -> f64 {
    let mut ss = 0.0f64;
    model.visit_layers(|l| {
        if l.kind.params() == Params::Weights {
            for &w in l.w.iter() {
                let w = w.to_f64();
                ss += w * w;
            }
        }
    });
    0.5 * lambda * ss
}

/// Adds the L2 gradient `λ w` to every dense weight's (mean) gradient: the gradient is
/// then that of `mean loss + ½ λ Σ w²`.
pub fn add_l2_gradient<T: Model>(model: &mut T, lambda: T::Scalar) {
    model.visit_layers_mut(|l| {
        if l.kind.params() == Params::Weights {
            for (g, &w) in l.gw.iter_mut().zip(l.w.iter()) {
                *g += lambda * w;
            }
        }
    });
}

/// Clips the gradient by its global norm: if `‖g‖` over every gradient of the model
/// exceeds `max_norm`, multiplies every gradient by `max_norm / ‖g‖`. Returns the norm
/// before clipping.
pub fn clip_global_norm<T: Model>(model: &mut T, max_norm: f64) -> f64 {
    let mut ss = 0.0f64;
    model.visit_layers(|l| {
        for &g in l.gw.iter().chain(l.gb.iter()) {
            let g = g.to_f64();
            ss += g * g;
        }
    });
    let norm = libm::sqrt(ss);
    if norm > max_norm && norm.is_finite() {
        let k = T::Scalar::from_f64(max_norm / norm);
        model.scale_grads(k);
    }
    norm
}

/// What the trainer does to each step's gradients before the update.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Regularization {
    l2: f64,
    clip: Option<f64>,
}

impl Regularization {
    /// No regularisation.
    pub const NONE: Self = Regularization {
        l2: 0.0,
        clip: None,
    };

    /// L2 strength `λ` (0 = off) and an optional global-norm clip.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] for a negative or non-finite λ, or a clip norm
    /// that is not finite and > 0.
    pub fn new(l2: f64, clip: Option<f64>) -> Result<Self> {
        if !(l2.is_finite() && l2 >= 0.0) {
            return Err(Error::InvalidHyperParameter("L2 strength must be >= 0"));
        }
        if let Some(c) = clip {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::InvalidHyperParameter("clip norm must be > 0"));
            }
        }
        Ok(Regularization { l2, clip })
    }

    /// L2 strength λ.
    pub fn l2(&self) -> f64 {
        self.l2
    }
    /// The clip norm, if clipping.
    pub fn clip(&self) -> Option<f64> {
        self.clip
    }

    /// Applies to a step's mean gradients: adds the L2 gradient, then clips. Returns the
    /// L2 penalty to add to the mean loss.
    pub fn apply<T: Model>(&self, model: &mut T) -> T::Scalar {
        let mut penalty = T::Scalar::ZERO;
        if self.l2 > 0.0 {
            penalty = T::Scalar::from_f64(l2_penalty(model, self.l2));
            add_l2_gradient(model, T::Scalar::from_f64(self.l2));
        }
        if let Some(c) = self.clip {
            clip_global_norm(model, c);
        }
        penalty
    }
}
