//! Issue 10's reproductions of silent failures, one test each (each failed before its fix):
//! loss values that lose precision or turn NaN for finite logits, and a step count that
//! restores in time proportional to its value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use microprop::{
    data::Clusters, mlp, Activation, Adam, AdamConfig, Dataset, Init, Libm, Loss, Model, Optimizer,
    Trainer,
};

/// Softmax cross-entropy's value and its δ, from logits (identity output).
fn cross_entropy(z: [f32; 3], label: usize) -> (f32, f32, [f32; 3]) {
    let mut y = [0.0f32; 3];
    y[label] = 1.0;
    let value = Loss::CrossEntropy.value::<f32, Libm>(&z, &z, &y);
    let mut delta = z;
    let with_delta =
        Loss::CrossEntropy.loss_and_delta::<f32, Libm>(Activation::Identity, &mut delta, &z, &y);
    (value, with_delta, delta)
}

/// The reference in f64: `(max − z_label) + ln Σ exp(z − max)`.
fn reference(z: [f64; 3], label: usize) -> f64 {
    let max = z.iter().copied().fold(f64::MIN, f64::max);
    (max - z[label]) + z.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

#[test]
fn cross_entropy_keeps_its_precision_at_large_logits() {
    // Logits around 2e5: ulp(2e5) in f32 is 1/64, which `y·((max + ln Σ) − z)` loses.
    for (z, label) in [
        ([2e5f32, 2e5 + 1.0, 2e5 - 3.0], 2),
        ([-1e6, -1e6 + 2.0, -1e6 + 0.5], 0),
        ([3e4, 3e4, 3e4 + 8.0], 1),
    ] {
        let want = reference(z.map(f64::from), label);
        let (value, with_delta, _) = cross_entropy(z, label);
        for got in [value, with_delta] {
            assert!(
                (f64::from(got) - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want.abs(),
                "{z:?}, label {label}: {got} against {want}"
            );
        }
    }
}

#[test]
fn cross_entropy_is_finite_for_finite_logits_whatever_the_other_classes() {
    // Class 1 has y = 0 and a logit so far below the max that `max − z` overflows.
    let (value, with_delta, delta) = cross_entropy([3e38, -3e38, 1.0], 0);
    assert_eq!((value, with_delta), (0.0, 0.0));
    assert_eq!(delta, [0.0, 0.0, 0.0]);
    // The loss of a class far below the max is as large as it is: 3e38 for class 2, and
    // for class 1 more than f32 holds (+∞ is that value, not a NaN).
    let (value, _, _) = cross_entropy([3e38, -3e38, 1.0], 2);
    assert_eq!(value, 3e38);
    let (value, _, _) = cross_entropy([3e38, -3e38, 1.0], 1);
    assert!(value.is_infinite() && value > 0.0, "{value}");
}

type Small = mlp![f32; 2, 3, 1];

fn adam(params: usize) -> Adam<f32, Vec<f32>> {
    let cfg = AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    };
    Adam::new(cfg, vec![0.0; 2 * params]).unwrap()
}

/// Restoring a step count takes bounded time (a crafted file's progress field can hold
/// `u32::MAX`), and it restores β₁ᵗ and β₂ᵗ bit for bit as the steps themselves did, also
/// past the point where they underflow to 0.
#[test]
fn restoring_adams_step_count_is_fast_and_exact() {
    let mut opt = adam(Small::PARAMS);
    let t = Instant::now();
    opt.set_steps(u32::MAX);
    assert_eq!(opt.steps(), u32::MAX);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "set_steps(u32::MAX) took {:?}",
        t.elapsed()
    );

    let mut rng = microprop::rng(5);
    let (mut x, mut l) = ([[0.0f32; 2]; 32], [0u8; 32]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    // Past 1.1e5 steps, β₂ᵗ = 0.999ᵗ is 0 in f32.
    for steps in [37usize, 120_000] {
        let net = Small::new(
            Activation::Tanh,
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            &mut microprop::rng(6),
        )
        .unwrap();
        let mut model = net.into_training();
        let mut trainer = Trainer::new(Loss::Mse, 1).unwrap();
        let mut opt = adam(Small::PARAMS);
        for i in 0..steps {
            let idx = [(i % data.len()) as u16];
            trainer
                .step(&mut model, &mut opt, &data, &idx, &mut rng)
                .unwrap();
        }
        // A restored copy of the optimizer: its moments and its step count.
        let mut restored = adam(Small::PARAMS);
        restored.state_mut().copy_from_slice(opt.state());
        restored.set_steps(opt.steps());
        let mut copy = model.clone();
        let idx = [3u16];
        trainer
            .step(&mut model, &mut opt, &data, &idx, &mut microprop::rng(9))
            .unwrap();
        trainer
            .step(
                &mut copy,
                &mut restored,
                &data,
                &idx,
                &mut microprop::rng(9),
            )
            .unwrap();
        assert_eq!(
            model.weights_hash(),
            copy.weights_hash(),
            "after {steps} steps"
        );
        assert_eq!(opt.state(), restored.state(), "after {steps} steps");
    }
}

/// Every learning rate is checked in the network's scalar type, wherever it comes from: a
/// setter, a schedule (which computes in `f64`), AdamW's decay. A refused rate changes
/// nothing.
#[test]
fn learning_rates_are_checked_in_the_scalar_type() {
    use microprop::{
        schedule::{Decay, Schedule},
        AdamW, AdamWConfig, Error, Sgd,
    };
    let mut sgd = Sgd::<f32>::new(0.1).unwrap();
    for bad in [f32::NAN, f32::INFINITY, 0.0, -1.0] {
        assert!(
            matches!(
                sgd.set_learning_rate(bad),
                Err(Error::InvalidHyperParameter(_))
            ),
            "{bad}"
        );
        assert_eq!(sgd.learning_rate(), 0.1);
    }
    sgd.set_learning_rate(0.05).unwrap();
    assert_eq!(sgd.learning_rate(), 0.05);

    // 1e39 is finite in f64, infinite in f32; 1e-50 is 0 in f32.
    let mut rng = microprop::rng(3);
    let (mut x, mut l) = ([[0.0f32; 2]; 16], [0u8; 16]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    for lr in [1e39, 1e-50] {
        let schedule = Schedule::new(lr, Decay::Constant).unwrap();
        assert!(schedule.apply(&mut sgd, 0).is_err(), "{lr}");
        assert_eq!(sgd.learning_rate(), 0.05);
        let net = Small::new(
            Activation::Tanh,
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            &mut microprop::rng(4),
        )
        .unwrap();
        let mut model = net.into_training();
        let before = model.weights_hash();
        let mut trainer = Trainer::new(Loss::Mse, 4).unwrap();
        let mut order = [0u16; 16];
        microprop::train::fill_order(&mut order).unwrap();
        let r = schedule.epoch(
            &mut trainer,
            &mut model,
            &mut sgd,
            &data,
            &mut order,
            &mut rng,
        );
        assert!(
            matches!(r, Err(Error::InvalidHyperParameter(_))),
            "{lr}: {r:?}"
        );
        assert_eq!(model.weights_hash(), before, "{lr}: no step was taken");
    }

    // AdamW's decay per step, η·λ, may not exceed 1 (3e38 × 1e-3 would blow the weights up).
    let cfg = |lr: f32, weight_decay: f32| AdamWConfig {
        adam: AdamConfig {
            lr,
            ..AdamConfig::default()
        },
        weight_decay,
    };
    assert!(AdamW::<f32, Vec<f32>>::new(cfg(1e-3, 3e38), vec![0.0; 2 * Small::PARAMS]).is_err());
    let mut adamw =
        AdamW::<f32, Vec<f32>>::new(cfg(1e-3, 100.0), vec![0.0; 2 * Small::PARAMS]).unwrap();
    assert!(adamw.set_learning_rate(0.5).is_err());
    assert_eq!(adamw.learning_rate(), 1e-3);
    adamw.set_learning_rate(0.01).unwrap();
}

/// Issue 10: inference on a finite input that overflows inside the network answered `[inf]`
/// (identity output), or — where a ReLU turned the NaN of `∞ − ∞` into 0 — a plausible 0.5.
/// Both are [`Error::NonFiniteOutput`](microprop::Error::NonFiniteOutput).
#[test]
fn inference_that_overflows_is_an_error_not_a_plausible_answer() {
    use microprop::Error;
    let mut identity =
        <mlp![f32; 2, 1]>::zeroed(Activation::Identity, Activation::Identity).unwrap();
    identity.visit_mut(|l| l.w.fill(1.0));
    assert_eq!(identity.predict(&[1.0, 2.0]).unwrap(), [3.0]);
    assert_eq!(identity.predict(&[3e38, 3e38]), Err(Error::NonFiniteOutput));

    let mut relu = <mlp![f32; 2, 2, 2, 1]>::zeroed(Activation::Relu, Activation::Sigmoid).unwrap();
    relu.visit_mut(|l| match l.index {
        // Both hidden units overflow to +∞, then +∞ − ∞ = NaN, which ReLU maps to 0.
        0 => l.w.fill(1.0),
        1 => l.w.copy_from_slice(&[1.0, -1.0, 1.0, -1.0]),
        _ => l.w.fill(1.0),
    });
    assert!(relu.predict(&[0.5, 0.5]).unwrap()[0].is_finite());
    assert_eq!(relu.predict(&[3e38, 3e38]), Err(Error::NonFiniteOutput));
    let mut out = [0.0f32];
    assert_eq!(
        relu.predict_slice(&[3e38, 3e38], &mut out),
        Err(Error::NonFiniteOutput)
    );
}
