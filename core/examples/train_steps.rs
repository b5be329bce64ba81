//! Runs N online SGD steps of one benchmark network with the protocol of issue #11: 512
//! samples of two clusters centred ±(1, 1) with σ = 0.7 per coordinate, batch 1 in sample
//! order, lr 0.1 on ½(o − t)² (`Loss::Mse`), sigmoid output; 100 epochs = 51,200 steps.
//! Run it under callgrind twice, with N and 0 steps, and divide the difference by N; run it
//! plainly for the wall time of the training loop (`cargo xtask bench-host` does both).
//!
//! `cargo run --release -p microprop --example train_steps -- <n1|n2|n2relu|n3> <steps>
//! [--math libm|micromath|fast] [--eval]`
//!
//! Prints one JSON object: the network, the steps, the backend, the weights hash, the
//! wall time of the training loop in ns per step and, with `--eval`, the accuracy on the
//! training set after the run (the evaluation is outside the timed loop; leave it off
//! under callgrind so both counted runs do the same set-up).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Instant;

use microprop::{
    data::{Clusters, TWO_CENTRES},
    layer::Net,
    mlp, Activation, Dataset, Init, Loss, Math, Model, Network, Sgd, Trainer,
};

/// Samples in the training set (one epoch).
const SAMPLES: usize = 512;
/// Standard deviation of each coordinate around its centre.
const SIGMA: f32 = 0.7;

/// What one run measured.
struct Run {
    hash: u64,
    ns_per_step: f64,
    accuracy: Option<f32>,
}

fn run<L, M>(hidden: Activation, steps: usize, eval: bool) -> Result<Run, microprop::Error>
where
    L: Net<Scalar = f32> + microprop::layer::Fixed<f32> + Default,
    M: Math<f32>,
{
    let mut rng = microprop::rng(1);
    let (mut x, mut labels) = ([[0.0f32; 2]; SAMPLES], [0u8; SAMPLES]);
    // `Clusters::spread` is the RMS distance from the centre (σ · √2 in the plane).
    let clusters = Clusters {
        centres: &TWO_CENTRES,
        spread: SIGMA * core::f32::consts::SQRT_2,
    };
    clusters.generate(&mut rng, &mut x, &mut labels)?;
    let data = Dataset::new(&x, &labels)?;
    let net = Network::<L, M>::new(
        hidden,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.01,
        &mut rng,
    )?;
    let mut model = net.into_training();
    let mut opt = Sgd::new(0.1)?;
    let mut trainer = Trainer::new(Loss::Mse, 1)?;
    let t = Instant::now();
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
    let elapsed = t.elapsed();
    let accuracy = if eval {
        Some(microprop::train::evaluate(&mut model, Loss::Mse, &data)?.accuracy)
    } else {
        None
    };
    Ok(Run {
        hash: model.weights_hash(),
        ns_per_step: elapsed.as_nanos() as f64 / steps.max(1) as f64,
        accuracy,
    })
}

type N1 = <mlp![f32; 2, 16, 1] as Wrap>::L;
type N2 = <mlp![f32; 2, 32, 32, 1] as Wrap>::L;
type N3 = <mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1] as Wrap>::L;

fn by_net<M: Math<f32>>(net: &str, steps: usize, eval: bool) -> Result<Run, microprop::Error> {
    match net {
        "n1" => run::<N1, M>(Activation::Sigmoid, steps, eval),
        "n2" => run::<N2, M>(Activation::Sigmoid, steps, eval),
        "n2relu" => run::<N2, M>(Activation::Relu, steps, eval),
        "n3" => run::<N3, M>(Activation::Sigmoid, steps, eval),
        other => usage(&format!("unknown network `{other}`")),
    }
}

fn usage(what: &str) -> ! {
    eprintln!(
        "error: {what}\nusage: train_steps <n1|n2|n2relu|n3> <steps> \
         [--math libm|micromath|fast] [--eval]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut net, mut steps, mut math, mut eval) = (None, None, "libm".to_string(), false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--math" => {
                math = it
                    .next()
                    .cloned()
                    .unwrap_or_else(|| usage("--math needs a backend"))
            }
            "--eval" => eval = true,
            flag if flag.starts_with("--") => usage(&format!("unknown flag `{flag}`")),
            _ if net.is_none() => net = Some(a.clone()),
            _ if steps.is_none() => {
                steps = Some(
                    a.parse::<usize>()
                        .unwrap_or_else(|_| usage(&format!("steps `{a}` is not a number"))),
                )
            }
            _ => usage(&format!("unexpected argument `{a}`")),
        }
    }
    let net = net.unwrap_or_else(|| usage("no network given"));
    let steps = steps.unwrap_or(100 * SAMPLES);
    let result = match math.as_str() {
        "libm" => by_net::<microprop::Libm>(&net, steps, eval),
        "micromath" => by_net::<microprop::Micromath>(&net, steps, eval),
        "fast" => by_net::<microprop::Fast>(&net, steps, eval),
        other => usage(&format!("unknown maths backend `{other}`")),
    };
    match result {
        Ok(r) => {
            let accuracy = r.accuracy.map_or("null".to_string(), |a| a.to_string());
            println!(
                "{{\"net\": \"{net}\", \"steps\": {steps}, \"math\": \"{math}\", \
                 \"weights_hash\": \"{:016x}\", \"ns_per_step\": {:.1}, \"accuracy\": {accuracy}}}",
                r.hash, r.ns_per_step
            );
        }
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
