//! ns per training step (batch 1, SGD, MSE on a sigmoid output) for the benchmark nets.
//! `cargo bench -p microprop --bench train_step`. Instruction counts, which are repeatable
//! here, come from `cargo xtask bench-host` (callgrind on `examples/train_steps.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{criterion_group, criterion_main, Criterion};
use microprop::{
    data::Clusters, layer::Net, mlp, Activation, Dataset, Init, Loss, Network, Sgd, Trainer,
};

trait Chain {
    type L: Net<Scalar = f32> + microprop::layer::Fixed<f32> + Default;
}
impl<L: Net<Scalar = f32> + microprop::layer::Fixed<f32> + Default, M> Chain for Network<L, M> {
    type L = L;
}

fn bench_net<N: Chain>(c: &mut Criterion, name: &str, hidden: Activation) {
    let mut rng = microprop::rng(1);
    let (mut x, mut y) = ([[0.0f32; 2]; 256], [0u8; 256]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut y)
        .unwrap();
    let data = Dataset::new(&x, &y).unwrap();
    let mut m = Network::<N::L>::new(
        hidden,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.01,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let mut opt = Sgd::new(0.1).unwrap();
    let mut t = Trainer::new(Loss::Mse, 1).unwrap();
    let mut i = 0u16;
    c.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % 256;
            t.step(&mut m, &mut opt, &data, &[i], &mut microprop::rng(0))
                .unwrap()
        })
    });
}

fn steps(c: &mut Criterion) {
    bench_net::<mlp![f32; 2, 16, 1]>(c, "step N1 2-16-1 sigmoid", Activation::Sigmoid);
    bench_net::<mlp![f32; 2, 32, 32, 1]>(c, "step N2 2-32-32-1 sigmoid", Activation::Sigmoid);
    bench_net::<mlp![f32; 2, 32, 32, 1]>(c, "step N2 2-32-32-1 relu", Activation::Relu);
    bench_net::<mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]>(
        c,
        "step N3 2-(9x2)-1 sigmoid",
        Activation::Sigmoid,
    );
}

criterion_group!(benches, steps);
criterion_main!(benches);
