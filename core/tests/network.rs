//! Networks: exact memory, the notes' lessons as tests, and bad input that never panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use core::mem::size_of;

use microprop::{
    data::{self, Clusters},
    diagnostics, mlp, train, Activation, Dataset, Error, Init, Loss, Model, Network, Sgd, Trainer,
    Training,
};

type N1 = mlp![f32; 2, 16, 1];
type N2 = mlp![f32; 2, 32, 32, 1];
type N3 = mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
type Demo = mlp![f32; 2, 16, 16, 1];
type Deep64 = mlp![f64; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];

trait Chain {
    type L;
}
impl<L, M> Chain for Network<L, M> {
    type L = L;
}

/// `size_of` equals the documented formulas: no padding surprises, no hidden buffers.
#[test]
fn memory_is_exactly_the_documented_formula() {
    macro_rules! check {
        ($n:ty, $params:expr, $units:expr, $depth:expr, $scalar:expr) => {{
            type L = <$n as Chain>::L;
            // One activation per layer: a tag and α in the scalar type.
            let act = if $scalar == 8 {
                size_of::<Activation<f64>>()
            } else {
                size_of::<Activation<f32>>()
            };
            let weights = $params * $scalar + $depth * act;
            // Gradients, z and a of every unit, the gathered input row, the row count and
            // the online steps' bound on the weights.
            let training = ($params + 2 * $units + 2 + 2) * $scalar;
            assert_eq!(size_of::<Network<L>>(), weights, "weights");
            assert_eq!(size_of::<Training<L>>(), weights + training, "training");
            assert_eq!(<$n>::BYTES, weights);
            assert_eq!(<$n>::TRAINING_BYTES, training);
            assert_eq!(<$n>::PARAMS, $params);
            // Batches of 8: eight rows of z, a and inputs.
            let batched = ($params + 8 * (2 * $units + 2) + 2) * $scalar;
            assert_eq!(
                size_of::<Training<L, microprop::Libm, 8>>(),
                weights + batched
            );
            assert_eq!(<$n>::training_bytes(8), batched);
        }};
    }
    assert_eq!(size_of::<Activation>(), 8);
    assert_eq!(size_of::<Activation<f64>>(), 16);
    check!(N1, 2 * 16 + 16 + 16 + 1, 17, 2, 4);
    check!(N2, 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1, 65, 3, 4);
    check!(N3, 9 * (2 * 2 + 2) + 2 + 1, 19, 10, 4);
    check!(Demo, 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1, 33, 3, 4);
    check!(Deep64, 9 * 6 + 3, 19, 10, 8);
    // N1 trains in 688 bytes: 260 B of parameters, 16 B of activation tags, 412 B of
    // gradients, cache, input row, row count and weight bound (README table).
    assert_eq!(size_of::<Training<<N1 as Chain>::L>>(), 688);
    // An optimizer's state, sized from the same constant, is counted too: Adam keeps two
    // scalars per parameter.
    type Adam = microprop::optim::Adam<f32, [f32; 2 * N1::PARAMS]>;
    let state = size_of::<[f32; 2 * N1::PARAMS]>();
    assert_eq!(N1::bytes_to_train(Adam::SLOTS, 1), 688 + state);
    assert_eq!(N1::bytes_to_train(0, 1), 688);
}

fn clusters(seed: u64, spread: f32) -> ([[f32; 2]; 400], [u8; 400]) {
    let mut rng = microprop::rng(seed);
    let (mut x, mut y) = ([[0.0f32; 2]; 400], [0u8; 400]);
    Clusters::two(spread)
        .generate(&mut rng, &mut x, &mut y)
        .unwrap();
    (x, y)
}

