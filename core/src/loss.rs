//! Loss functions, each with its gradient with respect to the output layer's
//! pre-activations (δ = `∂L/∂z`), computed in the stable form.

use crate::{activation, Activation, Error, Math, Result, Scalar};

/// Most classes a classification target can have (targets are built on the stack).
pub const MAX_CLASSES: usize = 16;

/// A loss on one sample. Batch losses are means over samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Loss {
    /// Mean squared error as in the notes: `L = ½ Σ_k (a_k − y_k)²`, so `∂L/∂a = a − y`
    /// (any output activation; through softmax by its Jacobian).
    Mse,
    /// Binary cross-entropy on logits, one or more independent binary outputs:
    /// `L = Σ_k softplus(z_k) − y_k z_k`, `δ = σ(z) − y`. The output layer is a sigmoid
    /// (`a = σ(z)`) or the identity (the outputs are then the logits).
    BinaryCrossEntropy,
    /// Softmax cross-entropy over K ≥ 2 classes: `L = logsumexp(z) − Σ_k y_k z_k`,
    /// `δ = softmax(z) − y`. The output layer is softmax or the identity (logits).
    CrossEntropy,
}

impl Loss {
    /// A short stable name (`"mse"`, `"bce"`, `"ce"`).
    pub const fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::BinaryCrossEntropy => "bce",
            Loss::CrossEntropy => "ce",
        }
    }

    /// Checks that the loss fits the output layer.
    ///
    /// # Errors
    /// [`Error::LossMismatch`] for BCE on an output other than sigmoid/identity, or
    /// cross-entropy on fewer than 2 outputs or an output other than softmax/identity;
    /// [`Error::Capacity`] for more than [`MAX_CLASSES`] outputs.
    pub fn check<S>(self, output: Activation<S>, outputs: usize) -> Result<()> {
        if outputs == 0 || outputs > MAX_CLASSES {
            return Err(Error::Capacity);
        }
        let ok = match self {
            Loss::Mse => true,
            Loss::BinaryCrossEntropy => {
                matches!(output, Activation::Sigmoid | Activation::Identity)
            }
            Loss::CrossEntropy => {
                outputs >= 2 && matches!(output, Activation::Softmax | Activation::Identity)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::LossMismatch)
        }
    }

    /// Writes the target vector for class `label` into `y` (one 0/1 output for a single
    /// output unit, one-hot otherwise).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] if the label has no output.
    pub fn target<S: Scalar>(label: usize, y: &mut [S]) -> Result<()> {
        let classes = if y.len() == 1 { 2 } else { y.len() };
        if label >= classes {
            return Err(Error::LabelOutOfRange { label, classes });
        }
        if let [only] = y {
            *only = if label == 1 { S::ONE } else { S::ZERO };
        } else {
            for (k, v) in y.iter_mut().enumerate() {
                *v = if k == label { S::ONE } else { S::ZERO };
            }
        }
        Ok(())
    }

    /// The loss of one sample, and δ = `∂L/∂z` written over `z`.
    ///
    /// `z` and `a` are the output layer's pre-activations and activations from the forward
    /// pass, `act` its activation and `y` the target. Call [`Loss::check`] once first.
    pub fn loss_and_delta<S: Scalar, M: Math<S>>(
        self,
        act: Activation<S>,
        z: &mut [S],
        a: &[S],
        y: &[S],
    ) -> S {
        match self {
            Loss::Mse => {
                let mut loss = S::ZERO;
                if act.is_elementwise() {
                    for ((z, &a), &y) in z.iter_mut().zip(a).zip(y) {
                        let g = a - y;
                        loss += g * g;
                        *z = act.derivative::<M>(*z, a) * g;
                    }
                } else {
                    for ((z, &a), &y) in z.iter_mut().zip(a).zip(y) {
                        let g = a - y;
                        loss += g * g;
                        *z = g;
                    }
                    act.backward::<M>(&[], a, z);
                }
                S::HALF * loss
            }
            Loss::BinaryCrossEntropy => {
                let mut loss = S::ZERO;
                for ((z, &a), &y) in z.iter_mut().zip(a).zip(y) {
                    let p = if act == Activation::Sigmoid {
                        a
                    } else {
                        activation::sigmoid::<S, M>(*z)
                    };
                    loss += softplus::<S, M>(*z) - y * *z;
                    *z = p - y;
                }
                loss
            }
            Loss::CrossEntropy => {
                let max = z.iter().fold(S::ZERO - S::MAX, |m, &v| m.max_of(v));
                let sum = z.iter().fold(S::ZERO, |s, &v| s + M::exp(v - max));
                let ln_sum = M::ln(sum);
                let inv = S::ONE / sum;
                let mut loss = S::ZERO;
                for ((z, &a), &y) in z.iter_mut().zip(a).zip(y) {
                    let p = if act == Activation::Softmax {
                        a
                    } else {
                        M::exp(*z - max) * inv
                    };
                    loss += cross_entropy_term(y, *z, max, ln_sum);
                    *z = p - y;
                }
                loss
            }
        }
    }

    /// The loss of one sample without touching the cache (for evaluation and slices).
    pub fn value<S: Scalar, M: Math<S>>(self, z: &[S], a: &[S], y: &[S]) -> S {
        match self {
            Loss::Mse => {
                S::HALF
                    * a.iter().zip(y).fold(S::ZERO, |s, (&a, &y)| {
                        let g = a - y;
                        s + g * g
                    })
            }
            Loss::BinaryCrossEntropy => z
                .iter()
                .zip(y)
                .fold(S::ZERO, |s, (&z, &y)| s + softplus::<S, M>(z) - y * z),
            Loss::CrossEntropy => {
                let max = z.iter().fold(S::ZERO - S::MAX, |m, &v| m.max_of(v));
                let sum = z.iter().fold(S::ZERO, |s, &v| s + M::exp(v - max));
                let ln_sum = M::ln(sum);
                z.iter().zip(y).fold(S::ZERO, |s, (&z, &y)| {
                    s + cross_entropy_term(y, z, max, ln_sum)
                })
            }
        }
    }

    /// The predicted class: for one output, 1 when the output is on the positive side
    /// (`a ≥ ½`, or `z ≥ 0` for BCE on logits); otherwise the arg-max.
    pub fn predicted_class<S: Scalar>(self, act: Activation<S>, z: &[S], a: &[S]) -> usize {
        if let [only] = a {
            let positive = if self == Loss::BinaryCrossEntropy && act == Activation::Identity {
                z.first().is_some_and(|&z| z >= S::ZERO)
            } else {
                *only >= S::HALF
            };
            usize::from(positive)
        } else {
            argmax(a)
        }
    }
}

/// One class's term of softmax cross-entropy, `y · (logsumexp(z) − z)`, as
/// `y · ((max − z) + ln Σ)`: `max − z` is exact where `max + ln Σ` would round to the ulp of
/// `max`, and a class with `y = 0` adds nothing (its `max − z` may overflow: `0 · ∞` would be
/// NaN for finite logits).
#[inline(always)]
fn cross_entropy_term<S: Scalar>(y: S, z: S, max: S, ln_sum: S) -> S {
    if y == S::ZERO {
        S::ZERO
    } else {
        y * ((max - z) + ln_sum)
    }
}

/// `ln(1 + e^z)` without overflow: `max(z, 0) + ln(1 + e^{−|z|})`.
#[inline]
pub fn softplus<S: Scalar, M: Math<S>>(z: S) -> S {
    z.max_of(S::ZERO) + M::ln_1p(M::exp(-z.abs()))
}

/// Index of the largest value (the first on ties; 0 for an empty slice).
pub fn argmax<S: Scalar>(xs: &[S]) -> usize {
    let mut best = 0;
    let mut best_v = S::ZERO - S::MAX;
    for (i, &v) in xs.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}
