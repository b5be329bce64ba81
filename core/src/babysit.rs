//! Babysitting the learning process: the sanity checks of lecture 6 as functions, and
//! divergence detection.

use rand_core::RngCore;

use crate::{
    optim::Optimizer, train, train::StepHook, Dataset, Error, Loss, Model, Result, Scalar, Trainer,
};

/// A measured value and what it should be.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Check {
    /// What was measured.
    pub measured: f64,
    /// What theory predicts.
    pub expected: f64,
}

impl Check {
    /// Whether `|measured − expected| ≤ rel · |expected|`.
    pub fn within(&self, rel: f64) -> bool {
        libm::fabs(self.measured - self.expected) <= rel * libm::fabs(self.expected)
    }
}

/// The initial-loss check: with small weights every class is equally likely, so the mean
/// softmax cross-entropy over `data` should be `ln K` for K classes (`ln 2` for binary
/// cross-entropy on one output). Run it before training.
///
/// # Errors
/// [`Error::LossMismatch`] for [`Loss::Mse`] (no such prediction), and the errors of
/// [`train::evaluate`].
pub fn initial_loss<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<Check> {
    // Equal probabilities: ln K for K classes; binary cross-entropy sums ln 2 per output.
    let expected = match loss {
        Loss::Mse => return Err(Error::LossMismatch),
        Loss::BinaryCrossEntropy => model.outputs() as f64 * core::f64::consts::LN_2,
        Loss::CrossEntropy => libm::log(model.outputs() as f64),
    };
    let measured = train::evaluate(model, loss, data)?.loss.to_f64();
    Ok(Check { measured, expected })
}

/// Most samples [`overfit`] accepts.
pub const MAX_OVERFIT: usize = 256;

/// The overfitting check: trains on the first `samples` samples of `data` (20 in the
/// lecture) until it classifies all of them correctly. Returns the epochs needed, or
/// `None` if `max_epochs` were not enough — a model that cannot overfit a tiny subset has
/// a bug or far too small a learning rate.
///
/// # Errors
/// [`Error::Capacity`] for more than [`MAX_OVERFIT`] samples; [`Error::EmptyData`] for
/// none; the errors of [`Trainer::step`].
pub fn overfit<T: Model, O: Optimizer<T::Scalar>, R: RngCore + ?Sized>(
    model: &mut T,
    opt: &mut O,
    trainer: &mut Trainer,
    data: &Dataset<'_, T::Scalar>,
    samples: usize,
    max_epochs: u32,
    rng: &mut R,
) -> Result<Option<u32>> {
    let subset = data.head(samples);
    if samples > MAX_OVERFIT {
        return Err(Error::Capacity);
    }
    let mut order_buf = [0u16; MAX_OVERFIT];
    let order = order_buf.get_mut(..subset.len()).ok_or(Error::Capacity)?;
    train::fill_order(order)?;
    for epoch in 1..=max_epochs {
        trainer.epoch(model, opt, &subset, order, rng)?;
        if train::evaluate(model, trainer.loss(), &subset)?
            .accuracy
            .to_f64()
            >= 1.0
        {
            return Ok(Some(epoch));
        }
    }
    Ok(None)
}

/// Divergence detection: stops training when the loss exceeds `factor` (3 by default)
/// times its first observed value, or is not finite.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DivergenceGuard {
    factor: f64,
    initial: Option<f64>,
}

impl Default for DivergenceGuard {
    /// Factor 3.
    fn default() -> Self {
        DivergenceGuard {
            factor: 3.0,
            initial: None,
        }
    }
}

impl DivergenceGuard {
    /// A guard with the given factor.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] unless the factor is finite and > 1.
    pub fn new(factor: f64) -> Result<Self> {
        if factor.is_finite() && factor > 1.0 {
            Ok(DivergenceGuard {
                factor,
                initial: None,
            })
        } else {
            Err(Error::InvalidHyperParameter(
                "divergence factor must be > 1",
            ))
        }
    }

    /// The first loss observed (the reference).
    pub fn initial(&self) -> Option<f64> {
        self.initial
    }

    /// Observes the loss of optimizer step `step` in epoch `epoch`; the first call sets the
    /// reference.
    ///
    /// # Errors
    /// [`Error::Diverged`] if the loss is not finite or above `factor ×` the reference.
    pub fn observe(&mut self, loss: f64, epoch: u32, step: u32) -> Result<()> {
        let initial = *self.initial.get_or_insert(loss);
        if !loss.is_finite() || loss > self.factor * initial {
            Err(Error::Diverged { epoch, step })
        } else {
            Ok(())
        }
    }

    /// One epoch as [`Trainer::epoch`], watching every step: a step refused for a
    /// non-finite loss or gradient, or a loss above the bound, ends it with
    /// [`Error::Diverged`] carrying the epoch (`trainer.epochs()`, 0-based) and the step
    /// (`trainer.steps()` when it happened).
    ///
    /// # Errors
    /// [`Error::Diverged`], or any other error of [`Trainer::step`].
    pub fn epoch<T: Model, O: Optimizer<T::Scalar>, R: RngCore + ?Sized>(
        &mut self,
        trainer: &mut Trainer,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        order: &mut [u16],
        rng: &mut R,
    ) -> Result<T::Scalar> {
        trainer.epoch_with(model, opt, data, order, rng, self)
    }
}

/// The guard watches every step of [`Trainer::epoch_with`]: combine it with a schedule as
/// a pair, `&mut (&schedule, guard)`.
impl<S: Scalar> StepHook<S> for DivergenceGuard {
    fn after(&mut self, result: Result<S>, epoch: u32, step: u32) -> Result<S> {
        let loss = match result {
            Ok(l) => l,
            Err(Error::NonFiniteGradient) => return Err(Error::Diverged { epoch, step }),
            Err(e) => return Err(e),
        };
        self.observe(loss.to_f64(), epoch, step)?;
        Ok(loss)
    }
}
