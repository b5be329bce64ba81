//! Runs N online SGD steps (batch 1, MSE, sigmoid output) of one benchmark network: the
//! instruction-count protocol of the README. Run it under callgrind twice, with N and 0
//! steps, and divide the difference by N (`cargo xtask bench-host` does exactly that).
//!
//! `cargo run --release -p microprop --example train_steps -- <n1|n2-sigmoid|n2-relu|n3> <steps>`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::Clusters, layer::Net, mlp, Activation, Dataset, Init, Loss, Model, Network, Sgd, Trainer,
};

const SAMPLES: usize = 256;

fn run<L>(hidden: Activation, steps: usize) -> Result<u64, microprop::Error>
where
    L: Net<Scalar = f32> + microprop::layer::Fixed<f32> + Default,
{
    let mut rng = microprop::rng(1);
    let (mut x, mut labels) = ([[0.0f32; 2]; SAMPLES], [0u8; SAMPLES]);
    Clusters::two(0.7).generate(&mut rng, &mut x, &mut labels)?;
    let data = Dataset::new(&x, &labels)?;
    let net = Network::<L>::new(
        hidden,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.01,
        &mut rng,
    )?;
    let mut model = net.into_training();
    let mut opt = Sgd::new(0.1)?;
    let mut trainer = Trainer::new(Loss::Mse, 1)?;
    for i in 0..steps {
        let idx = [(i % SAMPLES) as u16];
        trainer.step(
            &mut model,
            &mut opt,
            &data,
            core::hint::black_box(&idx),
            &mut rng,
        )?;
    }
    Ok(model.weights_hash())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let net = args.next().unwrap_or_else(|| "n1".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(51_200);
    let hash = match net.as_str() {
        "n1" => run::<<mlp![f32; 2, 16, 1] as Wrap>::L>(Activation::Sigmoid, steps),
        "n2-sigmoid" => run::<<mlp![f32; 2, 32, 32, 1] as Wrap>::L>(Activation::Sigmoid, steps),
        "n2-relu" => run::<<mlp![f32; 2, 32, 32, 1] as Wrap>::L>(Activation::Relu, steps),
        "n3" => run::<<mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1] as Wrap>::L>(
            Activation::Sigmoid,
            steps,
        ),
        other => {
            eprintln!("unknown network {other}; use n1, n2-sigmoid, n2-relu or n3");
            std::process::exit(2);
        }
    };
    match hash {
        Ok(h) => println!("{net} {steps} steps, weights hash {h:016x}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// Extracts the layer chain from a `Network` type alias.
trait Wrap {
    type L;
}
impl<L, M> Wrap for Network<L, M> {
    type L = L;
}
