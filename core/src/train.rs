//! Training: the one forward → loss → backward walk, mini-batch steps, epochs with
//! shuffling, and evaluation.
//!
//! [`walk`] is the only loop over samples: the trainer's steps, [`evaluate`] and every
//! diagnostic call it. Per chunk of at most the model's capacity rows: forward, then the
//! loss writes δ of the output layer, then (when asked) backward, gradients accumulating.
//! Losses and gradients are reported as **means** over the samples everywhere: the walk
//! returns the sum of the per-sample losses with the count, and the callers divide by it
//! once (the trainer and the diagnostics scale the accumulated gradients by `1 / n`).
//!
//! A step is checked (finite loss and gradients) before the optimizer sees it; a refused
//! step leaves the weights, the optimizer state and batch norm's running statistics
//! exactly as they were.

use rand_core::RngCore;

use crate::{
    layer::{Grads, Pass},
    loss::MAX_CLASSES,
    optim::Optimizer,
    regularization::Regularization,
    Dataset, Error, Loss, Model, Result, Scalar,
};

/// Loss and accuracy over a pass.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics<S> {
    /// Mean loss per sample.
    pub loss: S,
    /// Fraction of samples classified correctly.
    pub accuracy: S,
}

/// What one [`walk`] saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Walked<S> {
    /// Sum of the per-sample losses.
    pub loss: S,
    /// Samples classified correctly (counted when no backward pass runs).
    pub correct: usize,
    /// Samples walked.
    pub samples: usize,
}

impl<S: Scalar> Walked<S> {
    /// Nothing walked yet.
    pub const NONE: Self = Walked {
        loss: S::ZERO,
        correct: 0,
        samples: 0,
    };
    /// The mean loss and the accuracy.
    pub fn metrics(&self) -> Metrics<S> {
        let n = S::from_usize(self.samples.max(1));
        Metrics {
            loss: self.loss / n,
            accuracy: S::from_usize(self.correct) / n,
        }
    }
    fn add(self, other: Self) -> Self {
        Walked {
            loss: self.loss + other.loss,
            correct: self.correct + other.correct,
            samples: self.samples + other.samples,
        }
    }
}

/// Forward → loss → backward over the samples `indices` of `data`, in chunks of at most
/// the model's capacity rows: the one loop over samples.
///
/// * `loss`: `None` runs forward passes only (no labels read: activation statistics);
///   `Some` adds each sample's loss to [`Walked::loss`].
/// * `grads`: `None` runs no backward pass and counts correct classifications; `Some(g)`
///   records the first chunk's gradients as `g` says and accumulates the later chunks'
///   (sums of the per-sample gradients: divide by `samples` with [`Model::scale_grads`]
///   for the mean). `Some(Grads::Skip)` writes the output δ and stops there: the
///   caller's [`Model::online_step`] runs the backward pass.
///
/// # Errors
/// [`Error::EmptyData`] for no samples, [`Error::ShapeMismatch`] for data of another
/// dimension, [`Error::LossMismatch`] if the loss does not fit the output layer,
/// [`Error::NonFiniteInput`], [`Error::LabelOutOfRange`]. Weights are never changed.
#[inline(always)]
pub fn walk<T: Model>(
    model: &mut T,
    loss: Option<Loss>,
    data: &Dataset<'_, T::Scalar>,
    indices: &[u16],
    pass: &mut Pass<'_>,
    grads: Option<Grads>,
) -> Result<Walked<T::Scalar>> {
    if indices.is_empty() {
        return Err(Error::EmptyData);
    }
    let outputs = model.outputs();
    let act = model.output_activation().ok_or(Error::LossMismatch)?;
    if let Some(loss) = loss {
        loss.check(act, outputs)?;
    }
    let mut y_buf = [T::Scalar::ZERO; MAX_CLASSES];
    let y = y_buf
        .get_mut(..outputs.min(MAX_CLASSES))
        .ok_or(Error::Capacity)?;
    let mut seen = Walked::NONE;
    let mut record = grads;
    for chunk in indices.chunks(model.capacity().max(1)) {
        // One row (online and per-sample passes): the sample's row is the input itself.
        let one = match chunk {
            [i] => {
                let (x, label) = data.get(usize::from(*i)).ok_or(Error::EmptyData)?;
                if !T::Scalar::all_finite(x) {
                    return Err(Error::NonFiniteInput);
                }
                model.forward(pass, x)?;
                Some((x, label))
            }
            _ => {
                model.forward_samples(pass, data, chunk)?;
                None
            }
        };
        seen.samples += chunk.len();
        let Some(loss) = loss else {
            continue;
        };
        let (z, a) = model.head_mut().ok_or(Error::LossMismatch)?;
        let rows = z.chunks_exact_mut(outputs).zip(a.chunks_exact(outputs));
        for ((z, a), &i) in rows.zip(chunk) {
            let label = match one {
                Some((_, label)) => label,
                None => data.get(usize::from(i)).ok_or(Error::EmptyData)?.1,
            };
            Loss::target(usize::from(label), y)?;
            if record.is_some() {
                seen.loss += loss.loss_and_delta::<T::Scalar, T::Math>(act, z, a, y);
            } else {
                seen.loss += loss.value::<T::Scalar, T::Math>(z, a, y);
                let class = loss.predicted_class(act, z, a);
                seen.correct += usize::from(class == usize::from(label));
            }
        }
        match (record, one) {
            (None | Some(Grads::Skip), _) => {}
            (Some(g), Some((x, _))) => {
                model.backward(x, None, g)?;
                record = Some(Grads::Accumulate);
            }
            (Some(g), None) => {
                model.backward_samples(data, chunk, g)?;
                record = Some(Grads::Accumulate);
            }
        }
    }
    Ok(seen)
}

