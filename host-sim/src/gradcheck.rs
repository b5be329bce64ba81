//! `gradcheck`: backprop against five-point central finite differences, in `f64`, for every hidden
//! activation × loss (with each output layer the loss accepts); the V-curve of the
//! numerical gradient's relative error against the step size in `f32` and `f64` (truncation
//! error on the right, rounding error on the left); and a planted bug the check must catch.

use std::path::Path;

use microprop::{
    layer::{Grads, Pass},
    train as core_train, Activation, Dataset, Init, Libm, Loss, Math, Model, Scalar,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::GradcheckArgs,
    net::{self, HostNet},
    plot::{self, Figure},
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

/// The threshold a checked value's relative error must stay below to pass (the tests'
/// and the planted bug's).
pub const THRESHOLD: f64 = 1e-6;

/// A finite-difference rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `(L(+h) − L(−h)) / 2h`: truncation error O(h²).
    Central,
    /// `(8 (L(+h) − L(−h)) − (L(+2h) − L(−2h))) / 12h`: truncation error O(h⁴).
    FivePoint,
}

/// The V-curve's step sizes: 10⁻¹ down to 10⁻¹⁰, four per decade.
pub fn steps() -> Vec<f64> {
    (0..=36)
        .map(|i| 10f64.powf(-1.0 - f64::from(i) / 4.0))
        .collect()
}

/// A V-curve net with its inputs (flat) and labels.
type VNet<S> = (HostNet<S, Libm>, Vec<S>, Vec<u8>);

/// The net, data and loss of the V-curve: 3-4-4-2, `hidden` activation, sigmoid output,
/// MSE, 4 samples, all drawn from `seed`, built in scalar `S` from the same `f64` draws.
fn vnet<S: Scalar>(hidden: Activation<f64>, seed: u64) -> Res<VNet<S>>
where
    Libm: Math<S>,
{
    let mut rng = microprop::rng(seed);
    let sizes = [3, 4, 4, 2];
    let mut n64: Net = net::dense(
        &sizes,
        hidden,
        Activation::Sigmoid,
        Init::Normal(0.8),
        0.1,
        &mut rng,
    )?;
    n64.visit_layers_mut(|l| {
        for b in l.b.iter_mut() {
            *b = 0.3 * microprop::rng::normal(&mut rng);
        }
    });
    let xs: Vec<f64> = (0..12).map(|_| microprop::rng::normal(&mut rng)).collect();
    let labels: Vec<u8> = (0..4).map(|i| label(Loss::Mse, i, 2)).collect();
    let mut p = vec![0.0; n64.params()];
    n64.copy_params(&mut p)?;
    let conv = |a: Activation<f64>| -> Res<Activation<S>> {
        Activation::all()
            .into_iter()
            .find(|b: &Activation<S>| b.name() == a.name())
            .ok_or_else(|| "gradcheck: activation not in the table".into())
    };
    let mut rng = microprop::rng(0);
    let mut net: HostNet<S, Libm> = net::dense(
        &sizes,
        conv(hidden)?,
        conv(Activation::Sigmoid)?,
        Init::Zeros,
        0.0,
        &mut rng,
    )?;
    let ps: Vec<S> = p.iter().map(|&v| S::from_f64(v)).collect();
    net.set_params(&ps)?;
    Ok((net, xs.iter().map(|&v| S::from_f64(v)).collect(), labels))
}

