//! The layer kinds inside ordinary networks: batch norm, dropout and the preprocessing
//! layers, checked against five-point finite differences in f64 (parameters and inputs),
//! their train/eval semantics, and the same arithmetic in compile-time and run-time
//! networks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::Clusters,
    layer::{
        BatchNorm, BatchNormConfig, Dense, Dropout, DynBatchNorm, DynDense, DynDropout, DynLayer,
        DynStandardize, DynWhiten, Family, Grads, Net, Pass, Sequential, Standardize, Whiten,
    },
    layers, train, Activation, Dataset, Error, Init, Libm, Loss, Model, Network, PcaWhitening,
    Preprocess, Sgd, Trainer, Training,
};

/// The test's run-time storage: `Vec`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Vecs;

impl Family for Vecs {
    type Of<T: Clone + core::fmt::Debug + PartialEq> = Vec<T>;
    fn filled<T: Clone + core::fmt::Debug + PartialEq>(
        len: usize,
        value: T,
    ) -> microprop::Result<Vec<T>> {
        Ok(vec![value; len])
    }
    fn collect<T: Clone + core::fmt::Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> microprop::Result<Vec<T>> {
        Ok(items.into_iter().collect())
    }
}

const ROWS: usize = 6;

fn batch() -> ([[f64; 2]; ROWS], [u8; ROWS]) {
    (
        [
            [0.3, -1.2],
            [1.1, 0.4],
            [-0.7, 0.9],
            [0.05, 0.2],
            [-1.3, -0.6],
            [0.8, -0.3],
        ],
        [0, 1, 1, 0, 0, 1],
    )
}

/// Σ of the per-row losses of one forward pass over `x` (every row of the batch).
fn total_loss<T: Model<Scalar = f64>>(
    m: &mut T,
    pass: &mut Pass<'_>,
    x: &[f64],
    labels: &[u8],
) -> f64 {
    m.forward(pass, x).unwrap();
    let outputs = m.outputs();
    let (z, a) = m.head_mut().unwrap();
    let mut y = vec![0.0; outputs];
    let mut sum = 0.0;
    for ((z, a), &l) in z.chunks(outputs).zip(a.chunks(outputs)).zip(labels) {
        Loss::target(usize::from(l), &mut y).unwrap();
        sum += Loss::CrossEntropy.value::<f64, Libm>(z, a, &y);
    }
    sum
}

/// Analytic gradients of [`total_loss`]: every parameter (flat order) and every input.
fn analytic<T: Model<Scalar = f64>>(
    m: &mut T,
    pass: &mut Pass<'_>,
    x: &[f64],
    labels: &[u8],
) -> (Vec<f64>, Vec<f64>) {
    m.forward(pass, x).unwrap();
    let outputs = m.outputs();
    let act = m.output_activation().unwrap();
    let (z, a) = m.head_mut().unwrap();
    let mut y = vec![0.0; outputs];
    for ((z, a), &l) in z.chunks_mut(outputs).zip(a.chunks(outputs)).zip(labels) {
        Loss::target(usize::from(l), &mut y).unwrap();
        Loss::CrossEntropy.loss_and_delta::<f64, Libm>(act, z, a, &y);
    }
    let mut gx = vec![0.0; x.len()];
    m.backward(x, Some(&mut gx), Grads::Overwrite).unwrap();
    let mut gp = vec![0.0; m.params()];
    m.copy_grads(&mut gp).unwrap();
    (gp, gx)
}

/// Five-point central difference of `f` at step `h`.
fn five_point(mut f: impl FnMut(f64) -> f64, h: f64) -> f64 {
    (8.0 * (f(h) - f(-h)) - (f(2.0 * h) - f(-2.0 * h))) / (12.0 * h)
}

/// Relative error with a floor (gradients that are zero on both sides agree).
fn rel(a: f64, n: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(1e-7)
}

