//! The optimizer the page chose: the core's [`microprop::optim::AnyOptimizer`] (the same
//! one `microprop-sim train --optimizer` drives), state in `Vec`s.

pub use microprop::optim::OptimizerKind;
use microprop::Math;

/// Any of the core's optimizers, chosen at run time, with maths backend `M`.
pub type AnyOptimizer<M> = microprop::optim::AnyOptimizer<f32, Vec<f32>, M>;

/// The optimizer `which` with learning rate `lr` (other hyper-parameters at their
/// defaults) for a model of `params` parameters.
///
/// # Errors
/// A message naming the optimizer and the rate for an invalid rate.
pub fn new<M: Math<f32>>(
    which: OptimizerKind,
    lr: f32,
    params: usize,
) -> crate::Res<AnyOptimizer<M>> {
    microprop_heap::zeroed_optimizer(which, lr, params)
        .map_err(|e| format!("learning rate {lr} ({which}): {e}"))
}
