//! Schedules, regularisation (L2, clipping, dropout kernel), babysitting checks, random
//! search and PCA whitening.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    babysit::{self, DivergenceGuard},
    data::{self, Clusters},
    diagnostics::{self, Param},
    mlp,
    regularization::{self, Regularization},
    schedule::{Decay, Schedule},
    search::{Goal, LogRange, RandomSearch, Trial},
    train, Activation, Adam, AdamConfig, Dataset, Error, Init, Loss, Model, Optimizer,
    PcaWhitening, Sgd, Trainer,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn schedules_give_the_hand_computed_rates() {
    let s = Schedule::constant(0.1).unwrap();
    assert_eq!((s.lr(0), s.lr(1000)), (0.1, 0.1));
    // Step: 0.1 · 0.5^⌊t/10⌋.
    let s = Schedule::new(
        0.1,
        Decay::Step {
            every: 10,
            gamma: 0.5,
        },
    )
    .unwrap();
    assert!(
        close(s.lr(9), 0.1, 1e-15) && close(s.lr(10), 0.05, 1e-15) && close(s.lr(25), 0.025, 1e-15)
    );
    // Exponential: 0.1 · 0.9^t.
    let s = Schedule::new(0.1, Decay::Exponential { gamma: 0.9 }).unwrap();
    assert!(close(s.lr(2), 0.081, 1e-15));
    // Cosine over 100 steps to 0: half-way is half the rate, then it stays at the minimum.
    let s = Schedule::new(
        0.1,
        Decay::Cosine {
            steps: 100,
            min_lr: 0.0,
        },
    )
    .unwrap();
    assert!(close(s.lr(0), 0.1, 1e-15) && close(s.lr(50), 0.05, 1e-15));
    assert!(s.lr(100).abs() < 1e-15 && s.lr(500).abs() < 1e-15);
    // cos(π/4): 0.05·(1 + √½).
    assert!(close(s.lr(25), 0.05 * (1.0 + 0.5f64.sqrt()), 1e-14));
    // Linear warm-up (10 steps) then cosine: 0.01, 0.02, … 0.1, then the cosine from t = 0.
    let w = s.with_warmup(10).unwrap();
    assert!(
        close(w.lr(0), 0.01, 1e-15) && close(w.lr(4), 0.05, 1e-15) && close(w.lr(9), 0.1, 1e-15)
    );
    assert!(close(w.lr(10), 0.1, 1e-15) && close(w.lr(60), 0.05, 1e-15));
    // Rates never increase after warm-up.
    assert!((10..300).all(|t| w.lr(t + 1) <= w.lr(t)));
    // Applying sets the optimizer's rate.
    let mut opt = Sgd::new(1.0f32).unwrap();
    w.apply(&mut opt, 4).unwrap();
    assert_eq!(opt.learning_rate(), 0.05f32);
    // Per-step scheduling inside an epoch: after 2 epochs of 4 steps the rate is the one
    // of step 7, and training with a schedule differs from training without.
    type Net = mlp![f32; 2, 4, 1];
    let mut rng = microprop::rng(17);
    let (mut x, mut l) = ([[0.0f32; 2]; 32], [0u8; 32]);
    Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let fresh = Net::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap();
    let sched = Schedule::new(0.5, Decay::Exponential { gamma: 0.5 }).unwrap();
    let (mut a, mut b) = (fresh.clone().into_training(), fresh.into_training());
    let (mut ta, mut tb) = (
        Trainer::new(Loss::Mse, 8).unwrap(),
        Trainer::new(Loss::Mse, 8).unwrap(),
    );
    let (mut oa, mut ob) = (Sgd::new(0.5f32).unwrap(), Sgd::new(0.5f32).unwrap());
    let mut order = [0u16; 32];
    train::fill_order(&mut order).unwrap();
    let mut order_b = order;
    let (mut ra, mut rb) = (microprop::rng(1), microprop::rng(1));
    for _ in 0..2 {
        sched
            .epoch(&mut ta, &mut a, &mut oa, &data, &mut order, &mut ra)
            .unwrap();
        tb.epoch(&mut b, &mut ob, &data, &mut order_b, &mut rb)
            .unwrap();
    }
    assert_eq!((ta.steps(), ta.epochs()), (8, 2));
    assert_eq!(f64::from(oa.learning_rate()), 0.5 * 0.5f64.powi(7));
    assert_ne!(a.weights_hash(), b.weights_hash());
    // Invalid parameters.
    assert!(Schedule::constant(0.0).is_err());
    assert!(Schedule::new(
        0.1,
        Decay::Step {
            every: 0,
            gamma: 0.5
        }
    )
    .is_err());
    assert!(Schedule::new(0.1, Decay::Exponential { gamma: 1.5 }).is_err());
    assert!(Schedule::new(
        0.1,
        Decay::Cosine {
            steps: 10,
            min_lr: 0.2
        }
    )
    .is_err());
}