/// ‖analytic − numerical‖ / max(‖analytic‖, ‖numerical‖) over every parameter of the
/// V-curve net in scalar `S`, for each step of `hs`.
///
/// # Errors
/// Core errors.
pub fn curve<S: Scalar>(hidden: Activation<f64>, rule: Rule, hs: &[f64], seed: u64) -> Res<Vec<f64>>
where
    Libm: Math<S>,
{
    let (mut net, xs, labels) = vnet::<S>(hidden, seed)?;
    let data = Dataset::from_flat(&xs, &labels, 3)?;
    core_train::mean_gradients(&mut net, Loss::Mse, &data)?;
    let mut ga = vec![S::ZERO; net.params()];
    net.copy_grads(&mut ga)?;
    let mut params = vec![S::ZERO; net.params()];
    net.copy_params(&mut params)?;
    let mut out = Vec::with_capacity(hs.len());
    for &h in hs {
        let (mut diff, mut na, mut nn) = (0.0f64, 0.0f64, 0.0f64);
        for j in 0..params.len() {
            let orig = params[j];
            let mut at = |d: f64| -> Res<f64> {
                params[j] = S::from_f64(orig.to_f64() + d);
                net.set_params(&params)?;
                Ok(core_train::evaluate(&mut net, Loss::Mse, &data)?
                    .loss
                    .to_f64())
            };
            let gn = match rule {
                Rule::Central => (at(h)? - at(-h)?) / (2.0 * h),
                Rule::FivePoint => five_point([at(h)?, at(-h)?, at(2.0 * h)?, at(-2.0 * h)?], h),
            };
            params[j] = orig;
            let a = ga[j].to_f64();
            diff += (a - gn).powi(2);
            na += a * a;
            nn += gn * gn;
        }
        net.set_params(&params)?;
        out.push(diff.sqrt() / na.sqrt().max(nn.sqrt()).max(f64::MIN_POSITIVE));
    }
    Ok(out)
}

/// The V-curves: central and five-point differences in `f32` and `f64` (tanh hidden
/// layers: smooth), and central differences in `f64` with ReLU hidden layers (kinks).
#[derive(Clone, Debug)]
pub struct VCurve {
    /// Step sizes.
    pub h: Vec<f64>,
    /// `(name, relative error per step)`.
    pub series: Vec<(&'static str, Vec<f64>)>,
}

/// The V-curve's series names, in [`VCurve::series`] order.
pub const SERIES: [&str; 5] = [
    "f32, central",
    "f64, central",
    "f32, five-point",
    "f64, five-point",
    "f64, central, ReLU hidden",
];

impl VCurve {
    /// The series named `name`.
    pub fn get(&self, name: &str) -> &[f64] {
        self.series
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, v)| v)
    }

    /// `(h, error)` at the smallest error of series `name`.
    pub fn best(&self, name: &str) -> (f64, f64) {
        self.h
            .iter()
            .zip(self.get(name))
            .map(|(&h, &e)| (h, e))
            .fold(
                (f64::NAN, f64::INFINITY),
                |b, x| if x.1 < b.1 { x } else { b },
            )
    }

    /// The JSON.
    pub fn json(&self) -> serde_json::Value {
        let best = |n| {
            let (h, e) = self.best(n);
            json!({"h": h, "rel_error": e})
        };
        json!({
            "net": "3-4-4-2, tanh hidden (ReLU for the last series), sigmoid output, MSE, 4 samples",
            "norm": "||analytic - numerical|| / max(||analytic||, ||numerical||) over every parameter",
            "h": self.h,
            "rel_error_f32": self.get(SERIES[0]),
            "rel_error_f64": self.get(SERIES[1]),
            "rel_error_f32_five_point": self.get(SERIES[2]),
            "rel_error_f64_five_point": self.get(SERIES[3]),
            "rel_error_f64_relu": self.get(SERIES[4]),
            "best_h": {
                "f32": best(SERIES[0]),
                "f64": best(SERIES[1]),
                "f32_five_point": best(SERIES[2]),
                "f64_five_point": best(SERIES[3]),
                "f64_relu": best(SERIES[4]),
            },
            "theory_best_h": {
                "f32_central": f64::from(f32::EPSILON).cbrt(),
                "f64_central": f64::EPSILON.cbrt(),
                "f32_five_point": f64::from(f32::EPSILON).powf(0.2),
                "f64_five_point": f64::EPSILON.powf(0.2),
            },
        })
    }
}

/// Measures the V-curves from `seed`.
///
/// # Errors
/// Core errors.
pub fn vcurve(seed: u64) -> Res<VCurve> {
    let h = steps();
    let (t, r) = (Activation::Tanh, Activation::Relu);
    let series = vec![
        (SERIES[0], curve::<f32>(t, Rule::Central, &h, seed)?),
        (SERIES[1], curve::<f64>(t, Rule::Central, &h, seed)?),
        (SERIES[2], curve::<f32>(t, Rule::FivePoint, &h, seed)?),
        (SERIES[3], curve::<f64>(t, Rule::FivePoint, &h, seed)?),
        (SERIES[4], curve::<f64>(r, Rule::Central, &h, seed)?),
    ];
    Ok(VCurve { h, series })
}

