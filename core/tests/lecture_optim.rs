//! Optimizers: the first three steps against hand-derived values, convergence on an
//! ill-conditioned quadratic, hyper-parameter validation, state sizing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Error, Momentum, MomentumConfig,
    Nesterov, Optimizer, RmsProp, RmsPropConfig, Sgd,
};

/// Runs `steps` steps of `opt` on `L(w) = ½ Σ cᵢ wᵢ²` (gradient `cᵢ wᵢ`) from `w`, the two
/// parameters handed over as two blocks (offsets 0 and 1) as the trainer does for a
/// layer's weights and biases. Returns the weights after each step.
fn run<O: Optimizer<f64>>(
    opt: &mut O,
    c: [f64; 2],
    mut w: [f64; 2],
    steps: usize,
) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for _ in 0..steps {
        let g = [c[0] * w[0], c[1] * w[1]];
        opt.begin_step(2).unwrap();
        let (w0, w1) = w.split_at_mut(1);
        opt.update(0, w0, &g[..1]);
        opt.update(1, w1, &g[1..]);
        out.push(w);
    }
    out
}

fn assert_close(got: &[[f64; 2]], want: &[[f64; 2]]) {
    for (g, w) in got.iter().zip(want) {
        for (g, w) in g.iter().zip(w) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }
}

// The 2-parameter problem: L(w) = ½(w0² + 4·w1²), g = (w0, 4·w1), w = (1, −2), so the
// first gradient is g₁ = (1, −8). Values after steps 2 and 3 come from this reference
// script (plain float64 Python, the formulas of each optimizer's doc comment), and the
// first step (or all three, for the linear methods) is derived by hand beside them:
//
//     import math
//     def g(w): return [w[0], 4*w[1]]
//     def run(step, n=3):
//         w=[1.0,-2.0]; st={}; out=[]
//         for t in range(1,n+1):
//             w=step(w,g(w),st,t); out.append(list(w))
//         return out
//     def ada(w,g,st,t):
//         c=st.get('c',[0,0]); c=[ci+gi*gi for ci,gi in zip(c,g)]; st['c']=c
//         return [wi-0.1*gi/(math.sqrt(ci)+1e-8) for wi,gi,ci in zip(w,g,c)]
//     def rms(w,g,st,t):
//         c=st.get('c',[0,0]); c=[0.9*ci+0.1*gi*gi for ci,gi in zip(c,g)]; st['c']=c
//         return [wi-0.1*gi/(math.sqrt(ci)+1e-8) for wi,gi,ci in zip(w,g,c)]
//     def adam(wd):
//         def f(w,g,st,t):
//             m=st.get('m',[0,0]); v=st.get('v',[0,0])
//             m=[0.9*mi+0.1*gi for mi,gi in zip(m,g)]
//             v=[0.999*vi+0.001*gi*gi for vi,gi in zip(v,g)]
//             st['m']=m; st['v']=v
//             c1=1/(1-0.9**t); c2=1/(1-0.999**t)
//             return [wi-0.1*(mi*c1/(math.sqrt(vi*c2)+1e-8)+wd*wi)
//                     for wi,mi,vi in zip(w,m,v)]
//         return f
//     print(run(ada), run(rms), run(adam(0)), run(adam(0.1)))

const C: [f64; 2] = [1.0, 4.0];
const W0: [f64; 2] = [1.0, -2.0];

#[test]
fn sgd_first_three_steps() {
    // w ← w − 0.1 g: (1, −2) − 0.1(1, −8) = (0.9, −1.2); g = (0.9, −4.8) → (0.81, −0.72);
    // g = (0.81, −2.88) → (0.729, −0.432).
    let got = run(&mut Sgd::new(0.1).unwrap(), C, W0, 3);
    assert_close(&got, &[[0.9, -1.2], [0.81, -0.72], [0.729, -0.432]]);
}