type Small = mlp![f64; 2, 3, 1];

/// Every parameter of `Small`, in the flat optimizer order.
fn small_params() -> Vec<Param> {
    let mut ps = Vec::new();
    for (layer, inputs, outputs) in [(0, 2, 3), (1, 3, 1)] {
        for n in 0..outputs {
            for i in 0..inputs {
                ps.push(Param::weight(layer, n, i));
            }
        }
        for n in 0..outputs {
            ps.push(Param::bias(layer, n));
        }
    }
    ps
}

#[test]
fn l2_is_in_the_loss_and_its_gradient() {
    let mut rng = microprop::rng(11);
    let (mut x, mut l) = ([[0.0f64; 2]; 16], [0u8; 16]);
    Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let model = Small::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.1,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let lambda = 0.3;
    // J(w) = mean loss + ½ λ Σ w² (weights only).
    let objective = |m: &mut _| {
        diagnostics::loss_and_gradients(m, Loss::Mse, &data).unwrap()
            + regularization::l2_penalty(m, lambda)
    };
    let mut probe = model.clone();
    let j0 = objective(&mut probe);
    // One SGD step with η = 1 over the whole set: Δw = −∂J/∂w.
    let mut stepped = model.clone();
    let mut trainer = Trainer::new(Loss::Mse, 16)
        .unwrap()
        .with_regularization(Regularization::new(lambda, None).unwrap());
    let idx: Vec<u16> = (0..16).collect();
    let reported = trainer
        .step(
            &mut stepped,
            &mut Sgd::new(1.0).unwrap(),
            &data,
            &idx,
            &mut microprop::rng(0),
        )
        .unwrap();
    assert!(close(reported, j0, 1e-12), "{reported} vs {j0}");
    let h = 1e-6;
    let mut max_rel = 0.0f64;
    for p in small_params() {
        let w = p.get(&mut probe).unwrap();
        p.set(&mut probe, w + h).unwrap();
        let jp = objective(&mut probe);
        p.set(&mut probe, w - h).unwrap();
        let jm = objective(&mut probe);
        p.set(&mut probe, w).unwrap();
        let fd = (jp - jm) / (2.0 * h);
        let analytic = w - p.get(&mut stepped).unwrap();
        let rel = (analytic - fd).abs() / (analytic.abs() + fd.abs()).max(1e-8);
        max_rel = max_rel.max(rel);
    }
    println!("L2 gradient check: max relative error {max_rel:.2e}");
    assert!(max_rel < 1e-6);
    // Online steps (batch of one) get the L2 gradient too: Δw differs by −η λ w.
    let eta = 0.1;
    let mut plain = model.clone();
    let mut reg = model.clone();
    Trainer::new(Loss::Mse, 1)
        .unwrap()
        .step(
            &mut plain,
            &mut Sgd::new(eta).unwrap(),
            &data,
            &[3],
            &mut microprop::rng(0),
        )
        .unwrap();
    Trainer::new(Loss::Mse, 1)
        .unwrap()
        .with_regularization(Regularization::new(lambda, None).unwrap())
        .step(
            &mut reg,
            &mut Sgd::new(eta).unwrap(),
            &data,
            &[3],
            &mut microprop::rng(0),
        )
        .unwrap();
    let mut original = model.clone();
    for p in small_params() {
        let w = p.get(&mut original).unwrap();
        let is_bias = matches!(p.kind, microprop::diagnostics::ParamKind::Bias { .. });
        let expected = if is_bias { 0.0 } else { -eta * lambda * w };
        let got = p.get(&mut reg).unwrap() - p.get(&mut plain).unwrap();
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }
    assert!(Regularization::new(-1.0, None).is_err());
    assert!(Regularization::new(0.0, Some(0.0)).is_err());
}