/// The largest relative error over every parameter and input of `m` on the batch, the
/// best of a few step sizes per entry (as `gradcheck.rs`). `pass` is rebuilt per
/// evaluation: training mode without a generator keeps the dropout masks drawn before.
fn max_error<T: Model<Scalar = f64>>(m: &mut T, mode: microprop::Mode) -> f64 {
    let (xs, labels) = batch();
    let x: Vec<f64> = xs.as_flattened().to_vec();
    let pass = || Pass { mode, rng: None };
    let (gp, gx) = analytic(m, &mut pass(), &x, &labels);
    let mut params = vec![0.0; m.params()];
    m.copy_params(&mut params).unwrap();
    let mut worst = 0.0f64;
    for k in 0..params.len() {
        let best = [1e-5, 1e-4, 1e-3, 3e-3, 1e-2]
            .iter()
            .map(|&h| {
                let fd = five_point(
                    |d| {
                        let mut p = params.clone();
                        p[k] += d;
                        m.set_params(&p).unwrap();
                        total_loss(m, &mut pass(), &x, &labels)
                    },
                    h,
                );
                rel(gp[k], fd)
            })
            .fold(f64::MAX, f64::min);
        worst = worst.max(best);
    }
    m.set_params(&params).unwrap();
    for i in 0..x.len() {
        let best = [1e-5, 1e-4, 1e-3, 3e-3, 1e-2]
            .iter()
            .map(|&h| {
                let fd = five_point(
                    |d| {
                        let mut xi = x.clone();
                        xi[i] += d;
                        total_loss(m, &mut pass(), &xi, &labels)
                    },
                    h,
                );
                rel(gx[i], fd)
            })
            .fold(f64::MAX, f64::min);
        worst = worst.max(best);
    }
    worst
}

/// Non-trivial γ, β and running statistics (every layer's `w`, `b` and state nudged).
fn perturb<T: Model<Scalar = f64>>(m: &mut T) {
    let mut k = 0usize;
    m.visit_layers_mut(|l| {
        for v in l.w.iter_mut().chain(l.b.iter_mut()) {
            *v += 0.05 * ((k * 7 % 11) as f64 - 5.0) / 5.0;
            k += 1;
        }
        let half = l.state.len() / 2;
        if l.kind == microprop::layer::Kind::BatchNorm {
            for (j, v) in l.state.iter_mut().enumerate() {
                // Running mean near 0, running variance near 1.
                *v += 0.1 * ((j * 5 % 7) as f64 - 3.0) / 3.0 * if j < half { 1.0 } else { 0.5 };
            }
        }
    });
}

type BnChain = (
    Dense<f64, 2, 3>,
    (
        BatchNorm<f64, 3>,
        (
            Dense<f64, 3, 3>,
            (BatchNorm<f64, 3>, (Dense<f64, 3, 2>, ())),
        ),
    ),
);
type DropNet = (
    Dense<f64, 2, 4>,
    (
        BatchNorm<f64, 4>,
        (
            Dropout<f64, 4>,
            (Dense<f64, 4, 3>, (Dropout<f64, 3>, (Dense<f64, 3, 2>, ()))),
        ),
    ),
);
type PreNet = (
    Standardize<f64, 2>,
    (Dense<f64, 2, 3>, (Dense<f64, 3, 2>, ())),
);
type WhiteNet = (
    Whiten<f64>,
    (
        Dense<f64, 2, 3>,
        (BatchNorm<f64, 3>, (Dense<f64, 3, 2>, ())),
    ),
);

fn ready<L: Net<Scalar = f64> + microprop::layer::Fixed<f64>>(
    layers: L,
    seed: u64,
) -> Training<L, Libm, ROWS> {
    let mut net = Network::<L, Libm>::from_layers(layers).unwrap();
    net.set_activations(Activation::Tanh, Activation::Softmax)
        .unwrap();
    net.init(Init::XavierNormal, 0.1, &mut microprop::rng(seed))
        .unwrap();
    let mut m = net.into_batched::<ROWS>();
    perturb(&mut m);
    m
}

fn stats() -> (Standardize<f64, 2>, Whiten<f64>) {
    let (xs, _) = batch();
    let shifted = xs.map(|[a, b]| [2.0 * a + 1.0, 0.5 * b - 3.0 + 0.3 * a]);
    (
        Standardize::fit(Preprocess::Standardize, &shifted).unwrap(),
        Whiten::from(PcaWhitening::fit(1e-5, &shifted).unwrap()),
    )
}

