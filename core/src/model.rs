//! The seam between a network and the code that trains and inspects it.

use crate::{
    layer::{Grads, LayerMut, LayerRef, Pass, Spec},
    optim::Optimizer,
    Activation, Dataset, Math, Result, Scalar,
};

/// The output layer's `(z, a)` rows: pre-activations (writable, for δ) and outputs.
pub type Head<'a, S> = (&'a mut [S], &'a [S]);

/// A network together with its training buffers: what the trainer, the optimizers, the
/// diagnostics and the gradient checks work on.
///
/// Implemented by [`Training`](crate::Training), for compile-time and run-time networks
/// alike. Rows are row-major (`rows × width`); gradients after a backward pass are the
/// *mean* over the rows of every pass since the last [`Grads::Overwrite`] once
/// [`Model::scale_grads`] has been applied — the trainer and the diagnostics always
/// apply it, so every gradient they leave is a mean.
///
/// Sealed: [`Training`](crate::Training) is the one implementation (the format, the
/// trainer and the diagnostics rely on what it guarantees).
pub trait Model: crate::layer::sealed::Sealed {
    /// The scalar type.
    type Scalar: Scalar;
    /// The maths backend.
    type Math: Math<Self::Scalar>;

    /// Input features.
    fn inputs(&self) -> usize;
    /// Output units.
    fn outputs(&self) -> usize;
    /// Layers.
    fn depth(&self) -> usize;
    /// Trainable parameters.
    fn params(&self) -> usize;
    /// Rows the training buffers hold (the largest batch one pass takes).
    fn capacity(&self) -> usize;
    /// Whether a layer needs a whole batch in one pass in training mode (batch norm).
    fn needs_batch(&self) -> bool;
    /// The output layer's activation.
    fn output_activation(&self) -> Option<Activation<Self::Scalar>>;
    /// Rows of the last forward pass.
    fn rows(&self) -> usize;

