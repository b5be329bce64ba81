//! The seam between a network and the code that trains and inspects it.

use crate::{
    kernel::Grads,
    layer::{LayerMut, LayerRef},
    optim::Optimizer,
    Activation, Error, Math, Result, Scalar,
};

/// A network together with its training buffers, seen through slices.
///
/// The trainer, the optimizers, the diagnostics and the gradient checker are written
/// against this trait, so they serve a compile-time shaped [`Training`](crate::Training)
/// on the device and a run-time shaped network in the host simulator alike.
pub trait Model {
    /// The scalar type.
    type Scalar: Scalar;
    /// The maths backend.
    type Math: Math<Self::Scalar>;

    /// Input features.
    fn inputs(&self) -> usize;
    /// Output units.
    fn outputs(&self) -> usize;
    /// Number of dense layers.
    fn depth(&self) -> usize;
    /// Trainable parameters.
    fn params(&self) -> usize;
    /// Training forward pass: caches every layer's `z` and `a`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `x` has the wrong length.
    fn forward(&mut self, x: &[Self::Scalar]) -> Result<()>;
    /// The output layer's `(z, a)` from the last forward pass.
    fn output(&self) -> (&[Self::Scalar], &[Self::Scalar]);
    /// The output layer's `(z, a)`, `z` writable: the loss writes δ = `∂L/∂z` there.
    fn output_mut(&mut self) -> (&mut [Self::Scalar], &[Self::Scalar]);
    /// The output layer's activation.
    fn output_activation(&self) -> Activation;
    /// Backward pass from the δ in the output cache: every layer's `z` cache ends up
    /// holding its δ, parameter gradients are recorded as `grads` says, and `∂L/∂x` is
    /// written to `input_grad` when given. `x` is the input of the forward pass.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if a slice has the wrong length.
    fn backward(
        &mut self,
        x: &[Self::Scalar],
        input_grad: Option<&mut [Self::Scalar]>,
        grads: Grads,
    ) -> Result<()>;
    /// Visits every layer, first to last, with parameters, gradients and cache.
    fn visit_layers_mut(&mut self, f: &mut dyn FnMut(LayerMut<'_, Self::Scalar>));
    /// Visits every layer, first to last, read-only.
    fn visit_layers(&self, f: &mut dyn FnMut(LayerRef<'_, Self::Scalar>));

    /// Sets every gradient to zero.
    fn zero_grads(&mut self) {
        self.visit_layers_mut(&mut |l| {
            l.gw.fill(Self::Scalar::ZERO);
            l.gb.fill(Self::Scalar::ZERO);
        });
    }

    /// Hands every parameter block (each layer's weights, then biases, first layer first)
    /// with its accumulated gradients times `scale` to `opt`. Call
    /// [`Optimizer::begin_step`] first.
    fn apply_update<O: Optimizer<Self::Scalar>>(&mut self, opt: &mut O, scale: Self::Scalar)
    where
        Self: Sized,
    {
        let mut offset = 0;
        self.visit_layers_mut(&mut |l| {
            opt.update(offset, l.w, l.gw, scale);
            offset += l.w.len();
            opt.update(offset, l.b, l.gb, scale);
            offset += l.b.len();
        });
    }

    /// One online step (batch of one) after a forward pass whose output δ the loss has
    /// written: back-propagates, checks that every gradient is finite, and only then
    /// updates through `opt`.
    ///
    /// The default records the gradients and calls [`Model::apply_update`]; compile-time
    /// shaped networks override it to apply each layer's outer-product gradient without
    /// materialising it (bit-identical, fewer passes).
    ///
    /// # Errors
    /// [`Error::NonFiniteGradient`] (nothing changed) or the optimizer's shape error.
    fn online_step<O: Optimizer<Self::Scalar>>(
        &mut self,
        opt: &mut O,
        x: &[Self::Scalar],
    ) -> Result<()>
    where
        Self: Sized,
    {
        self.backward(x, None, Grads::Overwrite)?;
        if !self.grads_finite() {
            return Err(Error::NonFiniteGradient);
        }
        opt.begin_step(self.params())?;
        self.apply_update(opt, Self::Scalar::ONE);
        Ok(())
    }

    /// Whether every accumulated gradient is finite.
    fn grads_finite(&self) -> bool {
        let mut ok = true;
        self.visit_layers(&mut |l| {
            ok &= Self::Scalar::all_finite(l.gw) & Self::Scalar::all_finite(l.gb);
        });
        ok
    }

    /// A 64-bit FNV-1a hash of every weight and bias, bit-exact (first layer first,
    /// weights row by row, then biases; each value as its IEEE bits, little-endian).
    fn weights_hash(&self) -> u64 {
        let mut h = crate::hash::Fnv1a::new();
        self.visit_layers(&mut |l| {
            h.scalars(l.w);
            h.scalars(l.b);
        });
        h.finish()
    }
}