#[test]
fn clipping_bounds_the_global_norm() {
    let mut rng = microprop::rng(12);
    let (mut x, mut l) = ([[0.0f64; 2]; 8], [0u8; 8]);
    Clusters::two(0.8)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let mut model = Small::new(
        Activation::Tanh,
        Activation::Identity,
        Init::Normal(3.0),
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let norm = |m: &Small2| {
        let mut ss = 0.0;
        m.visit_layers(|l| {
            ss +=
                l.gw.iter()
                    .chain(l.gb.iter())
                    .map(|g| g.powi(2))
                    .sum::<f64>()
        });
        ss.sqrt()
    };
    type Small2 = microprop::Training<<Small as HasLayers>::L, microprop::Libm>;
    diagnostics::loss_and_gradients(&mut model, Loss::Mse, &data).unwrap();
    let before = norm(&model);
    let mut copy = model.clone();
    let reported = regularization::clip_global_norm(&mut model, 0.5);
    assert!(close(reported, before, 1e-12) && before > 0.5, "{before}");
    assert!(close(norm(&model), 0.5, 1e-12));
    // Direction kept: every gradient scaled by the same factor.
    let k = 0.5 / before;
    let mut ok = true;
    let mut grads = Vec::new();
    model.visit_layers(|l| grads.extend_from_slice(l.gw));
    let mut i = 0;
    copy.visit_layers_mut(|l| {
        for g in l.gw.iter() {
            ok &= close(g * k, grads[i], 1e-12);
            i += 1;
        }
    });
    assert!(ok);
    // Below the bound nothing changes.
    let h = copy.weights_hash();
    let n = regularization::clip_global_norm(&mut copy, before * 2.0);
    assert!(close(n, before, 1e-12) && close(norm(&copy), before, 1e-12));
    assert_eq!(copy.weights_hash(), h);
}

/// Names the layer chain of a network type (for spelling `Training<L, M>`).
trait HasLayers {
    type L: microprop::layer::Net;
}
impl<L: microprop::layer::Net, M> HasLayers for microprop::Network<L, M> {
    type L = L;
}

// Dropout masks: `core/tests/layers.rs` (dropout is a layer).

#[test]
fn initial_softmax_loss_is_ln_k_with_small_weights() {
    type Net3 = mlp![f32; 2, 16, 3];
    let mut rng = microprop::rng(13);
    let centres = [[1.0f32, 0.0], [-0.5, 0.8], [-0.5, -0.8]];
    let (mut x, mut l) = ([[0.0f32; 2]; 90], [0u8; 90]);
    Clusters {
        centres: &centres,
        spread: 0.3,
    }
    .generate(&mut rng, &mut x, &mut l)
    .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let mut small = Net3::new(
        Activation::Relu,
        Activation::Softmax,
        Init::Normal(0.01),
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let c = babysit::initial_loss(&mut small, Loss::CrossEntropy, &data).unwrap();
    println!(
        "initial softmax CE, small weights: {:.5} (ln 3 = {:.5})",
        c.measured, c.expected
    );
    assert!(c.within(1e-3));
    let mut big = Net3::new(
        Activation::Relu,
        Activation::Softmax,
        Init::Normal(3.0),
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let c = babysit::initial_loss(&mut big, Loss::CrossEntropy, &data).unwrap();
    println!("initial softmax CE, N(0, 3²) weights: {:.5}", c.measured);
    assert!(!c.within(0.1));
    assert_eq!(
        babysit::initial_loss(&mut big, Loss::Mse, &data),
        Err(Error::LossMismatch)
    );
}

#[test]
fn twenty_samples_can_be_overfitted() {
    type Net = mlp![f32; 2, 32, 32, 1];
    let mut rng = microprop::rng(14);
    let (mut x, mut l) = ([[0.0f32; 2]; 100], [0u8; 100]);
    data::spirals(&mut rng, 0.05, &mut x, &mut l).unwrap();
    let set = Dataset::new(&x, &l).unwrap();
    let mut model = Net::new(
        Activation::Relu,
        Activation::Sigmoid,
        Init::HeNormal,
        0.01,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let mut opt = Adam::<f32, _>::new(
        AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        },
        [0.0f32; 2 * Net::PARAMS],
    )
    .unwrap();
    let mut trainer = Trainer::new(Loss::BinaryCrossEntropy, 4).unwrap();
    let epochs =
        babysit::overfit(&mut model, &mut opt, &mut trainer, &set, 20, 500, &mut rng).unwrap();
    println!("overfit 20 spiral samples to 100%: {epochs:?} epochs");
    assert!(epochs.is_some());
    // The rest of the spirals is not learnt from 20 samples.
    let all = train::evaluate(&mut model, Loss::BinaryCrossEntropy, &set).unwrap();
    println!("  accuracy on all 100 samples: {:.2}", all.accuracy);
    assert!(all.accuracy < 1.0);
}

#[test]
fn divergence_stops_training_with_epoch_and_step() {
    type Net = mlp![f32; 2, 16, 1];
    let mut rng = microprop::rng(15);
    let (mut x, mut l) = ([[0.0f32; 2]; 64], [0u8; 64]);
    Clusters::two(1.0)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let set = Dataset::new(&x, &l).unwrap();
    let fresh = Net::new(
        Activation::Relu,
        Activation::Identity,
        Init::HeNormal,
        0.0,
        &mut rng,
    )
    .unwrap();
    let mut order = [0u16; 64];
    train::fill_order(&mut order).unwrap();
    // A sane learning rate trains for 10 epochs without tripping the guard.
    let mut model = fresh.clone().into_training();
    let mut guard = DivergenceGuard::default();
    let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
    for _ in 0..10 {
        guard
            .epoch(
                &mut trainer,
                &mut model,
                &mut Sgd::new(0.01).unwrap(),
                &set,
                &mut order,
                &mut rng,
            )
            .unwrap();
    }
    assert_eq!(trainer.epochs(), 10);
    // η = 5 blows up: the guard reports where.
    let mut model = fresh.into_training();
    let mut guard = DivergenceGuard::default();
    let mut trainer = Trainer::new(Loss::Mse, 8).unwrap();
    let mut opt = Sgd::new(5.0).unwrap();
    let mut err = None;
    for _ in 0..10 {
        if let Err(e) = guard.epoch(
            &mut trainer,
            &mut model,
            &mut opt,
            &set,
            &mut order,
            &mut rng,
        ) {
            err = Some(e);
            break;
        }
    }
    println!(
        "SGD η=5 on MSE: {err:?} (initial loss {:?})",
        guard.initial()
    );
    let Some(Error::Diverged { epoch, step }) = err else {
        panic!("no divergence: {err:?}")
    };
    assert!(step >= 1 && epoch < 10 && step <= trainer.steps());
    // A non-finite loss is a divergence too.
    let mut g = DivergenceGuard::default();
    g.observe(1.0, 0, 0).unwrap();
    assert!(g.observe(2.9, 0, 1).is_ok());
    assert_eq!(
        g.observe(3.1, 1, 7),
        Err(Error::Diverged { epoch: 1, step: 7 })
    );
    assert_eq!(
        g.observe(f64::NAN, 2, 9),
        Err(Error::Diverged { epoch: 2, step: 9 })
    );
    assert!(DivergenceGuard::new(1.0).is_err());
}

#[test]
fn random_search_is_log_uniform_reproducible_and_keeps_every_trial() {
    let lr = LogRange { lo: 1e-4, hi: 1.0 };
    let reg = LogRange { lo: 1e-6, hi: 1e-2 };
    let search = RandomSearch::new(lr, Some(reg), 42).unwrap();
    // Objective: closest to lr = 1e-2 and reg = 1e-4 in log space; one in ten fails.
    let mut calls = 0;
    let mut objective = |lr: f64, r: f64| {
        calls += 1;
        if calls % 10 == 0 {
            return Err(Error::Diverged { epoch: 0, step: 0 });
        }
        Ok((lr.ln() - 1e-2f64.ln()).powi(2) + (r.ln() - 1e-4f64.ln()).powi(2))
    };
    let mut trials = [Trial::default(); 40];
    let best = search
        .run(&mut trials, Goal::Minimize, &mut objective)
        .unwrap();
    assert!(trials
        .iter()
        .all(|t| (1e-4..=1.0).contains(&t.lr) && (1e-6..=1e-2).contains(&t.reg)));
    assert_eq!(trials.iter().filter(|t| t.score.is_none()).count(), 4);
    let min = trials
        .iter()
        .filter_map(|t| t.score)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(trials[best].score, Some(min));
    // Log-uniform: about half the rates below the geometric middle 1e-2.
    let below = trials.iter().filter(|t| t.lr < 1e-2).count();
    assert!((12..=28).contains(&below), "{below}");
    // Same seed: same trials; another seed: different ones.
    let mut again = [Trial::default(); 40];
    let mut calls2 = 0;
    search.run(&mut again, Goal::Minimize, |lr, r| {
        calls2 += 1;
        if calls2 % 10 == 0 {
            Err(Error::Diverged { epoch: 0, step: 0 })
        } else {
            Ok((lr.ln() - 1e-2f64.ln()).powi(2) + (r.ln() - 1e-4f64.ln()).powi(2))
        }
    });
    assert_eq!(trials, again);
    let other = RandomSearch::new(lr, Some(reg), 43).unwrap();
    let mut third = [Trial::default(); 40];
    other.run(&mut third, Goal::Minimize, |_, _| Ok(0.0));
    assert_ne!(third[0].lr, trials[0].lr);
    // Maximising picks the largest; without a regularisation range reg is 0.
    let s = RandomSearch::new(lr, None, 1).unwrap();
    let mut t = [Trial::default(); 8];
    let best = s.run(&mut t, Goal::Maximize, |lr, _| Ok(lr)).unwrap();
    assert!(t.iter().all(|x| x.lr <= t[best].lr && x.reg == 0.0));
    assert!(RandomSearch::new(LogRange { lo: 0.0, hi: 1.0 }, None, 1).is_err());
    assert!(s
        .run(&mut t, Goal::Maximize, |_, _| Err(Error::EmptyData))
        .is_none());
}

#[test]
fn pca_whitening_decorrelates_and_round_trips_its_statistics() {
    let mut rng = microprop::rng(16);
    // Correlated data: x = A z + c with A = [[2, 0], [1.5, 0.5]].
    let xs: Vec<[f64; 2]> = (0..500)
        .map(|_| {
            let (z0, z1) = (
                microprop::rng::normal(&mut rng),
                microprop::rng::normal(&mut rng),
            );
            [2.0 * z0 + 3.0, 1.5 * z0 + 0.5 * z1 - 1.0]
        })
        .collect();
    let p = PcaWhitening::fit(0.0, &xs).unwrap();
    let mut w = xs.clone();
    p.apply_all(&mut w);
    let n = w.len() as f64;
    let m0 = w.iter().map(|x| x[0]).sum::<f64>() / n;
    let m1 = w.iter().map(|x| x[1]).sum::<f64>() / n;
    let c00 = w.iter().map(|x| (x[0] - m0).powi(2)).sum::<f64>() / n;
    let c01 = w.iter().map(|x| (x[0] - m0) * (x[1] - m1)).sum::<f64>() / n;
    let c11 = w.iter().map(|x| (x[1] - m1).powi(2)).sum::<f64>() / n;
    println!("whitened covariance: [{c00:.3e} {c01:.3e}; {c01:.3e} {c11:.3e}], mean ({m0:.1e}, {m1:.1e})");
    assert!(m0.abs() < 1e-9 && m1.abs() < 1e-9);
    assert!((c00 - 1.0).abs() < 1e-9 && (c11 - 1.0).abs() < 1e-9 && c01.abs() < 1e-9);
    // The original data is strongly correlated (the test can tell).
    let s = p.stats();
    assert!(s.cov[1] / (s.cov[0] * s.cov[2]).sqrt() > 0.9);
    // Stored statistics rebuild the same transform; f32 samples work too.
    let q = PcaWhitening::from_stats(s).unwrap();
    assert_eq!(q.matrix(), p.matrix());
    let mut a = [1.0f32, 2.0];
    let mut b = a;
    p.apply(&mut a);
    q.apply(&mut b);
    assert_eq!(a, b);
    // Errors.
    assert_eq!(PcaWhitening::fit(0.0, &xs[..1]), Err(Error::BatchTooSmall));
    assert!(PcaWhitening::new(-1.0).is_err());
    let mut acc = PcaWhitening::new(1e-5).unwrap();
    assert_eq!(acc.update(&[f32::NAN, 0.0]), Err(Error::NonFiniteInput));
    assert_eq!(acc.stats().count, 0);
}
