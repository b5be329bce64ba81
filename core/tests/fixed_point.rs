//! Q16.16 fixed point ([`microprop::Q16`]) against `f32` and `f64`: accuracy of the same
//! nets trained in both, the overflow policy (a saturated step is refused, weights
//! bit-identical), the gradient check of the fixed-point backward pass, the vanishing
//! gradient of a deep sigmoid net as a finding, and the activations' errors
//! (`cargo test -p microprop --release --test fixed_point -- --nocapture` prints every
//! figure, and the `q16` table of `core/docs/backend-accuracy.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    data::{self, Clusters},
    mlp, train, Activation, Dataset, Error, FixedTable, Init, Loss, Model, Scalar, Sgd, Trainer,
    Q16,
};

/// The same data in `f32` and in `Q16` (rounded to nearest: the generators draw in `f64`).
fn both(x: &[[f32; 2]]) -> Vec<[Q16; 2]> {
    x.iter()
        .map(|p| [Q16::from_f32(p[0]), Q16::from_f32(p[1])])
        .collect()
}

/// Trains `model` with SGD (rate `lr`, MSE, batch `batch`) for `epochs`, then returns the
/// training accuracy.
fn fit<T: Model>(
    model: &mut T,
    lr: f64,
    batch: usize,
    epochs: usize,
    data: &Dataset<'_, T::Scalar>,
    seed: u64,
) -> f64 {
    let mut opt = Sgd::new(T::Scalar::from_f64(lr)).unwrap();
    let mut t = Trainer::new(Loss::Mse, batch).unwrap();
    let mut order = vec![0u16; data.len()];
    train::fill_order(&mut order).unwrap();
    let mut rng = microprop::rng(seed);
    for _ in 0..epochs {
        t.epoch(model, &mut opt, data, &mut order, &mut rng)
            .unwrap();
    }
    train::evaluate(model, Loss::Mse, data)
        .unwrap()
        .accuracy
        .to_f64()
}

/// One benchmark: the same net, data, seed and rate in `f32` and in `Q16` (table backend).
macro_rules! compare {
    ($name:literal, [$($n:tt),+], $hidden:expr, $init:expr, $bias:expr, $lr:expr, $batch:expr,
     $epochs:expr, $x:expr, $l:expr, $seeds:expr) => {{
        type F = mlp![f32; $($n),+];
        type Q = mlp![Q16, FixedTable; $($n),+];
        let xq = both(&$x);
        let (df, dq) = (Dataset::new(&$x, &$l).unwrap(), Dataset::new(&xq, &$l).unwrap());
        let hidden: Activation = $hidden;
        let mut rows = Vec::new();
        for seed in $seeds {
            let mut rng = microprop::rng(seed);
            let mut f = F::new(hidden, Activation::Sigmoid, $init, $bias, &mut rng)
                .unwrap()
                .into_training();
            let mut rng = microprop::rng(seed);
            let mut q = Q::new(hidden.cast(), Activation::Sigmoid, $init, $bias, &mut rng)
                .unwrap()
                .into_training();
            let af = fit(&mut f, $lr, $batch, $epochs, &df, seed);
            let aq = fit(&mut q, $lr, $batch, $epochs, &dq, seed);
            rows.push((seed, af, aq));
        }
        let mf = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
        let mq = rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64;
        println!(
            "{:<40} SGD η={}, batch {}, {} epochs: f32 {:.2} %, q16 {:.2} % (mean of seeds; per seed f32/q16: {})",
            $name,
            $lr,
            $batch,
            $epochs,
            100.0 * mf,
            100.0 * mq,
            rows.iter()
                .map(|r| format!("{}: {:.1}/{:.1}", r.0, 100.0 * r.1, 100.0 * r.2))
                .collect::<Vec<_>>()
                .join(", ")
        );
        (mf, mq, rows)
    }};
}