/// Trains and returns (accuracy per epoch, the model).
#[allow(clippy::too_many_arguments)]
fn fit<L: microprop::layer::Net<Scalar = f32> + microprop::layer::Fixed<f32> + Default>(
    hidden: Activation,
    init: Init,
    bias: f32,
    lr: f32,
    batch: usize,
    epochs: usize,
    data: &Dataset<'_, f32>,
    seed: u64,
) -> (Vec<f32>, Training<L>) {
    let mut rng = microprop::rng(seed);
    let net = Network::<L>::new(hidden, Activation::Sigmoid, init, bias, &mut rng).unwrap();
    let mut m = net.into_training();
    let mut opt = Sgd::new(lr).unwrap();
    let mut t = Trainer::new(Loss::Mse, batch).unwrap();
    let mut order = vec![0u16; data.len()];
    train::fill_order(&mut order).unwrap();
    let mut acc = Vec::new();
    for _ in 0..epochs {
        t.epoch(&mut m, &mut opt, data, &mut order, &mut rng)
            .unwrap();
        acc.push(train::evaluate(&mut m, Loss::Mse, data).unwrap().accuracy);
    }
    (acc, m)
}

#[test]
fn relu_he_learns_two_clusters_within_20_epochs() {
    let (x, y) = clusters(1, 0.7);
    let data = Dataset::new(&x, &y).unwrap();
    let (acc, mut m) =
        fit::<<Demo as Chain>::L>(Activation::Relu, Init::HeNormal, 0.01, 0.1, 8, 20, &data, 2);
    let epoch = acc.iter().position(|&a| a >= 0.98);
    // And on fresh samples it never saw.
    let (tx, ty) = clusters(99, 0.7);
    let held_out = train::evaluate(&mut m, Loss::Mse, &Dataset::new(&tx, &ty).unwrap())
        .unwrap()
        .accuracy;
    println!("2-16-16-1 relu/He on two clusters: >= 98 % after epoch {epoch:?}, held-out accuracy {held_out}");
    assert!(epoch.is_some_and(|e| e < 20), "{acc:?}");
    assert!(held_out >= 0.98, "held-out {held_out}");
}

#[test]
fn tanh_learns_xor_quadrants() {
    type Xor = mlp![f32; 2, 8, 8, 1];
    let mut rng = microprop::rng(3);
    let (mut x, mut y) = ([[0.0f32; 2]; 400], [0u8; 400]);
    data::xor(&mut rng, 0.05, &mut x, &mut y).unwrap();
    let data = Dataset::new(&x, &y).unwrap();
    let (acc, _) = fit::<<Xor as Chain>::L>(
        Activation::Tanh,
        Init::XavierNormal,
        0.0,
        0.3,
        4,
        60,
        &data,
        4,
    );
    println!(
        "2-8-8-1 tanh on XOR: final accuracy {}",
        acc.last().unwrap()
    );
    assert!(*acc.last().unwrap() >= 0.95, "{acc:?}");
}

/// Two spirals with a 2-32-32-1 ReLU net (He init), online SGD lr 0.1 (the net the README
/// states). The same net with tanh stalls near 60 % in 300 epochs.
#[test]
fn relu_learns_two_spirals() {
    type Spiral = mlp![f32; 2, 32, 32, 1];
    let mut rng = microprop::rng(5);
    let (mut x, mut y) = ([[0.0f32; 2]; 400], [0u8; 400]);
    data::spirals(&mut rng, 0.02, &mut x, &mut y).unwrap();
    let data = Dataset::new(&x, &y).unwrap();
    let (acc, _) =
        fit::<<Spiral as Chain>::L>(Activation::Relu, Init::HeNormal, 0.01, 0.1, 1, 80, &data, 6);
    let epoch = acc.iter().position(|&a| a >= 0.9);
    println!(
        "2-32-32-1 relu on two spirals: final accuracy {}, first epoch >= 90%: {epoch:?}",
        acc.last().unwrap()
    );
    assert!(
        *acc.last().unwrap() >= 0.90,
        "final {}",
        acc.last().unwrap()
    );
}

