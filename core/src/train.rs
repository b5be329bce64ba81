//! Training: mini-batch steps, epochs with shuffling, and evaluation.
//!
//! One straight data path per step: for each sample of the batch, forward → loss (δ of the
//! output layer) → backward (gradients accumulate); then the step is checked (finite loss
//! and gradients) and only then handed to the optimizer. A refused step leaves the weights
//! and the optimizer state exactly as they were.

use rand_core::RngCore;

use crate::{
    kernel::Grads, loss::MAX_CLASSES, optim::Optimizer, regularization::Regularization, Dataset,
    Error, Loss, Model, Result, Scalar,
};

/// Loss and accuracy over a pass.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Mean loss per sample.
    pub loss: f32,
    /// Fraction of samples classified correctly.
    pub accuracy: f32,
}

/// Mini-batch training with a fixed loss and batch size.
#[derive(Clone, Copy, Debug)]
pub struct Trainer {
    loss: Loss,
    batch: usize,
    steps: u32,
    epochs: u32,
    regularization: Regularization,
}

impl Trainer {
    /// A trainer for `loss` with batches of `batch` samples (1 = online learning).
    ///
    /// # Errors
    /// [`Error::EmptyData`] for a batch size of 0.
    pub fn new(loss: Loss, batch: usize) -> Result<Self> {
        if batch == 0 {
            return Err(Error::EmptyData);
        }
        Ok(Trainer {
            loss,
            batch,
            steps: 0,
            epochs: 0,
            regularization: Regularization::NONE,
        })
    }

    /// The same trainer with L2 and/or gradient clipping applied to every step's
    /// gradients before the update (the L2 penalty is included in the returned loss).
    pub fn with_regularization(self, regularization: Regularization) -> Self {
        Trainer {
            regularization,
            ..self
        }
    }
    /// The regularisation applied to each step.
    pub fn regularization(&self) -> Regularization {
        self.regularization
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// The batch size.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }
    /// Epochs completed so far.
    pub fn epochs(&self) -> u32 {
        self.epochs
    }

    /// One optimizer step on the samples `indices` of `data`. Returns the batch's mean loss.
    ///
    /// # Errors
    /// Bad data ([`Error::NonFiniteInput`], [`Error::LabelOutOfRange`],
    /// [`Error::ShapeMismatch`]), a loss that does not fit the output
    /// ([`Error::LossMismatch`]), or a non-finite loss or gradient
    /// ([`Error::NonFiniteGradient`]). On error the weights and the optimizer state are
    /// unchanged.
    pub fn step<T: Model, O: Optimizer<T::Scalar>>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        indices: &[u16],
    ) -> Result<T::Scalar> {
        if indices.is_empty() {
            return Err(Error::EmptyData);
        }
        self.loss
            .check(model.output_activation(), model.outputs())?;
        let mut y_buf = [T::Scalar::ZERO; MAX_CLASSES];
        let y = y_buf.get_mut(..model.outputs()).ok_or(Error::Capacity)?;
        if let ([i], true) = (indices, self.regularization == Regularization::NONE) {
            let i = *i;
            // Online learning: the gradient of each layer is an outer product, applied
            // without being stored.
            let x = self.checked_forward(model, data, usize::from(i), y)?;
            let loss = self.output_delta(model, y);
            if !loss.is_finite() {
                return Err(Error::NonFiniteGradient);
            }
            model.online_step(opt, x)?;
            self.steps = self.steps.saturating_add(1);
            return Ok(loss);
        }
        let mut total = T::Scalar::ZERO;
        let mut grads = Grads::Overwrite;
        for &i in indices {
            let x = self.checked_forward(model, data, usize::from(i), y)?;
            total += self.output_delta(model, y);
            model.backward(x, None, grads)?;
            grads = Grads::Accumulate;
        }
        let scale = T::Scalar::ONE / T::Scalar::from_usize(indices.len());
        let mean = total * scale + self.regularization.apply(model, scale);
        self.apply(model, opt, mean, scale)?;
        Ok(mean)
    }

