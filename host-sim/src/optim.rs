//! The optimizer chosen on the command line: the core's [`microprop::optim::AnyOptimizer`]
//! with its state in a `Vec` of `SLOTS × params` scalars (the device uses an array), made
//! from `--optimizer` ([`OptimizerArg`], clap's spelling of the core's
//! [`OptimizerKind`]).

use microprop::optim::OptimizerKind;
use microprop::Math;

use crate::{cli::OptimizerArg, UsageError};

/// Any of the core's optimizers, chosen at run time, with maths backend `M`.
pub type AnyOptimizer<M> = microprop::optim::AnyOptimizer<f32, Vec<f32>, M>;

impl From<OptimizerArg> for OptimizerKind {
    fn from(a: OptimizerArg) -> Self {
        match a {
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Momentum => OptimizerKind::Momentum,
            OptimizerArg::Nesterov => OptimizerKind::Nesterov,
            OptimizerArg::Adagrad => OptimizerKind::Adagrad,
            OptimizerArg::Rmsprop => OptimizerKind::Rmsprop,
            OptimizerArg::Adam => OptimizerKind::Adam,
            OptimizerArg::Adamw => OptimizerKind::Adamw,
        }
    }
}

/// The optimizer `which` with learning rate `lr` (other hyper-parameters at their
/// defaults) for a model of `params` parameters.
///
/// # Errors
/// A usage error for an invalid rate.
pub fn new<M: Math<f32>>(
    which: OptimizerArg,
    lr: f32,
    params: usize,
) -> crate::Res<AnyOptimizer<M>> {
    let kind = OptimizerKind::from(which);
    microprop_heap::zeroed_optimizer(kind, lr, params)
        .map_err(|e| Box::new(UsageError(format!("--lr {lr} (--optimizer {kind}): {e}"))) as _)
}