#[test]
fn every_layer_kind_backpropagates_exactly_inside_a_network() {
    use microprop::Mode::{Eval, Train};
    let (st, wh) = stats();
    let mut results = Vec::new();
    let bn = || BnChain::default();
    results.push((
        "dense+batch norm, train",
        max_error(&mut ready(bn(), 5), Train),
    ));
    results.push((
        "dense+batch norm, eval",
        max_error(&mut ready(bn(), 5), Eval),
    ));
    // Dropout: draw one mask, then every pass of the check keeps it (no generator).
    let drop = (
        Dense::default(),
        (
            BatchNorm::default(),
            (
                Dropout::new(0.3).unwrap(),
                (
                    Dense::default(),
                    (Dropout::new(0.5).unwrap(), (Dense::default(), ())),
                ),
            ),
        ),
    );
    let mut m: Training<DropNet, Libm, ROWS> = ready(drop, 6);
    let (xs, _) = batch();
    m.forward(&mut Pass::train(&mut microprop::rng(77)), xs.as_flattened())
        .unwrap();
    results.push(("batch norm+dropout, fixed mask", max_error(&mut m, Train)));
    let pre: PreNet = (st, Default::default());
    results.push(("standardize first", max_error(&mut ready(pre, 7), Train)));
    let white: WhiteNet = (wh, Default::default());
    results.push((
        "whiten first, batch norm",
        max_error(&mut ready(white, 8), Train),
    ));
    // The same in a run-time network.
    let (st, wh) = stats();
    let dynamic = Sequential::<f64, Vecs>::new([
        DynLayer::from(DynWhiten::from(*wh.whitening())),
        DynDense::zeroed(2, 4, Activation::Identity).unwrap().into(),
        DynBatchNorm::new(4, Activation::Tanh, BatchNormConfig::default())
            .unwrap()
            .into(),
        DynDropout::new(4, 0.25).unwrap().into(),
        DynDense::zeroed(4, 2, Activation::Softmax).unwrap().into(),
    ])
    .unwrap();
    let mut net = Network::<_, Libm>::from_layers(dynamic).unwrap();
    net.init(Init::XavierNormal, 0.1, &mut microprop::rng(9))
        .unwrap();
    let mut m = Training::<_, Libm, 1>::new(net, ROWS).unwrap();
    perturb(&mut m);
    m.forward(&mut Pass::train(&mut microprop::rng(78)), xs.as_flattened())
        .unwrap();
    results.push((
        "run-time whiten+dense+batch norm+dropout",
        max_error(&mut m, Train),
    ));
    let std_dyn = Sequential::<f64, Vecs>::new([
        DynLayer::from(
            DynStandardize::new(
                Preprocess::Standardize,
                st.count(),
                &[0.4, -3.1],
                &[1.7, 0.2],
            )
            .unwrap(),
        ),
        DynDense::zeroed(2, 2, Activation::Softmax).unwrap().into(),
    ])
    .unwrap();
    let mut net = Network::<_, Libm>::from_layers(std_dyn).unwrap();
    net.init(Init::XavierNormal, 0.1, &mut microprop::rng(10))
        .unwrap();
    let mut m = Training::<_, Libm, 1>::new(net, ROWS).unwrap();
    results.push(("run-time standardize", max_error(&mut m, Train)));
    for (name, e) in &results {
        println!("{name:45} max relative error {e:.2e}");
    }
    for (name, e) in results {
        assert!(e < 1e-6, "{name}: {e}");
    }
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_in_evaluation() {
    // Momentum 1: after one accepted step the running statistics are the batch's.
    let cfg = BatchNormConfig {
        momentum: 1.0,
        ..BatchNormConfig::default()
    };
    let layers: BnChain = (
        Dense::default(),
        (
            BatchNorm::new(Activation::Tanh, cfg).unwrap(),
            Default::default(),
        ),
    );
    let mut m = ready(layers, 11);
    let (xs, labels) = batch();
    let data = Dataset::new(&xs, &labels).unwrap();
    // The first layer's pre-activations, by hand.
    let mut w = vec![];
    m.visit_layers(|l| {
        if l.index == 0 {
            w = [l.w.to_vec(), l.b.to_vec()].concat();
        }
    });
    let z: Vec<[f64; 3]> = xs
        .iter()
        .map(|x| core::array::from_fn(|j| w[6 + j] + w[2 * j] * x[0] + w[2 * j + 1] * x[1]))
        .collect();
    let running = |m: &Training<BnChain, Libm, ROWS>| {
        let mut s = vec![];
        m.visit_layers(|l| {
            if l.index == 1 {
                s = l.state.to_vec();
            }
        });
        s
    };
    let before = running(&m);
    // A forward pass alone never moves them, in either mode.
    m.forward(&mut Pass::probe(), xs.as_flattened()).unwrap();
    m.forward(&mut Pass::eval(), xs.as_flattened()).unwrap();
    assert_eq!(running(&m), before);
    let idx: Vec<u16> = (0..ROWS as u16).collect();
    let mut opt = Sgd::new(1e-9).unwrap();
    let mut t = Trainer::new(Loss::CrossEntropy, ROWS).unwrap();
    t.step(&mut m, &mut opt, &data, &idx, &mut microprop::rng(1))
        .unwrap();
    let after = running(&m);
    for j in 0..3 {
        let mean = z.iter().map(|z| z[j]).sum::<f64>() / 6.0;
        let var = z.iter().map(|z| (z[j] - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((after[j] - mean).abs() < 1e-12, "{} vs {mean}", after[j]);
        assert!(
            (after[3 + j] - var).abs() < 1e-12,
            "{} vs {var}",
            after[3 + j]
        );
    }
    // Evaluation: each row's output depends on that row alone (and equals predict()).
    m.forward(&mut Pass::eval(), xs.as_flattened()).unwrap();
    let all = m.output().to_vec();
    let p2 = m.network().predict(&xs[2]).unwrap();
    assert!((p2[0] - all[4]).abs() < 1e-15 && (p2[1] - all[5]).abs() < 1e-15);
    m.forward(&mut Pass::eval(), xs[2..4].as_flattened())
        .unwrap();
    assert_eq!(&m.output()[..2], &all[4..6]);
    // Training: the batch matters.
    m.forward(&mut Pass::probe(), xs.as_flattened()).unwrap();
    let full = m.output()[4..6].to_vec();
    m.forward(&mut Pass::probe(), xs[2..5].as_flattened())
        .unwrap();
    assert_ne!(&m.output()[..2], &full[..]);
}

#[test]
fn batch_norm_refuses_what_it_cannot_normalise() {
    let (xs, labels) = batch();
    let data = Dataset::new(&xs, &labels).unwrap();
    let mut m = ready(BnChain::default(), 12);
    let mut opt = Sgd::new(0.1).unwrap();
    let mut t = Trainer::new(Loss::CrossEntropy, 1).unwrap();
    let h = m.weights_hash();
    // A training batch of one has no statistics; more rows than the buffers hold.
    assert_eq!(
        t.step(&mut m, &mut opt, &data, &[3], &mut microprop::rng(0)),
        Err(Error::BatchTooSmall)
    );
    let many = [0u16, 1, 2, 3, 4, 5, 0];
    assert_eq!(
        t.step(&mut m, &mut opt, &data, &many, &mut microprop::rng(0)),
        Err(Error::Capacity)
    );
    // A step refused for a non-finite gradient moves nothing, running statistics included.
    let bad = [[f64::MAX, 1.0], [-f64::MAX, 0.0]];
    let bad_data = Dataset::new(&bad, &[0, 1]).unwrap();
    let r = t.step(&mut m, &mut opt, &bad_data, &[0, 1], &mut microprop::rng(0));
    assert!(r.is_err(), "{r:?}");
    assert_eq!(m.weights_hash(), h);
    // Evaluation of one sample is fine.
    assert!(train::evaluate(&mut m, Loss::CrossEntropy, &data.head(1)).is_ok());
    // Bad configurations, in the scalar type.
    for (momentum, eps) in [
        (0.0, 1e-5),
        (1.5, 1e-5),
        (0.1, 0.0),
        (0.1, 1e-50),
        (f64::NAN, 1e-5),
    ] {
        let cfg = BatchNormConfig { momentum, eps };
        assert!(
            BatchNorm::<f32, 2>::new(Activation::Tanh, cfg).is_err(),
            "{cfg:?}"
        );
    }
    assert!(
        DynBatchNorm::<f32, Vecs>::new(0, Activation::Tanh, BatchNormConfig::default()).is_err()
    );
    // Softmax on a hidden batch-norm layer; a chain that ends without an activation.
    let mut net = Network::<BnChain, Libm>::from_layers(BnChain::default()).unwrap();
    assert!(net
        .set_activations(Activation::Softmax, Activation::Softmax)
        .is_err());
    let ends_in_dropout = Sequential::<f64, Vecs>::new([
        DynLayer::from(DynDense::zeroed(2, 2, Activation::Tanh).unwrap()),
        DynDropout::new(2, 0.5).unwrap().into(),
    ]);
    assert!(matches!(
        ends_in_dropout,
        Err(Error::InvalidHyperParameter(_))
    ));
    let mismatched = Sequential::<f64, Vecs>::new([
        DynLayer::from(DynDense::zeroed(2, 3, Activation::Tanh).unwrap()),
        DynBatchNorm::new(4, Activation::Tanh, BatchNormConfig::default())
            .unwrap()
            .into(),
        DynDense::zeroed(4, 1, Activation::Sigmoid).unwrap().into(),
    ]);
    assert_eq!(
        mismatched,
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 4
        })
    );
}

#[test]
fn dropout_drops_in_training_only_and_scales_what_it_keeps() {
    type D = layers![f64; 400 => dense 1];
    let _ = D::PARAMS;
    let layers = (
        Dropout::<f64, 400>::new(0.25).unwrap(),
        (Dense::<f64, 400, 1>::zeroed(Activation::Identity), ()),
    );
    let net = Network::<_, Libm>::from_layers(layers).unwrap();
    let mut m = net.into_training();
    let x = vec![1.0; 400];
    let mut kept = 0usize;
    let mut seen = vec![];
    for seed in 0..5 {
        m.forward(&mut Pass::train(&mut microprop::rng(seed)), &x)
            .unwrap();
        let mut a = vec![];
        m.visit_layers(|l| {
            if l.index == 0 {
                a = l.a.to_vec();
            }
        });
        assert!(
            a.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75),
            "inverted dropout"
        );
        kept += a.iter().filter(|&&v| v > 0.0).count();
        seen.push(a);
    }
    let frac = kept as f64 / 2000.0;
    assert!((frac - 0.75).abs() < 0.03, "kept {frac}");
    assert_ne!(seen[0], seen[1], "each draw a new mask");
    m.forward(&mut Pass::train(&mut microprop::rng(4)), &x)
        .unwrap();
    let mut again = vec![];
    m.visit_layers(|l| {
        if l.index == 0 {
            again = l.a.to_vec()
        }
    });
    assert_eq!(again, seen[4], "same seed, same mask");
    // Without a generator the last mask is kept; evaluation is the identity.
    m.forward(&mut Pass::probe(), &x).unwrap();
    let mut a = vec![];
    m.visit_layers(|l| {
        if l.index == 0 {
            a = l.a.to_vec()
        }
    });
    assert_eq!(a, seen[4]);
    m.forward(&mut Pass::eval(), &x).unwrap();
    m.visit_layers(|l| {
        if l.index == 0 {
            a = l.a.to_vec()
        }
    });
    assert!(a.iter().all(|&v| v == 1.0));
    assert!(Dropout::<f32, 2>::new(1.0).is_err() && Dropout::<f32, 2>::new(-0.1).is_err());
    assert!(Dropout::<f32, 2>::new(f64::NAN).is_err());
}