/// [`walk`] over every sample of `data`, in order, in chunks of at most the model's
/// capacity (and 16); `observe`, when given, sees the model after each chunk (with
/// `loss = None`, its layers' outputs of that chunk).
///
/// # Errors
/// As [`walk`]; [`Error::Capacity`] for more than 65,536 samples.
pub fn walk_all<T: Model>(
    model: &mut T,
    loss: Option<Loss>,
    data: &Dataset<'_, T::Scalar>,
    pass: &mut Pass<'_>,
    grads: Option<Grads>,
    mut observe: Option<&mut dyn FnMut(&T)>,
) -> Result<Walked<T::Scalar>> {
    const CHUNK: usize = 16;
    if data.len() > usize::from(u16::MAX) + 1 {
        return Err(Error::Capacity);
    }
    if data.is_empty() {
        return Err(Error::EmptyData);
    }
    let step = model.capacity().clamp(1, CHUNK);
    let mut seen = Walked::NONE;
    let mut record = grads;
    let mut idx = [0u16; CHUNK];
    let mut start = 0;
    while start < data.len() {
        let n = step.min(data.len() - start);
        let chunk = idx.get_mut(..n).ok_or(Error::Capacity)?;
        for (k, slot) in chunk.iter_mut().enumerate() {
            *slot = (start + k) as u16;
        }
        seen = seen.add(walk(model, loss, data, chunk, pass, record)?);
        if let Some(f) = observe.as_deref_mut() {
            f(model);
        }
        if record.is_some() {
            record = Some(Grads::Accumulate);
        }
        start += n;
    }
    Ok(seen)
}