/// The planted bug's result.
#[derive(Clone, Debug)]
pub struct PlantedBug {
    /// The layer whose weight gradient was corrupted (0 = first).
    pub layer: usize,
    /// The factor it was multiplied by (−1: a sign error).
    pub factor: f64,
    /// Flat indices of that layer's weights.
    pub planted: Vec<usize>,
    /// Relative error of every parameter, clean analytic gradient.
    pub clean: Vec<f64>,
    /// Relative error of every parameter, corrupted analytic gradient.
    pub buggy: Vec<f64>,
}

impl PlantedBug {
    /// Parameters whose relative error is above [`THRESHOLD`] with the bug.
    pub fn flagged(&self) -> Vec<usize> {
        (0..self.buggy.len())
            .filter(|&j| self.buggy[j] > THRESHOLD)
            .collect()
    }
    /// Largest relative error of the clean check.
    pub fn clean_max(&self) -> f64 {
        self.clean.iter().copied().fold(0.0, f64::max)
    }
    /// The worst parameter with the bug and its relative error.
    pub fn worst(&self) -> (usize, f64) {
        self.buggy
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |b, x| if x.1 > b.1 { x } else { b })
    }
    /// Caught: every flagged parameter is a planted one, at least one is flagged, and the
    /// clean net passes.
    pub fn caught(&self) -> bool {
        let f = self.flagged();
        !f.is_empty() && f.iter().all(|j| self.planted.contains(j)) && self.clean_max() < THRESHOLD
    }
    /// The JSON.
    pub fn json(&self) -> serde_json::Value {
        let (w, we) = self.worst();
        json!({
            "description": format!("analytic gradient of layer {}'s weights multiplied by {} (a wrong sign/factor in that layer's dW)", self.layer, self.factor),
            "layer": self.layer,
            "factor": self.factor,
            "threshold": THRESHOLD,
            "planted": self.planted,
            "flagged": self.flagged(),
            "worst_param": w,
            "worst_rel_error": we,
            "min_planted_rel_error": self.planted.iter().map(|&j| self.buggy[j]).fold(f64::INFINITY, f64::min),
            "clean_max_rel_error": self.clean_max(),
            "caught": self.caught(),
        })
    }
}

/// Runs the parameter check of [`check`] (tanh hidden, MSE, sigmoid output) twice: with
/// the core's analytic gradient, and with the gradient of layer `layer`'s weights
/// multiplied by `factor`.
///
/// # Errors
/// Core errors; an error for a layer the net does not have.
pub fn planted_bug(layer: usize, factor: f64, h: f64, seed: u64) -> Res<PlantedBug> {
    let (mut net, xs, labels) = vnet::<f64>(Activation::Tanh, seed)?;
    let data = Dataset::from_flat(&xs, &labels, 3)?;
    core_train::mean_gradients(&mut net, Loss::Mse, &data)?;
    let mut analytic = vec![0.0; net.params()];
    net.copy_grads(&mut analytic)?;
    let mut planted = Vec::new();
    let mut off = 0;
    net.visit_layers(|l| {
        if l.index == layer {
            planted.extend(off..off + l.w.len());
        }
        off += l.w.len() + l.b.len();
    });
    if planted.is_empty() {
        return Err(format!("gradcheck: the net has no layer {layer}").into());
    }
    let mut params = vec![0.0; net.params()];
    net.copy_params(&mut params)?;
    let (mut clean, mut buggy) = (Vec::new(), Vec::new());
    for j in 0..params.len() {
        let orig = params[j];
        let ga = analytic[j];
        let gb = if planted.contains(&j) {
            ga * factor
        } else {
            ga
        };
        let mut at = |d: f64| -> Res<f64> {
            params[j] = orig + d;
            net.set_params(&params)?;
            Ok(core_train::evaluate(&mut net, Loss::Mse, &data)?.loss)
        };
        clean.push(agreement(ga, h, &mut at)?);
        buggy.push(agreement(gb, h, &mut at)?);
        params[j] = orig;
        net.set_params(&params)?;
    }
    Ok(PlantedBug {
        layer,
        factor,
        planted,
        clean,
        buggy,
    })
}

