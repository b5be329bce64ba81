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
    layer::{Grads, Pass},
    mlp, train, Activation, Dataset, Error, FixedTable, Init, Libm, Loss, Math, Model, Scalar, Sgd,
    Trainer, Q16,
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
    fit_with(model, Loss::Mse, lr, batch, epochs, data, seed)
}

/// [`fit`] under `loss`.
fn fit_with<T: Model>(
    model: &mut T,
    loss: Loss,
    lr: f64,
    batch: usize,
    epochs: usize,
    data: &Dataset<'_, T::Scalar>,
    seed: u64,
) -> f64 {
    let mut opt = Sgd::new(T::Scalar::from_f64(lr)).unwrap();
    let mut t = Trainer::new(loss, batch).unwrap();
    let mut order = vec![0u16; data.len()];
    train::fill_order(&mut order).unwrap();
    let mut rng = microprop::rng(seed);
    for _ in 0..epochs {
        t.epoch(model, &mut opt, data, &mut order, &mut rng)
            .unwrap();
    }
    train::evaluate(model, loss, data)
        .unwrap()
        .accuracy
        .to_f64()
}

/// The layer kinds and losses beyond dense + MSE train in Q16 as in `f32` (the mean over
/// three seeds within 1 point, no seed more than 3 apart, at least 80 %; overlapping
/// clusters, spread 1.6, so that neither is at 100 %): binary cross-entropy (2-16-1
/// sigmoid, two clusters), softmax cross-entropy (2-16-3, three clusters), and batch norm
/// with dropout (2 → dense 16, batch norm (ReLU), dropout 0.1, dense 1, batches of 8).
#[test]
fn cross_entropies_batch_norm_and_dropout_train_in_q16() {
    use microprop::layer::{BatchNorm, BatchNormConfig, Dense, Dropout};
    use microprop::{layers, Network};
    let mut rng = microprop::rng(17);
    let (mut x2, mut l2) = (vec![[0.0f32; 2]; 200], vec![0u8; 200]);
    Clusters::two(1.6)
        .generate(&mut rng, &mut x2, &mut l2)
        .unwrap();
    let mut centres = [[0.0f32; 2]; 3];
    data::circle_centres(2.0, &mut centres);
    let (mut x3, mut l3) = (vec![[0.0f32; 2]; 240], vec![0u8; 240]);
    Clusters {
        centres: &centres,
        spread: 1.6,
    }
    .generate(&mut rng, &mut x3, &mut l3)
    .unwrap();
    let (q2, q3) = (both(&x2), both(&x3));
    let (f2, g2) = (
        Dataset::new(&x2, &l2).unwrap(),
        Dataset::new(&q2, &l2).unwrap(),
    );
    let (f3, g3) = (
        Dataset::new(&x3, &l3).unwrap(),
        Dataset::new(&q3, &l3).unwrap(),
    );
    let report = |name: &str, rows: Vec<(f64, f64)>| {
        let n = rows.len() as f64;
        let (mf, mq) = rows
            .iter()
            .fold((0.0, 0.0), |s, r| (s.0 + r.0 / n, s.1 + r.1 / n));
        println!(
            "{name:<44} f32 {:.2} %, q16 {:.2} % (per seed f32/q16: {rows:?})",
            100.0 * mf,
            100.0 * mq
        );
        assert!((mf - mq).abs() <= 0.01, "{name}: f32 {mf} q16 {mq}");
        assert!(
            rows.iter().all(|r| (r.0 - r.1).abs() <= 0.03),
            "{name}: {rows:?}"
        );
        assert!(mq >= 0.8, "{name}: q16 {mq} (chance is 1/2 or 1/3)");
    };
    let seeds = 1..4u64;
    // One row per seed: (f32, q16) accuracy of the same MLP, initialisation and loss.
    macro_rules! mlp_rows {
        ([$($n:tt),+], $hidden:expr, $output:expr, $loss:expr, $df:expr, $dq:expr) => {
            seeds
                .clone()
                .map(|seed| {
                    let (h, o): (Activation, Activation) = ($hidden, $output);
                    let mut rng = microprop::rng(seed);
                    let mut f = <mlp![f32; $($n),+]>::new(h, o, Init::XavierNormal, 0.0, &mut rng)
                        .unwrap()
                        .into_training();
                    let mut rng = microprop::rng(seed);
                    let mut q = <mlp![Q16, FixedTable; $($n),+]>::new(
                        h.cast(),
                        o.cast(),
                        Init::XavierNormal,
                        0.0,
                        &mut rng,
                    )
                    .unwrap()
                    .into_training();
                    (
                        fit_with(&mut f, $loss, 0.2, 8, 20, $df, seed),
                        fit_with(&mut q, $loss, 0.2, 8, 20, $dq, seed),
                    )
                })
                .collect::<Vec<_>>()
        };
    }
    report(
        "binary cross-entropy, 2-16-1 sigmoid",
        mlp_rows!(
            [2, 16, 1],
            Activation::Sigmoid,
            Activation::Sigmoid,
            Loss::BinaryCrossEntropy,
            &f2,
            &g2
        ),
    );
    report(
        "softmax cross-entropy, 2-16-3 tanh, 3 classes",
        mlp_rows!(
            [2, 16, 3],
            Activation::Tanh,
            Activation::Softmax,
            Loss::CrossEntropy,
            &f3,
            &g3
        ),
    );
    // 2 → dense 16, batch norm (ReLU), dropout 0.1, dense 1 (sigmoid), in either scalar.
    macro_rules! bn_net {
        () => {
            Network::from_layers((
                Dense::default(),
                (
                    BatchNorm::new(Activation::Relu, BatchNormConfig::default()).unwrap(),
                    (
                        Dropout::new(0.1).unwrap(),
                        (Dense::zeroed(Activation::Sigmoid), ()),
                    ),
                ),
            ))
            .unwrap()
        };
    }
    let mut rows = Vec::new();
    for seed in seeds {
        let mut f: layers![f32; 2 => dense 16, batch_norm, dropout, dense 1] = bn_net!();
        let mut q: layers![Q16, FixedTable; 2 => dense 16, batch_norm, dropout, dense 1] =
            bn_net!();
        f.init(Init::HeNormal, 0.0, &mut microprop::rng(seed))
            .unwrap();
        q.init(Init::HeNormal, 0.0, &mut microprop::rng(seed))
            .unwrap();
        let (mut f, mut q) = (f.into_batched::<8>(), q.into_batched::<8>());
        rows.push((
            fit_with(&mut f, Loss::Mse, 0.2, 8, 20, &f2, seed),
            fit_with(&mut q, Loss::Mse, 0.2, 8, 20, &g2, seed),
        ));
    }
    report("batch norm + dropout, 2-16bn-1", rows);
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

/// One layer of a model after a walk: weights (rows), outputs `a`, δ (the `z` cache after
/// the backward pass) and the parameter gradients.
struct Seen {
    inputs: usize,
    w: Vec<f64>,
    a: Vec<f64>,
    delta: Vec<f64>,
    g: Vec<f64>,
}

/// One sample forward and backward (MSE, gradients overwritten), then every layer.
fn walk_one<T: Model>(m: &mut T, x: &[[T::Scalar; 2]], labels: &[u8], i: u16) -> Vec<Seen> {
    let data = Dataset::new(x, labels).unwrap();
    train::walk(
        m,
        Some(Loss::Mse),
        &data,
        &[i],
        &mut Pass::probe(),
        Some(Grads::Overwrite),
    )
    .unwrap();
    let f = |s: &[T::Scalar]| s.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
    let mut out = Vec::new();
    m.visit_layers(|l| {
        out.push(Seen {
            inputs: l.inputs,
            w: f(l.w),
            a: f(l.a),
            delta: f(l.z),
            g: f(l.gw).into_iter().chain(f(l.gb)).collect(),
        })
    });
    out
}

/// The largest error of `f` (and of `f'` from `(z, f(z))`) of backend `M` against `f64`
/// libm, over every 64th Q16 value of [-16, 16] (the gradient check's `e_f`).
fn q16_errors<M: Math<Q16>>(act: Activation) -> (f64, f64) {
    let (q, r) = (act.cast::<Q16>(), act.cast::<f64>());
    let (mut ef, mut ed) = (0.0f64, 0.0f64);
    for bits in (-(16 << 16)..=(16 << 16)).step_by(64) {
        let z = Q16::from_bits(bits);
        let a = q.forward::<M>(z);
        let want = r.forward::<Libm>(z.to_f64());
        ef = ef.max((a.to_f64() - want).abs());
        ed = ed
            .max((q.derivative::<M>(z, a).to_f64() - r.derivative::<Libm>(z.to_f64(), want)).abs());
    }
    (ef, ed)
}

/// Gradient check of the Q16 backward pass against the `f64` one on the same weights
/// (Q16 values are exact in `f64`), every parameter within a bound derived from the
/// format's resolution `u = 2⁻¹⁶`.
///
/// Derivation (first-order forward error analysis; smooth activations only, since at a
/// ReLU kink an error of one unit in `z` flips the derivative). Inputs and weights are the
/// same numbers in both. In Q16 a sum is exact (nothing saturates here) and a product
/// errs by at most `u/2` (it rounds to nearest), so with `E_x` the bound on an input's
/// error, `n` the fan-in, `e_f` the backend's measured error of `f`, `L_f = max |f'|`
/// (σ ¼, tanh 1):
/// * `z = b + Σ w a`: `E_z ≤ max_o Σ_i |w_oi| E_a + n u/2`; `a = f(z)`:
///   `E_a ≤ L_f E_z + e_f`.
/// * `f'` from `a` (σ: `a (1 − a)`, tanh: `1 − a²`): `E_d ≤ c_f E_a + u/2`, `c_f` = 1, 2.
/// * output `g = a − y`: `E_g = E_a`; hidden `g_i = Σ_o w_oi δ_o`:
///   `E_g ≤ max_i Σ_o |w_oi| E_δ + n_out u/2`.
/// * `δ = f' · g`: `E_δ ≤ max|f'| E_g + max|g| E_d + E_d E_g + u/2`.
/// * `∂L/∂w = δ a_prev`: `E ≤ max|δ| E_a,prev + max|a_prev| E_δ + E_δ E_a,prev + u/2`;
///   `∂L/∂b = δ`: `E_δ`.
///
/// The maxima are taken from the `f64` pass. Checked over three configurations, four
/// seeds and four samples each.
#[test]
fn q16_gradients_match_f64_within_the_derived_bound() {
    let u = 1.0 / 65536.0;
    let h = u / 2.0;
    let mut rng = microprop::rng(7);
    let (mut x32, mut labels) = (vec![[0.0f32; 2]; 8], vec![0u8; 8]);
    data::xor(&mut rng, 0.05, &mut x32, &mut labels).unwrap();
    let xq = both(&x32);
    let x64: Vec<[f64; 2]> = xq.iter().map(|p| [p[0].to_f64(), p[1].to_f64()]).collect();
    let mut worst = Vec::new();
    macro_rules! check {
        ([$($n:tt),+], $act:expr) => {{
            type Q = mlp![Q16, FixedTable; $($n),+];
            type D = mlp![f64; $($n),+];
            let act: Activation = $act;
            let (ef, _) = q16_errors::<FixedTable>(act);
            let (lf, cf) = if act == Activation::Sigmoid { (0.25, 1.0) } else { (1.0, 2.0) };
            let mut ratio = 0.0f64;
            let mut bound_units = 0.0f64;
            for seed in 0..4u64 {
                let mut rng = microprop::rng(seed);
                let mut q = Q::new(act.cast(), Activation::Sigmoid, Init::XavierNormal, 0.1, &mut rng)
                    .unwrap()
                    .into_training();
                let mut d = D::new(act.cast(), Activation::Sigmoid, Init::Zeros, 0.0, &mut rng)
                    .unwrap()
                    .into_training();
                microprop::fixed::convert(&q, &mut d).unwrap();
                for i in 0..4u16 {
                    let sq = walk_one(&mut q, &xq, &labels, i);
                    let sd = walk_one(&mut d, &x64, &labels, i);
                    let depth = sd.len();
                    // Forward bounds; index 0 is the input (exact).
                    let mut ea = vec![0.0f64];
                    let mut amax = vec![x64[usize::from(i)].iter().fold(0.0f64, |m, v| m.max(v.abs()))];
                    for l in &sd {
                        let rows = l.w.chunks(l.inputs);
                        let wsum = rows.map(|r| r.iter().map(|w| w.abs()).sum::<f64>()).fold(0.0, f64::max);
                        let ez = wsum * ea.last().unwrap() + l.inputs as f64 * h;
                        let (last_l, this_ef) = (lf, ef);
                        ea.push(last_l * ez + this_ef);
                        amax.push(l.a.iter().fold(0.0f64, |m, v| m.max(v.abs())));
                    }
                    // Backward, from the output layer (sigmoid output: L_f ¼, c_f 1).
                    let y = f64::from(labels[usize::from(i)]);
                    let mut eg = ea[depth];
                    let mut gmax = (sd[depth - 1].a[0] - y).abs();
                    for l in (0..depth).rev() {
                        let (dmax, c) = if l == depth - 1 { (0.25, 1.0) } else { (lf, cf) };
                        let ed = c * ea[l + 1] + h;
                        let edelta = dmax * eg + gmax * ed + ed * eg + h;
                        let dlt = &sd[l].delta;
                        let dabs = dlt.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                        let ew = dabs * ea[l] + amax[l] * edelta + edelta * ea[l] + h;
                        let nw = sd[l].w.len();
                        for (k, (gq, gd)) in sq[l].g.iter().zip(&sd[l].g).enumerate() {
                            let bound = if k < nw { ew } else { edelta };
                            let err = (gq - gd).abs();
                            assert!(err <= bound, "{} seed {seed} sample {i} layer {l} param {k}: |{gq} − {gd}| = {err:e} > {bound:e}", stringify!($($n),+));
                            ratio = ratio.max(err / bound);
                            bound_units = bound_units.max(bound / u);
                        }
                        // Upstream g of the layer before.
                        let (inp, out) = (sd[l].inputs, dlt.len());
                        let w = &sd[l].w;
                        let col = |i: usize, f: &dyn Fn(usize) -> f64| (0..out).map(|o| w[o * inp + i].abs() * f(o)).sum::<f64>();
                        eg = (0..inp).map(|i| col(i, &|_| edelta)).fold(0.0, f64::max) + out as f64 * h;
                        gmax = (0..inp).map(|i| col(i, &|o| dlt[o].abs())).fold(0.0, f64::max);
                    }
                }
            }
            println!(
                "gradient check {} {}: worst |q16 − f64| / bound = {ratio:.3}, largest bound {bound_units:.1} units of 2⁻¹⁶",
                stringify!($($n),+),
                act.name()
            );
            worst.push(ratio);
        }};
    }
    check!([2, 8, 1], Activation::Sigmoid);
    check!([2, 16, 1], Activation::Sigmoid);
    check!([2, 8, 8, 1], Activation::Tanh);
    // The bound is not vacuous: in each configuration some gradient error comes within a
    // factor 20 of it.
    assert!(worst.iter().all(|&r| r > 0.05), "{worst:?}");
}

/// The finding: the 9-deep sigmoid net (2-2-…-2-1, nine hidden layers of 2) has its
/// first-layer gradients underflow to exactly 0 in Q16, where `f64` measures them
/// nonzero but below the smallest representable magnitude 2⁻¹⁶; the last layer still
/// learns. Over five seeds and two initialisations; training then leaves the first
/// layer bit-identical.
#[test]
fn deep_sigmoid_first_layer_gradients_underflow_to_zero() {
    type Q = mlp![Q16, FixedTable; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
    type D = mlp![f64; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
    let mut rng = microprop::rng(9);
    let (mut x32, mut labels) = (vec![[0.0f32; 2]; 64], vec![0u8; 64]);
    Clusters::two(0.7)
        .generate(&mut rng, &mut x32, &mut labels)
        .unwrap();
    let xq = both(&x32);
    let x64: Vec<[f64; 2]> = xq.iter().map(|p| [p[0].to_f64(), p[1].to_f64()]).collect();
    let norm = |g: &[f64]| g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let maxabs = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    println!(
        "9-deep sigmoid net, smallest representable Q16 gradient 2⁻¹⁶ = {:.3e}:",
        1.0 / 65536.0
    );
    for init in [Init::XavierNormal, Init::XavierUniform] {
        for seed in 0..5u64 {
            let mut rng = microprop::rng(seed);
            let mut q = Q::new(
                Activation::Sigmoid,
                Activation::Sigmoid,
                init,
                0.0,
                &mut rng,
            )
            .unwrap()
            .into_training();
            let mut d = D::new(
                Activation::Sigmoid,
                Activation::Sigmoid,
                Init::Zeros,
                0.0,
                &mut rng,
            )
            .unwrap()
            .into_training();
            microprop::fixed::convert(&q, &mut d).unwrap();
            let (mut f64_first, mut f64_last, mut q_last) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..8u16 {
                let sq = walk_one(&mut q, &xq, &labels, i);
                let sd = walk_one(&mut d, &x64, &labels, i);
                assert!(
                    sq[0].g.iter().all(|&g| g == 0.0),
                    "{init:?} seed {seed}: {:?}",
                    sq[0].g
                );
                assert!(maxabs(&sd[0].g) > 0.0 && maxabs(&sd[0].g) < 1.0 / 65536.0);
                f64_first = f64_first.max(norm(&sd[0].g));
                f64_last = f64_last.max(norm(&sd[9].g));
                q_last = q_last.max(norm(&sq[9].g));
            }
            assert!(q_last > 0.0, "the last layer's gradient is nonzero");
            // Training: the first layer never moves.
            let before: Vec<u64> = {
                let mut v = Vec::new();
                q.visit_layers(|l| {
                    if l.index == 0 {
                        v.extend(l.w.iter().chain(l.b).map(|x| x.to_bits_u64()))
                    }
                });
                v
            };
            let all_before = bits(&q);
            let dq = Dataset::new(&xq, &labels).unwrap();
            let mut opt = Sgd::new(Q16::from_f64(0.5)).unwrap();
            let mut t = Trainer::new(Loss::Mse, 8).unwrap();
            let mut order = vec![0u16; dq.len()];
            train::fill_order(&mut order).unwrap();
            let mut r = microprop::rng(seed);
            for _ in 0..5 {
                t.epoch(&mut q, &mut opt, &dq, &mut order, &mut r).unwrap();
            }
            let mut after = Vec::new();
            q.visit_layers(|l| {
                if l.index == 0 {
                    after.extend(l.w.iter().chain(l.b).map(|x| x.to_bits_u64()))
                }
            });
            assert_eq!(before, after, "{init:?} seed {seed}: the first layer moved");
            assert_ne!(bits(&q), all_before, "the rest of the net trains");
            println!(
                "    {init:?} seed {seed}: first-layer gradient norm f64 {f64_first:.2e} (q16 exactly 0), last layer f64 {f64_last:.2e} / q16 {q_last:.2e}"
            );
        }
    }
}

/// The largest absolute error of every activation and its derivative in Q16 under each
/// backend, over [-10, 10] (200,001 points, each rounded to Q16, the reference taken at
/// the rounded point), against `f64` libm.
fn q16_table_row<M: Math<Q16>>(act: Activation) -> [f64; 2] {
    let (q, r) = (act.cast::<Q16>(), act.cast::<f64>());
    let (mut ef, mut ed) = (0.0f64, 0.0f64);
    for i in 0..200_001 {
        let z = Q16::from_f64(-10.0 + 20.0 * f64::from(i) / 200_000.0);
        let a = q.forward::<M>(z);
        let want = r.forward::<Libm>(z.to_f64());
        ef = ef.max((a.to_f64() - want).abs());
        let d = q.derivative::<M>(z, a).to_f64();
        ed = ed.max((d - r.derivative::<Libm>(z.to_f64(), want)).abs());
    }
    [ef, ed]
}

/// The `q16` table of `core/docs/backend-accuracy.md`: each documented figure bounds the
/// measurement and is within 2× of it (or both are within a unit of 2⁻¹⁶).
#[test]
fn q16_activation_errors_match_the_documented_table() {
    let doc = include_str!("../docs/backend-accuracy.md");
    let documented: Vec<(String, Vec<f64>)> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| q16 activation |"))
        .skip(2)
        .take_while(|l| l.starts_with("| "))
        .map(|l| {
            let cells: Vec<&str> = l
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (
                cells[0].to_string(),
                cells[1..].iter().map(|c| c.parse().unwrap()).collect(),
            )
        })
        .collect();
    let mut table = String::from(
        "| q16 activation | table f abs | table f' abs | poly f abs | poly f' abs | libm f abs | libm f' abs |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut bad = Vec::new();
    for act in Activation::ALL.into_iter().filter(|a| a.is_elementwise()) {
        let got: Vec<f64> = [
            q16_table_row::<FixedTable>(act),
            q16_table_row::<microprop::FixedPoly>(act),
            q16_table_row::<Libm>(act),
        ]
        .concat();
        table.push_str(&format!(
            "| {} | {} |\n",
            act.name(),
            got.iter()
                .map(|v| format!("{:.1e}", up(*v)))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        match documented.iter().find(|(n, _)| n == act.name()) {
            Some((_, d)) if d.len() == got.len() => {
                for (k, (&d, &g)) in d.iter().zip(&got).enumerate() {
                    if g > d || (d > 2.0 * g && d > 1.6e-5) {
                        bad.push(format!(
                            "{} column {k}: documented {d:e}, measured {g:e}",
                            act.name()
                        ));
                    }
                }
            }
            _ => bad.push(format!(
                "{} missing or malformed in the q16 table",
                act.name()
            )),
        }
    }
    println!("{table}");
    assert!(bad.is_empty(), "{bad:#?}\nmeasured:\n{table}");
}

/// Rounds up to two significant digits (what the table prints).
fn up(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let e = v.log10().floor() - 1.0;
    let s = 10f64.powf(e);
    (v / s).ceil() * s
}

/// SGD with momentum trains N1 in Q16 as in `f32` (within 1 point, three seeds).
#[test]
fn momentum_trains_in_q16() {
    use microprop::{Momentum, MomentumConfig};
    type F = mlp![f32; 2, 16, 1];
    type Q = mlp![Q16, FixedTable; 2, 16, 1];
    const P: usize = F::PARAMS;
    let mut rng = microprop::rng(11);
    let (mut x, mut l) = (vec![[0.0f32; 2]; 200], vec![0u8; 200]);
    Clusters::two(1.5)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let xq = both(&x);
    let (df, dq) = (
        Dataset::new(&x, &l).unwrap(),
        Dataset::new(&xq, &l).unwrap(),
    );
    fn run<T: Model, O: microprop::Optimizer<T::Scalar>>(
        m: &mut T,
        opt: &mut O,
        d: &Dataset<'_, T::Scalar>,
        seed: u64,
    ) -> f64 {
        let mut t = Trainer::new(Loss::Mse, 8).unwrap();
        let mut order = vec![0u16; d.len()];
        train::fill_order(&mut order).unwrap();
        let mut rng = microprop::rng(seed);
        for _ in 0..20 {
            t.epoch(m, opt, d, &mut order, &mut rng).unwrap();
        }
        train::evaluate(m, Loss::Mse, d).unwrap().accuracy.to_f64()
    }
    let mut accs = Vec::new();
    for seed in 1..4u64 {
        let mut rng = microprop::rng(seed);
        let mut f = F::new(
            Activation::Sigmoid,
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            &mut rng,
        )
        .unwrap()
        .into_training();
        let mut rng = microprop::rng(seed);
        let mut q = Q::new(
            Activation::Sigmoid,
            Activation::Sigmoid,
            Init::XavierNormal,
            0.0,
            &mut rng,
        )
        .unwrap()
        .into_training();
        let mut of = Momentum::new(
            MomentumConfig {
                lr: 0.05f32,
                momentum: 0.9,
            },
            [0.0f32; P],
        )
        .unwrap();
        let mut oq = Momentum::new(
            MomentumConfig {
                lr: Q16::from_f64(0.05),
                momentum: Q16::from_f64(0.9),
            },
            [Q16::ZERO; P],
        )
        .unwrap();
        accs.push((
            run(&mut f, &mut of, &df, seed),
            run(&mut q, &mut oq, &dq, seed),
        ));
    }
    println!("N1 sigmoid, two clusters (spread 1.5), momentum η=0.05 μ=0.9, batch 8, 20 epochs, f32/q16 per seed: {accs:?}");
    let (mf, mq) = accs
        .iter()
        .fold((0.0, 0.0), |s, a| (s.0 + a.0 / 3.0, s.1 + a.1 / 3.0));
    assert!((mf - mq).abs() <= 0.01 && mq > 0.8, "f32 {mf} q16 {mq}");
    // Adam, AdamW, RMSProp and AdaGrad do not exist in Q16: naming one is a compile-time
    // error (`microprop::Float`'s `compile_fail` example).
}

/// Conversion and the model format: an `f32` model converts to Q16 (rounding) and back
/// (exactly); a Q16 model saves with its tag and loads back bit-identical; a file of one
/// scalar is refused by a network of the other with `ScalarType` naming both. Over
/// three seeds and two shapes.
#[test]
fn q16_converts_and_round_trips_through_the_model_format() {
    use microprop::format::{self, Extras, Targets, Q16_SCALAR_TAG};
    use microprop::FormatError;
    macro_rules! round_trip {
        ([$($n:tt),+], $hidden:expr) => {{
            type F = mlp![f32; $($n),+];
            type Q = mlp![Q16, FixedTable; $($n),+];
            for seed in 0..3u64 {
                let hidden: Activation = $hidden;
                let mut rng = microprop::rng(seed);
                let f = F::new(hidden, Activation::Sigmoid, Init::HeNormal, 0.01, &mut rng).unwrap().into_training();
                let mut q = Q::zeroed(hidden.cast(), Activation::Sigmoid).unwrap().into_training();
                microprop::fixed::convert(&f, &mut q).unwrap();
                // Rounded to nearest: within half a unit.
                let (wf, wq) = (bits(&f), bits(&q));
                assert_eq!(wf.len(), wq.len());
                let mut fv = Vec::new();
                f.visit_layers(|l| fv.extend(l.w.iter().chain(l.b).map(|x| f64::from(*x))));
                let mut qv = Vec::new();
                q.visit_layers(|l| qv.extend(l.w.iter().chain(l.b).map(|x| x.to_f64())));
                assert!(fv.iter().zip(&qv).all(|(a, b)| (a - b).abs() <= 0.5 / 65536.0));
                assert!(fv.iter().zip(&qv).any(|(a, b)| a != b), "rounding happened");
                // Back to f32: exact (|w| < 256).
                let mut back = F::zeroed(hidden, Activation::Sigmoid).unwrap().into_training();
                microprop::fixed::convert(&q, &mut back).unwrap();
                let mut bv = Vec::new();
                back.visit_layers(|l| bv.extend(l.w.iter().chain(l.b).map(|x| f64::from(*x))));
                assert_eq!(bv, qv);
                // The format: Q16 in, Q16 out, bit-identical; the tag refuses the other scalar.
                let (qn, fnet) = (q.into_network(), f.into_network());
                let mut qbuf = vec![0u8; 8192];
                let n = format::save_network(&qn, &Extras::none(), &mut qbuf).unwrap();
                let qbuf = &qbuf[..n];
                let mut loaded = Q::zeroed(hidden.cast(), Activation::Sigmoid).unwrap();
                format::load_network(qbuf, &mut loaded, Targets::none()).unwrap();
                assert_eq!(bits(&loaded.into_training()), wq);
                let mut as_f32 = F::zeroed(hidden, Activation::Sigmoid).unwrap();
                let err = format::load_network(qbuf, &mut as_f32, Targets::none()).unwrap_err();
                assert_eq!(err, FormatError::ScalarType { expected: 4, found: Q16_SCALAR_TAG }.into());
                let mut fbuf = vec![0u8; 8192];
                let n = format::save_network(&fnet, &Extras::none(), &mut fbuf).unwrap();
                let mut as_q16 = Q::zeroed(hidden.cast(), Activation::Sigmoid).unwrap();
                let err2 = format::load_network(&fbuf[..n], &mut as_q16, Targets::none()).unwrap_err();
                assert_eq!(err2, FormatError::ScalarType { expected: Q16_SCALAR_TAG, found: 4 }.into());
                assert_eq!(format::read_info(qbuf).unwrap().scalar_bytes, 4);
                if seed == 0 {
                    println!("{}: q16 file {} bytes; into f32: \"{err}\"; f32 file into q16: \"{err2}\"", stringify!($($n),+), qbuf.len());
                }
            }
        }};
    }
    round_trip!([2, 16, 1], Activation::Sigmoid);
    round_trip!([2, 8, 8, 1], Activation::LeakyRelu(0.01));
    // A value beyond Q16's range is refused, nothing written.
    type F = mlp![f32; 2, 4, 1];
    type Q = mlp![Q16, FixedTable; 2, 4, 1];
    let mut f = F::zeroed(Activation::Relu, Activation::Sigmoid)
        .unwrap()
        .into_training();
    f.visit_layers_mut(|l| l.b.fill(40000.0));
    let mut q = Q::zeroed(Activation::Relu, Activation::Sigmoid)
        .unwrap()
        .into_training();
    let before = bits(&q);
    assert!(matches!(
        microprop::fixed::convert(&f, &mut q),
        Err(Error::InvalidHyperParameter(_))
    ));
    assert_eq!(bits(&q), before);
}

/// Trains `model` with `opt` (MSE, batch `batch`) step by step over `epochs` passes of
/// `data` in a fixed order, hashing every step's outcome (its loss bits, or the error)
/// with the final weights: any change of a Q16 result, accepted or refused, changes it.
fn pinned_run<T: Model, O: microprop::Optimizer<T::Scalar>>(
    model: &mut T,
    opt: &mut O,
    batch: usize,
    epochs: usize,
    data: &Dataset<'_, T::Scalar>,
) -> (u64, usize) {
    let mut t = Trainer::new(Loss::Mse, batch).unwrap();
    let mut rng = microprop::rng(5);
    let (mut h, mut refused) = (0xcbf2_9ce4_8422_2325u64, 0);
    let n = data.len() as u16;
    for e in 0..epochs as u16 {
        for s in (0..n).step_by(batch) {
            let idx: Vec<u16> = (s..(s + batch as u16).min(n))
                .map(|i| (i * 7 + e) % n)
                .collect();
            let word = match t.step(model, opt, data, &idx, &mut rng) {
                Ok(loss) => loss.to_bits_u64(),
                Err(err) => {
                    refused += 1;
                    0xdead_0000 ^ format!("{err}").len() as u64
                }
            };
            h = (h ^ word).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (
        (h ^ model.weights_hash()).wrapping_mul(0x0000_0100_0000_01b3),
        refused,
    )
}

/// Pins the Q16 results bit for bit (hashes of every step's loss and the final weights,
/// measured before the fixed-point kernels got their fast paths): online and batched
/// steps, small (inlined) and large (out-of-line) layers, sigmoid, tanh and ReLU, SGD and
/// momentum, both integer backends, and inputs large enough (|x| up to ≈ 600) to leave
/// every fast path and to saturate: a faster kernel must compute exactly the same numbers.
#[test]
fn q16_results_are_pinned_bit_for_bit() {
    use microprop::{FixedPoly, Momentum, MomentumConfig};
    let mut rng = microprop::rng(3);
    let (mut x, mut l) = (vec![[0.0f32; 2]; 96], vec![0u8; 96]);
    Clusters::two(0.9)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let xq = both(&x);
    let big: Vec<[Q16; 2]> = x
        .iter()
        .map(|p| [Q16::from_f32(p[0] * 150.0), Q16::from_f32(p[1] * 40.0)])
        .collect();
    let dq = Dataset::new(&xq, &l).unwrap();
    let db = Dataset::new(&big, &l).unwrap();
    let mut got = Vec::new();
    macro_rules! case {
        ($name:literal, $M:ty, [$($n:tt),+], $hidden:expr, $init:expr, $lr:expr, $batch:expr,
         $epochs:expr, $data:expr, $momentum:expr) => {{
            type Q = mlp![Q16, $M; $($n),+];
            for seed in 1..3u64 {
                let mut rng = microprop::rng(seed);
                let hidden: Activation = $hidden;
                let mut q = Q::new(hidden.cast(), Activation::Sigmoid, $init, 0.01, &mut rng)
                    .unwrap()
                    .into_training();
                let lr = Q16::from_f64($lr);
                let r = if $momentum {
                    let mut o = Momentum::new(
                        MomentumConfig { lr, momentum: Q16::from_f64(0.9) },
                        [Q16::ZERO; Q::PARAMS],
                    )
                    .unwrap();
                    pinned_run(&mut q, &mut o, $batch, $epochs, $data)
                } else {
                    let mut o = Sgd::new(lr).unwrap();
                    pinned_run(&mut q, &mut o, $batch, $epochs, $data)
                };
                got.push(($name, seed, r.0, r.1));
            }
        }};
    }
    case!(
        "n1 online",
        FixedTable,
        [2, 16, 1],
        Activation::Sigmoid,
        Init::XavierNormal,
        0.5,
        1,
        3,
        &dq,
        false
    );
    case!(
        "n1 poly online",
        FixedPoly,
        [2, 16, 1],
        Activation::Sigmoid,
        Init::XavierNormal,
        0.5,
        1,
        2,
        &dq,
        false
    );
    case!(
        "n1 batch 8",
        FixedTable,
        [2, 16, 1],
        Activation::Sigmoid,
        Init::XavierNormal,
        0.5,
        8,
        4,
        &dq,
        false
    );
    case!(
        "n2 relu online",
        FixedTable,
        [2, 32, 32, 1],
        Activation::Relu,
        Init::HeNormal,
        0.1,
        1,
        2,
        &dq,
        false
    );
    case!(
        "n2 relu batch 4",
        FixedTable,
        [2, 32, 32, 1],
        Activation::Relu,
        Init::HeNormal,
        0.1,
        4,
        2,
        &dq,
        false
    );
    case!(
        "tanh 2-8-8-1 momentum",
        FixedTable,
        [2, 8, 8, 1],
        Activation::Tanh,
        Init::XavierNormal,
        0.05,
        1,
        3,
        &dq,
        true
    );
    case!(
        "leaky 2-12-9-1 batch 3",
        FixedTable,
        [2, 12, 9, 1],
        Activation::LeakyRelu(0.1),
        Init::HeNormal,
        0.2,
        3,
        2,
        &dq,
        false
    );
    case!(
        "big inputs n1",
        FixedTable,
        [2, 16, 1],
        Activation::Sigmoid,
        Init::XavierNormal,
        0.5,
        1,
        2,
        &db,
        false
    );
    case!(
        "big inputs n2 relu",
        FixedTable,
        [2, 32, 32, 1],
        Activation::Relu,
        Init::HeNormal,
        2.0,
        1,
        2,
        &db,
        false
    );
    case!(
        "big inputs relu batch 2",
        FixedTable,
        [2, 24, 1],
        Activation::Relu,
        Init::HeNormal,
        8.0,
        2,
        2,
        &db,
        false
    );
    for g in &got {
        println!("    ({:?}, {}, {:#018x}, {}),", g.0, g.1, g.2, g.3);
    }
    let want: &[(&str, u64, u64, usize)] = &[
        ("n1 online", 1, 0x215df7e8b384c6a0, 0),
        ("n1 online", 2, 0xbef4d3351d5964ed, 0),
        ("n1 poly online", 1, 0xd6799cfc3267be31, 0),
        ("n1 poly online", 2, 0x6a2ed9b8e941b21c, 0),
        ("n1 batch 8", 1, 0xe138f72a8530014f, 0),
        ("n1 batch 8", 2, 0x6880911b75894593, 0),
        ("n2 relu online", 1, 0xef0a737139b4a533, 0),
        ("n2 relu online", 2, 0x949cfca6ab17cd62, 0),
        ("n2 relu batch 4", 1, 0x1b491a37cd1b9a28, 0),
        ("n2 relu batch 4", 2, 0x1181cd30b2e24600, 0),
        ("tanh 2-8-8-1 momentum", 1, 0x11a1ad30015f95fd, 0),
        ("tanh 2-8-8-1 momentum", 2, 0x91b815995793e767, 0),
        ("leaky 2-12-9-1 batch 3", 1, 0x07a6c9ea5722a659, 0),
        ("leaky 2-12-9-1 batch 3", 2, 0xa170a579ace88686, 0),
        ("big inputs n1", 1, 0x6fed8d4b2778788a, 0),
        ("big inputs n1", 2, 0x386558be6c7c6619, 0),
        ("big inputs n2 relu", 1, 0xc4204da8a345dd72, 8),
        ("big inputs n2 relu", 2, 0x0b361e0eb5f873b5, 0),
        ("big inputs relu batch 2", 1, 0xbc59f24851342165, 0),
        ("big inputs relu batch 2", 2, 0x829da5cc1cda64d1, 0),
    ];
    assert_eq!(got, want);
}

/// Random Q16 values across every regime the fast kernels tell apart: zeros, the small
/// values of training, the edges of the product range (|x| = 128), large values and the
/// three saturated bit patterns.
fn adversarial(state: &mut u64, zeros: u64) -> Q16 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let s = *state;
    let r = (s >> 32) as i32;
    let bits = match s % 100 {
        k if k < zeros => 0,
        k if k < 60 => r >> 13, // |x| < 2⁻³ … 2² (units up to 2¹⁸)
        k if k < 75 => r >> 8,  // |x| < 128
        k if k < 82 => (1 << 23) - (r & 3) - 1, // just below the product range
        k if k < 86 => -(1 << 23) + (r & 3) - 1, // −128 and just beyond
        k if k < 93 => r >> 1,  // large: up to 16384
        k if k < 96 => r,       // anything
        97 => i32::MAX,
        98 => i32::MIN,
        _ => i32::MIN + 1,
    };
    Q16::from_bits(bits)
}

/// The Q16 kernels behind `Scalar`'s hooks (`kernel::affine`, `transpose_times`,
/// `outer_axpy`, `axpy`, `sum_abs`) give exactly the generic kernels' bits, on random shapes and on
/// values from every regime (zeros, small, the product range's edges, large, saturated),
/// with the rare regimes from absent to frequent.
#[test]
fn q16_kernels_equal_the_generic_ones() {
    use microprop::kernel;
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut cases = 0;
    let shapes = [
        (0, 3),
        (1, 1),
        (2, 1),
        (3, 2),
        (4, 4),
        (7, 5),
        (8, 4),
        (9, 6),
        (16, 1),
        (33, 9),
    ];
    for round in 0..300u32 {
        let (n, rows) = shapes[round as usize % shapes.len()];
        // Rounds with a narrower mix: most values small, so the fast paths run.
        let zeros = [0, 10, 40][round as usize % 3];
        let calm = round % 2 == 0;
        let draw = |s: &mut u64| {
            let q = adversarial(s, zeros);
            if calm && q.to_bits().unsigned_abs() > 1 << 18 {
                Q16::from_bits(q.to_bits() >> 14)
            } else {
                q
            }
        };
        let w: Vec<Q16> = (0..n * rows).map(|_| draw(&mut s)).collect();
        let b: Vec<Q16> = (0..rows).map(|_| draw(&mut s)).collect();
        let x: Vec<Q16> = (0..n).map(|_| draw(&mut s)).collect();
        let d: Vec<Q16> = (0..rows).map(|_| draw(&mut s)).collect();
        let alpha = [Q16::from_f64(-0.1), Q16::from_f64(2.5), draw(&mut s)][round as usize % 3];
        let raw = |v: &[Q16]| v.iter().map(|q| q.to_bits()).collect::<Vec<i32>>();

        let (mut z1, mut z2) = (vec![Q16::ONE; rows], vec![Q16::ONE; rows]);
        kernel::affine(&w, &b, &x, &mut z1);
        kernel::affine_generic(&w, &b, &x, &mut z2);
        assert_eq!(raw(&z1), raw(&z2), "affine {n}×{rows} round {round}");

        let (mut o1, mut o2) = (vec![Q16::HALF; n], vec![Q16::HALF; n]);
        kernel::transpose_times(&w, &d, &mut o1);
        kernel::transpose_times_generic(&w, &d, &mut o2);
        assert_eq!(
            raw(&o1),
            raw(&o2),
            "transpose_times {n}×{rows} round {round}"
        );

        let (mut w1, mut w2) = (w.clone(), w.clone());
        kernel::outer_axpy(alpha, &mut w1, &d, &x);
        kernel::outer_axpy_generic(alpha, &mut w2, &d, &x);
        assert_eq!(raw(&w1), raw(&w2), "outer_axpy {n}×{rows} round {round}");

        let (mut y1, mut y2) = (w.clone(), w.clone());
        let xs: Vec<Q16> = (0..w.len()).map(|_| draw(&mut s)).collect();
        kernel::axpy(alpha, &xs, &mut y1);
        kernel::axpy_generic(alpha, &xs, &mut y2);
        assert_eq!(raw(&y1), raw(&y2), "axpy {n}×{rows} round {round}");
        let sums = (kernel::sum_abs(&w), kernel::sum_abs_generic(&w));
        assert_eq!(
            sums.0.to_bits(),
            sums.1.to_bits(),
            "sum_abs {n}×{rows} round {round}"
        );
        cases += 1;
    }
    assert_eq!(cases, 300);
}
