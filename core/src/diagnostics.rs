//! Instruments of the notes: what the gradients and activations of each layer look like.

use crate::{loss::MAX_CLASSES, Dataset, Error, Loss, Model, Result, Scalar};

/// Accumulates the gradients of `loss` over every sample of `data` without updating
/// anything (clears old gradients first). Afterwards the gradients hold the *sum* over the
/// samples; divide by `data.len()` for the mean.
///
/// # Errors
/// Bad data or a loss that does not fit the output (see [`crate::Trainer::step`]).
pub fn accumulate_gradients<T: Model>(
    model: &mut T,
    loss: Loss,
    data: &Dataset<'_, T::Scalar>,
) -> Result<()> {
    loss.check(model.output_activation(), model.outputs())?;
    model.zero_grads();
    let mut y_buf = [T::Scalar::ZERO; MAX_CLASSES];
    let y = y_buf.get_mut(..model.outputs()).ok_or(Error::Capacity)?;
    let act = model.output_activation();
    for (x, label) in data.iter() {
        if !T::Scalar::all_finite(x) {
            model.zero_grads();
            return Err(Error::NonFiniteInput);
        }
        Loss::target(usize::from(label), y)?;
        model.forward(x)?;
        let (z, a) = model.output_mut();
        loss.loss_and_delta::<T::Scalar, T::Math>(act, z, a, y);
        model.backward(x, None, crate::kernel::Grads::Accumulate)?;
    }
    Ok(())
}

/// Per-layer L2 norm of the accumulated gradients (weights and biases together), scaled by
/// `scale` (e.g. `1 / samples` for the mean gradient), written to `out[layer]`. Returns the
/// number of layers written (at most `out.len()`).
pub fn grad_norms<T: Model>(model: &T, scale: f64, out: &mut [f64]) -> usize {
    let mut n = 0;
    let mut slots = out.iter_mut();
    model.visit_layers(&mut |l| {
        let ss = l.gw.iter().chain(l.gb.iter()).fold(0.0f64, |s, &g| {
            let g = g.to_f64() * scale;
            s + g * g
        });
        if let Some(slot) = slots.next() {
            *slot = libm::sqrt(ss);
            n += 1;
        }
    });
    n
}