    /// Forward pass over the rows of `x` (a multiple of [`inputs`](Model::inputs), at most
    /// [`capacity`](Model::capacity) rows), caching what the backward pass needs.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) or
    /// [`Error::Capacity`](crate::Error::Capacity) for a wrong length.
    fn forward(&mut self, pass: &mut Pass<'_>, x: &[Self::Scalar]) -> Result<()>;
    /// Forward pass over the samples `indices` of `data` (checked finite).
    ///
    /// # Errors
    /// As [`Model::forward`], and [`Error::NonFiniteInput`](crate::Error::NonFiniteInput).
    fn forward_samples(
        &mut self,
        pass: &mut Pass<'_>,
        data: &Dataset<'_, Self::Scalar>,
        indices: &[u16],
    ) -> Result<()>;
    /// The output rows of the last forward pass.
    fn output(&self) -> &[Self::Scalar];
    /// The output layer's `(z, a)` rows of the last forward pass; the loss writes
    /// `∂L/∂z` into `z`. `None` if the last layer has no activation.
    fn head_mut(&mut self) -> Option<Head<'_, Self::Scalar>>;
    /// Backward pass from the δ in [`head_mut`](Model::head_mut): parameter gradients as
    /// `grads` says, `∂L/∂x` into `input_grad` when given. `x` is the input of the last
    /// forward pass.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for wrong lengths.
    fn backward(
        &mut self,
        x: &[Self::Scalar],
        input_grad: Option<&mut [Self::Scalar]>,
        grads: Grads,
    ) -> Result<()>;
    /// [`Model::backward`] after [`Model::forward_samples`] with the same samples.
    ///
    /// # Errors
    /// As [`Model::backward`].
    fn backward_samples(
        &mut self,
        data: &Dataset<'_, Self::Scalar>,
        indices: &[u16],
        grads: Grads,
    ) -> Result<()>;
    /// One online step (one row) after a forward pass whose output δ the loss has written:
    /// back-propagates, checks that `opt` [accepts](Optimizer::accepts) every update (which
    /// a non-finite gradient cannot pass), and only then updates through `opt`, applying
    /// each dense layer's outer-product gradient without storing it (bit-identical to
    /// storing it and calling [`Model::apply_update`]).
    ///
    /// # Errors
    /// [`Error::NonFiniteUpdate`](crate::Error::NonFiniteUpdate) (nothing changed) or the
    /// optimizer's shape error.
    fn online_step<O: Optimizer<Self::Scalar>>(
        &mut self,
        opt: &mut O,
        x: &[Self::Scalar],
    ) -> Result<()>;
    /// After an accepted training step: moves batch norm's running statistics by the last
    /// training pass's.
    fn commit(&mut self);
    /// Whether [`commit`](Model::commit) would leave every running statistic finite.
    fn commit_finite(&self) -> bool;
    /// Calls `f` for every layer, first to last, with parameters, state, gradients and
    /// the cache of the last pass: the one walk over parameters (optimizers, the format,
    /// the diagnostics and the initialisers all use it).
    fn visit_layers<'a, F: FnMut(LayerRef<'a, Self::Scalar>)>(&'a self, f: F);
    /// Calls `f` for every layer, mutably.
    fn visit_layers_mut<'a, F: FnMut(LayerMut<'a, Self::Scalar>)>(&'a mut self, f: F);
    /// Calls `f` with every layer's [`Spec`] (kind, sizes, hyper-parameters), first to
    /// last: what the model format stores before the numbers.
    fn specs(&self, f: &mut dyn FnMut(Spec));
    /// Restores every layer's hyper-parameters from `next`'s specs, first to last (see
    /// [`Seq::set_specs`](crate::layer::Seq::set_specs)).
    ///
    /// # Errors
    /// As [`Seq::set_specs`](crate::layer::Seq::set_specs).
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()>;

    /// Sets every gradient to zero.
    fn zero_grads(&mut self) {
        self.visit_layers_mut(|l| {
            l.gw.fill(Self::Scalar::ZERO);
            l.gb.fill(Self::Scalar::ZERO);
        });
    }

    /// Multiplies every gradient by `k` (`1 / samples` turns sums into means).
    fn scale_grads(&mut self, k: Self::Scalar) {
        self.visit_layers_mut(|l| {
            l.gw.iter_mut().chain(l.gb.iter_mut()).for_each(|g| *g *= k);
        });
    }

    /// Hands every parameter block (each layer's `w`, then `b`, first layer first) with
    /// its gradients to `opt`. Call [`Optimizer::begin_step`] first.
    fn apply_update<O: Optimizer<Self::Scalar>>(&mut self, opt: &mut O)
    where
        Self: Sized,
    {
        self.visit_layers_mut(|l| {
            opt.update(l.offset, l.w, l.gw);
            opt.update(l.offset + l.w.len(), l.b, l.gb);
        });
    }

    /// Whether `opt` [accepts](Optimizer::accepts) the update of every parameter block from
    /// the gradients in the model (what [`apply_update`](Model::apply_update) would do
    /// next): every weight, bias and optimizer-state value stays finite. Reads only.
    fn accepts_update<O: Optimizer<Self::Scalar>>(&self, opt: &O) -> bool
    where
        Self: Sized,
    {
        let (params, mut ok) = (self.params(), true);
        self.visit_layers(|l| {
            ok &= opt.accepts(params, l.offset, l.w, l.gw);
            ok &= opt.accepts(params, l.offset + l.w.len(), l.b, l.gb);
        });
        ok
    }

    /// Whether every gradient is finite.
    fn grads_finite(&self) -> bool {
        let mut ok = true;
        self.visit_layers(|l| {
            ok &= Self::Scalar::all_finite(l.gw) & Self::Scalar::all_finite(l.gb);
        });
        ok
    }

    /// Copies every parameter, in the flat order the optimizers use (each layer's `w`
    /// then `b`, first layer first), into `out`; returns how many.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) unless `out` holds exactly
    /// [`params`](Model::params) values.
    fn copy_params(&self, out: &mut [Self::Scalar]) -> Result<usize> {
        flat(self, out, |l| [l.w, l.b])
    }

    /// Copies the gradients of the last backward pass, in the same flat order.
    ///
    /// # Errors
    /// As [`Model::copy_params`].
    fn copy_grads(&self, out: &mut [Self::Scalar]) -> Result<usize> {
        flat(self, out, |l| [l.gw, l.gb])
    }

    /// Replaces every parameter from `values` (the order of [`Model::copy_params`]).
    ///
    /// # Errors
    /// As [`Model::copy_params`] (nothing changed), and
    /// [`Error::NonFiniteInput`](crate::Error::NonFiniteInput) for a NaN/±∞ value.
    fn set_params(&mut self, values: &[Self::Scalar]) -> Result<()> {
        if values.len() != self.params() {
            return Err(crate::Error::ShapeMismatch {
                expected: self.params(),
                found: values.len(),
            });
        }
        if !Self::Scalar::all_finite(values) {
            return Err(crate::Error::NonFiniteInput);
        }
        let mut src = values.iter();
        self.visit_layers_mut(|l| {
            for (p, &v) in l.w.iter_mut().chain(l.b.iter_mut()).zip(&mut src) {
                *p = v;
            }
        });
        Ok(())
    }

    /// A 64-bit FNV-1a hash of every parameter and state value, bit-exact (first layer
    /// first: `w` row by row, `b`, then the state; each value as its IEEE bits,
    /// little-endian). For dense layers, the weights then the biases of each layer.
    fn weights_hash(&self) -> u64 {
        let mut h = crate::hash::Fnv1a::new();
        self.visit_layers(|l| {
            h.scalars(l.w);
            h.scalars(l.b);
            h.scalars(l.state);
        });
        h.finish()
    }
}

fn flat<T: Model + ?Sized>(
    model: &T,
    out: &mut [T::Scalar],
    pick: impl for<'a> Fn(&LayerRef<'a, T::Scalar>) -> [&'a [T::Scalar]; 2],
) -> Result<usize> {
    if out.len() != model.params() {
        return Err(crate::Error::ShapeMismatch {
            expected: model.params(),
            found: out.len(),
        });
    }
    let mut dst = out.iter_mut();
    model.visit_layers(|l| {
        for block in pick(&l) {
            // The block first: `zip` would otherwise drop a slot at each block's end.
            for (&v, d) in block.iter().zip(&mut dst) {
                *d = v;
            }
        }
    });
    Ok(out.len())
}
