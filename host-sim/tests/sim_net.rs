//! The run-time shaped network (the core's `Sequential` of run-time layers, on the heap:
//! `microprop_sim::net`) computes exactly what the compile-time shaped `mlp!` network
//! computes: same initial weights from the same seed, same outputs, and the same trained
//! weights hash after training with the core's trainer.

use microprop::{
    data::Clusters,
    layer::{Grads, Pass},
    mlp, train, Activation, Dataset, Init, Libm, Math, Micromath, Model, Sgd, Trainer, Training,
};
use microprop_sim::net;

fn data() -> (Vec<[f32; 2]>, Vec<u8>) {
    let mut rng = microprop::rng(99);
    let mut x = vec![[0.0f32; 2]; 120];
    let mut labels = vec![0u8; 120];
    Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut labels)
        .unwrap();
    (x, labels)
}

/// Trains `model` for `epochs` with seed-7 shuffling; returns the weights hash.
fn fit<T: Model<Scalar = f32>>(model: &mut T, epochs: usize) -> u64 {
    fit_batch(model, epochs, 5)
}

/// As [`fit`] with mini-batches of `batch` (1 = the online step).
fn fit_batch<T: Model<Scalar = f32>>(model: &mut T, epochs: usize, batch: usize) -> u64 {
    let (x, labels) = data();
    let data = Dataset::new(&x, &labels).unwrap();
    let mut rng = microprop::rng(7);
    let mut opt = Sgd::new(0.3).unwrap();
    let mut trainer = Trainer::new(microprop::Loss::Mse, batch).unwrap();
    let mut order = vec![0u16; x.len()];
    train::fill_order(&mut order).unwrap();
    for _ in 0..epochs {
        trainer
            .epoch(model, &mut opt, &data, &mut order, &mut rng)
            .unwrap();
    }
    model.weights_hash()
}

fn same_as_typed<M: Math<f32>, const N: usize>(
    sizes: &[usize],
    hidden: Activation,
    typed_hash_init: u64,
    typed_out: [f32; N],
    typed_hash_trained: u64,
) {
    let mut net = net::dense::<f32, M>(
        sizes,
        hidden,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut microprop::rng(3),
    )
    .unwrap();
    assert_eq!(
        net.weights_hash(),
        typed_hash_init,
        "initial weights differ"
    );
    let out = net::predict(net.network(), &[0.3, -1.2]).unwrap();
    assert_eq!(out.len(), N);
    for (a, b) in out.iter().zip(typed_out) {
        assert_eq!(a.to_bits(), b.to_bits(), "forward differs: {a} vs {b}");
    }
    assert_eq!(
        fit(&mut net, 6),
        typed_hash_trained,
        "trained weights differ"
    );
}

#[test]
fn relu_2_16_16_1_matches_the_typed_network_bit_for_bit() {
    type Net = mlp![f32; 2, 16, 16, 1];
    let net = Net::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut microprop::rng(3),
    )
    .unwrap();
    let out = net.predict(&[0.3, -1.2]).unwrap();
    let mut model = net.into_training();
    let h0 = model.weights_hash();
    let h1 = fit(&mut model, 6);
    assert_ne!(h0, h1);
    same_as_typed::<Libm, 1>(&[2, 16, 16, 1], Activation::Relu, h0, out, h1);
    // Batch 1: the online step of both networks agrees too.
    let online = |seed| {
        let mut typed = Net::new(
            Activation::Relu,
            Activation::Sigmoid,
            Init::HeNormal,
            0.01,
            &mut microprop::rng(seed),
        )
        .unwrap()
        .into_training();
        let mut dynamic = net::dense::<f32, Libm>(
            &[2, 16, 16, 1],
            Activation::Relu,
            Activation::Sigmoid,
            Init::HeNormal,
            0.01,
            &mut microprop::rng(seed),
        )
        .unwrap();
        (fit_batch(&mut typed, 3, 1), fit_batch(&mut dynamic, 3, 1))
    };
    let (t, d) = online(11);
    assert_eq!(t, d, "online (batch 1) training differs");
    // Sizes and the byte formulas agree too.
    let layers = net::dense_layers(&[2, 16, 16, 1], Activation::Relu, Activation::Sigmoid).unwrap();
    let dyn_net = Training::new(net::network::<f32, Libm>(layers).unwrap(), 1).unwrap();
    assert_eq!(dyn_net.params(), Net::PARAMS);
    assert_eq!(net::weight_bytes(dyn_net.network()), Net::BYTES);
    assert_eq!(net::training_bytes(&dyn_net), Net::TRAINING_BYTES);
}

