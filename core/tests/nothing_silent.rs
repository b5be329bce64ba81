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

/// `N` samples of two clusters (σ 0.7) drawn from `rng`, every coordinate times `scale`.
fn scaled_clusters<const N: usize>(
    rng: &mut microprop::DefaultRng,
    scale: f32,
) -> ([[f32; 2]; N], [u8; N]) {
    let (mut x, mut l) = ([[0.0f32; 2]; N], [0u8; N]);
    Clusters::two(0.7).generate(rng, &mut x, &mut l).unwrap();
    (x.map(|r| r.map(|v| v * scale)), l)
}

/// Every weight, bias, running statistic and optimizer-state value of `model` and `opt`.
fn everything<T: Model<Scalar = f32>>(model: &T, opt: &dyn Optimizer<f32>) -> Vec<u32> {
    let mut all = Vec::new();
    model.visit_layers(|l| {
        all.extend(l.w.iter().chain(l.b).chain(l.state).map(|v| v.to_bits()));
    });
    all.extend(opt.state().iter().map(|v| v.to_bits()));
    all
}

/// The oracle of a training step: `Ok` leaves every value finite; an error leaves every
/// value bit-identical. Returns whether the step was accepted.
fn step_keeps_the_oracle<T: Model<Scalar = f32>, O: Optimizer<f32>>(
    model: &mut T,
    opt: &mut O,
    trainer: &mut Trainer,
    data: &Dataset<'_, f32>,
    indices: &[u16],
    what: &str,
) -> Result<f32, microprop::Error> {
    let before = everything(model, opt);
    let result = trainer.step(model, opt, data, indices, &mut microprop::rng(1));
    let after = everything(model, opt);
    match result {
        Ok(loss) => assert!(
            after.iter().all(|&b| f32::from_bits(b).is_finite()) && loss.is_finite(),
            "{what}: an accepted step left a non-finite value"
        ),
        Err(e) => assert_eq!(before, after, "{what}: refused ({e}) but changed"),
    }
    result
}

/// Issue 10's reproduction: a 2→1 identity net, MSE, x = (10, 10), label 1, SGD with
/// η = 1e38 returned `Ok(0.5)` with weights `[inf, inf, 1e38]`, online and in a batch of
/// two. The gradients are finite; the update is not.
#[test]
fn a_step_whose_update_overflows_is_refused_with_nothing_changed() {
    use microprop::{Error, Sgd};
    let x = [[10.0f32, 10.0], [10.0, 10.0]];
    let data = Dataset::new(&x, &[1, 1]).unwrap();
    for batch in [1usize, 2] {
        let net = <mlp![f32; 2, 1]>::zeroed(Activation::Identity, Activation::Identity).unwrap();
        let mut model = net.into_training();
        let mut trainer = Trainer::new(Loss::Mse, batch).unwrap();
        let mut opt = Sgd::new(1e38).unwrap();
        let idx = &[0u16, 1][..batch];
        let what = format!("batch {batch}");
        let result = step_keeps_the_oracle(&mut model, &mut opt, &mut trainer, &data, idx, &what);
        assert_eq!(result, Err(Error::NonFiniteUpdate), "{what}");
        assert_eq!(trainer.steps(), 0, "{what}: a refused step is not counted");
        // A rate the weights can take is accepted from the same state.
        opt.set_learning_rate(0.001).unwrap();
        assert_eq!(
            step_keeps_the_oracle(&mut model, &mut opt, &mut trainer, &data, idx, &what),
            Ok(0.5)
        );
    }
}