/// Accuracy within 1 percentage point of `f32` on the four benchmarks, each over
/// three seeds (the mean; and no seed more than 3 points apart).
#[test]
fn q16_trains_as_well_as_f32() {
    let mut rng = microprop::rng(11);
    let (mut cx, mut cl) = (vec![[0.0f32; 2]; 200], vec![0u8; 200]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut cx, &mut cl)
        .unwrap();
    let mut rng = microprop::rng(3);
    let (mut xx, mut xl) = (vec![[0.0f32; 2]; 400], vec![0u8; 400]);
    data::xor(&mut rng, 0.05, &mut xx, &mut xl).unwrap();
    let mut rng = microprop::rng(5);
    let (mut sx, mut sl) = (vec![[0.0f32; 2]; 400], vec![0u8; 400]);
    data::spirals(&mut rng, 0.02, &mut sx, &mut sl).unwrap();

    let results = [
        compare!(
            "N1 2-16-1 sigmoid, two clusters",
            [2, 16, 1],
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            0.5,
            8,
            30,
            cx,
            cl,
            1..4u64
        ),
        compare!(
            "2-16-16-1 relu, two clusters",
            [2, 16, 16, 1],
            Activation::Relu,
            Init::HeNormal,
            0.01,
            0.1,
            8,
            20,
            cx,
            cl,
            1..4u64
        ),
        compare!(
            "2-8-8-1 tanh, XOR",
            [2, 8, 8, 1],
            Activation::Tanh,
            Init::XavierNormal,
            0.0,
            0.3,
            4,
            60,
            xx,
            xl,
            1..4u64
        ),
        compare!(
            "2-32-32-1 relu, two spirals",
            [2, 32, 32, 1],
            Activation::Relu,
            Init::HeNormal,
            0.01,
            0.1,
            1,
            80,
            sx,
            sl,
            1..4u64
        ),
    ];
    for (mf, mq, rows) in &results {
        assert!((mf - mq).abs() <= 0.01, "mean f32 {mf} vs q16 {mq}");
        for (seed, af, aq) in rows {
            assert!((af - aq).abs() <= 0.03, "seed {seed}: f32 {af} vs q16 {aq}");
        }
        // The comparison can fail: the nets learnt something.
        assert!(*mq >= 0.9, "q16 only {mq}");
    }
}

/// The weights of `m` as raw bits, to compare bit for bit.
fn bits<T: Model>(m: &T) -> Vec<u64> {
    let mut out = Vec::new();
    m.visit_layers(|l| out.extend(l.w.iter().chain(l.b).map(|x| x.to_bits_u64())));
    out
}

/// The overflow policy: a step whose gradient saturates (outputs at the format's limit:
/// `NonFiniteGradient`), and one whose update would saturate a weight (`NonFiniteUpdate`),
/// are refused like a float step with ∞ —
/// weights bit-identical — over several seeds; a good step afterwards changes them.
#[test]
fn saturated_steps_are_refused_and_change_nothing() {
    type Q = mlp![Q16, FixedTable; 2, 16, 1];
    let labels = [0u8, 1];
    let good = [[Q16::from_f64(0.5), Q16::from_f64(-0.5)]; 2];
    let huge = [[Q16::from_f64(30000.0), Q16::from_f64(30000.0)]; 2];
    let mut refused = [0usize; 2];
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..4u64 {
        for case in 0..2 {
            let mut rng = microprop::rng(seed);
            let mut m = Q::new(
                Activation::Relu,
                Activation::Identity,
                Init::HeNormal,
                0.01,
                &mut rng,
            )
            .unwrap()
            .into_training();
            let x = if case == 0 {
                // Huge inputs: pre-activations, outputs and gradients saturate.
                &huge
            } else {
                // An output bias of 150 and η = 300: loss (≈ 150²) and gradient (≈ 150)
                // are finite, the update (150 − 300 · 150) saturates.
                m.visit_layers_mut(|l| {
                    if l.index == 0 {
                        l.w.fill(Q16::ZERO);
                    } else {
                        l.b.fill(Q16::from_f64(150.0));
                    }
                });
                &good
            };
            let before = bits(&m);
            let data = Dataset::new(x, &labels).unwrap();
            let mut opt = Sgd::new(Q16::from_f64(if case == 0 { 0.5 } else { 300.0 })).unwrap();
            let mut t = Trainer::new(Loss::Mse, 2).unwrap();
            let r = t.step(&mut m, &mut opt, &data, &[0, 1], &mut microprop::rng(0));
            assert!(
                r == Err([Error::NonFiniteGradient, Error::NonFiniteUpdate][case]),
                "seed {seed} case {case}: {r:?}"
            );
            assert_eq!(
                bits(&m),
                before,
                "seed {seed} case {case}: a refused step changed weights"
            );
            refused[case] += 1;
            kinds.insert(format!("case {case}: {:?}", r.unwrap_err()));
            if case == 0 {
                let data = Dataset::new(&good, &labels).unwrap();
                t.step(&mut m, &mut opt, &data, &[0, 1], &mut microprop::rng(0))
                    .unwrap();
                assert_ne!(bits(&m), before);
            }
        }
    }
    println!("saturated steps refused: {refused:?} (huge inputs; an update past the limit), weights bit-identical: {kinds:?}");
}