    /// Validates sample `i` of `data` (length, finiteness, label), builds its target in
    /// `y`, runs the forward pass and returns the sample's features.
    #[inline]
    fn checked_forward<'d, T: Model>(
        &self,
        model: &mut T,
        data: &Dataset<'d, T::Scalar>,
        i: usize,
        y: &mut [T::Scalar],
    ) -> Result<&'d [T::Scalar]> {
        let (x, label) = data.get(i).ok_or(Error::EmptyData)?;
        if !T::Scalar::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        Loss::target(usize::from(label), y)?;
        model.forward(x)?;
        Ok(x)
    }

    /// The loss of the last forward pass against `y`, with δ written into the output
    /// layer's cache.
    #[inline]
    fn output_delta<T: Model>(&self, model: &mut T, y: &[T::Scalar]) -> T::Scalar {
        let act = model.output_activation();
        let (z, a) = model.output_mut();
        self.loss.loss_and_delta::<T::Scalar, T::Math>(act, z, a, y)
    }

    /// Forward, loss and backward (gradients accumulate) for one sample with target
    /// vector `y`. Returns the sample's loss.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for wrong lengths.
    pub fn sample<T: Model>(
        &self,
        model: &mut T,
        x: &[T::Scalar],
        y: &[T::Scalar],
    ) -> Result<T::Scalar> {
        model.forward(x)?;
        let loss = self.output_delta(model, y);
        model.backward(x, None, Grads::Accumulate)?;
        Ok(loss)
    }

    /// Applies the accumulated gradients (times `scale`) if `loss` and every gradient are
    /// finite.
    ///
    /// # Errors
    /// [`Error::NonFiniteGradient`] (nothing applied) or the optimizer's shape error.
    pub fn apply<T: Model, O: Optimizer<T::Scalar>>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        loss: T::Scalar,
        scale: T::Scalar,
    ) -> Result<()> {
        if !loss.is_finite() || !model.grads_finite() {
            return Err(Error::NonFiniteGradient);
        }
        opt.begin_step(model.params())?;
        model.apply_update(opt, scale);
        self.steps = self.steps.saturating_add(1);
        Ok(())
    }

    /// One epoch: shuffles `order` (which must hold `0..data.len()` in any order, and is
    /// kept shuffled) with `rng`, then steps through it in batches; the last batch may be
    /// smaller. Returns the mean training loss over the epoch (accuracy is not measured
    /// here: call [`evaluate`]).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `order` does not match the data; any [`Trainer::step`]
    /// error (the epoch stops at the failing step).
    pub fn epoch<T: Model, O: Optimizer<T::Scalar>, R: RngCore + ?Sized>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        order: &mut [u16],
        rng: &mut R,
    ) -> Result<f32> {
        self.epoch_with(model, opt, data, order, rng, &mut ())
    }

    /// [`Trainer::epoch`] with a [`StepHook`] around every optimizer step (a learning-rate
    /// schedule, a divergence guard, or both as a pair).
    ///
    /// # Errors
    /// As [`Trainer::epoch`], and whatever the hook returns.
    pub fn epoch_with<T, O, R, H>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        order: &mut [u16],
        rng: &mut R,
        hook: &mut H,
    ) -> Result<f32>
    where
        T: Model,
        O: Optimizer<T::Scalar>,
        R: RngCore + ?Sized,
        H: StepHook<T::Scalar> + ?Sized,
    {
        if order.len() != data.len() {
            return Err(Error::ShapeMismatch {
                expected: data.len(),
                found: order.len(),
            });
        }
        if data.is_empty() {
            return Err(Error::EmptyData);
        }
        crate::rng::shuffle(rng, order);
        let mut sum = 0.0f64;
        for batch in order.chunks(self.batch) {
            let (epoch, step) = (self.epochs, self.steps);
            hook.before(opt, step);
            let result = self.step(model, opt, data, batch);
            let l = hook.after(result, epoch, step)?;
            sum += l.to_f64() * batch.len() as f64;
        }
        self.epochs = self.epochs.saturating_add(1);
        Ok((sum / data.len() as f64) as f32)
    }
}

/// What [`Trainer::epoch_with`] calls around every optimizer step.
///
/// `()` does nothing; a pair `(A, B)` runs `A` then `B`.
pub trait StepHook<S: Scalar> {
    /// Before optimizer step `step` (counted from the start of training): e.g. set the
    /// learning rate.
    fn before(&mut self, _opt: &mut dyn SetLearningRate<S>, _step: u32) {}
    /// After the step, with its result (the batch's mean loss): may turn it into an error.
    ///
    /// # Errors
    /// Whatever the hook decides (e.g. [`Error::Diverged`]).
    fn after(&mut self, result: Result<S>, _epoch: u32, _step: u32) -> Result<S> {
        result
    }
}

impl<S: Scalar> StepHook<S> for () {}

impl<S: Scalar, A: StepHook<S>, B: StepHook<S>> StepHook<S> for (A, B) {
    fn before(&mut self, opt: &mut dyn SetLearningRate<S>, step: u32) {
        self.0.before(opt, step);
        self.1.before(opt, step);
    }
    fn after(&mut self, result: Result<S>, epoch: u32, step: u32) -> Result<S> {
        let result = self.0.after(result, epoch, step);
        self.1.after(result, epoch, step)
    }
}

/// The part of an optimizer a [`StepHook`] may touch: its learning rate.
pub trait SetLearningRate<S> {
    /// Sets the learning rate.
    fn set_lr(&mut self, lr: S);
}

impl<S: Scalar, O: Optimizer<S>> SetLearningRate<S> for O {
    fn set_lr(&mut self, lr: S) {
        self.set_learning_rate(lr);
    }
}

/// The identity order `0..n` for [`Trainer::epoch`].
///
/// # Errors
/// [`Error::Capacity`] if `order` has more than 65,536 entries.
pub fn fill_order(order: &mut [u16]) -> Result<()> {
    if order.len() > usize::from(u16::MAX) + 1 {
        return Err(Error::Capacity);
    }
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u16;
    }
    Ok(())
}

/// Mean loss and accuracy of `model` on `data` (a training-mode forward pass per sample;
/// gradients are untouched).
///
/// # Errors
/// As [`Trainer::step`]'s data checks.
pub fn evaluate<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<Metrics> {
    loss.check(model.output_activation(), model.outputs())?;
    if data.is_empty() {
        return Err(Error::EmptyData);
    }
    let mut y_buf = [T::Scalar::ZERO; MAX_CLASSES];
    let y = y_buf.get_mut(..model.outputs()).ok_or(Error::Capacity)?;
    let act = model.output_activation();
    let mut sum = 0.0f64;
    let mut correct = 0usize;
    for (x, label) in data.iter() {
        if !T::Scalar::all_finite(x) {
            return Err(Error::NonFiniteInput);
        }
        Loss::target(usize::from(label), y)?;
        model.forward(x)?;
        let (z, a) = model.output();
        sum += loss.value::<T::Scalar, T::Math>(z, a, y).to_f64();
        correct += usize::from(loss.predicted_class(act, z, a) == usize::from(label));
    }
    let n = data.len() as f64;
    Ok(Metrics {
        loss: (sum / n) as f32,
        accuracy: (correct as f64 / n) as f32,
    })
}
