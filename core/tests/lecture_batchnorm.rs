//! Batch normalisation: exact backward (f64 fourth-order central differences), train/eval modes,
//! running statistics, the batch-of-one error, dropout with a fixed mask.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::needless_range_loop
)]

use microprop::{
    batchnorm::{BnConfig, BnNet},
    regularization::Dropout,
    Activation, Error, Init, Libm, Loss, Mode, Sgd,
};

type Net = BnNet<f64, Libm, 2, 3, 2, 2, 8>; // 2 → 3 → 3 → 3 → 2, batches ≤ 8

fn get(net: &mut Net, k: usize) -> f64 {
    let mut v = f64::NAN;
    net.visit_params_mut(&mut |off, p, _| {
        if (off..off + p.len()).contains(&k) {
            v = p[k - off];
        }
    });
    v
}
fn set(net: &mut Net, k: usize, value: f64) {
    net.visit_params_mut(&mut |off, p, _| {
        if (off..off + p.len()).contains(&k) {
            p[k - off] = value;
        }
    });
}
fn grads(net: &mut Net) -> Vec<f64> {
    let mut g = vec![0.0; Net::PARAMS];
    net.visit_params_mut(&mut |off, _, gr| g[off..off + gr.len()].copy_from_slice(gr));
    g
}

fn batch() -> ([[f64; 2]; 6], [u8; 6]) {
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

/// Sum of the losses over the batch after a forward pass with a dropout mask drawn from
/// a generator seeded with 77 (so every evaluation sees the same mask).
fn loss_of(net: &mut Net, mode: Mode, xs: &[[f64; 2]], labels: &[u8]) -> f64 {
    net.forward_batch(mode, xs, &mut microprop::rng(77))
        .unwrap();
    net.zero_grads();
    net.backward_batch(Loss::CrossEntropy, labels).unwrap()
}

fn max_rel_error(cfg: BnConfig, mode: Mode) -> f64 {
    let mut rng = microprop::rng(5);
    let mut net = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.1,
        cfg,
        &mut rng,
    )
    .unwrap();
    // Non-trivial γ, β and running statistics.
    for k in 0..Net::PARAMS {
        let v = get(&mut net, k);
        set(&mut net, k, v + 0.05 * ((k * 7 % 11) as f64 - 5.0) / 5.0);
    }
    let (xs, labels) = batch();
    // Warm the running statistics, then evaluate the analytic gradient.
    net.forward_batch(Mode::Train, &xs, &mut microprop::rng(1))
        .unwrap();
    loss_of(&mut net, mode, &xs, &labels);
    let analytic = grads(&mut net);
    // Fourth-order central differences: (−f(w+2h) + 8f(w+h) − 8f(w−h) + f(w−2h)) / 12h,
    // truncation O(h⁴), so h can be large enough for round-off not to matter.
    let h = 1e-3;
    let mut worst = 0.0f64;
    for k in 0..Net::PARAMS {
        let w = get(&mut net, k);
        let mut at = |d: f64| {
            set(&mut net, k, w + d);
            loss_of(&mut net, mode, &xs, &labels)
        };
        let fd = (-at(2.0 * h) + 8.0 * at(h) - 8.0 * at(-h) + at(-2.0 * h)) / (12.0 * h);
        set(&mut net, k, w);
        let a = analytic[k];
        let rel = if a.abs() + fd.abs() < 1e-9 {
            (a - fd).abs()
        } else {
            (a - fd).abs() / (a.abs() + fd.abs())
        };
        worst = worst.max(rel);
    }
    worst
}

#[test]
fn backward_matches_central_differences() {
    // Running statistics must not move while differencing in evaluation mode: forward in
    // Eval never updates them, and in Train they do not enter the result.
    let bn = BnConfig::default();
    let train = max_rel_error(bn, Mode::Train);
    let eval = max_rel_error(bn, Mode::Eval);
    let drop = max_rel_error(
        BnConfig {
            dropout: Some(Dropout::new(0.3).unwrap()),
            ..bn
        },
        Mode::Train,
    );
    let plain = max_rel_error(
        BnConfig {
            batch_norm: false,
            ..bn
        },
        Mode::Train,
    );
    println!("batch norm gradient check (max relative error): train {train:.2e}, eval {eval:.2e}, train+dropout(0.3, fixed mask) {drop:.2e}, without BN {plain:.2e}");
    for e in [train, eval, drop, plain] {
        assert!(e < 1e-6, "{e}");
    }
}