/// Mean loss and gradients over every sample of `data` (training mode with fixed dropout
/// masks and the batch statistics of each chunk; running statistics untouched): the mean
/// gradients are left in the model, the mean loss is returned.
///
/// # Errors
/// As [`walk`].
pub fn mean_gradients<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<T::Scalar> {
    let seen = walk_all(
        model,
        Some(loss),
        data,
        &mut Pass::probe(),
        Some(Grads::Overwrite),
        None,
    )?;
    let n = T::Scalar::from_usize(seen.samples.max(1));
    model.scale_grads(T::Scalar::ONE / n);
    Ok(seen.loss / n)
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

    /// One optimizer step on the samples `indices` of `data`, in training mode (dropout
    /// masks drawn from `rng`; batch norm on the batch's statistics, its running
    /// statistics moved once the step is accepted). Returns the batch's mean loss.
    ///
    /// A batch of one sample without regularisation is an online step: each dense layer's
    /// outer-product gradient goes straight to the optimizer and is not stored. Otherwise
    /// the mean gradients are left in the model ([`Model::copy_grads`]).
    ///
    /// # Errors
    /// Bad data ([`Error::NonFiniteInput`], [`Error::LabelOutOfRange`],
    /// [`Error::ShapeMismatch`]), a loss that does not fit the output
    /// ([`Error::LossMismatch`]), a batch that batch norm cannot use
    /// ([`Error::BatchTooSmall`], [`Error::Capacity`] beyond the model's capacity), or a
    /// non-finite loss or gradient ([`Error::NonFiniteGradient`]; online, a gradient
    /// product that overflows is [`Error::NonFiniteUpdate`]), or an update that would make a
    /// weight, an optimizer-state value or a running statistic non-finite
    /// ([`Error::NonFiniteUpdate`]). On error the weights, the optimizer state and the
    /// running statistics are unchanged; after `Ok` every one of them is finite.
    pub fn step<T: Model, O: Optimizer<T::Scalar>, R: RngCore + ?Sized>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        data: &Dataset<'_, T::Scalar>,
        indices: &[u16],
        rng: &mut R,
    ) -> Result<T::Scalar> {
        if model.needs_batch() {
            if indices.len() < 2 {
                return Err(Error::BatchTooSmall);
            }
            if indices.len() > model.capacity() {
                return Err(Error::Capacity);
            }
        }
        let mut rng = crate::rng::Borrowed(rng);
        let mut pass = Pass::train(&mut rng);
        if let ([i], true) = (indices, self.regularization == Regularization::NONE) {
            let (x, _) = data.get(usize::from(*i)).ok_or(Error::EmptyData)?;
            let walked = walk(
                model,
                Some(self.loss),
                data,
                indices,
                &mut pass,
                Some(Grads::Skip),
            )?;
            if !walked.loss.is_finite() {
                return Err(Error::NonFiniteGradient);
            }
            model.online_step(opt, x)?;
            model.commit();
            self.steps = self.steps.saturating_add(1);
            return Ok(walked.loss);
        }
        let walked = walk(
            model,
            Some(self.loss),
            data,
            indices,
            &mut pass,
            Some(Grads::Overwrite),
        )?;
        let n = T::Scalar::from_usize(walked.samples.max(1));
        if walked.samples > 1 {
            model.scale_grads(T::Scalar::ONE / n);
        }
        let mean = walked.loss / n + self.regularization.apply(model);
        self.apply(model, opt, mean)?;
        Ok(mean)
    }

    /// Applies the (mean) gradients in the model if `loss` and every gradient are finite
    /// and the optimizer [accepts](Optimizer::accepts) every block's update, then commits
    /// the step (batch norm's running statistics, if they stay finite).
    ///
    /// # Errors
    /// [`Error::NonFiniteGradient`], [`Error::NonFiniteUpdate`] (nothing applied) or the
    /// optimizer's shape error.
    pub fn apply<T: Model, O: Optimizer<T::Scalar>>(
        &mut self,
        model: &mut T,
        opt: &mut O,
        loss: T::Scalar,
    ) -> Result<()> {
        if !loss.is_finite() || !model.grads_finite() {
            return Err(Error::NonFiniteGradient);
        }
        if !model.accepts_update(opt) || !model.commit_finite() {
            return Err(Error::NonFiniteUpdate);
        }
        opt.begin_step(model.params())?;
        model.apply_update(opt);
        model.commit();
        self.steps = self.steps.saturating_add(1);
        Ok(())
    }

    /// One epoch: shuffles `order` (which must hold `0..data.len()` in any order, and is
    /// kept shuffled) with `rng`, then steps through it in batches; the last batch may be
    /// smaller (for batch norm, a last batch of one sample is skipped: it has no batch
    /// statistics). Returns the mean training loss over the epoch (accuracy is not
    /// measured here: call [`evaluate`]).
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
    ) -> Result<T::Scalar> {
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
    ) -> Result<T::Scalar>
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
        let (mut sum, mut seen) = (T::Scalar::ZERO, 0usize);
        for batch in order.chunks(self.batch) {
            if model.needs_batch() && batch.len() < 2 {
                continue;
            }
            let (epoch, step) = (self.epochs, self.steps);
            hook.before(opt, step)?;
            let result = self.step(model, opt, data, batch, rng);
            let l = hook.after(result, epoch, step)?;
            sum += l * T::Scalar::from_usize(batch.len());
            seen += batch.len();
        }
        self.epochs = self.epochs.saturating_add(1);
        Ok(sum / T::Scalar::from_usize(seen.max(1)))
    }
}

/// What [`Trainer::epoch_with`] calls around every optimizer step.
///
/// `()` does nothing; a pair `(A, B)` runs `A` then `B`.
pub trait StepHook<S: Scalar> {
    /// Before optimizer step `step` (counted from the start of training): e.g. set the
    /// learning rate.
    ///
    /// # Errors
    /// Whatever the hook decides (a learning rate the optimizer refuses); the step is then
    /// not taken.
    fn before(&mut self, _opt: &mut dyn SetLearningRate<S>, _step: u32) -> Result<()> {
        Ok(())
    }
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
    fn before(&mut self, opt: &mut dyn SetLearningRate<S>, step: u32) -> Result<()> {
        self.0.before(opt, step)?;
        self.1.before(opt, step)
    }
    fn after(&mut self, result: Result<S>, epoch: u32, step: u32) -> Result<S> {
        let result = self.0.after(result, epoch, step);
        self.1.after(result, epoch, step)
    }
}

/// The part of an optimizer a [`StepHook`] may touch: its learning rate.
pub trait SetLearningRate<S> {
    /// Sets the learning rate ([`Optimizer::set_learning_rate`]).
    ///
    /// # Errors
    /// As [`Optimizer::set_learning_rate`].
    fn set_lr(&mut self, lr: S) -> Result<()>;
}

impl<S: Scalar, O: Optimizer<S>> SetLearningRate<S> for O {
    fn set_lr(&mut self, lr: S) -> Result<()> {
        self.set_learning_rate(lr)
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

/// Mean loss and accuracy of `model` on `data`, in evaluation mode (batch norm on its
/// running statistics, no dropout; gradients untouched).
///
/// # Errors
/// As [`walk`]'s data checks.
pub fn evaluate<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<Metrics<T::Scalar>> {
    let seen = walk_all(model, Some(loss), data, &mut Pass::eval(), None, None)?;
    Ok(seen.metrics())
}