/// The same layers in a compile-time and a run-time network, same seed: the same weights
/// after training with batch norm and dropout.
#[test]
fn compile_time_and_run_time_networks_are_bit_identical() {
    type Typed =
        layers![f32; 2 => standardize, dense 8, batch_norm, dropout, dense 8, batch_norm, dense 1];
    const B: usize = 8;
    let mut rng = microprop::rng(20);
    let (mut x, mut l) = ([[0.0f32; 2]; 96], [0u8; 96]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let shifted = x.map(|[a, b]| [a + 3.0, 2.0 * b - 1.0]);
    let data = Dataset::new(&shifted, &l).unwrap();
    let st = Standardize::fit(Preprocess::Standardize, &shifted).unwrap();
    let cfg = BatchNormConfig::default();
    let p = 0.2;
    let typed_layers = (
        st,
        (
            Dense::default(),
            (
                BatchNorm::new(Activation::Relu, cfg).unwrap(),
                (
                    Dropout::new(p).unwrap(),
                    (
                        Dense::default(),
                        (
                            BatchNorm::new(Activation::Relu, cfg).unwrap(),
                            (Dense::zeroed(Activation::Sigmoid), ()),
                        ),
                    ),
                ),
            ),
        ),
    );
    let mut typed = Network::<_, Libm>::from_layers(typed_layers).unwrap();
    typed
        .init(Init::HeNormal, 0.0, &mut microprop::rng(21))
        .unwrap();
    let _: &Typed = &typed;
    let mut tm = typed.into_batched::<B>();
    let mut stats = vec![];
    tm.visit_layers(|l| {
        if l.index == 0 {
            stats = l.state.to_vec()
        }
    });
    let dynamic = Sequential::<f32, Vecs>::new([
        DynLayer::from(
            DynStandardize::new(
                Preprocess::Standardize,
                st.count(),
                &stats[..2],
                &stats[2..],
            )
            .unwrap(),
        ),
        DynDense::zeroed(2, 8, Activation::Identity).unwrap().into(),
        DynBatchNorm::new(8, Activation::Relu, cfg).unwrap().into(),
        DynDropout::new(8, p).unwrap().into(),
        DynDense::zeroed(8, 8, Activation::Identity).unwrap().into(),
        DynBatchNorm::new(8, Activation::Relu, cfg).unwrap().into(),
        DynDense::zeroed(8, 1, Activation::Sigmoid).unwrap().into(),
    ])
    .unwrap();
    let mut dnet = Network::<_, Libm>::from_layers(dynamic).unwrap();
    dnet.init(Init::HeNormal, 0.0, &mut microprop::rng(21))
        .unwrap();
    let mut dm = Training::<_, Libm, 1>::new(dnet, B).unwrap();
    assert_eq!(tm.weights_hash(), dm.weights_hash(), "same initial weights");
    fn fit<T: Model<Scalar = f32>>(m: &mut T, data: &Dataset<'_, f32>) {
        let mut t = Trainer::new(Loss::Mse, B).unwrap();
        let mut opt = Sgd::new(0.2).unwrap();
        let mut order = vec![0u16; data.len()];
        train::fill_order(&mut order).unwrap();
        let mut rng = microprop::rng(22);
        for _ in 0..5 {
            t.epoch(m, &mut opt, data, &mut order, &mut rng).unwrap();
        }
    }
    fit(&mut tm, &data);
    fit(&mut dm, &data);
    assert_eq!(tm.weights_hash(), dm.weights_hash());
    let (a, b) = (
        train::evaluate(&mut tm, Loss::Mse, &data).unwrap(),
        train::evaluate(&mut dm, Loss::Mse, &data).unwrap(),
    );
    assert_eq!(a, b);
    assert!(a.accuracy > 0.9, "{a:?}");
}

/// The notes' nine hidden sigmoid layers of two: with batch norm after every hidden dense
/// layer the net learns two clusters; without it, it stays at chance (several seeds).
#[test]
fn batch_norm_lets_the_nine_deep_sigmoid_net_train() {
    type Plain = layers![f32; 2 => dense 2, dense 2, dense 2, dense 2, dense 2, dense 2, dense 2, dense 2, dense 2, dense 1];
    type WithBn = layers![f32; 2 =>
        dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
        dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
        dense 2, batch_norm, dense 1];
    const B: usize = 16;
    let (epochs, lr) = (30, 0.5);
    fn fit<T: Model<Scalar = f32>>(m: &mut T, data: &Dataset<'_, f32>, seed: u64) -> f32 {
        let mut t = Trainer::new(Loss::Mse, B).unwrap();
        let mut opt = Sgd::new(0.5).unwrap();
        let mut order = vec![0u16; data.len()];
        train::fill_order(&mut order).unwrap();
        let mut r = microprop::rng(seed + 100);
        for _ in 0..30 {
            t.epoch(m, &mut opt, data, &mut order, &mut r).unwrap();
        }
        train::evaluate(m, Loss::Mse, data).unwrap().accuracy
    }
    for seed in [60u64, 61, 62] {
        let mut rng = microprop::rng(seed);
        let (mut x, mut l) = ([[0.0f32; 2]; 256], [0u8; 256]);
        Clusters::two(0.7)
            .generate(&mut rng, &mut x, &mut l)
            .unwrap();
        let data = Dataset::new(&x, &l).unwrap();
        let (act, init) = (Activation::Sigmoid, Init::XavierNormal);
        let bn = WithBn::new(act, act, init, 0.0, &mut rng).unwrap();
        let plain = Plain::new(act, act, init, 0.0, &mut rng).unwrap();
        let with = fit(&mut bn.into_batched::<B>(), &data, seed);
        let without = fit(&mut plain.into_batched::<B>(), &data, seed);
        println!("seed {seed}: nine hidden sigmoid layers of 2, SGD η={lr}, batch {B}, {epochs} epochs: with batch norm {:.1}%, without {:.1}%", 100.0 * with, 100.0 * without);
        assert!(
            with >= 0.9 && without < 0.6,
            "seed {seed}: {with} vs {without}"
        );
    }
}

/// `K * (block)` is the written-out chain walked by a loop: the same gradients (finite
/// differences, train and eval, with the repeat first, inside and last), and, trained the
/// same way from the same seed, the same weights, outputs and model file, online and in
/// batches, over several seeds.
#[test]
fn repeated_blocks_are_the_written_out_chain() {
    use microprop::{
        format,
        layer::{Repeat, Then},
        Mode::Eval,
        Mode::Train,
    };
    type Inside = layers![f64; 2 => dense 3, 2 * (dense 3, batch_norm), dense 2];
    type First = layers![f64; 2 => 3 * (dense 2, batch_norm), dense 2];
    type Last = layers![f64; 2 => dense 3, 2 * (batch_norm, dense 3)];
    // What the macro writes: the repeat inside a tuple chain, followed through `Then`.
    type Block = (Dense<f64, 3, 3>, (BatchNorm<f64, 3>, ()));
    type Spelled = (
        Dense<f64, 2, 3>,
        Then<Repeat<Block, 2>, (Dense<f64, 3, 2>, ())>,
    );
    let _: Network<Spelled, Libm> = Inside::zeroed(Activation::Tanh, Activation::Softmax).unwrap();
    let act = Activation::Identity;
    for seed in [31u64, 32, 33] {
        for mode in [Train, Eval] {
            let errors = [
                max_error(
                    &mut ready(Inside::zeroed(act, act).unwrap().layers().clone(), seed),
                    mode,
                ),
                max_error(
                    &mut ready(First::zeroed(act, act).unwrap().layers().clone(), seed),
                    mode,
                ),
                max_error(
                    &mut ready(Last::zeroed(act, act).unwrap().layers().clone(), seed),
                    mode,
                ),
            ];
            assert!(
                errors.iter().all(|&e| e < 1e-6),
                "seed {seed} {mode:?}: {errors:?}"
            );
        }
    }

    type Looped = layers![f32; 2 => 9 * (dense 2, batch_norm), dense 1];
    type Unrolled = layers![f32; 2 =>
        dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
        dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
        dense 2, batch_norm, dense 2, batch_norm, dense 2, batch_norm,
        dense 1];
    type LoopedDense = layers![f32; 2 => dense 4, 3 * (dense 4), dense 1];
    type UnrolledDense = layers![f32; 2 => dense 4, dense 4, dense 4, dense 4, dense 1];
    assert_eq!(
        (Looped::DEPTH, Looped::PARAMS, Looped::STATE, Looped::BYTES),
        (
            Unrolled::DEPTH,
            Unrolled::PARAMS,
            Unrolled::STATE,
            Unrolled::BYTES
        )
    );
    assert_eq!(Looped::training_bytes(4), Unrolled::training_bytes(4));
    fn fit<T: Model<Scalar = f32>>(m: &mut T, data: &Dataset<'_, f32>, batch: usize, seed: u64) {
        let mut t = Trainer::new(Loss::Mse, batch).unwrap();
        let mut opt = Sgd::new(0.3).unwrap();
        let mut order = vec![0u16; data.len()];
        train::fill_order(&mut order).unwrap();
        let mut rng = microprop::rng(seed);
        for _ in 0..4 {
            t.epoch(m, &mut opt, data, &mut order, &mut rng).unwrap();
        }
    }
    fn saved<T: Model<Scalar = f32>>(m: &T) -> Vec<u8> {
        let mut buf = vec![0u8; format::model_len(m, None)];
        let n = format::save_model(m, &format::Extras::none(), &mut buf).unwrap();
        buf.truncate(n);
        buf
    }
    for seed in [1u64, 2, 3] {
        let mut rng = microprop::rng(seed);
        let (mut x, mut l) = ([[0.0f32; 2]; 64], [0u8; 64]);
        Clusters::two(0.7)
            .generate(&mut rng, &mut x, &mut l)
            .unwrap();
        let data = Dataset::new(&x, &l).unwrap();
        let (act, init) = (Activation::Sigmoid, Init::XavierNormal);
        let looped = Looped::new(act, act, init, 0.0, &mut microprop::rng(seed)).unwrap();
        let unrolled = Unrolled::new(act, act, init, 0.0, &mut microprop::rng(seed)).unwrap();
        assert_eq!(
            looped.weights_hash(),
            unrolled.weights_hash(),
            "seed {seed}: init"
        );
        let (mut lm, mut um) = (looped.into_batched::<4>(), unrolled.into_batched::<4>());
        fit(&mut lm, &data, 4, seed);
        fit(&mut um, &data, 4, seed);
        assert_eq!(lm.weights_hash(), um.weights_hash(), "seed {seed}: trained");
        assert_ne!(
            lm.weights_hash(),
            Looped::new(act, act, init, 0.0, &mut microprop::rng(seed))
                .unwrap()
                .weights_hash()
        );
        let (a, b) = (
            train::evaluate(&mut lm, Loss::Mse, &data).unwrap(),
            train::evaluate(&mut um, Loss::Mse, &data).unwrap(),
        );
        assert_eq!(a, b, "seed {seed}");
        assert_eq!(
            lm.network().predict(&[0.3, -0.2]).unwrap(),
            um.network().predict(&[0.3, -0.2]).unwrap()
        );
        let bytes = saved(&lm);
        assert_eq!(bytes, saved(&um), "seed {seed}: the same model file");
        let mut back = Looped::zeroed(act, act).unwrap();
        format::load_network(&bytes, &mut back, format::Targets::none()).unwrap();
        assert_eq!(back.weights_hash(), lm.weights_hash());

        // Online (batch 1, the update straight from δ).
        let dense =
            |s| LoopedDense::new(Activation::Tanh, act, init, 0.0, &mut microprop::rng(s)).unwrap();
        let mut lm = dense(seed).into_training();
        let mut um =
            UnrolledDense::new(Activation::Tanh, act, init, 0.0, &mut microprop::rng(seed))
                .unwrap()
                .into_training();
        fit(&mut lm, &data, 1, seed);
        fit(&mut um, &data, 1, seed);
        assert_eq!(lm.weights_hash(), um.weights_hash(), "seed {seed}: online");
        assert_ne!(lm.weights_hash(), dense(seed).weights_hash());
    }
}

/// The run-time standardisation layer fitted at a run-time width holds exactly what the
/// compile-time `Standardizer` fits (same Welford steps, bit for bit), at any width; bad
/// data is refused.
#[test]
fn a_run_time_standardize_fit_equals_the_compile_time_one() {
    let mut rng = microprop::rng(31);
    let xs: Vec<[f32; 5]> = (0..97)
        .map(|i| {
            core::array::from_fn(|k| {
                (i as f32 * 0.37 + k as f32).sin() * (k + 1) as f32
                    + microprop::rng::normal(&mut rng) as f32
            })
        })
        .collect();
    let labels = vec![0u8; xs.len()];
    let data = Dataset::new(&xs, &labels).unwrap();
    for mode in [Preprocess::Mean, Preprocess::Standardize] {
        let want = microprop::Standardizer::<f32, 5>::fit(mode, &xs).unwrap();
        let got = DynStandardize::<f32, Vecs>::fit(mode, &data).unwrap();
        let expect =
            DynStandardize::<f32, Vecs>::new(mode, want.count(), want.mean(), &want.variance())
                .unwrap();
        assert_eq!(got, expect, "{mode:?}");
        assert_eq!(got.count(), 97);
    }
    let empty = Dataset::<f32>::from_flat(&[], &[], 3).unwrap();
    assert_eq!(
        DynStandardize::<f32, Vecs>::fit(Preprocess::Mean, &empty).err(),
        Some(Error::EmptyData)
    );
    let bad = [1.0f32, f32::NAN, 2.0, 3.0];
    let bad = Dataset::from_flat(&bad, &[0, 1], 2).unwrap();
    assert_eq!(
        DynStandardize::<f32, Vecs>::fit(Preprocess::Mean, &bad).err(),
        Some(Error::NonFiniteInput)
    );
}
