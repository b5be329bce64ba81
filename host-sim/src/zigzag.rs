//! `zigzag`: the notes' same-sign updates. One linear neuron with two weights (no bias)
//! learns `y = w*·x` with `w* = (1, −1)` (fourth quadrant) under ½(ŷ − y)², by SGD one
//! sample at a time from `w = (0, 0)`. The weight gradient of a sample is `(ŷ − y)·x`: when
//! every input is positive both components share the sign of `ŷ − y`, so every update
//! points up-right or down-left and the path zig-zags; zero-centred inputs remove that.
//!
//! Each path uses the step `lr / mean ‖x‖²` (normalised LMS), so both move at the same
//! rate relative to their inputs' scale and differ only in the directions allowed.
//!
//! The forward and backward passes are the core's (a `2 → 1` identity run-time network,
//! [`net::dense`]); the bias is held at 0 so the neuron has exactly the two weights of the
//! notes. The target is a real number, not a class, so the step writes the output δ itself
//! instead of going through the trainer's walk.

use microprop::{
    diagnostics::SignAgreement,
    layer::{Grads, Pass},
    Activation, Init, Libm, Model, Optimizer, Sgd,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::ZigzagArgs,
    ctx::usage,
    net,
    plot::{self, Figure},
    Ctx, Output, Res,
};

/// The optimum.
pub const OPTIMUM: [f64; 2] = [1.0, -1.0];

/// One path.
#[derive(Clone, Debug)]
pub struct Path {
    /// `"positive"` or `"zero_centred"`.
    pub name: &'static str,
    /// Weights after each step (starting point first).
    pub points: Vec<(f64, f64)>,
    /// Steps until within the tolerance of the optimum (`None` if never).
    pub steps: Option<usize>,
    /// Share of steps whose two weight gradients have the same sign
    /// ([`SignAgreement`], the core's diagnosis).
    pub sign_agreement: f64,
    /// Distance to the optimum at the end.
    pub final_distance: f64,
}

/// The SGD step of inputs `xs` for the normalised learning rate `lr`: `lr / mean ‖x‖²`,
/// in the f32 the run steps with (the same rate relative to each input set's scale, so
/// that the two paths differ only in the directions their inputs allow).
pub fn step_of(xs: &[[f32; 2]], lr: f32) -> f32 {
    let mean_sq = xs
        .iter()
        .map(|x| f64::from(x[0] * x[0] + x[1] * x[1]))
        .sum::<f64>()
        / xs.len().max(1) as f64;
    (f64::from(lr) / mean_sq.max(1e-12)) as f32
}

/// Runs SGD on `xs` (already transformed) from the origin.
///
/// # Errors
/// A usage error if the step [`step_of`] `lr` is not a learning rate SGD takes in f32;
/// core errors.
pub fn path(name: &'static str, xs: &[[f32; 2]], lr: f32, max_steps: usize, tol: f64) -> Res<Path> {
    let mut rng = microprop::rng(0);
    let mut net = net::dense::<f32, Libm>(
        &[2, 1],
        Activation::Identity,
        Activation::Identity,
        Init::Zeros,
        0.0,
        &mut rng,
    )?;
    let mut opt = sgd_of(name, xs, lr)?;
    let wstar = [OPTIMUM[0] as f32, OPTIMUM[1] as f32];
    let mut points = vec![(0.0, 0.0)];
    // The core's zig-zag diagnosis: do the neuron's two weight gradients share a sign?
    let mut agreement = SignAgreement::new(0, 0);
    let (mut same, mut counted) = (0usize, 0usize);
    let mut steps = None;
    for step in 0..max_steps {
        let x = xs[step % xs.len()];
        let y = wstar[0] * x[0] + wstar[1] * x[1];
        net.forward(&mut Pass::eval(), &x)?;
        if let Some((z, a)) = net.head_mut() {
            // δ = ∂L/∂z = ŷ − y for L = ½(ŷ − y)² on an identity output.
            z[0] = a[0] - y;
        }
        net.backward(&x, None, Grads::Overwrite)?;
        if let Some(same_sign) = agreement.observe(&net)? {
            counted += 1;
            same += usize::from(same_sign);
        }
        // The weights only (the bias stays at 0).
        opt.begin_step(net.params())?;
        net.visit_layers_mut(|l| opt.update(l.offset, l.w, l.gw));
        let w = net::first_weights(&net);
        let after = (f64::from(w[0]), f64::from(w[1]));
        points.push(after);
        let dist = ((after.0 - OPTIMUM[0]).powi(2) + (after.1 - OPTIMUM[1]).powi(2)).sqrt();
        if dist < tol {
            steps = Some(step + 1);
            break;
        }
    }
    let last = *points.last().unwrap_or(&(0.0, 0.0));
    Ok(Path {
        name,
        points,
        steps,
        sign_agreement: if counted == 0 {
            0.0
        } else {
            same as f64 / counted as f64
        },
        final_distance: ((last.0 - OPTIMUM[0]).powi(2) + (last.1 - OPTIMUM[1]).powi(2)).sqrt(),
    })
}