#[test]
fn momentum_first_three_steps() {
    // v ← 0.9 v − 0.1 g, w ← w + v.
    // 1: v = (−0.1, 0.8), w = (0.9, −1.2).
    // 2: g = (0.9, −4.8), v = (−0.09 − 0.09, 0.72 + 0.48) = (−0.18, 1.2), w = (0.72, 0).
    // 3: g = (0.72, 0), v = (−0.162 − 0.072, 1.08) = (−0.234, 1.08), w = (0.486, 1.08).
    let cfg = MomentumConfig {
        lr: 0.1,
        momentum: 0.9,
    };
    let got = run(&mut Momentum::new(cfg, [0.0; 2]).unwrap(), C, W0, 3);
    assert_close(&got, &[[0.9, -1.2], [0.72, 0.0], [0.486, 1.08]]);
}

#[test]
fn nesterov_first_three_steps() {
    // v' ← 0.9 v − 0.1 g, w ← w − 0.9 v + 1.9 v'.
    // 1: v' = (−0.1, 0.8), w = (1 − 0.19, −2 + 1.52) = (0.81, −0.48).
    // 2: g = (0.81, −1.92), v' = (−0.09 − 0.081, 0.72 + 0.192) = (−0.171, 0.912),
    //    w = (0.81 + 0.09 − 0.3249, −0.48 − 0.72 + 1.7328) = (0.5751, 0.5328).
    // 3: g = (0.5751, 2.1312), v' = (−0.1539 − 0.05751, 0.8208 − 0.21312)
    //    = (−0.21141, 0.60768), w = (0.5751 + 0.1539 − 0.401679, 0.5328 − 0.8208 + 1.154592)
    //    = (0.327321, 0.866592).
    let cfg = MomentumConfig {
        lr: 0.1,
        momentum: 0.9,
    };
    let got = run(&mut Nesterov::new(cfg, vec![0.0; 2]).unwrap(), C, W0, 3);
    assert_close(
        &got,
        &[[0.81, -0.48], [0.5751, 0.5328], [0.327321, 0.866592]],
    );
}

#[test]
fn adagrad_first_three_steps() {
    // 1: c = g² = (1, 64), w = (1 − 0.1·1/(1 + ε), −2 + 0.1·8/(8 + ε))
    //    = (0.900000001, −1.900000000125) with ε = 1e-8. Steps 2, 3: the script.
    let cfg = AdaGradConfig { lr: 0.1, eps: 1e-8 };
    let mut buf = [0.0f64; 2];
    let got = run(
        &mut AdaGrad::<f64, _>::new(cfg, &mut buf[..]).unwrap(),
        C,
        W0,
        3,
    );
    assert_close(
        &got,
        &[
            [0.900000001, -1.900000000125],
            [0.8331035282939266, -1.8311250539935668],
            [0.7804561830893826, -1.7758215152326928],
        ],
    );
    // The state is the caller's buffer: the cache holds Σ g² over the three steps.
    assert!(
        (buf[0] - (1.0 + 0.900000001f64.powi(2) + 0.8331035282939266f64.powi(2))).abs() < 1e-12
    );
}

#[test]
fn rmsprop_first_three_steps() {
    // 1: c = 0.1 g², √c = |g|/√10, w = w − 0.1·√10·sign(g) = (1 − 0.316228, −2 + 0.316228)
    //    (ε = 1e-8 shifts the 10th digit). Steps 2, 3: the script.
    let cfg = RmsPropConfig {
        lr: 0.1,
        decay: 0.9,
        eps: 1e-8,
    };
    let got = run(
        &mut RmsProp::<f64, _>::new(cfg, [0.0; 2]).unwrap(),
        C,
        W0,
        3,
    );
    assert_close(
        &got,
        &[
            [0.6837722439831617, -1.683772235233162],
            [0.49887062011723743, -1.4738753153155493],
            [0.3691805674277941, -1.3087178691207813],
        ],
    );
}