/// All-zero init never breaks symmetry: every hidden unit of a layer stays identical.
#[test]
fn zero_init_keeps_hidden_units_identical() {
    let (x, y) = clusters(7, 0.7);
    let data = Dataset::new(&x, &y).unwrap();
    let (_, m) = fit::<<Demo as Chain>::L>(Activation::Tanh, Init::Zeros, 0.0, 0.5, 8, 5, &data, 8);
    let mut checked = 0;
    m.visit_layers(|l| {
        let rows: Vec<&[f32]> = l.w.chunks(l.inputs).collect();
        assert!(
            rows.windows(2).all(|r| r[0] == r[1]),
            "layer {} rows differ",
            l.index
        );
        assert!(
            l.b.windows(2).all(|b| b[0] == b[1]),
            "layer {} biases differ",
            l.index
        );
        checked += 1;
    });
    // The weights did move (it is not symmetric because nothing happened).
    let mut moved = false;
    m.visit_layers(|l| moved |= l.b.iter().any(|&b| b != 0.0));
    assert!(moved);
    assert_eq!(checked, 3);
}

/// The deep-narrow sigmoid net: first-layer gradient norm orders of magnitude below the
/// last layer's at init.
#[test]
fn deep_sigmoid_gradients_vanish_at_init() {
    let (x, y) = clusters(9, 0.7);
    let data = Dataset::new(&x, &y).unwrap();
    let mut rng = microprop::rng(10);
    let mut m = <N3>::new(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    diagnostics::accumulate_gradients(&mut m, Loss::Mse, &data).unwrap();
    let mut norms = [0.0f64; 10];
    let n = diagnostics::grad_norms(&m, 1.0 / data.len() as f64, &mut norms);
    assert_eq!(n, 10);
    let ratio = norms[0] / norms[9];
    let shown: Vec<String> = norms.iter().map(|n| format!("{n:.2e}")).collect();
    println!("9-deep sigmoid gradient norms per layer: {shown:?}; first/last = {ratio:.2e}");
    assert!(ratio < 1e-3, "first/last {ratio:e}");
}

/// A fresh N1 ready to train: `hidden` and `output` activations, `init`, zero biases.
fn n1(hidden: Activation, output: Activation, init: Init, seed: u64) -> Training<<N1 as Chain>::L> {
    let mut rng = microprop::rng(seed);
    <N1>::new(hidden, output, init, 0.0, &mut rng)
        .unwrap()
        .into_training()
}

fn bytes_of<T: Model>(m: &T) -> Vec<u8> {
    let mut v = Vec::new();
    m.visit_layers(|l| {
        for p in l.w.iter().chain(l.b.iter()) {
            v.extend(p.to_string().bytes());
            v.push(b',');
        }
    });
    v
}

#[test]
fn non_finite_input_is_an_error_and_weights_are_unchanged() {
    let mut m = n1(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::XavierNormal,
        11,
    );
    let mut opt = Sgd::new(0.1).unwrap();
    for batch in [1usize, 4] {
        let mut t = Trainer::new(Loss::Mse, batch).unwrap();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let x = [[0.5, 0.5], [0.1, bad], [0.3, 0.2], [1.0, 1.0]];
            let y = [1u8, 0, 1, 1];
            let data = Dataset::new(&x, &y).unwrap();
            let before = (m.weights_hash(), bytes_of(&m));
            let r = t.step(
                &mut m,
                &mut opt,
                &data,
                &[0, 1, 2, 3][..batch.max(2)],
                &mut microprop::rng(0),
            );
            assert_eq!(r, Err(Error::NonFiniteInput));
            assert_eq!((m.weights_hash(), bytes_of(&m)), before);
        }
    }
    // Inference too.
    let net = m.into_network();
    assert_eq!(net.predict(&[f32::NAN, 0.0]), Err(Error::NonFiniteInput));
}

/// Finite but enormous inputs overflow the gradients: the step is refused, weights intact.
#[test]
fn overflowing_gradients_are_refused() {
    let mut m = n1(Activation::Relu, Activation::Identity, Init::HeNormal, 12);
    let mut opt = Sgd::new(0.1).unwrap();
    let x = [[3e37f32, -3e37], [3e37, 3e37]];
    let y = [1u8, 0];
    let data = Dataset::new(&x, &y).unwrap();
    for batch in [1usize, 2] {
        let mut t = Trainer::new(Loss::Mse, batch).unwrap();
        let before = m.weights_hash();
        let r = t.step(
            &mut m,
            &mut opt,
            &data,
            &[0, 1][..batch],
            &mut microprop::rng(0),
        );
        assert_eq!(r, Err(Error::NonFiniteGradient), "batch {batch}");
        assert_eq!(m.weights_hash(), before);
    }
}

