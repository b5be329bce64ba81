//! One optimizer chosen at run time: [`OptimizerKind`] names the core's optimizers (what a
//! command line or a configuration file says), [`AnyOptimizer`] holds one of them with its
//! default hyper-parameters and drives it as an [`Optimizer`]. The simulator's
//! `--optimizer` and the browser playground's choice are these.

use core::fmt;
use core::str::FromStr;

use super::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Momentum, MomentumConfig,
    Nesterov, Optimizer, RmsProp, RmsPropConfig, Sgd,
};
use crate::{Float, Libm, Math, Result};

/// The core's optimizers by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptimizerKind {
    /// Plain SGD.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Nesterov momentum 0.9.
    Nesterov,
    /// AdaGrad.
    Adagrad,
    /// RMSProp, decay 0.99.
    Rmsprop,
    /// Adam, β = (0.9, 0.999).
    Adam,
    /// AdamW, weight decay 0.01.
    Adamw,
}

impl OptimizerKind {
    /// Every kind, in the order of the module's table.
    pub const ALL: [OptimizerKind; 7] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Adagrad,
        OptimizerKind::Rmsprop,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
    ];

    /// The lower-case name (`"sgd"`, `"momentum"`, …, `"adamw"`).
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "nesterov",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Rmsprop => "rmsprop",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        }
    }

    /// Scalars of state per parameter (`SLOTS`: 0, 1 or 2).
    pub fn slots(self) -> usize {
        match self {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Momentum
            | OptimizerKind::Nesterov
            | OptimizerKind::Adagrad
            | OptimizerKind::Rmsprop => 1,
            OptimizerKind::Adam | OptimizerKind::Adamw => 2,
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is none of [`OptimizerKind::ALL`]'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownOptimizer;

impl fmt::Display for UnknownOptimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown optimizer (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)")
    }
}

impl FromStr for OptimizerKind {
    type Err = UnknownOptimizer;

    /// The kind whose [`name`](OptimizerKind::name) is `s`.
    fn from_str(s: &str) -> core::result::Result<Self, UnknownOptimizer> {
        OptimizerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or(UnknownOptimizer)
    }
}

/// Any of the core's optimizers, chosen at run time: scalar `S`, state buffer `B` (as each
/// optimizer takes it), maths backend `M`.
#[derive(Clone, Debug)]
pub enum AnyOptimizer<S, B, M = Libm> {
    /// Plain SGD.
    Sgd(Sgd<S>),
    /// SGD with momentum 0.9.
    Momentum(Momentum<S, B>),
    /// Nesterov momentum 0.9.
    Nesterov(Nesterov<S, B>),
    /// AdaGrad.
    AdaGrad(AdaGrad<S, B, M>),
    /// RMSProp, decay 0.99.
    RmsProp(RmsProp<S, B, M>),
    /// Adam, β = (0.9, 0.999).
    Adam(Adam<S, B, M>),
    /// AdamW, weight decay 0.01.
    AdamW(AdamW<S, B, M>),
}

macro_rules! each {
    ($self:expr, $o:ident => $e:expr) => {
        match $self {
            AnyOptimizer::Sgd($o) => $e,
            AnyOptimizer::Momentum($o) => $e,
            AnyOptimizer::Nesterov($o) => $e,
            AnyOptimizer::AdaGrad($o) => $e,
            AnyOptimizer::RmsProp($o) => $e,
            AnyOptimizer::Adam($o) => $e,
            AnyOptimizer::AdamW($o) => $e,
        }
    };
}

