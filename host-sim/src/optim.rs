//! The optimizer chosen on the command line, as one type the trainer can drive.

use microprop::{Optimizer, Result, Sgd};

use crate::{cli::OptimizerArg, ctx::usage, Res};

/// Any of the core's optimizers, chosen at run time.
#[derive(Clone, Debug)]
pub enum AnyOptimizer {
    /// Plain SGD.
    Sgd(Sgd<f32>),
}

impl AnyOptimizer {
    /// The optimizer `which` with learning rate `lr` for a model of `params` parameters.
    ///
    /// # Errors
    /// A usage error for an invalid rate or an optimizer the core does not have yet.
    pub fn new(which: OptimizerArg, lr: f32, _params: usize) -> Res<Self> {
        match which {
            OptimizerArg::Sgd => Ok(AnyOptimizer::Sgd(Sgd::new(lr).map_err(|e| {
                Box::new(crate::UsageError(format!("--lr: {e}")))
                    as Box<dyn std::error::Error + Send + Sync>
            })?)),
            other => usage(format!(
                "--optimizer {}: not in the core yet (issue #3, branch lect)",
                format!("{other:?}").to_lowercase()
            )),
        }
    }
}

impl Optimizer<f32> for AnyOptimizer {
    fn name(&self) -> &'static str {
        match self {
            AnyOptimizer::Sgd(o) => o.name(),
        }
    }
    fn learning_rate(&self) -> f32 {
        match self {
            AnyOptimizer::Sgd(o) => o.learning_rate(),
        }
    }
    fn set_learning_rate(&mut self, lr: f32) {
        match self {
            AnyOptimizer::Sgd(o) => o.set_learning_rate(lr),
        }
    }
    fn state_len(&self) -> usize {
        match self {
            AnyOptimizer::Sgd(o) => o.state_len(),
        }
    }
    fn state(&self) -> &[f32] {
        match self {
            AnyOptimizer::Sgd(o) => o.state(),
        }
    }
    fn state_mut(&mut self) -> &mut [f32] {
        match self {
            AnyOptimizer::Sgd(o) => o.state_mut(),
        }
    }
    fn begin_step(&mut self, params: usize) -> Result<()> {
        match self {
            AnyOptimizer::Sgd(o) => o.begin_step(params),
        }
    }
    fn update(&mut self, offset: usize, params: &mut [f32], grads: &[f32], scale: f32) {
        match self {
            AnyOptimizer::Sgd(o) => o.update(offset, params, grads, scale),
        }
    }
}
