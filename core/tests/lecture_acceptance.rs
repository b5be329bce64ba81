//! The notes' claims as tests, each printing the figures it measures
//! (`cargo test -p microprop --release --test lecture_acceptance -- --nocapture`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::{self, Clusters},
    diagnostics::{self, ActivationStats, SignAgreement},
    layer::{Grads, Pass},
    mlp,
    search::{Goal, LogRange, RandomSearch, Trial},
    train, Activation, Adam, AdamConfig, Dataset, Init, Loss, Model, Optimizer, Preprocess, Sgd,
    Standardizer, Trainer,
};

type N2 = mlp![f32; 2, 32, 32, 1];

fn clusters(n: usize, spread: f32, seed: u64) -> (Vec<[f32; 2]>, Vec<u8>) {
    let mut rng = microprop::rng(seed);
    let (mut x, mut l) = (vec![[0.0f32; 2]; n], vec![0u8; n]);
    Clusters::two(spread)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    (x, l)
}

/// Epochs until the training accuracy reaches `target` (evaluated after each epoch), or
/// `None` within `max` epochs.
#[allow(clippy::too_many_arguments)]
fn epochs_to<T: Model<Scalar = f32>, O: Optimizer<f32>>(
    model: &mut T,
    opt: &mut O,
    loss: Loss,
    batch: usize,
    data: &Dataset<'_, f32>,
    target: f32,
    max: u32,
    seed: u64,
) -> Option<u32> {
    let mut rng = microprop::rng(seed);
    let mut trainer = Trainer::new(loss, batch).unwrap();
    let mut order = vec![0u16; data.len()];
    train::fill_order(&mut order).unwrap();
    for e in 1..=max {
        if trainer
            .epoch(model, opt, data, &mut order, &mut rng)
            .is_err()
        {
            return None;
        }
        if train::evaluate(model, loss, data).unwrap().accuracy >= target {
            return Some(e);
        }
    }
    None
}

#[test]
fn relu_reaches_95_percent_in_fewer_epochs_than_sigmoid() {
    let (x, l) = clusters(200, 0.7, 21);
    let data = Dataset::new(&x, &l).unwrap();
    let lr = 0.05;
    let mut rows = Vec::new();
    for seed in 0..5u64 {
        let mut res = [0u32; 2];
        for (k, act) in [Activation::Relu, Activation::Sigmoid]
            .into_iter()
            .enumerate()
        {
            let mut rng = microprop::rng(100 + seed);
            let mut m = N2::new(act, Activation::Sigmoid, Init::XavierNormal, 0.0, &mut rng)
                .unwrap()
                .into_training();
            res[k] = epochs_to(
                &mut m,
                &mut Sgd::new(lr).unwrap(),
                Loss::Mse,
                8,
                &data,
                0.95,
                500,
                seed,
            )
            .unwrap_or(501);
        }
        rows.push(res);
    }
    let relu: u32 = rows.iter().map(|r| r[0]).sum();
    let sig: u32 = rows.iter().map(|r| r[1]).sum();
    println!("(1) epochs to 95% on two clusters, 2-32-32-1, SGD η={lr}, MSE, batch 8, Xavier init, 5 seeds:");
    println!(
        "    relu    {:?}",
        rows.iter().map(|r| r[0]).collect::<Vec<_>>()
    );
    println!(
        "    sigmoid {:?}",
        rows.iter().map(|r| r[1]).collect::<Vec<_>>()
    );
    println!(
        "    total relu {relu}, sigmoid {sig}: sigmoid/relu = {:.1}x",
        sig as f64 / relu as f64
    );
    assert!(rows.iter().all(|r| r[0] < r[1]));
}