impl<S: Float, B: AsRef<[S]> + AsMut<[S]>, M: Math<S>> AnyOptimizer<S, B, M> {
    /// The optimizer `kind` with learning rate `lr` (every other hyper-parameter at its
    /// config's [`Default`]) and the state buffer `state`, which holds
    /// [`kind.slots()`](OptimizerKind::slots) scalars per parameter (SGD drops it).
    ///
    /// # Errors
    /// The optimizer's constructor's: an invalid rate (not finite and `> 0`, or AdamW's
    /// `η · λ > 1`).
    pub fn with_state(kind: OptimizerKind, lr: S, state: B) -> Result<Self> {
        Ok(match kind {
            OptimizerKind::Sgd => AnyOptimizer::Sgd(Sgd::new(lr)?),
            OptimizerKind::Momentum => AnyOptimizer::Momentum(Momentum::new(
                MomentumConfig {
                    lr,
                    ..MomentumConfig::default()
                },
                state,
            )?),
            OptimizerKind::Nesterov => AnyOptimizer::Nesterov(Nesterov::new(
                MomentumConfig {
                    lr,
                    ..MomentumConfig::default()
                },
                state,
            )?),
            OptimizerKind::Adagrad => AnyOptimizer::AdaGrad(AdaGrad::new(
                AdaGradConfig {
                    lr,
                    ..AdaGradConfig::default()
                },
                state,
            )?),
            OptimizerKind::Rmsprop => AnyOptimizer::RmsProp(RmsProp::new(
                RmsPropConfig {
                    lr,
                    ..RmsPropConfig::default()
                },
                state,
            )?),
            OptimizerKind::Adam => AnyOptimizer::Adam(Adam::new(
                AdamConfig {
                    lr,
                    ..AdamConfig::default()
                },
                state,
            )?),
            OptimizerKind::Adamw => {
                let d = AdamWConfig::<S>::default();
                AnyOptimizer::AdamW(AdamW::new(
                    AdamWConfig {
                        adam: AdamConfig { lr, ..d.adam },
                        ..d
                    },
                    state,
                )?)
            }
        })
    }
}

// One impl per scalar type rather than over every `S: Scalar`: the blanket
// `impl<R: Rule<S>> Optimizer<S> for R` would otherwise overlap (coherence cannot see that
// `Scalar` is sealed).
macro_rules! any_optimizer {
    ($($S:ty),*) => {$(
        impl<B: AsRef<[$S]> + AsMut<[$S]>, M: Math<$S>> Optimizer<$S>
            for AnyOptimizer<$S, B, M>
        {
            fn name(&self) -> &'static str {
                each!(self, o => o.name())
            }
            fn learning_rate(&self) -> $S {
                each!(self, o => o.learning_rate())
            }
            fn check_learning_rate(&self, lr: $S) -> Result<()> {
                each!(self, o => o.check_learning_rate(lr))
            }
            fn set_learning_rate(&mut self, lr: $S) -> Result<()> {
                each!(self, o => o.set_learning_rate(lr))
            }
            fn state_len(&self) -> usize {
                each!(self, o => o.state_len())
            }
            fn state(&self) -> &[$S] {
                each!(self, o => o.state())
            }
            fn state_mut(&mut self) -> &mut [$S] {
                each!(self, o => o.state_mut())
            }
            fn steps(&self) -> u32 {
                each!(self, o => Optimizer::steps(o))
            }
            fn set_steps(&mut self, steps: u32) {
                each!(self, o => Optimizer::set_steps(o, steps))
            }
            fn begin_step(&mut self, params: usize) -> Result<()> {
                each!(self, o => o.begin_step(params))
            }
            fn update(&mut self, offset: usize, params: &mut [$S], grads: &[$S]) {
                each!(self, o => o.update(offset, params, grads))
            }
            fn update_outer(&mut self, offset: usize, w: &mut [$S], delta: &[$S], x: &[$S]) {
                each!(self, o => o.update_outer(offset, w, delta, x))
            }
            fn max_step(&self, grad_bound: $S) -> Option<$S> {
                each!(self, o => Optimizer::max_step(o, grad_bound))
            }
            fn accepts(&self, params: usize, offset: usize, block: &[$S], grads: &[$S]) -> bool {
                each!(self, o => Optimizer::accepts(o, params, offset, block, grads))
            }
            fn accepts_outer(
                &self,
                params: usize,
                offset: usize,
                w: &[$S],
                delta: &[$S],
                x: &[$S],
            ) -> bool {
                each!(self, o => Optimizer::accepts_outer(o, params, offset, w, delta, x))
            }
        }
    )*};
}

any_optimizer!(f32, f64);
