//! The optimizer the page chose, as one type the trainer can drive: the same optimizers
//! with the same defaults as `microprop-sim train --optimizer` (host-sim's `optim.rs`;
//! the parity test checks they agree), state in `Vec`s.

use microprop::optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Momentum, MomentumConfig,
    Nesterov, RmsProp, RmsPropConfig,
};
use microprop::{Math, Optimizer, Result, Sgd};

/// The optimizers by name, as `--optimizer` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD.
    Sgd,
    /// Momentum 0.9.
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

/// Any of the core's optimizers, chosen at run time, with maths backend `M`.
#[derive(Clone, Debug)]
pub enum AnyOptimizer<M> {
    /// Plain SGD.
    Sgd(Sgd<f32>),
    /// SGD with momentum 0.9.
    Momentum(Momentum<f32, Vec<f32>>),
    /// Nesterov momentum 0.9.
    Nesterov(Nesterov<f32, Vec<f32>>),
    /// AdaGrad.
    AdaGrad(AdaGrad<f32, Vec<f32>, M>),
    /// RMSProp, decay 0.99.
    RmsProp(RmsProp<f32, Vec<f32>, M>),
    /// Adam, β = (0.9, 0.999).
    Adam(Adam<f32, Vec<f32>, M>),
    /// AdamW, weight decay 0.01.
    AdamW(AdamW<f32, Vec<f32>, M>),
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

impl<M: Math<f32>> AnyOptimizer<M> {
    /// The optimizer `which` with learning rate `lr` (other hyper-parameters at their
    /// defaults) for a model of `params` parameters.
    ///
    /// # Errors
    /// A message naming the optimizer and the rate for an invalid rate.
    pub fn new(which: OptimizerKind, lr: f32, params: usize) -> std::result::Result<Self, String> {
        let buf = |slots: usize| vec![0.0f32; slots * params];
        let made: Result<Self> = match which {
            OptimizerKind::Sgd => Sgd::new(lr).map(AnyOptimizer::Sgd),
            OptimizerKind::Momentum => Momentum::new(
                MomentumConfig {
                    lr,
                    ..MomentumConfig::default()
                },
                buf(1),
            )
            .map(AnyOptimizer::Momentum),
            OptimizerKind::Nesterov => Nesterov::new(
                MomentumConfig {
                    lr,
                    ..MomentumConfig::default()
                },
                buf(1),
            )
            .map(AnyOptimizer::Nesterov),
            OptimizerKind::Adagrad => AdaGrad::new(
                AdaGradConfig {
                    lr,
                    ..AdaGradConfig::default()
                },
                buf(1),
            )
            .map(AnyOptimizer::AdaGrad),
            OptimizerKind::Rmsprop => RmsProp::new(
                RmsPropConfig {
                    lr,
                    ..RmsPropConfig::default()
                },
                buf(1),
            )
            .map(AnyOptimizer::RmsProp),
            OptimizerKind::Adam => Adam::new(
                AdamConfig {
                    lr,
                    ..AdamConfig::default()
                },
                buf(2),
            )
            .map(AnyOptimizer::Adam),
            OptimizerKind::Adamw => {
                let d = AdamWConfig::<f32>::default();
                AdamW::new(
                    AdamWConfig {
                        adam: AdamConfig { lr, ..d.adam },
                        ..d
                    },
                    buf(2),
                )
                .map(AnyOptimizer::AdamW)
            }
        };
        made.map_err(|e| {
            let name = format!("{which:?}").to_lowercase();
            format!("learning rate {lr} ({name}): {e}")
        })
    }
}

impl<M: Math<f32>> Optimizer<f32> for AnyOptimizer<M> {
    fn name(&self) -> &'static str {
        each!(self, o => o.name())
    }
    fn learning_rate(&self) -> f32 {
        each!(self, o => o.learning_rate())
    }
    fn check_learning_rate(&self, lr: f32) -> microprop::Result<()> {
        each!(self, o => o.check_learning_rate(lr))
    }
    fn set_learning_rate(&mut self, lr: f32) -> microprop::Result<()> {
        each!(self, o => o.set_learning_rate(lr))
    }
    fn state_len(&self) -> usize {
        each!(self, o => o.state_len())
    }
    fn state(&self) -> &[f32] {
        each!(self, o => o.state())
    }
    fn state_mut(&mut self) -> &mut [f32] {
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
    fn update(&mut self, offset: usize, params: &mut [f32], grads: &[f32]) {
        each!(self, o => o.update(offset, params, grads))
    }
    fn update_outer(&mut self, offset: usize, w: &mut [f32], delta: &[f32], x: &[f32]) {
        each!(self, o => o.update_outer(offset, w, delta, x))
    }
    fn max_step(&self, grad_bound: f32) -> Option<f32> {
        each!(self, o => Optimizer::max_step(o, grad_bound))
    }
    fn accepts(&self, params: usize, offset: usize, block: &[f32], grads: &[f32]) -> bool {
        each!(self, o => Optimizer::accepts(o, params, offset, block, grads))
    }
    fn accepts_outer(
        &self,
        params: usize,
        offset: usize,
        w: &[f32],
        delta: &[f32],
        x: &[f32],
    ) -> bool {
        each!(self, o => Optimizer::accepts_outer(o, params, offset, w, delta, x))
    }
}