/// SGD with the step [`step_of`] `xs` and `lr`.
///
/// # Errors
/// A usage error naming `--lr` if the step is not a rate SGD takes in f32 (an `lr` that
/// is a finite f32 may still overflow once divided by a small mean ‖x‖²).
fn sgd_of(name: &str, xs: &[[f32; 2]], lr: f32) -> Res<Sgd<f32>> {
    let step = step_of(xs, lr);
    Sgd::new(step).or_else(|e| {
        usage(format!(
            "--lr {lr:e}: the {name} inputs' step lr / mean ‖x‖² = {step} is not a usable f32 \
             learning rate: {e}"
        ))
    })
}

/// Both paths: inputs uniform in [0, 1]² (all positive), then the same inputs minus
/// their mean. Both steps are checked before either path runs.
///
/// # Errors
/// A usage error for an `lr` whose step is not a usable f32 rate; core errors.
pub fn both(lr: f32, max_steps: usize, tol: f64, seed: u64) -> Res<[Path; 2]> {
    let mut rng = microprop::rng(seed);
    let n = 256;
    let xs: Vec<[f32; 2]> = (0..n)
        .map(|_| {
            [
                microprop::rng::uniform(&mut rng, 0.0, 1.0) as f32,
                microprop::rng::uniform(&mut rng, 0.0, 1.0) as f32,
            ]
        })
        .collect();
    let s = microprop::Standardizer::fit(microprop::Preprocess::Mean, &xs)?;
    let mut centred = xs.clone();
    s.apply_all::<Libm>(&mut centred);
    sgd_of("positive", &xs, lr)?;
    sgd_of("zero_centred", &centred, lr)?;
    Ok([
        path("positive", &xs, lr, max_steps, tol)?,
        path("zero_centred", &centred, lr, max_steps, tol)?,
    ])
}

/// `microprop-sim zigzag`.
pub fn run(a: &ZigzagArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(file) = &a.plot {
        plot::check_path("--plot", file)?;
    }
    let p = both(a.lr, a.max_steps as usize, f64::from(a.tolerance), a.seed)?;
    if let Some(file) = &a.plot {
        plot::save(&ZigzagFigure { p: &p }, file)?;
    }
    let mut text = format!(
        "one neuron, two weights, optimum ({}, {}), SGD, step lr / mean‖x‖² with lr {}, from (0, 0), tolerance {}\n",
        OPTIMUM[0], OPTIMUM[1], a.lr, a.tolerance
    );
    for x in &p {
        text += &format!(
            "{:<13} steps {:>6}  sign agreement {:.3}  final distance {:.4}\n",
            x.name,
            x.steps.map_or("never".into(), |s| s.to_string()),
            x.sign_agreement,
            x.final_distance
        );
    }
    if let Some(f) = &a.plot {
        text += &format!("plot: {}\n", f.display());
    }
    let j = |x: &Path| {
        json!({
            "steps": x.steps,
            "sign_agreement": x.sign_agreement,
            "final_distance": x.final_distance,
        })
    };
    let json = json!({
        "optimum": OPTIMUM,
        "lr": a.lr,
        "tolerance": a.tolerance,
        "positive": j(&p[0]),
        "zero_centred": j(&p[1]),
    });
    Ok(Output { json, text })
}

struct ZigzagFigure<'a> {
    p: &'a [Path; 2],
}

impl Figure for ZigzagFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 540)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        for (i, (p, area)) in self.p.iter().zip(panels.iter()).enumerate() {
            let title = format!(
                "{}: {} steps, same-sign updates {:.0} %",
                if i == 0 {
                    "inputs all positive"
                } else {
                    "inputs zero-centred"
                },
                p.steps.map_or("> max".into(), |s| s.to_string()),
                p.sign_agreement * 100.0
            );
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 17))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(44)
                .build_cartesian_2d(-0.25f64..1.5, -1.5f64..0.5)?;
            chart
                .configure_mesh()
                .x_desc("w1")
                .y_desc("w2")
                .label_style(("sans-serif", 13))
                .draw()?;
            // Shade the optimum's quadrant.
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, -1.5), (1.5, 0.0)],
                RGBColor(235, 240, 250).filled(),
            )))?;
            chart.draw_series(LineSeries::new(
                p.points.iter().copied(),
                plot::series_color(i).stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Cross::new(
                (OPTIMUM[0], OPTIMUM[1]),
                8,
                ShapeStyle::from(&RED).stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((0.0, 0.0), 4, BLACK.filled())))?;
        }
        Ok(())
    }
}