#[test]
fn batch_statistics_in_training_running_statistics_in_evaluation() {
    let mut rng = microprop::rng(6);
    let cfg = BnConfig {
        momentum: 1.0, // running statistics = the last batch's
        ..BnConfig::default()
    };
    let mut net = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        cfg,
        &mut rng,
    )
    .unwrap();
    let (xs, _) = batch();
    // Training mode normalises each unit over the batch: the first hidden layer's
    // pre-activations have mean 0 and variance σ²/(σ² + ε) ≈ 1 after normalisation, so the
    // tanh outputs of a batch are spread, whatever the weights' scale.
    net.forward_batch(Mode::Train, &xs, &mut rng).unwrap();
    let (mean0, var0) = net.running_stats(0).unwrap();
    let (mean0, var0) = (*mean0, *var0);
    // With momentum 1 the running statistics are the batch's (variance unbiased).
    let mut zs = [[0.0f64; 3]; 6];
    net.visit_params_mut(&mut |off, p, _| {
        if off == 0 {
            for (s, x) in xs.iter().enumerate() {
                for j in 0..3 {
                    zs[s][j] = p[j * 2] * x[0] + p[j * 2 + 1] * x[1];
                }
            }
        }
    });
    for j in 0..3 {
        let m = zs.iter().map(|z| z[j]).sum::<f64>() / 6.0;
        let v = zs.iter().map(|z| (z[j] - m).powi(2)).sum::<f64>() / 5.0;
        assert!((mean0[j] - m).abs() < 1e-12 && (var0[j] - v).abs() < 1e-12);
    }
    // Evaluation mode on the same batch uses those statistics: predict() agrees with it.
    net.forward_batch(Mode::Eval, &xs, &mut rng).unwrap();
    net.zero_grads();
    let _ = net
        .backward_batch(Loss::CrossEntropy, &[0, 1, 1, 0, 0, 1])
        .unwrap();
    let p = net.predict(&xs[2]).unwrap();
    let mut single = net.clone();
    single
        .forward_batch(Mode::Eval, &xs[2..3], &mut rng)
        .unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
    // Training outputs depend on the batch; evaluation outputs do not.
    let a = net.predict(&xs[0]).unwrap();
    net.forward_batch(Mode::Eval, &xs[..2], &mut rng).unwrap();
    assert_eq!(net.predict(&xs[0]).unwrap(), a);
}

#[test]
fn a_training_batch_of_one_is_an_error() {
    let mut rng = microprop::rng(7);
    let mut net = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        BnConfig::default(),
        &mut rng,
    )
    .unwrap();
    let (xs, labels) = batch();
    assert_eq!(
        net.forward_batch(Mode::Train, &xs[..1], &mut rng),
        Err(Error::BatchTooSmall)
    );
    let data = microprop::Dataset::new(&xs, &labels).unwrap();
    let mut opt = Sgd::new(0.1).unwrap();
    assert_eq!(
        net.train_step(&mut opt, Loss::CrossEntropy, &data, &[3], &mut rng),
        Err(Error::BatchTooSmall)
    );
    // Evaluation of a single sample is fine, and so is training without batch norm.
    assert!(net.forward_batch(Mode::Eval, &xs[..1], &mut rng).is_ok());
    let mut plain = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        BnConfig {
            batch_norm: false,
            ..BnConfig::default()
        },
        &mut rng,
    )
    .unwrap();
    assert!(plain
        .train_step(&mut opt, Loss::CrossEntropy, &data, &[3], &mut rng)
        .is_ok());
    // Too large a batch, and bad configurations.
    let big = [[0.0f64; 2]; 9];
    assert_eq!(
        net.forward_batch(Mode::Train, &big, &mut rng),
        Err(Error::Capacity)
    );
    assert!(Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        BnConfig {
            eps: 0.0,
            ..BnConfig::default()
        },
        &mut rng
    )
    .is_err());
    assert!(Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        BnConfig {
            momentum: 0.0,
            ..BnConfig::default()
        },
        &mut rng
    )
    .is_err());
    assert!(Net::new(
        Activation::Softmax,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        BnConfig::default(),
        &mut rng
    )
    .is_err());
    assert_eq!(Net::PARAMS, (2 * 3 + 9) + 2 * (9 + 9) + (3 * 2 + 2));
}

#[test]
fn dropout_drops_in_training_only() {
    let mut rng = microprop::rng(8);
    let cfg = BnConfig {
        dropout: Some(Dropout::new(0.5).unwrap()),
        ..BnConfig::default()
    };
    let mut net = Net::new(
        Activation::Tanh,
        Activation::Softmax,
        Init::XavierNormal,
        0.0,
        cfg,
        &mut rng,
    )
    .unwrap();
    let (xs, labels) = batch();
    let train_loss = |net: &mut Net, seed| {
        net.forward_batch(Mode::Train, &xs, &mut microprop::rng(seed))
            .unwrap();
        net.zero_grads();
        net.backward_batch(Loss::CrossEntropy, &labels).unwrap()
    };
    // Different masks, different losses; the same mask, the same loss.
    let (a, b, c) = (
        train_loss(&mut net, 1),
        train_loss(&mut net, 2),
        train_loss(&mut net, 1),
    );
    assert_ne!(a, b);
    assert_eq!(a, c);
    // Evaluation ignores the generator.
    let e1 = {
        net.forward_batch(Mode::Eval, &xs, &mut microprop::rng(1))
            .unwrap();
        net.zero_grads();
        net.backward_batch(Loss::CrossEntropy, &labels).unwrap()
    };
    let e2 = {
        net.forward_batch(Mode::Eval, &xs, &mut microprop::rng(2))
            .unwrap();
        net.zero_grads();
        net.backward_batch(Loss::CrossEntropy, &labels).unwrap()
    };
    assert_eq!(e1, e2);
    // Dropout nets still train: 2 clusters to ≥ 90 % in 20 epochs.
    let mut rng = microprop::rng(9);
    let (mut x, mut l) = ([[0.0f64; 2]; 64], [0u8; 64]);
    microprop::data::Clusters::two(0.5)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = microprop::Dataset::new(&x, &l).unwrap();
    let mut order = [0u16; 64];
    microprop::train::fill_order(&mut order).unwrap();
    let mut opt = Sgd::new(0.2).unwrap();
    for _ in 0..20 {
        net.epoch(&mut opt, Loss::CrossEntropy, &data, &mut order, &mut rng)
            .unwrap();
    }
    let m = net.evaluate(Loss::CrossEntropy, &data).unwrap();
    println!("BnNet with dropout 0.5 on two clusters after 20 epochs: {m:?}");
    assert!(m.accuracy >= 0.9);
}