#[test]
fn adam_first_three_steps() {
    // 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², so w ← w − 0.1 g/(|g| + ε) ≈ w − 0.1 sign(g)
    //    = (0.900000001, −1.900000000125). Steps 2, 3: the script.
    let cfg = AdamConfig {
        lr: 0.1,
        ..AdamConfig::default()
    };
    let mut adam = Adam::<f64, _>::new(cfg, [0.0; 4]).unwrap();
    let got = run(&mut adam, C, W0, 3);
    assert_close(
        &got,
        &[
            [0.9000000009999999, -1.900000000125],
            [0.8004122297123379, -1.800166485863005],
            [0.7015862745044148, -1.7006233916636406],
        ],
    );
    assert_eq!(adam.steps(), 3);
}

#[test]
fn adamw_first_three_steps() {
    // 1: Adam's step plus the decoupled decay η λ w = 0.1·0.1·(1, −2) = (0.01, −0.02):
    //    (0.890000001, −1.880000000125). Steps 2, 3: the script.
    let cfg = AdamWConfig {
        adam: AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        },
        weight_decay: 0.1,
    };
    let got = run(&mut AdamW::<f64, _>::new(cfg, [0.0; 4]).unwrap(), C, W0, 3);
    assert_close(
        &got,
        &[
            [0.8900000009999999, -1.880000000125],
            [0.7815718569541609, -1.7614089503325472],
            [0.6751012231892005, -1.6443686831798792],
        ],
    );
}

/// Steps until `‖w‖ < 1e-3` on `L = ½(w0² + 100·w1²)` (condition number 100) from (1, 1).
fn steps_to_minimum<O: Optimizer<f64>>(opt: &mut O, budget: usize) -> Option<usize> {
    let c = [1.0, 100.0];
    let mut w = [1.0f64, 1.0];
    for step in 1..=budget {
        let g = [c[0] * w[0], c[1] * w[1]];
        opt.begin_step(2).unwrap();
        opt.update(0, &mut w, &g);
        if !(w[0].is_finite() && w[1].is_finite()) {
            return None;
        }
        if (w[0] * w[0] + w[1] * w[1]).sqrt() < 1e-3 {
            return Some(step);
        }
    }
    None
}

#[test]
fn every_optimizer_reaches_the_minimum_of_an_ill_conditioned_quadratic() {
    let budget = 5000;
    let mom = MomentumConfig {
        lr: 0.03,
        momentum: 0.7,
    };
    let results = [
        (
            "sgd (η=0.019)",
            steps_to_minimum(&mut Sgd::new(0.019).unwrap(), budget),
        ),
        (
            "momentum (η=0.03, μ=0.7)",
            steps_to_minimum(&mut Momentum::new(mom, [0.0; 2]).unwrap(), budget),
        ),
        (
            "nesterov (η=0.012, μ=0.8)",
            steps_to_minimum(
                &mut Nesterov::new(
                    MomentumConfig {
                        lr: 0.012,
                        momentum: 0.8,
                    },
                    [0.0; 2],
                )
                .unwrap(),
                budget,
            ),
        ),
        (
            "adagrad (η=0.5)",
            steps_to_minimum(
                &mut AdaGrad::<f64, _>::new(AdaGradConfig { lr: 0.5, eps: 1e-8 }, [0.0; 2])
                    .unwrap(),
                budget,
            ),
        ),
        (
            "rmsprop (η=0.01, ρ=0.99)",
            steps_to_minimum(
                &mut RmsProp::<f64, _>::new(
                    RmsPropConfig {
                        lr: 0.01,
                        ..RmsPropConfig::default()
                    },
                    [0.0; 2],
                )
                .unwrap(),
                budget,
            ),
        ),
        (
            "adam (η=0.05)",
            steps_to_minimum(
                &mut Adam::<f64, _>::new(
                    AdamConfig {
                        lr: 0.05,
                        ..AdamConfig::default()
                    },
                    [0.0; 4],
                )
                .unwrap(),
                budget,
            ),
        ),
        (
            "adamw (η=0.05, λ=0.01)",
            steps_to_minimum(
                &mut AdamW::<f64, _>::new(
                    AdamWConfig {
                        adam: AdamConfig {
                            lr: 0.05,
                            ..AdamConfig::default()
                        },
                        weight_decay: 0.01,
                    },
                    [0.0; 4],
                )
                .unwrap(),
                budget,
            ),
        ),
    ];
    println!("steps to ‖w‖ < 1e-3 on ½(w0² + 100 w1²) from (1, 1):");
    for (name, steps) in &results {
        println!("  {name:28} {steps:?}");
    }
    for (name, steps) in &results {
        assert!(
            steps.is_some(),
            "{name} did not reach the minimum in {budget} steps"
        );
    }
}