#[test]
fn deep_sigmoid_with_micromath_matches_the_typed_network_bit_for_bit() {
    type Net = mlp![f32, Micromath; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
    let net = Net::new(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut microprop::rng(3),
    )
    .unwrap();
    let out = net.predict(&[0.3, -1.2]).unwrap();
    let mut model = net.into_training();
    let h0 = model.weights_hash();
    let h1 = fit(&mut model, 6);
    same_as_typed::<Micromath, 1>(
        &[2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1],
        Activation::Sigmoid,
        h0,
        out,
        h1,
    );
}

#[test]
fn input_gradient_matches_the_typed_network() {
    type Net = mlp![f32; 2, 8, 3];
    let mut typed = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        &mut microprop::rng(5),
    )
    .unwrap()
    .into_training();
    let mut dynamic = net::dense::<f32, Libm>(
        &[2, 8, 3],
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        &mut microprop::rng(5),
    )
    .unwrap();
    let x = [0.7f32, -0.4];
    let y = [0.0f32, 1.0, 0.0];
    let mut g_typed = [0.0f32; 2];
    let mut g_dyn = [0.0f32; 2];
    for (model, g) in [
        (&mut typed as &mut dyn ModelF32, &mut g_typed),
        (&mut dynamic as &mut dyn ModelF32, &mut g_dyn),
    ] {
        model.grad(&x, &y, g);
    }
    assert_eq!(g_typed.map(f32::to_bits), g_dyn.map(f32::to_bits));
    assert!(g_typed.iter().any(|&g| g != 0.0));
}

/// Object-safe shim for the test above.
trait ModelF32 {
    fn grad(&mut self, x: &[f32], y: &[f32], g: &mut [f32]);
}

impl<T: Model<Scalar = f32>> ModelF32 for T {
    fn grad(&mut self, x: &[f32], y: &[f32], g: &mut [f32]) {
        self.forward(&mut Pass::eval(), x).unwrap();
        let act = self.output_activation().unwrap();
        let (z, a) = self.head_mut().unwrap();
        microprop::Loss::CrossEntropy.loss_and_delta::<f32, T::Math>(act, z, a, y);
        self.backward(x, Some(g), Grads::Overwrite).unwrap();
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let zeroed = |sizes: &[usize], hidden| {
        net::dense::<f32, Libm>(
            sizes,
            hidden,
            Activation::Sigmoid,
            Init::Zeros,
            0.0,
            &mut microprop::rng(0),
        )
    };
    assert!(zeroed(&[2], Activation::Relu).is_err());
    assert!(zeroed(&[2, 0, 1], Activation::Relu).is_err());
    assert!(zeroed(&[2, 4, 1], Activation::Softmax).is_err());
    let mut net = zeroed(&[2, 4, 1], Activation::Relu).unwrap();
    assert!(net.forward(&mut Pass::eval(), &[1.0, 2.0, 3.0]).is_err());
    assert!(net.backward(&[1.0], None, Grads::Overwrite).is_err());
    // A model file's layers: one activation per layer.
    assert!(net::dense_layers_with::<f32>(&[2, 4, 1], &[Activation::Relu]).is_err());
}