/// The V-curve figure: relative error against h, log-log, one line per series, the best
/// h of each marked.
pub struct VCurveFigure<'a>(pub &'a VCurve);

impl Figure for VCurveFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 620)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let v = self.0;
        let (hmin, hmax) = (v.h[v.h.len() - 1], v.h[0]);
        let lo = v
            .series
            .iter()
            .flat_map(|(_, e)| e.iter().copied())
            .filter(|&e| e > 0.0)
            .fold(f64::INFINITY, f64::min)
            .max(1e-17);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Gradient check: relative error of the numerical gradient vs step h (3-4-4-2 net)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (hmin / 1.5..hmax * 1.5).log_scale(),
                (lo / 3.0..30.0).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("finite-difference step h (log scale)")
            .y_desc("‖analytic − numerical‖ / max(‖·‖) (log scale)")
            .x_label_formatter(&|x| format!("{x:.0e}"))
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, (name, e)) in v.series.iter().enumerate() {
            let c = plot::series_color(i);
            let style = if i == 4 {
                c.stroke_width(1)
            } else {
                c.stroke_width(2)
            };
            let pts: Vec<(f64, f64)> =
                v.h.iter()
                    .zip(e)
                    .map(|(&h, &e)| (h, e.max(lo / 2.0)))
                    .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), style))?
                .label(format!("{name} (best h {:.0e})", v.best(name).0))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.filled())))?;
            let (bh, be) = v.best(name);
            chart.draw_series(std::iter::once(Circle::new(
                (bh, be.max(lo / 2.0)),
                7,
                c.stroke_width(2),
            )))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            "← rounding error (ε/h) grows        truncation error (h², h⁴) grows →",
            (hmin * 3.0, 10.0),
            ("sans-serif", 14),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            "ReLU: a step that crosses a kink (max(0, x) at 0) adds an O(1)-per-crossing error at large h",
            (hmin * 3.0, 3.0),
            ("sans-serif", 13).into_font().color(&plot::series_color(4)),
        )))?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()?;
        Ok(())
    }
}

