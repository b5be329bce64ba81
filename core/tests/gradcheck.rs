//! Exact backprop, checked against finite differences in f64 for every activation × loss
//! and several shapes (including the notes' 9-deep sigmoid net), plus the documented f32
//! bound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use microprop::{
    layer::{Fixed, Grads, Net, Pass},
    mlp, Activation, Init, Loss, Math, Model, Network, Scalar, Training,
};

/// Loss of one sample through the model (forward + loss value).
fn loss_of<T: Model>(m: &mut T, loss: Loss, x: &[T::Scalar], y: &[T::Scalar]) -> T::Scalar {
    m.forward(&mut Pass::probe(), x).unwrap();
    let (z, a) = m.head_mut().unwrap();
    loss.value::<T::Scalar, T::Math>(z, a, y)
}

/// Adds `h` to flat parameter `k` (weights then biases, layer by layer).
fn nudge<T: Model>(m: &mut T, k: usize, h: T::Scalar) {
    let mut idx = 0;
    m.visit_layers_mut(|l| {
        for p in l.w.iter_mut().chain(l.b.iter_mut()) {
            if idx == k {
                *p += h;
            }
            idx += 1;
        }
    });
}

/// Analytic gradient of every parameter, flattened.
fn analytic<T: Model>(
    m: &mut T,
    loss: Loss,
    x: &[T::Scalar],
    y: &[T::Scalar],
    input_grad: &mut [T::Scalar],
) -> Vec<f64> {
    m.forward(&mut Pass::probe(), x).unwrap();
    let act = m.output_activation().unwrap();
    let (z, a) = m.head_mut().unwrap();
    loss.loss_and_delta::<T::Scalar, T::Math>(act, z, a, y);
    m.backward(x, Some(input_grad), Grads::Overwrite).unwrap();
    let mut g = Vec::new();
    m.visit_layers(|l| {
        g.extend(l.gw.iter().chain(l.gb.iter()).map(|v| v.to_f64()));
    });
    g
}