#[test]
fn invalid_hyper_parameters_are_errors_at_construction() {
    let bad_mom = [
        MomentumConfig {
            lr: -0.1,
            momentum: 0.9,
        },
        MomentumConfig {
            lr: 0.1,
            momentum: 1.0,
        },
        MomentumConfig {
            lr: 0.1,
            momentum: -0.1,
        },
        MomentumConfig {
            lr: f64::NAN,
            momentum: 0.5,
        },
    ];
    for cfg in bad_mom {
        assert!(matches!(
            Momentum::new(cfg, [0.0; 2]),
            Err(Error::InvalidHyperParameter(_))
        ));
        assert!(matches!(
            Nesterov::new(cfg, [0.0; 2]),
            Err(Error::InvalidHyperParameter(_))
        ));
    }
    assert!(AdaGrad::<f64, _>::new(AdaGradConfig { lr: 0.1, eps: 0.0 }, [0.0; 2]).is_err());
    assert!(RmsProp::<f64, _>::new(
        RmsPropConfig {
            decay: 1.0,
            ..RmsPropConfig::default()
        },
        [0.0; 2]
    )
    .is_err());
    for (b1, b2, eps) in [
        (1.0, 0.999, 1e-8),
        (0.9, 1.5, 1e-8),
        (0.9, 0.999, -1e-8),
        (-0.1, 0.9, 1e-8),
    ] {
        let cfg = AdamConfig {
            lr: 1e-3,
            beta1: b1,
            beta2: b2,
            eps,
        };
        assert!(Adam::<f64, _>::new(cfg, [0.0; 4]).is_err());
    }
    assert!(AdamW::<f64, _>::new(
        AdamWConfig {
            weight_decay: -1.0,
            ..AdamWConfig::default()
        },
        [0.0; 4]
    )
    .is_err());
    // Defaults are the published ones and valid.
    let d = AdamConfig::<f32>::default();
    assert_eq!((d.lr, d.beta1, d.beta2, d.eps), (1e-3, 0.9, 0.999, 1e-8));
    assert!(Adam::<f32, _>::new(d, [0.0f32; 4]).is_ok());
    assert_eq!(AdamWConfig::<f32>::default().weight_decay, 0.01);
    assert_eq!(RmsPropConfig::<f32>::default().decay, 0.99);
    assert_eq!(MomentumConfig::<f32>::default().momentum, 0.9);
}

#[test]
fn state_buffers_are_checked_and_sized_at_compile_time() {
    type Net = microprop::mlp![f32; 2, 4, 1];
    const P: usize = Net::PARAMS;
    // Device style: arrays sized by the network's constant.
    let mut adam = Adam::<f32, _>::new(AdamConfig::default(), [0.0f32; 2 * P]).unwrap();
    assert_eq!(adam.state_len(), 2 * P);
    assert!(adam.begin_step(P).is_ok());
    assert_eq!(
        adam.begin_step(P + 1),
        Err(Error::ShapeMismatch {
            expected: 2 * (P + 1),
            found: 2 * P
        })
    );
    let mut mom = Momentum::new(MomentumConfig::<f32>::default(), [0.0f32; P]).unwrap();
    assert!(mom.begin_step(P).is_ok());
    assert!(mom.begin_step(P - 1).is_err());
    // Host style: a run-time sized Vec.
    let mut rms = RmsProp::<f32, _>::new(RmsPropConfig::default(), vec![0.0f32; P]).unwrap();
    assert!(rms.begin_step(P).is_ok());
    assert_eq!(Adam::<f32, [f32; 2]>::SLOTS, 2);
    assert_eq!(core::mem::size_of_val(adam.state()), 2 * P * 4);
}

