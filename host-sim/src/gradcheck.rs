//! `gradcheck`: backprop against five-point central finite differences, in `f64`, for every hidden
//! activation × loss (with each output layer the loss accepts).

use microprop::{kernel::Grads, Activation, Init, Libm, Loss, Model};
use serde_json::json;

use crate::{cli::GradcheckArgs, net::DynNet, Ctx, Output, Res};

/// Hidden activations checked.
pub const HIDDEN: [Activation; 8] = [
    Activation::Identity,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu(0.01),
    Activation::Elu(1.0),
    Activation::Gelu,
    Activation::GeluTanh,
];

/// (loss, output activation, outputs) combinations checked.
pub const HEADS: [(Loss, Activation, usize); 7] = [
    (Loss::Mse, Activation::Sigmoid, 2),
    (Loss::Mse, Activation::Identity, 2),
    (Loss::Mse, Activation::Softmax, 3),
    (Loss::BinaryCrossEntropy, Activation::Sigmoid, 2),
    (Loss::BinaryCrossEntropy, Activation::Identity, 2),
    (Loss::CrossEntropy, Activation::Softmax, 3),
    (Loss::CrossEntropy, Activation::Identity, 3),
];

/// Denominator floor of the relative error (gradients below it are compared absolutely).
pub const FLOOR: f64 = 1e-6;

/// One case's result.
#[derive(Clone, Debug)]
pub struct Case {
    /// Hidden activation name.
    pub activation: &'static str,
    /// Loss name.
    pub loss: &'static str,
    /// Output activation name.
    pub output: &'static str,
    /// Max relative error over parameters and inputs.
    pub max_rel_error: f64,
    /// Values compared.
    pub checked: usize,
}

fn rel(a: f64, n: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(FLOOR)
}

type Net = DynNet<f64, Libm>;

/// Multiples of `--step` tried for every value; the best agreement counts. Rounding error
/// grows as the step shrinks and truncation error (and the chance of stepping over a ReLU
/// kink) as it grows, so no single step suits every parameter; a wrong analytic gradient
/// is off by O(1) and agrees at none of them.
const STEPS: [f64; 3] = [0.1, 1.0, 10.0];