/// Five-point central difference: error O(h⁴).
fn numeric<T: Model>(
    m: &mut T,
    loss: Loss,
    x: &[T::Scalar],
    y: &[T::Scalar],
    k: usize,
    h: f64,
) -> f64 {
    let hs = T::Scalar::from_f64(h);
    let mut at = |mult: f64| {
        nudge(m, k, T::Scalar::from_f64(mult) * hs);
        let l = loss_of(m, loss, x, y).to_f64();
        nudge(m, k, -(T::Scalar::from_f64(mult) * hs));
        l
    };
    let (p1, m1, p2, m2) = (at(1.0), at(-1.0), at(2.0), at(-2.0));
    (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
}

fn numeric_input<T: Model>(
    m: &mut T,
    loss: Loss,
    x: &[T::Scalar],
    y: &[T::Scalar],
    i: usize,
    h: f64,
) -> f64 {
    let mut xv = x.to_vec();
    let mut at = |d: f64| {
        xv[i] = x[i] + T::Scalar::from_f64(d);
        loss_of(m, loss, &xv, y).to_f64()
    };
    let (p1, m1, p2, m2) = (at(h), at(-h), at(2.0 * h), at(-2.0 * h));
    (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
}

/// Multiples of the base step tried for each finite difference; the best agreement counts.
/// A five-point difference has truncation error ~h⁴ and rounding error ~ε·L/h, and flat
/// directions (the first layers of a deep sigmoid net) want a larger h than steep ones. A
/// wrong analytic gradient is off by O(1) and matches at no step.
const STEPS: [f64; 6] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0];

/// Relative error with a floor on the denominator, so gradients that are zero on both
/// sides (dead ReLUs) compare as equal.
fn rel(a: f64, n: f64, floor: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(floor)
}

/// Largest relative error over every parameter and input of one model on a few samples.
fn max_rel_error<L, M>(
    hidden: Activation<L::Scalar>,
    output: Activation<L::Scalar>,
    loss: Loss,
    seed: u64,
    h: f64,
    floor: f64,
) -> f64
where
    L: Net + Fixed<<L as microprop::layer::OfScalar>::Scalar> + Default,
    M: Math<L::Scalar>,
{
    let mut rng = microprop::rng(seed);
    let net = Network::<L, M>::new(hidden, output, Init::XavierNormal, 0.1, &mut rng).unwrap();
    let mut m: Training<L, M> = net.into_training();
    let mut worst = 0.0f64;
    for s in 0..3 {
        let x: Vec<L::Scalar> = (0..L::INPUTS)
            .map(|_| L::Scalar::from_f64(microprop::rng::uniform(&mut rng, -1.5, 1.5)))
            .collect();
        let mut y = vec![L::Scalar::ZERO; L::OUTPUTS];
        Loss::target(s % L::OUTPUTS.max(2), &mut y).unwrap();
        let mut gx = vec![L::Scalar::ZERO; L::INPUTS];
        let g = analytic(&mut m, loss, &x, &y, &mut gx);
        assert_eq!(g.len(), L::PARAMS);
        for (k, &a) in g.iter().enumerate() {
            let e = STEPS
                .iter()
                .map(|&s| rel(a, numeric(&mut m, loss, &x, &y, k, h * s), floor))
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(e);
        }
        for (i, &a) in gx.iter().enumerate() {
            let e = STEPS
                .iter()
                .map(|&s| {
                    rel(
                        a.to_f64(),
                        numeric_input(&mut m, loss, &x, &y, i, h * s),
                        floor,
                    )
                })
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(e);
        }
    }
    worst
}

/// Every hidden-layer activation of the table, with its usual α.
fn hidden<S: Scalar>() -> Vec<Activation<S>> {
    Activation::all()
        .into_iter()
        .filter(|a| !a.is_output_only())
        .collect()
}

/// Every (output activation, loss) pair the losses accept.
const HEADS: [(Activation, Loss); 7] = [
    (Activation::Sigmoid, Loss::Mse),
    (Activation::Identity, Loss::Mse),
    (Activation::Tanh, Loss::Mse),
    (Activation::Sigmoid, Loss::BinaryCrossEntropy),
    (Activation::Identity, Loss::BinaryCrossEntropy),
    (Activation::Softmax, Loss::CrossEntropy),
    (Activation::Identity, Loss::CrossEntropy),
];

const F64_BOUND: f64 = 1e-6;
const FLOOR: f64 = 1e-7;

#[test]
fn every_activation_and_loss_in_f64() {
    type Binary = mlp![f64; 3, 5, 4, 1];
    type Multi = mlp![f64; 3, 5, 4, 3];
    let mut report = Vec::new();
    for (i, hidden) in hidden::<f64>().into_iter().enumerate() {
        for &(out, loss) in &HEADS {
            let out = out.cast();
            let seed = 100 + i as u64;
            let e = if loss == Loss::CrossEntropy {
                max_rel_error::<<Multi as Chain>::L, microprop::Libm>(
                    hidden, out, loss, seed, 1e-4, FLOOR,
                )
            } else {
                max_rel_error::<<Binary as Chain>::L, microprop::Libm>(
                    hidden, out, loss, seed, 1e-4, FLOOR,
                )
            };
            report.push(format!(
                "{:>10} -> {:>8} {:>4}: {e:.2e}",
                hidden.name(),
                out.name(),
                loss.name()
            ));
            assert!(
                e < F64_BOUND,
                "{} / {} / {}: max rel error {e:e}",
                hidden.name(),
                out.name(),
                loss.name()
            );
        }
    }
    // Softmax output with MSE goes through the full softmax Jacobian.
    let e = max_rel_error::<<Multi as Chain>::L, microprop::Libm>(
        Activation::Tanh,
        Activation::Softmax,
        Loss::Mse,
        7,
        1e-4,
        FLOOR,
    );
    report.push(format!("      tanh ->  softmax  mse: {e:.2e}"));
    assert!(e < F64_BOUND, "softmax + mse: {e:e}");
    println!("{}", report.join("\n"));
}

#[test]
fn the_nine_deep_sigmoid_net_in_f64() {
    type Deep = mlp![f64; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
    for (out, loss) in [
        (Activation::Sigmoid, Loss::Mse),
        (Activation::Sigmoid, Loss::BinaryCrossEntropy),
    ] {
        let e = max_rel_error::<<Deep as Chain>::L, microprop::Libm>(
            Activation::Sigmoid,
            out,
            loss,
            9,
            1e-3,
            1e-9,
        );
        println!("9-deep sigmoid, {}: {e:.2e}", loss.name());
        assert!(e < F64_BOUND, "9-deep {}: {e:e}", loss.name());
    }
}

#[test]
fn wide_relu_net_in_f64() {
    type Wide = mlp![f64; 2, 32, 32, 1];
    let e = max_rel_error::<<Wide as Chain>::L, microprop::Libm>(
        Activation::Relu,
        Activation::Sigmoid,
        Loss::Mse,
        3,
        1e-5,
        FLOOR,
    );
    println!("2-32-32-1 relu: {e:.2e}");
    assert!(e < F64_BOUND, "{e:e}");
}

/// The documented f32 bound: f32 gradients (each backend) against the f64 gradients of the
/// same weights, relative to the largest gradient of the net (README, "Numerics").
fn f32_vs_f64<M: Math<f32>>(hidden: Activation, out: Activation, loss: Loss, seed: u64) -> f64 {
    type N32 = mlp![f32; 3, 5, 4, 1];
    type N64 = mlp![f64; 3, 5, 4, 1];
    let mut rng = microprop::rng(seed);
    let mut m64 = <N64>::new(hidden.cast(), out.cast(), Init::XavierNormal, 0.1, &mut rng)
        .unwrap()
        .into_training();
    let mut n32 = Network::<<N32 as Chain>::L, M>::zeroed(hidden, out).unwrap();
    let mut src = Vec::new();
    m64.visit_layers(|l| src.extend(l.w.iter().chain(l.b.iter()).copied()));
    let mut it = src.iter();
    n32.visit_mut(|l| {
        for p in l.w.iter_mut().chain(l.b.iter_mut()) {
            *p = *it.next().unwrap() as f32;
        }
    });
    let mut m32 = n32.into_training();
    let x64 = [0.3, -0.7, 1.1];
    let x32 = x64.map(|v| v as f32);
    let mut y64 = [0.0f64];
    let mut y32 = [0.0f32];
    Loss::target(1, &mut y64).unwrap();
    Loss::target(1, &mut y32).unwrap();
    let g64 = analytic(&mut m64, loss, &x64, &y64, &mut [0.0; 3]);
    let g32 = analytic(&mut m32, loss, &x32, &y32, &mut [0.0; 3]);
    let scale = g64.iter().fold(0.0f64, |m, g| m.max(g.abs())).max(1e-12);
    g64.iter()
        .zip(&g32)
        .map(|(a, b)| (a - b).abs() / scale)
        .fold(0.0, f64::max)
}

#[test]
fn f32_gradients_within_documented_bound() {
    let mut worst = (0.0f64, 0.0f64);
    for (i, hidden) in hidden::<f32>().into_iter().enumerate() {
        for &(out, loss) in HEADS.iter().filter(|(_, l)| *l != Loss::CrossEntropy) {
            worst.0 = worst
                .0
                .max(f32_vs_f64::<microprop::Libm>(hidden, out, loss, i as u64));
            worst.1 = worst.1.max(f32_vs_f64::<microprop::Micromath>(
                hidden, out, loss, i as u64,
            ));
        }
    }
    println!(
        "f32 gradient error relative to the largest gradient: libm {:.2e}, micromath {:.2e}",
        worst.0, worst.1
    );
    assert!(worst.0 < F32_LIBM_BOUND, "libm {:e}", worst.0);
    assert!(worst.1 < F32_MICROMATH_BOUND, "micromath {:e}", worst.1);
}

/// Documented bounds (README): f32 gradients agree with f64 to this fraction of the
/// largest gradient.
const F32_LIBM_BOUND: f64 = 1e-5;
const F32_MICROMATH_BOUND: f64 = 1e-2;

/// Extracts the layer chain from a `Network` alias.
trait Chain {
    type L;
}
impl<L, M> Chain for Network<L, M> {
    type L = L;
}