/// Squared gradients beyond f32's range (inputs ~1e20): Adam, AdaGrad and RMSProp used to
/// accept the step with `inf` in their second moments, which froze the weight for good and
/// made the model file unloadable. Now the step is refused, and a smaller input trains.
#[test]
fn second_moments_that_would_overflow_refuse_the_step() {
    use microprop::{AdaGrad, AdaGradConfig, Error, RmsProp, RmsPropConfig};
    fn run<O: Optimizer<f32>>(mut opt: O, name: &str) {
        for (scale, batch) in [(1e20f32, 1usize), (1e20, 2), (3e19, 1)] {
            let x = [[scale, -scale], [scale, scale]];
            let data = Dataset::new(&x, &[1, 0]).unwrap();
            let net =
                <mlp![f32; 2, 1]>::zeroed(Activation::Identity, Activation::Identity).unwrap();
            let mut model = net.into_training();
            let mut trainer = Trainer::new(Loss::Mse, batch).unwrap();
            let idx = &[0u16, 1][..batch];
            let what = format!("{name}, x ~ {scale:e}, batch {batch}");
            let result =
                step_keeps_the_oracle(&mut model, &mut opt, &mut trainer, &data, idx, &what);
            assert_eq!(result, Err(Error::NonFiniteUpdate), "{what}");
        }
        let x = [[1e3f32, -1e3], [1e3, 1e3]];
        let data = Dataset::new(&x, &[1, 0]).unwrap();
        let net = <mlp![f32; 2, 1]>::zeroed(Activation::Identity, Activation::Identity).unwrap();
        let mut model = net.into_training();
        let mut trainer = Trainer::new(Loss::Mse, 2).unwrap();
        let result =
            step_keeps_the_oracle(&mut model, &mut opt, &mut trainer, &data, &[0, 1], name);
        assert!(result.is_ok(), "{name}: {result:?}");
    }
    let p = <mlp![f32; 2, 1]>::PARAMS;
    run(adam(p), "adam");
    run(
        AdaGrad::<f32, _>::new(AdaGradConfig::default(), vec![0.0; p]).unwrap(),
        "adagrad",
    );
    run(
        RmsProp::<f32, _>::new(RmsPropConfig::default(), vec![0.0; p]).unwrap(),
        "rmsprop",
    );
}

/// Batch norm's running variance of inputs ~1e20 is beyond f32's range (the simulator's
/// `train --spread 1e20` saved it as `inf`, and the file did not load): the step is refused.
#[test]
fn running_statistics_that_would_overflow_refuse_the_step() {
    use microprop::{layers, Error, Sgd};
    type Bn = layers![f32; 2 => batch_norm, dense 1];
    let x = [[1e20f32, -1e20], [-1e20, 1e20], [3e19, 0.0], [0.0, 1.0]];
    let data = Dataset::new(&x, &[1, 0, 1, 0]).unwrap();
    let net = Bn::new(
        Activation::Identity,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut microprop::rng(2),
    )
    .unwrap();
    let mut model = net.into_batched::<4>();
    let mut trainer = Trainer::new(Loss::Mse, 4).unwrap();
    let mut opt = Sgd::new(0.1).unwrap();
    let result = step_keeps_the_oracle(
        &mut model,
        &mut opt,
        &mut trainer,
        &data,
        &[0, 1, 2, 3],
        "batch norm at 1e20",
    );
    assert_eq!(result, Err(Error::NonFiniteUpdate));
    // The same net on data it can hold trains.
    let x = [[1e3f32, -1e3], [-1e3, 1e3], [3e2, 0.0], [0.0, 1.0]];
    let data = Dataset::new(&x, &[1, 0, 1, 0]).unwrap();
    let result = step_keeps_the_oracle(
        &mut model,
        &mut opt,
        &mut trainer,
        &data,
        &[0, 1, 2, 3],
        "1e3",
    );
    assert!(result.is_ok(), "{result:?}");
}