/// The report's section: the case table, the V-curve (`gradcheck-vcurve.png` in `out`) and
/// the planted bug, with their JSON.
///
/// # Errors
/// Core or drawing errors.
pub fn section(
    out: &Path,
    _ctx: &Ctx,
    _quick: bool,
) -> Res<(crate::report::Section, serde_json::Value)> {
    let h = 1e-4;
    let cases = all(h, 7)?;
    let worst = cases.iter().map(|c| c.max_rel_error).fold(0.0, f64::max);
    let v = vcurve(7)?;
    plot::save(&VCurveFigure(&v), &out.join("gradcheck-vcurve.png"))?;
    let bug = planted_bug(1, -1.0, h, 7)?;
    let mut table = format!(
        "<details><summary>the {} cases, worst relative error {worst:.1e}</summary><table><tr><th>hidden</th>\
         <th>loss</th><th>output</th><th>max rel. error</th></tr>",
        cases.len()
    );
    for c in &cases {
        table += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1e}</td></tr>",
            c.activation, c.loss, c.output, c.max_rel_error
        );
    }
    table += "</table></details>";
    let b = |n: &str| v.best(n);
    let (w, we) = bug.worst();
    let min_planted = bug
        .planted
        .iter()
        .map(|&j| bug.buggy[j])
        .fold(f64::INFINITY, f64::min);
    let text = format!(
        "Backprop against five-point central finite differences (error O(h⁴)) in f64, at the three steps h = {h:.0e} × \
         (0.1, 1, 10) with the best agreement of the three counted (one step does not suit every parameter: rounding \
         error grows as h shrinks, truncation error and ReLU kinks as it grows), for every hidden activation × loss × \
         output layer the loss accepts, parameters and inputs, {} cases: worst relative error |a − n| / max(|a|, |n|, \
         {FLOOR:.0e}) = {worst:.1e}. <b>The V-curve</b> (3-4-4-2 tanh net, all {} parameters, \
         ‖a − n‖ / max(‖a‖, ‖n‖)): central differences reach their smallest error {:.1e} at h = {:.0e} in f32 and {:.1e} \
         at h = {:.0e} in f64 (theory ε^(1/3): {:.0e} and {:.0e}); five-point {:.1e} at h = {:.0e} (f32) and {:.1e} at \
         h = {:.0e} (f64). With ReLU hidden layers (f64, central) the best is {:.1e} at h = {:.0e}. <b>Planted bug</b>: \
         the analytic gradient of dense layer {} (counting from 0)'s weights multiplied by {}: the check flags {} of \
         {} parameters ({}), the smallest planted error is {:.1e} and the worst {:.1e} (parameter {w}), \
         against {:.1e} for the clean \
         gradient (threshold {THRESHOLD:.0e}). <b>What to look for:</b> the V: the right arm's slope is the rule's order \
         (2 for central, 4 for five-point), the left arm rises as 1/h, f32's bottom (central) is {:.0e} times f64's, at a \
         larger h.</p>\n{table}<p>",
        cases.len(),
        bug.clean.len(),
        b(SERIES[0]).1,
        b(SERIES[0]).0,
        b(SERIES[1]).1,
        b(SERIES[1]).0,
        f64::from(f32::EPSILON).cbrt(),
        f64::EPSILON.cbrt(),
        b(SERIES[2]).1,
        b(SERIES[2]).0,
        b(SERIES[3]).1,
        b(SERIES[3]).0,
        b(SERIES[4]).1,
        b(SERIES[4]).0,
        bug.layer,
        minus(bug.factor),
        bug.flagged().len(),
        bug.clean.len(),
        if bug.caught() {
            "caught: exactly that layer's weights"
        } else {
            "NOT caught"
        },
        min_planted,
        we,
        bug.clean_max(),
        b(SERIES[0]).1 / b(SERIES[1]).1,
    );
    let json = json!({
        "step": h,
        "steps_tried": STEPS.map(|m| m * h),
        "rule": "five-point central differences, best of the three steps",
        "max_rel_error": worst,
        "cases": cases.len(),
        "v_curve": v.json(),
        "planted_bug": bug.json(),
    });
    Ok((
        crate::report::Section {
            title: "Gradient check: backprop against finite differences (notes, experiment 8)"
                .into(),
            images: vec!["gradcheck-vcurve.png".into()],
            text,
        },
        json,
    ))
}

/// `microprop-sim gradcheck`.
pub fn run(a: &GradcheckArgs, _ctx: &Ctx) -> Res<Output> {
    if !(a.step.is_finite() && a.step > 0.0 && a.step < 1.0) {
        return crate::ctx::usage("--step must be in (0, 1)");
    }
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let cases = all(a.step, a.seed)?;
    let worst = cases.iter().map(|c| c.max_rel_error).fold(0.0, f64::max);
    let v = vcurve(a.seed)?;
    let bug = planted_bug(1, -1.0, a.step, a.seed)?;
    if let Some(p) = &a.plot {
        plot::save(&VCurveFigure(&v), p)?;
    }
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
        "v_curve": v.json(),
        "planted_bug": bug.json(),
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
    text += "V-curve (3-4-4-2 tanh net, ‖a − n‖ / max(‖a‖, ‖n‖)), best step per series:\n";
    for n in SERIES {
        let (h, e) = v.best(n);
        text += &format!("  {n:<26} best h {h:.1e}  rel error {e:.2e}\n");
    }
    let (w, we) = bug.worst();
    text += &format!(
        "planted bug (layer {} weight gradient × {}): {} of {} parameters flagged above {THRESHOLD:e} (worst: parameter {w}, {we:.2e}); clean max {:.2e}; {}\n",
        bug.layer,
        bug.factor,
        bug.flagged().len(),
        bug.clean.len(),
        bug.clean_max(),
        if bug.caught() { "caught" } else { "NOT caught" }
    );
    if let Some(p) = &a.plot {
        text += &format!("figure: {}\n", p.display());
    }
    Ok(Output { json, text })
}

/// `v` as text with a real minus sign.
fn minus(v: f64) -> String {
    format!("{v}").replace('-', "−")
}
