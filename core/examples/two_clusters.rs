//! Trains the two-cluster demo on the host and prints loss and accuracy per epoch.
//!
//! `cargo run --release -p microprop --example two_clusters`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::Clusters, mlp, train, Activation, Dataset, Init, Loss, Model, Preprocess, Sgd,
    Standardizer, Trainer,
};

type Net = mlp![f32; 2, 16, 16, 1];

fn main() -> Result<(), microprop::Error> {
    let mut rng = microprop::rng(42);
    let (mut x, mut labels) = ([[0.0f32; 2]; 200], [0u8; 200]);
    Clusters::two(0.7).generate(&mut rng, &mut x, &mut labels)?;
    let pre = Standardizer::<f32, 2>::fit(Preprocess::Mean, &x)?;
    pre.apply_all::<microprop::Libm>(&mut x);
    let data = Dataset::new(&x, &labels)?;

    let net = Net::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut rng,
    )?;
    println!(
        "2-16-16-1 ReLU/sigmoid: {} parameters, {} B of weights, {} B of training buffers",
        Net::PARAMS,
        Net::BYTES,
        Net::TRAINING_BYTES
    );
    let mut model = net.into_training();
    let mut opt = Sgd::new(0.1)?;
    let mut trainer = Trainer::new(Loss::Mse, 8)?;
    let mut order = [0u16; 200];
    train::fill_order(&mut order)?;
    for epoch in 0..20 {
        let loss = trainer.epoch(&mut model, &mut opt, &data, &mut order, &mut rng)?;
        let m = train::evaluate(&mut model, Loss::Mse, &data)?;
        println!(
            "epoch {epoch:2}  train loss {loss:.4}  accuracy {:5.1} %",
            100.0 * m.accuracy
        );
    }
    println!("weights hash {:016x}", model.weights_hash());
    Ok(())
}