/// The five-point central difference from `[L(+h), L(−h), L(+2h), L(−2h)]`: error O(h⁴),
/// where the plain central difference's is O(h²).
fn five_point([p1, m1, p2, m2]: [f64; 4], h: f64) -> f64 {
    (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
}

fn total_loss(net: &mut Net, loss: Loss, xs: &[Vec<f64>], ys: &[Vec<f64>]) -> Res<f64> {
    let mut s = 0.0;
    for (x, y) in xs.iter().zip(ys) {
        net.forward(x)?;
        let (z, a) = net.output();
        s += loss.value::<f64, Libm>(z, a, y);
    }
    Ok(s)
}

/// Checks one case.
///
/// # Errors
/// Shape errors (none for the fixed cases).
pub fn check(
    hidden: Activation,
    loss: Loss,
    output: Activation,
    outputs: usize,
    h: f64,
    seed: u64,
) -> Res<Case> {
    let mut rng = microprop::rng(seed);
    let sizes = [3, 4, 4, outputs];
    let mut net = Net::new(&sizes, hidden, output, Init::Normal(0.8), 0.1, &mut rng)?;
    // Distinct biases too, so no two units are symmetric.
    for l in net.layers_mut() {
        for b in &mut l.b {
            *b = 0.3 * microprop::rng::normal(&mut rng);
        }
    }
    let classes = if outputs == 1 { 2 } else { outputs };
    let samples = 4;
    let xs: Vec<Vec<f64>> = (0..samples)
        .map(|_| (0..3).map(|_| microprop::rng::normal(&mut rng)).collect())
        .collect();
    let ys: Vec<Vec<f64>> = (0..samples)
        .map(|i| {
            let mut y = vec![0.0; outputs];
            // BCE has independent outputs: use a varied 0/1 pattern; else one-hot.
            if loss == Loss::BinaryCrossEntropy {
                for (k, v) in y.iter_mut().enumerate() {
                    *v = ((i + k) % 2) as f64;
                }
            } else {
                let _ = Loss::target(i % classes, &mut y);
            }
            y
        })
        .collect();
    // Analytic gradients (parameters and inputs).
    net.zero_grads();
    let mut input_grads = Vec::new();
    for (x, y) in xs.iter().zip(&ys) {
        net.forward(x)?;
        let act = net.output_activation();
        let (z, a) = net.output_mut();
        loss.loss_and_delta::<f64, Libm>(act, z, a, y);
        let mut g = vec![0.0; 3];
        net.backward(x, Some(&mut g), Grads::Accumulate)?;
        input_grads.push(g);
    }
    let analytic: Vec<Vec<f64>> = net
        .layers()
        .iter()
        .map(|l| l.gw.iter().chain(&l.gb).copied().collect())
        .collect();
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (li, grads) in analytic.iter().enumerate() {
        let nw = net.layers()[li].w.len();
        for (j, &ga) in grads.iter().enumerate() {
            let orig = param(&mut net, li, j, nw, None);
            let mut at = |d: f64| -> Res<f64> {
                param(&mut net, li, j, nw, Some(orig + d));
                total_loss(&mut net, loss, &xs, &ys)
            };
            let mut e = f64::INFINITY;
            for s in STEPS.map(|m| m * h) {
                let gn = five_point([at(s)?, at(-s)?, at(2.0 * s)?, at(-2.0 * s)?], s);
                e = e.min(rel(ga, gn));
            }
            param(&mut net, li, j, nw, Some(orig));
            worst = worst.max(e);
            checked += 1;
        }
    }
    // Input gradients, sample by sample.
    for ((x, y), ga) in xs.iter().zip(&ys).zip(&input_grads) {
        for d in 0..x.len() {
            let mut at = |step: f64| -> Res<f64> {
                let mut xp = x.clone();
                xp[d] = x[d] + step;
                total_loss(
                    &mut net,
                    loss,
                    std::slice::from_ref(&xp),
                    std::slice::from_ref(y),
                )
            };
            let mut e = f64::INFINITY;
            for s in STEPS.map(|m| m * h) {
                let gn = five_point([at(s)?, at(-s)?, at(2.0 * s)?, at(-2.0 * s)?], s);
                e = e.min(rel(ga[d], gn));
            }
            worst = worst.max(e);
            checked += 1;
        }
    }
    Ok(Case {
        activation: hidden.name(),
        loss: loss.name(),
        output: output.name(),
        max_rel_error: worst,
        checked,
    })
}

/// Reads parameter `j` of layer `li` (weights first, then biases), writing `set` if given.
fn param(net: &mut Net, li: usize, j: usize, nw: usize, set: Option<f64>) -> f64 {
    let l = &mut net.layers_mut()[li];
    let slot = if j < nw {
        &mut l.w[j]
    } else {
        &mut l.b[j - nw]
    };
    if let Some(v) = set {
        *slot = v;
    }
    *slot
}

/// Every case.
///
/// # Errors
/// As [`check`].
pub fn all(h: f64, seed: u64) -> Res<Vec<Case>> {
    let mut out = Vec::new();
    for (i, &act) in HIDDEN.iter().enumerate() {
        for (k, &(loss, output, n)) in HEADS.iter().enumerate() {
            out.push(check(act, loss, output, n, h, seed + (i * 16 + k) as u64)?);
        }
    }
    Ok(out)
}

/// `microprop-sim gradcheck`.
pub fn run(a: &GradcheckArgs, _ctx: &Ctx) -> Res<Output> {
    if !(a.step.is_finite() && a.step > 0.0 && a.step < 1.0) {
        return crate::ctx::usage("--step must be in (0, 1)");
    }
    let cases = all(a.step, a.seed)?;
    let worst = cases.iter().map(|c| c.max_rel_error).fold(0.0, f64::max);
    let json = json!({
        "step": a.step,
        "floor": FLOOR,
        "max_rel_error": worst,
        "cases": cases.iter().map(|c| json!({
            "activation": c.activation,
            "loss": c.loss,
            "output": c.output,
            "max_rel_error": c.max_rel_error,
            "checked": c.checked,
        })).collect::<Vec<_>>(),
    });
    let mut text = format!(
        "gradient check, f64, five-point central differences at h = {:e} × (0.1, 1, 10), best agreement; relative error |a−n| / max(|a|, |n|, {FLOOR:e})\n",
        a.step
    );
    text += &format!(
        "{:<11} {:<5} {:<9} {:>12} {:>8}\n",
        "activation", "loss", "output", "max rel err", "values"
    );
    for c in &cases {
        text += &format!(
            "{:<11} {:<5} {:<9} {:>12.2e} {:>8}\n",
            c.activation, c.loss, c.output, c.max_rel_error, c.checked
        );
    }
    text += &format!("worst: {worst:.2e}\n");
    Ok(Output { json, text })
}