/// Online SGD on `data`, watching the sign agreement of neuron 0 of layer 0 and of layer 1.
fn sign_agreement(data: &Dataset<'_, f32>, epochs: u32) -> (f64, f64) {
    type Net = mlp![f32; 2, 8, 8, 1];
    let mut rng = microprop::rng(31);
    let mut model = Net::new(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap()
    .into_training();
    let mut opt = Sgd::new(0.1).unwrap();
    let mut trainer = Trainer::new(Loss::Mse, 1).unwrap();
    let (mut first, mut second) = (SignAgreement::new(0, 0), SignAgreement::new(1, 0));
    for _ in 0..epochs {
        for i in 0..data.len() as u16 {
            let l = train::walk(
                &mut model,
                Some(Loss::Mse),
                data,
                &[i],
                &mut Pass::probe(),
                Some(Grads::Overwrite),
            )
            .unwrap()
            .loss;
            first.observe(&model).unwrap();
            second.observe(&model).unwrap();
            trainer.apply(&mut model, &mut opt, l).unwrap();
        }
    }
    (first.fraction(), second.fraction())
}

#[test]
fn all_positive_inputs_make_a_neurons_weight_gradients_agree_in_sign() {
    // XOR quadrants shifted into the positive quadrant: x ∈ [0.5, 2.5]², features
    // independent, so that after centring their signs are independent too.
    let mut rng = microprop::rng(30);
    let (mut x, mut l) = (vec![[0.0f32; 2]; 200], vec![0u8; 200]);
    data::xor(&mut rng, 0.1, &mut x, &mut l).unwrap();
    x.iter_mut()
        .for_each(|p| p.iter_mut().for_each(|v| *v += 1.5));
    assert!(x.iter().all(|p| p[0] > 0.0 && p[1] > 0.0));
    let raw = Dataset::new(&x, &l).unwrap();
    let (raw_first, raw_second) = sign_agreement(&raw, 3);
    // Zero-centred with the per-feature mean.
    let st = Standardizer::fit(Preprocess::Mean, &x).unwrap();
    let mut xc = x.clone();
    st.apply_all::<microprop::Libm>(&mut xc);
    let centred = Dataset::new(&xc, &l).unwrap();
    let (c_first, c_second) = sign_agreement(&centred, 3);
    println!("(2) steps on which all weight gradients of neuron 0 share a sign (online SGD, 2-8-8-1 sigmoid, 600 steps):");
    println!(
        "    layer 0 (inputs x):        all-positive inputs {:.1}%, zero-centred {:.1}%",
        100.0 * raw_first,
        100.0 * c_first
    );
    println!(
        "    layer 1 (sigmoid outputs): all-positive inputs {:.1}%, zero-centred {:.1}%",
        100.0 * raw_second,
        100.0 * c_second
    );
    assert_eq!(raw_first, 1.0);
    assert!(c_first < 0.75, "{c_first}");
    assert!(c_first > 0.25, "{c_first}");
    // Sigmoid outputs are positive whatever the inputs: layer 1 still agrees always.
    assert_eq!((raw_second, c_second), (1.0, 1.0));
}

#[test]
fn bias_init_changes_the_dead_relu_fraction() {
    let (x, l) = clusters(200, 0.7, 40);
    let data = Dataset::new(&x, &l).unwrap();
    let mut figures = Vec::new();
    for bias in [0.01f32, -1.0] {
        let (mut dead, mut units) = (0, 0);
        for seed in 0..3u64 {
            let mut rng = microprop::rng(41 + seed);
            let mut m = N2::new(
                Activation::Relu,
                Activation::Sigmoid,
                Init::HeNormal,
                bias,
                &mut rng,
            )
            .unwrap()
            .into_training();
            epochs_to(
                &mut m,
                &mut Sgd::new(0.05).unwrap(),
                Loss::Mse,
                8,
                &data,
                1.1,
                20,
                seed,
            );
            let mut alive = [false; 64];
            let d = diagnostics::dead_units(&mut m, &data, &mut alive, &mut [0.0; 2]).unwrap();
            dead += d.dead;
            units += d.units;
        }
        figures.push((bias, dead as f64 / units as f64));
    }
    println!("(3) dead-ReLU fraction of a trained 2-32-32-1 ReLU net (He init, 20 epochs SGD η=0.05, 3 seeds, 64 hidden units each):");
    for (b, f) in &figures {
        println!("    bias init {b:5}: {:.1}% dead", 100.0 * f);
    }
    assert!(figures[1].1 > figures[0].1 + 0.1);
}

#[test]
fn small_init_collapses_deep_tanh_activations_while_xavier_keeps_them() {
    type Deep = mlp![f32; 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 1];
    let mut rng = microprop::rng(50);
    let x: Vec<[f32; 64]> = (0..100)
        .map(|_| core::array::from_fn(|_| microprop::rng::normal(&mut rng) as f32))
        .collect();
    let l = vec![0u8; 100];
    let data = Dataset::new(&x, &l).unwrap();
    let mut stds = Vec::new();
    for init in [Init::Normal(0.01), Init::XavierNormal] {
        let mut m = Deep::new(Activation::Tanh, Activation::Sigmoid, init, 0.0, &mut rng)
            .unwrap()
            .into_training();
        let mut stats = [ActivationStats::default(); 11];
        diagnostics::activation_stats(&mut m, &data, &mut stats).unwrap();
        stds.push(stats[..10].iter().map(|s| s.std).collect::<Vec<_>>());
    }
    println!("(4) activation std per layer, 10 tanh layers of 64, inputs N(0, 1):");
    for (name, s) in ["N(0, 0.01²)", "Xavier"].iter().zip(&stds) {
        println!(
            "    {name:12} {}",
            s.iter()
                .map(|v| format!("{v:.2e}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let small = &stds[0];
    assert!(
        small[9] < 1e-6 * small[0].max(1e-30) || small[9] < 1e-10,
        "{small:?}"
    );
    let xavier = &stds[1];
    let (lo, hi) = xavier
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let worst_step = xavier
        .windows(2)
        .map(|w| w[0] / w[1])
        .fold(0.0f64, f64::max);
    println!("    Xavier: max/min across layers {:.2}, largest drop between adjacent layers {worst_step:.2}x", hi / lo);
    println!(
        "    small init: largest drop between adjacent layers {:.1}x",
        small.windows(2).map(|w| w[0] / w[1]).fold(0.0f64, f64::max)
    );
    // Xavier: no adjacent pair of layers differs by 2x, and the deepest layer keeps a
    // std of order 0.1 (the lecture's own figures: 0.63 in layer 1 to 0.23 in layer 10).
    assert!(worst_step < 2.0);
    assert!(xavier[9] > 0.1);
    // Small init: every layer loses more than 5x.
    assert!(small.windows(2).all(|w| w[0] / w[1] > 5.0));
}

// (5) batch norm and the nine-deep sigmoid net: `core/tests/layers.rs`.

#[test]
fn adam_reaches_95_percent_on_spirals_in_fewer_epochs_than_sgd() {
    type Net = mlp![f32; 2, 32, 32, 1];
    let mut rng = microprop::rng(70);
    let (mut x, mut l) = (vec![[0.0f32; 2]; 200], vec![0u8; 200]);
    data::spirals(&mut rng, 0.02, &mut x, &mut l).unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let max = 300;
    let fresh = || {
        Net::new(
            Activation::Tanh,
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            &mut microprop::rng(71),
        )
        .unwrap()
        .into_training()
    };
    // Score: epochs to 95% (max + 1 when not reached); fewer is better.
    let run_sgd = |lr: f64| {
        let mut m = fresh();
        let e = epochs_to(
            &mut m,
            &mut Sgd::new(lr as f32)?,
            Loss::BinaryCrossEntropy,
            8,
            &data,
            0.95,
            max,
            72,
        );
        Ok(f64::from(e.unwrap_or(max + 1)))
    };
    let run_adam = |lr: f64| {
        let mut m = fresh();
        let cfg = AdamConfig {
            lr: lr as f32,
            ..AdamConfig::default()
        };
        let mut opt = Adam::<f32, _>::new(cfg, [0.0f32; 2 * Net::PARAMS])?;
        let e = epochs_to(
            &mut m,
            &mut opt,
            Loss::BinaryCrossEntropy,
            8,
            &data,
            0.95,
            max,
            72,
        );
        Ok(f64::from(e.unwrap_or(max + 1)))
    };
    let budget = 6;
    let sgd_search = RandomSearch::new(LogRange { lo: 1e-2, hi: 3.0 }, None, 73).unwrap();
    let adam_search = RandomSearch::new(LogRange { lo: 1e-3, hi: 1e-1 }, None, 73).unwrap();
    let mut sgd_trials = [Trial::default(); 6];
    let mut adam_trials = [Trial::default(); 6];
    let sb = sgd_search
        .run(&mut sgd_trials[..budget], Goal::Minimize, |lr, _| {
            run_sgd(lr)
        })
        .unwrap();
    let ab = adam_search
        .run(&mut adam_trials[..budget], Goal::Minimize, |lr, _| {
            run_adam(lr)
        })
        .unwrap();
    println!("(6) epochs to 95% on two spirals (200 points, 2-32-32-1 tanh, BCE, batch 8, cap {max}), random search of {budget} learning rates each:");
    for (name, trials) in [("sgd ", &sgd_trials), ("adam", &adam_trials)] {
        let row: Vec<String> = trials
            .iter()
            .map(|t| {
                format!(
                    "η={:.4}→{}",
                    t.lr,
                    t.score.map_or("fail".into(), |s| if s > f64::from(max) {
                        "none".into()
                    } else {
                        format!("{s}")
                    })
                )
            })
            .collect();
        println!("    {name} {}", row.join(", "));
    }
    let (s, a) = (sgd_trials[sb], adam_trials[ab]);
    println!(
        "    best: sgd η={:.4} {:?} epochs, adam η={:.4} {:?} epochs",
        s.lr, s.score, a.lr, a.score
    );
    let (ss, aa) = (s.score.unwrap(), a.score.unwrap());
    assert!(aa <= f64::from(max), "adam never reached 95%");
    assert!(aa < ss);
}
