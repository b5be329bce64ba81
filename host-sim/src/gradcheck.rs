//! `gradcheck`: backprop against five-point central finite differences, in `f64`, for every hidden
//! activation × loss (with each output layer the loss accepts).

use microprop::{
    layer::{Grads, Pass},
    train as core_train, Activation, Dataset, Init, Libm, Loss, Model,
};
use serde_json::json;

use crate::{
    cli::GradcheckArgs,
    net::{self, HostNet},
    Ctx, Output, Res,
};

/// Hidden activations checked: every activation of the core's table that is not
/// output-only, with its usual α.
pub fn hidden() -> impl Iterator<Item = Activation<f64>> {
    Activation::all()
        .into_iter()
        .filter(|a| !a.is_output_only())
}

/// (loss, output activation, outputs) combinations checked.
pub const HEADS: [(Loss, Activation<f64>, usize); 7] = [
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

type Net = HostNet<f64, Libm>;

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

/// The best agreement over [`STEPS`] between `analytic` and the five-point difference of
/// `loss_at` (the mean loss with the checked value moved by the argument).
fn agreement(analytic: f64, h: f64, mut loss_at: impl FnMut(f64) -> Res<f64>) -> Res<f64> {
    let mut e = f64::INFINITY;
    for s in STEPS.map(|m| m * h) {
        let gn = five_point(
            [
                loss_at(s)?,
                loss_at(-s)?,
                loss_at(2.0 * s)?,
                loss_at(-2.0 * s)?,
            ],
            s,
        );
        e = e.min(rel(analytic, gn));
    }
    Ok(e)
}

/// The label of sample `i`. For BCE (two independent outputs in [`HEADS`]) the one-hot
/// targets of labels 1, 0, 1, … are the varied 0/1 pattern `y[k] = (i + k) mod 2`.
fn label(loss: Loss, i: usize, classes: usize) -> u8 {
    let l = if loss == Loss::BinaryCrossEntropy {
        (i + 1) % 2
    } else {
        i % classes
    };
    l as u8
}

/// `∂L/∂x` of sample `i` alone: the core's walk writes the output δ, then a backward pass
/// into the input (parameter gradients left alone).
fn input_gradient(net: &mut Net, loss: Loss, data: &Dataset<'_, f64>, i: usize) -> Res<Vec<f64>> {
    let (x, _) = data.get(i).ok_or("gradcheck: no such sample")?;
    core_train::walk(
        net,
        Some(loss),
        data,
        &[i as u16],
        &mut Pass::probe(),
        Some(Grads::Skip),
    )?;
    let mut g = vec![0.0; x.len()];
    net.backward(x, Some(&mut g), Grads::Skip)?;
    Ok(g)
}

/// Checks one case.
///
/// # Errors
/// Shape errors (none for the fixed cases).
pub fn check(
    hidden: Activation<f64>,
    loss: Loss,
    output: Activation<f64>,
    outputs: usize,
    h: f64,
    seed: u64,
) -> Res<Case> {
    let mut rng = microprop::rng(seed);
    let sizes = [3, 4, 4, outputs];
    let mut net: Net = net::dense(&sizes, hidden, output, Init::Normal(0.8), 0.1, &mut rng)?;
    // Distinct biases too, so no two units are symmetric.
    net.visit_layers_mut(|l| {
        for b in l.b.iter_mut() {
            *b = 0.3 * microprop::rng::normal(&mut rng);
        }
    });
    let classes = if outputs == 1 { 2 } else { outputs };
    let samples = 4;
    let xs: Vec<f64> = (0..samples * 3)
        .map(|_| microprop::rng::normal(&mut rng))
        .collect();
    let labels: Vec<u8> = (0..samples).map(|i| label(loss, i, classes)).collect();
    let data = Dataset::from_flat(&xs, &labels, 3)?;
    // Analytic gradients: the inputs' sample by sample, then the parameters' (the core's
    // mean gradient over the data).
    let input_grads = (0..samples)
        .map(|i| input_gradient(&mut net, loss, &data, i))
        .collect::<Res<Vec<_>>>()?;
    core_train::mean_gradients(&mut net, loss, &data)?;
    let mut analytic = vec![0.0; net.params()];
    net.copy_grads(&mut analytic)?;
    let mut params = vec![0.0; net.params()];
    net.copy_params(&mut params)?;
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (j, &ga) in analytic.iter().enumerate() {
        let orig = params[j];
        let e = agreement(ga, h, |d| {
            params[j] = orig + d;
            net.set_params(&params)?;
            Ok(core_train::evaluate(&mut net, loss, &data)?.loss)
        })?;
        params[j] = orig;
        net.set_params(&params)?;
        worst = worst.max(e);
        checked += 1;
    }
    // Input gradients, sample by sample.
    for (i, ga) in input_grads.iter().enumerate() {
        let x = &xs[i * 3..(i + 1) * 3];
        let y = &labels[i..=i];
        for (d, &g) in ga.iter().enumerate() {
            let e = agreement(g, h, |step| {
                let mut xp = x.to_vec();
                xp[d] = x[d] + step;
                let one = Dataset::from_flat(&xp, y, 3)?;
                Ok(core_train::evaluate(&mut net, loss, &one)?.loss)
            })?;
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

/// Every case.
///
/// # Errors
/// As [`check`].
pub fn all(h: f64, seed: u64) -> Res<Vec<Case>> {
    let mut out = Vec::new();
    for (i, act) in hidden().enumerate() {
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
