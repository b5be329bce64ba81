//! Shared by the format, checkpoint and fault tests: a stateful optimizer and a trained
//! model, so that "optimizer state" is more than an empty slice.
#![allow(dead_code)]

pub mod flash;

use microprop::{data::Clusters, mlp, train, Activation, Dataset, Init, Loss, Optimizer, Result};
use microprop::{Preprocess, Standardizer, Trainer};

/// SGD with momentum, test-only: `v ← μ v + g·scale; w ← w − η v`. Its velocity is the
/// optimizer state that checkpoints must keep.
#[derive(Clone, Debug, PartialEq)]
pub struct Momentum<const P: usize> {
    pub lr: f32,
    pub mu: f32,
    pub v: [f32; P],
}

impl<const P: usize> Momentum<P> {
    pub fn new(lr: f32, mu: f32) -> Self {
        Momentum {
            lr,
            mu,
            v: [0.0; P],
        }
    }

    /// One parameter's step: `(w, v)` after `v ← μ v + g`, `w ← w − η v`.
    fn next(&self, w: f32, g: f32, v: f32) -> (f32, f32) {
        let v = self.mu * v + g;
        (w - self.lr * v, v)
    }
}

impl<const P: usize> Optimizer<f32> for Momentum<P> {
    fn name(&self) -> &'static str {
        "momentum-test"
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) -> microprop::Result<()> {
        self.check_learning_rate(lr)?;
        self.lr = lr;
        Ok(())
    }
    fn state_len(&self) -> usize {
        P
    }
    fn state(&self) -> &[f32] {
        &self.v
    }
    fn state_mut(&mut self) -> &mut [f32] {
        &mut self.v
    }
    fn begin_step(&mut self, params: usize) -> Result<()> {
        if params == P {
            Ok(())
        } else {
            Err(microprop::Error::ShapeMismatch {
                expected: P,
                found: params,
            })
        }
    }
    fn update(&mut self, offset: usize, params: &mut [f32], grads: &[f32]) {
        let this = self.clone();
        let v = &mut self.v[offset..offset + params.len()];
        for ((w, g), v) in params.iter_mut().zip(grads).zip(v) {
            (*w, *v) = this.next(*w, *g, *v);
        }
    }
    fn accepts(&self, _params: usize, offset: usize, block: &[f32], grads: &[f32]) -> bool {
        let Some(v) = self.v.get(offset..offset + block.len()) else {
            return true;
        };
        block.iter().zip(grads).zip(v).all(|((&w, &g), &v)| {
            let (w, v) = self.next(w, g, v);
            w.is_finite() && v.is_finite()
        })
    }
}

pub type Net = mlp![f32; 2, 16, 16, 1];
pub const HIDDEN: Activation = Activation::LeakyRelu(0.05);
pub const OUTPUT: Activation = Activation::Sigmoid;

/// Byte image of a slice of f32 (for bit-exact comparisons).
pub fn bytes(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A network trained for a few epochs on two clusters, its standardizer and optimizer.
pub fn trained(
    seed: u64,
    epochs: usize,
) -> (
    microprop::Training<<Net as NetLayers>::L>,
    Standardizer<f32, 2>,
    Momentum<{ Net::PARAMS }>,
) {
    let mut rng = microprop::rng(seed);
    let (mut x, mut labels) = ([[0.0f32; 2]; 64], [0u8; 64]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut labels)
        .unwrap();
    let stats = Standardizer::fit(Preprocess::Standardize, &x).unwrap();
    stats.apply_all::<microprop::Libm>(&mut x);
    let data = Dataset::new(&x, &labels).unwrap();
    let net = Net::new(HIDDEN, OUTPUT, Init::HeNormal, 0.01, &mut rng).unwrap();
    let mut model = net.into_training();
    let mut opt = Momentum::new(0.05, 0.9);
    let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
    let mut order = [0u16; 64];
    train::fill_order(&mut order).unwrap();
    for _ in 0..epochs {
        trainer
            .epoch(&mut model, &mut opt, &data, &mut order, &mut rng)
            .unwrap();
    }
    (model, stats, opt)
}

/// Names the layer chain of a `Network` type.
pub trait NetLayers {
    type L: microprop::layer::Net;
}
impl<L: microprop::layer::Net, M> NetLayers for microprop::Network<L, M> {
    type L = L;
}