/// The oracle over a sweep of every optimizer, input scales from 1 to 3e38 and learning
/// rates from 1e-3 to 1e38, online and in batches, a hidden layer included: whatever the
/// outcome, an accepted step leaves everything finite and a refused one changes nothing.
/// Some steps of each optimizer must be refused and some accepted, or the sweep proves
/// nothing.
#[test]
fn no_step_of_any_optimizer_is_accepted_with_a_non_finite_result() {
    use microprop::{
        AdaGrad, AdaGradConfig, AdamW, AdamWConfig, Momentum, MomentumConfig, Nesterov, RmsProp,
        RmsPropConfig, Sgd,
    };
    type Net = mlp![f32; 2, 4, 1];
    const P: usize = Net::PARAMS;
    fn sweep<O: Optimizer<f32>>(name: &str, make: impl Fn(f32) -> O) {
        let (mut accepted, mut refused) = (0u32, 0u32);
        for lr in [1e-3f32, 1.0, 1e20, 1e38] {
            for scale in [1.0f32, 1e10, 1e19, 1e30, 3e38] {
                for (batch, seed) in [(1usize, 3u64), (2, 4), (4, 5)] {
                    let mut rng = microprop::rng(seed);
                    let (x, l) = scaled_clusters::<8>(&mut rng, scale);
                    let data = Dataset::new(&x, &l).unwrap();
                    let net = Net::new(
                        Activation::LeakyRelu(0.1),
                        Activation::Identity,
                        Init::XavierNormal,
                        0.0,
                        &mut rng,
                    )
                    .unwrap();
                    let mut model = net.into_training();
                    let mut trainer = Trainer::new(Loss::Mse, batch).unwrap();
                    let mut opt = make(lr);
                    for s in 0..4 {
                        let idx: Vec<u16> =
                            (0..batch).map(|i| ((s * batch + i) % 8) as u16).collect();
                        let what = format!("{name} lr {lr:e} x ~ {scale:e} batch {batch} step {s}");
                        let before = everything(&model, &opt);
                        let result = trainer.step(&mut model, &mut opt, &data, &idx, &mut rng);
                        let after = everything(&model, &opt);
                        match result {
                            Ok(_) => {
                                accepted += 1;
                                assert!(
                                    after.iter().all(|&b| f32::from_bits(b).is_finite()),
                                    "{what}: accepted with a non-finite value"
                                );
                            }
                            Err(e) => {
                                refused += 1;
                                assert_eq!(before, after, "{what}: refused ({e}) but changed");
                            }
                        }
                    }
                }
            }
        }
        println!("{name}: {accepted} steps accepted, every value finite; {refused} refused, nothing changed");
        assert!(
            accepted > 0 && refused > 0,
            "{name}: {accepted} accepted, {refused} refused"
        );
    }
    let m = |lr| MomentumConfig { lr, momentum: 0.9 };
    let a = |lr| AdamConfig {
        lr,
        ..AdamConfig::default()
    };
    sweep("sgd", |lr| Sgd::new(lr).unwrap());
    sweep("momentum", |lr| Momentum::new(m(lr), vec![0.0; P]).unwrap());
    sweep("nesterov", |lr| Nesterov::new(m(lr), vec![0.0; P]).unwrap());
    sweep("adagrad", |lr| {
        let c = AdaGradConfig {
            lr,
            ..AdaGradConfig::default()
        };
        AdaGrad::<f32, _>::new(c, vec![0.0; P]).unwrap()
    });
    sweep("rmsprop", |lr| {
        let c = RmsPropConfig {
            lr,
            ..RmsPropConfig::default()
        };
        RmsProp::<f32, _>::new(c, vec![0.0; P]).unwrap()
    });
    sweep("adam", |lr| {
        Adam::<f32, _>::new(a(lr), vec![0.0; 2 * P]).unwrap()
    });
    sweep("adamw", |lr| {
        let c = AdamWConfig {
            adam: a(lr),
            weight_decay: 0.5 / lr.max(1.0),
        };
        AdamW::<f32, _>::new(c, vec![0.0; 2 * P]).unwrap()
    });
}