#[test]
fn bad_labels_and_shapes_are_errors() {
    let mut m = n1(Activation::Relu, Activation::Sigmoid, Init::HeNormal, 13);
    let mut opt = Sgd::new(0.1).unwrap();
    let mut t = Trainer::new(Loss::Mse, 1).unwrap();
    let x = [[0.0f32; 2]; 2];
    let data = Dataset::new(&x, &[0, 7]).unwrap();
    assert_eq!(
        t.step(&mut m, &mut opt, &data, &[1], &mut microprop::rng(0)),
        Err(Error::LabelOutOfRange {
            label: 7,
            classes: 2
        })
    );
    assert_eq!(
        t.step(&mut m, &mut opt, &data, &[5], &mut microprop::rng(0)),
        Err(Error::EmptyData)
    );
    let x3 = [[0.0f32; 3]; 2];
    let data3 = Dataset::new(&x3, &[0, 1]).unwrap();
    assert!(matches!(
        t.step(&mut m, &mut opt, &data3, &[0], &mut microprop::rng(0)),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Dataset::from_flat(&[0.0f32; 5], &[0, 1], 2),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(Trainer::new(Loss::Mse, 0).err(), Some(Error::EmptyData));
    assert!(Sgd::new(-0.1f32).is_err() && Sgd::new(f32::NAN).is_err());
    assert_eq!(
        <N1>::zeroed(Activation::Softmax, Activation::Sigmoid).err(),
        Some(Error::InvalidHyperParameter(
            "softmax is only valid on the output layer"
        ))
    );
    // Cross-entropy needs at least two outputs.
    let mut t = Trainer::new(Loss::CrossEntropy, 1).unwrap();
    assert_eq!(
        t.step(&mut m, &mut opt, &data, &[0], &mut microprop::rng(0)),
        Err(Error::LossMismatch)
    );
}

/// Online steps apply each layer's outer-product gradient without storing it; the result
/// is bit-identical to recording the gradient and applying it.
#[test]
fn online_fast_path_is_bit_identical_to_the_general_path() {
    let (x, y) = clusters(14, 0.7);
    let data = Dataset::new(&x, &y).unwrap();
    let mut rng = microprop::rng(15);
    let net = <Demo>::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut rng,
    )
    .unwrap();
    let mut fast = net.clone().into_training();
    let mut slow = net.into_training();
    let (mut o1, mut o2) = (Sgd::new(0.1f32).unwrap(), Sgd::new(0.1f32).unwrap());
    let mut t = Trainer::new(Loss::Mse, 1).unwrap();
    for i in 0..300u16 {
        t.step(&mut fast, &mut o1, &data, &[i], &mut rng).unwrap();
        // The general path: forward, loss, recorded gradients, update.
        let walked = train::walk(
            &mut slow,
            Some(Loss::Mse),
            &data,
            &[i],
            &mut microprop::layer::Pass::probe(),
            Some(microprop::layer::Grads::Overwrite),
        )
        .unwrap();
        t.apply(&mut slow, &mut o2, walked.loss).unwrap();
    }
    assert_eq!(fast.weights_hash(), slow.weights_hash());
}

/// Same seed, same weights; another seed, other weights.
#[test]
fn training_is_deterministic() {
    let (x, y) = clusters(16, 0.7);
    let data = Dataset::new(&x, &y).unwrap();
    let run = |seed| {
        fit::<<Demo as Chain>::L>(
            Activation::Relu,
            Init::HeNormal,
            0.01,
            0.1,
            8,
            3,
            &data,
            seed,
        )
        .1
        .weights_hash()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}