#[test]
fn optimizers_train_a_network_through_the_trainer() {
    use microprop::{data::Clusters, mlp, train, Activation, Dataset, Init, Loss, Trainer};
    type Net = mlp![f32; 2, 8, 1];
    let mut rng = microprop::rng(5);
    let (mut x, mut l) = ([[0.0f32; 2]; 64], [0u8; 64]);
    Clusters::two(0.5)
        .generate(&mut rng, &mut x, &mut l)
        .unwrap();
    let data = Dataset::new(&x, &l).unwrap();
    let net = Net::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierNormal,
        0.0,
        &mut rng,
    )
    .unwrap();
    let mut model = net.into_training();
    let mut opt = Adam::<f32, _>::new(
        AdamConfig {
            lr: 0.02,
            ..AdamConfig::default()
        },
        [0.0f32; 2 * Net::PARAMS],
    )
    .unwrap();
    let mut trainer = Trainer::new(Loss::BinaryCrossEntropy, 8).unwrap();
    let mut order = [0u16; 64];
    train::fill_order(&mut order).unwrap();
    for _ in 0..20 {
        trainer
            .epoch(&mut model, &mut opt, &data, &mut order, &mut rng)
            .unwrap();
    }
    let m = train::evaluate(&mut model, Loss::BinaryCrossEntropy, &data).unwrap();
    assert!(m.accuracy >= 0.95, "{m:?}");
    assert_eq!(opt.steps(), 20 * 8);
}

/// `update_outer` (online steps) must be bit-identical to `update` with the materialised
/// outer-product gradient.
fn outer_matches_update<O: Optimizer<f32> + Clone>(mut a: O) {
    let mut b = a.clone();
    let mut rng = microprop::rng(9);
    let mut r = || microprop::rng::normal(&mut rng) as f32;
    // A layer of 3 neurons × 4 inputs at offset 2 of a 16-parameter model.
    let mut wa: Vec<f32> = (0..12).map(|_| r()).collect();
    let mut wb = wa.clone();
    for _ in 0..3 {
        let delta: Vec<f32> = (0..3).map(|_| r()).collect();
        let x: Vec<f32> = (0..4).map(|_| r()).collect();
        let g: Vec<f32> = delta
            .iter()
            .flat_map(|&d| x.iter().map(move |&x| d * x))
            .collect();
        a.begin_step(16).unwrap();
        b.begin_step(16).unwrap();
        a.update(2, &mut wa, &g);
        b.update_outer(2, &mut wb, &delta, &x);
        assert_eq!(
            wa.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            wb.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{}",
            a.name()
        );
        assert_eq!(a.state(), b.state());
    }
}

#[test]
fn online_updates_are_bit_identical_to_materialised_gradients() {
    outer_matches_update(Momentum::new(MomentumConfig::default(), [0.0f32; 16]).unwrap());
    outer_matches_update(Nesterov::new(MomentumConfig::default(), [0.0f32; 16]).unwrap());
    outer_matches_update(AdaGrad::<f32, _>::new(AdaGradConfig::default(), [0.0f32; 16]).unwrap());
    outer_matches_update(RmsProp::<f32, _>::new(RmsPropConfig::default(), [0.0f32; 16]).unwrap());
    outer_matches_update(Adam::<f32, _>::new(AdamConfig::default(), [0.0f32; 32]).unwrap());
    outer_matches_update(AdamW::<f32, _>::new(AdamWConfig::default(), [0.0f32; 32]).unwrap());
}