/// SGD's online check answers exactly at the edge of the range, where its cheap bound
/// gives up: a weight at 0.9 · MAX takes a step that keeps it finite, and is refused one
/// that does not.
#[test]
fn sgd_accepts_exactly_at_the_edge_of_the_range() {
    use microprop::Sgd;
    let opt = Sgd::new(1.0f32).unwrap();
    let big = 0.9 * f32::MAX;
    let w = [big, 1.0, -big, 2.0];
    // g = δ_o · x_i; w − g per element.
    for (delta, x, ok) in [
        ([1.0f32, 1.0], [1.0f32, 1.0], true),
        ([-1e38, 1.0], [1.0, 1.0], false),
        ([1.0, 1e38], [1.0, 1.0], false),
        ([1.0, -1e38], [1.0, 0.0], true),
        ([f32::NAN, 0.0], [1.0, 1.0], false),
    ] {
        let exact = w.chunks(2).zip(delta).all(|(row, d)| {
            row.iter()
                .zip(x)
                .all(|(&w, x)| (w - 1.0 * (d * x)).is_finite())
        });
        assert_eq!(exact, ok, "{delta:?} {x:?}");
        assert_eq!(
            opt.accepts_outer(4, 0, &w, &delta, &x),
            ok,
            "{delta:?} {x:?}"
        );
    }
    let small = [0.5f32, -0.25, 3.0, 1e-3];
    assert!(opt.accepts_outer(4, 0, &small, &[1.0, -2.0], &[0.5, 0.25]));
    assert!(!opt.accepts_outer(4, 0, &small, &[3e38, -2.0], &[2.0, 0.25]));
}

/// Online SGD steps prove themselves finite from a bound on the weights that the model
/// keeps between steps instead of evaluating every update. The bound must hold after every
/// step (over seeds, nets, learning rates up to where steps are refused), and anything that
/// writes the weights other than a step must drop it.
#[test]
fn the_online_weight_bound_holds_and_every_other_write_drops_it() {
    use microprop::{format, Sgd};
    type Net = mlp![f32; 2, 8, 8, 1];
    fn max_abs<T: Model<Scalar = f32>>(m: &T) -> f32 {
        let mut max = 0.0f32;
        m.visit_layers(|l| l.w.iter().chain(l.b).for_each(|v| max = max.max(v.abs())));
        max
    }
    let (mut proven, mut refused) = (0u32, 0u32);
    for (seed, lr, scale) in [
        (1u64, 0.01f32, 1.0f32),
        (2, 0.3, 1.0),
        (3, 1e-12, 1e6),
        (4, 1e30, 1e4),
    ] {
        let mut rng = microprop::rng(seed);
        let (x, l) = scaled_clusters::<64>(&mut rng, scale);
        let data = Dataset::new(&x, &l).unwrap();
        let net = Net::new(
            Activation::LeakyRelu(0.1),
            Activation::Identity,
            Init::XavierNormal,
            0.0,
            &mut rng,
        )
        .unwrap();
        let mut model = net.into_training();
        assert_eq!(model.weight_bound(), None);
        let mut trainer = Trainer::new(Loss::Mse, 1).unwrap();
        let mut opt = Sgd::new(lr).unwrap();
        for i in 0..500u16 {
            let what = format!("seed {seed} lr {lr:e} step {i}");
            let r =
                step_keeps_the_oracle(&mut model, &mut opt, &mut trainer, &data, &[i % 64], &what);
            match (r, model.weight_bound()) {
                (Ok(_), Some(bound)) => {
                    proven += 1;
                    assert!(
                        bound >= max_abs(&model),
                        "{what}: {bound} < {}",
                        max_abs(&model)
                    );
                }
                (Ok(_), None) => panic!("{what}: an accepted SGD step measures the weights"),
                (Err(_), _) => refused += 1,
            }
        }
        // Every other way in to the weights drops the bound.
        model.network_mut();
        assert_eq!(model.weight_bound(), None, "network_mut");
        trainer
            .step(&mut model, &mut opt, &data, &[0], &mut rng)
            .ok();
        model.visit_layers_mut(|_| {});
        assert_eq!(model.weight_bound(), None, "visit_layers_mut");
        trainer
            .step(&mut model, &mut opt, &data, &[1], &mut rng)
            .ok();
        let mut buf = vec![0u8; format::model_len(&model, None)];
        let n = format::save_model(&model, &format::Extras::none(), &mut buf).unwrap();
        format::load_model(&buf[..n], &mut model, format::Targets::none()).unwrap();
        assert_eq!(model.weight_bound(), None, "load");
    }
    assert!(
        proven > 1000 && refused > 0,
        "{proven} proven, {refused} refused"
    );
}
