//! The notes' instruments: loss slices, update/weight ratios, activation statistics,
//! dead ReLUs and gradient sign agreement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::Clusters,
    diagnostics::{self, ActivationStats, Axis, Param, SignAgreement, SliceGrad},
    layer::{Grads, Pass},
    mlp, train, Activation, Dataset, Init, Loss, Model, Sgd, Trainer,
};

type Net2 = mlp![f64; 2, 2, 2, 1];

fn clusters(n: usize, seed: u64) -> (Vec<[f64; 2]>, Vec<u8>) {
    let mut rng = microprop::rng(seed);
    let (mut x, mut l) = (vec![[0.0; 2]; n], vec![0u8; n]);
    Clusters::two(0.5)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    (x, l)
}

#[test]
fn loss_slice_matches_direct_evaluation_and_finite_differences() {
    let (x, l) = clusters(40, 1);
    let data = Dataset::new(&x, &l).unwrap();
    let mut rng = microprop::rng(2);
    let net = Net2::new(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap();
    let mut model = net.into_training();
    let hash = model.weights_hash();
    let (p0, p1) = (Param::weight(0, 0, 0), Param::weight(0, 1, 0));
    let ax = Axis {
        param: p0,
        from: -2.0,
        to: 2.0,
        steps: 5,
    };
    let ay = Axis {
        param: p1,
        from: -1.0,
        to: 3.0,
        steps: 3,
    };
    let mut losses = [0.0f64; 15];
    let mut grads = [0.0f64; 15];
    diagnostics::loss_slice(
        &mut model,
        Loss::Mse,
        &data,
        ax,
        ay,
        SliceGrad::Swept,
        &mut losses,
        &mut grads,
    )
    .unwrap();
    // Every other parameter, and the swept ones, are back where they were.
    assert_eq!(model.weights_hash(), hash);

    // Point (i=3, j=2) = (w00 = 1.0, w10 = 3.0), evaluated directly.
    let mut probe = model.clone();
    p0.set(&mut probe, 1.0).unwrap();
    p1.set(&mut probe, 3.0).unwrap();
    let direct = train::evaluate(&mut probe, Loss::Mse, &data).unwrap();
    let k = 2 * 5 + 3;
    assert!((losses[k] - direct.loss).abs() < 1e-6);

    // The swept gradient norm equals the central-difference gradient of the mean loss.
    let h = 1e-6;
    let mean_loss = |m: &mut _, a: f64, b: f64| {
        p0.set(m, a).unwrap();
        p1.set(m, b).unwrap();
        diagnostics::loss_and_gradients(m, Loss::Mse, &data).unwrap()
    };
    let gx =
        (mean_loss(&mut probe, 1.0 + h, 3.0) - mean_loss(&mut probe, 1.0 - h, 3.0)) / (2.0 * h);
    let gy =
        (mean_loss(&mut probe, 1.0, 3.0 + h) - mean_loss(&mut probe, 1.0, 3.0 - h)) / (2.0 * h);
    let fd = (gx * gx + gy * gy).sqrt();
    assert!(
        (grads[k] - fd).abs() < 1e-6 * fd.max(1e-3),
        "{} vs {fd}",
        grads[k]
    );

    // The whole-gradient norm is at least the swept one.
    let mut all = [0.0f64; 15];
    diagnostics::loss_slice(
        &mut model,
        Loss::Mse,
        &data,
        ax,
        ay,
        SliceGrad::All,
        &mut losses,
        &mut all,
    )
    .unwrap();
    assert!(all.iter().zip(&grads).all(|(a, s)| *a >= *s - 1e-12));
    assert!(all.iter().zip(&grads).any(|(a, s)| *a > *s));

    // Wrong buffer length and an unknown parameter are errors, and restore the model.
    let mut short = [0.0f64; 14];
    assert!(diagnostics::loss_slice(
        &mut model,
        Loss::Mse,
        &data,
        ax,
        ay,
        SliceGrad::Swept,
        &mut short,
        &mut grads
    )
    .is_err());
    let bad = Axis {
        param: Param::weight(7, 0, 0),
        ..ax
    };
    assert!(diagnostics::loss_slice(
        &mut model,
        Loss::Mse,
        &data,
        bad,
        ay,
        SliceGrad::Swept,
        &mut losses,
        &mut grads
    )
    .is_err());
    assert_eq!(model.weights_hash(), hash);
}

#[test]
fn update_ratio_is_lr_times_gradient_over_weight_for_sgd() {
    let (x, l) = clusters(32, 3);
    let data = Dataset::new(&x, &l).unwrap();
    let mut rng = microprop::rng(4);
    let mut model = Net2::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    // Expected: lr · ‖mean ∂L/∂W‖ / ‖W‖ per layer.
    diagnostics::loss_and_gradients(&mut model, Loss::Mse, &data).unwrap();
    let lr = 0.05;
    let mut expected = [0.0f64; 3];
    let mut i = 0;
    model.visit_layers(|l| {
        let g: f64 = l.gw.iter().map(|g| g.powi(2)).sum::<f64>().sqrt();
        let w: f64 = l.w.iter().map(|w| w * w).sum::<f64>().sqrt();
        expected[i] = lr * g / w;
        i += 1;
    });
    model.zero_grads();
    let mut before = vec![0.0f64; Net2::PARAMS];
    diagnostics::snapshot(&model, &mut before).unwrap();
    let mut opt = Sgd::new(lr).unwrap();
    let mut trainer = Trainer::new(Loss::Mse, 32).unwrap();
    let idx: Vec<u16> = (0..32).collect();
    trainer
        .step(&mut model, &mut opt, &data, &idx, &mut microprop::rng(0))
        .unwrap();
    let mut ratios = [0.0f64; 3];
    assert_eq!(
        diagnostics::update_ratios(&model, &before, &mut ratios).unwrap(),
        3
    );
    for (r, e) in ratios.iter().zip(&expected) {
        assert!((r - e).abs() < 1e-9 * e.max(1e-12), "{r} vs {e}");
    }
    assert!(diagnostics::update_ratios(&model, &before[1..], &mut ratios).is_err());
}

#[test]
fn activation_stats_dead_units_and_sign_agreement() {
    let x = vec![[0.5f64, -0.25], [1.0, 2.0], [-1.0, 0.0]];
    let l = vec![0u8, 1, 0];
    let data = Dataset::new(&x, &l).unwrap();
    type Relu = mlp![f64; 2, 3, 1];
    let mut net = Relu::zeroed(Activation::Relu, Activation::Sigmoid).unwrap();
    // Neuron 0: a = relu(x0), neuron 1: a = relu(-10 - x0) = 0 always (dead), neuron 2: a = relu(x1).
    net.visit_mut(|l| {
        if l.index == 0 {
            l.w.copy_from_slice(&[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
            l.b.copy_from_slice(&[0.0, -10.0, 0.0]);
        } else {
            l.w.copy_from_slice(&[1.0, 1.0, 1.0]);
        }
    });
    let mut model = net.into_training();
    let mut stats = [ActivationStats::default(); 4];
    assert_eq!(
        diagnostics::activation_stats(&mut model, &data, &mut stats).unwrap(),
        2
    );
    // Layer 0 activations: [0.5,0,0], [1,0,2], [0,0,0] → mean 3.5/9, E[a²] = 5.25/9.
    let mean: f64 = 3.5 / 9.0;
    let std = (5.25 / 9.0 - mean * mean).sqrt();
    assert!((stats[0].mean - mean).abs() < 1e-12 && (stats[0].std - std).abs() < 1e-12);
    assert_eq!(stats[0].saturated, 0.0);
    // Output: σ(0.5), σ(3), σ(0): none within 1e-2 of 0 or 1.
    assert_eq!(stats[1].saturated, 0.0);
    assert_eq!(stats[2], ActivationStats::default());

    let mut alive = [false; 3];
    let mut per_layer = [0.0; 2];
    let dead = diagnostics::dead_units(&mut model, &data, &mut alive, &mut per_layer).unwrap();
    assert_eq!((dead.dead, dead.units), (1, 3));
    assert!((per_layer[0] - 1.0 / 3.0).abs() < 1e-12);
    assert!(diagnostics::dead_units(&mut model, &data, &mut alive[..2], &mut per_layer).is_err());

    // Sign agreement: sample [1, 2] (all positive) gives same-sign gradients on neuron 0.
    let sample = |model: &mut _, x: [f64; 2]| {
        let (xs, labels) = ([x], [0u8]);
        let data = Dataset::new(&xs, &labels).unwrap();
        let (pass, grads) = (&mut Pass::probe(), Some(Grads::Overwrite));
        train::walk(model, Some(Loss::Mse), &data, &[0], pass, grads).unwrap();
    };
    let mut agree = SignAgreement::new(0, 2);
    sample(&mut model, [1.0, 2.0]);
    assert_eq!(agree.observe(&model).unwrap(), Some(true));
    sample(&mut model, [1.0, -2.0]);
    // Neuron 0 (z = x0 = 1 > 0) is active; its input gradients have signs of (1, -2).
    let mut agree0 = SignAgreement::new(0, 0);
    assert_eq!(agree0.observe(&model).unwrap(), Some(false));
    model.zero_grads();
    assert_eq!(agree.observe(&model).unwrap(), None);
    assert_eq!((agree.steps(), agree.agreeing()), (1, 1));
    assert!(SignAgreement::new(5, 0).observe(&model).is_err());
}
