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
    /// The inputs' second moment `E[x xᵀ]` as `[E x₁², E x₁x₂, E x₂²]`: the loss is
    /// `½ (w − w*)ᵀ E[x xᵀ] (w − w*)`, whose contours the figure draws.
    pub moment: [f64; 3],
}

/// The second moment `[E x₁², E x₁x₂, E x₂²]` of `xs`.
pub fn moment(xs: &[[f32; 2]]) -> [f64; 3] {
    let n = xs.len().max(1) as f64;
    let mut m = [0.0; 3];
    for x in xs {
        let (a, b) = (f64::from(x[0]), f64::from(x[1]));
        m[0] += a * a;
        m[1] += a * b;
        m[2] += b * b;
    }
    m.map(|v| v / n)
}

/// The mean loss `½ E[((w − w*)·x)²]` at `w` for inputs of second moment `m` ([`moment`]).
pub fn loss_at(m: &[f64; 3], w: (f64, f64)) -> f64 {
    let (d0, d1) = (w.0 - OPTIMUM[0], w.1 - OPTIMUM[1]);
    0.5 * (m[0] * d0 * d0 + 2.0 * m[1] * d0 * d1 + m[2] * d1 * d1)
}

/// The closed contour `loss_at(m, w) = level` as a polygon of `n` points around the
/// optimum (an ellipse: along each direction u the radius is √(2 level / uᵀ M u)).
pub fn contour(m: &[f64; 3], level: f64, n: usize) -> Vec<(f64, f64)> {
    (0..=n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            let (c, s) = (t.cos(), t.sin());
            let q = m[0] * c * c + 2.0 * m[1] * c * s + m[2] * s * s;
            let r = (2.0 * level / q.max(1e-300)).sqrt();
            (OPTIMUM[0] + r * c, OPTIMUM[1] + r * s)
        })
        .collect()
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
        moment: moment(xs),
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

/// The view of each panel: w₁ and w₂ ranges.
pub const VIEW: ([f64; 2], [f64; 2]) = ([-0.3, 1.6], [-1.7, 0.5]);

/// The loss levels drawn as contours (½ E[(ŷ − y)²]).
pub const LEVELS: [f64; 5] = [0.002, 0.01, 0.03, 0.1, 0.3];

/// The part of `points` drawn: up to (not including) the first point outside [`VIEW`],
/// and whether the path left it (a diverging run is cut there, not drawn along the frame).
pub fn visible(points: &[(f64, f64)]) -> (&[(f64, f64)], bool) {
    let inside = |&(x, y): &(f64, f64)| {
        x.is_finite()
            && y.is_finite()
            && (VIEW.0[0]..=VIEW.0[1]).contains(&x)
            && (VIEW.1[0]..=VIEW.1[1]).contains(&y)
    };
    match points.iter().position(|p| !inside(p)) {
        Some(k) => (&points[..k], true),
        None => (points, false),
    }
}

struct ZigzagFigure<'a> {
    p: &'a [Path; 2],
}

impl Figure for ZigzagFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 600)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        for (i, (p, area)) in self.p.iter().zip(panels.iter()).enumerate() {
            let (shown, left) = visible(&p.points);
            let title = format!(
                "{}: {}, same-sign updates {:.0} %",
                if i == 0 {
                    "inputs in [0, 1]²"
                } else {
                    "inputs zero-centred"
                },
                match (p.steps, left) {
                    (Some(s), _) => format!("{s} steps"),
                    (None, true) => format!("diverged, off the plot at step {}", shown.len()),
                    (None, false) => format!("not there after {} steps", p.points.len() - 1),
                },
                p.sign_agreement * 100.0
            );
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(VIEW.0[0]..VIEW.0[1], VIEW.1[0]..VIEW.1[1])?;
            chart
                .configure_mesh()
                .x_desc("w1 (weight of input x1, unitless)")
                .y_desc("w2 (weight of input x2, unitless)")
                .x_label_formatter(&|v| plot::tick(*v))
                .y_label_formatter(&|v| plot::tick(*v))
                .light_line_style(WHITE.mix(0.0))
                .label_style(("sans-serif", 13))
                .draw()?;
            // Shade the optimum's quadrant.
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, VIEW.1[0]), (VIEW.0[1], 0.0)],
                    RGBColor(232, 238, 250).filled(),
                )))?
                .label("w1 > 0, w2 < 0 (the optimum's quadrant)")
                .legend(|(x, y)| {
                    Rectangle::new(
                        [(x, y - 5), (x + 18, y + 5)],
                        RGBColor(232, 238, 250).filled(),
                    )
                });
            for (k, &level) in LEVELS.iter().enumerate() {
                let c = RGBColor(150, 150, 150);
                let s = chart.draw_series(LineSeries::new(
                    contour(&p.moment, level, 180),
                    c.stroke_width(1),
                ))?;
                if k == 0 {
                    s.label(format!(
                        "loss contours ½E[(ŷ − y)²] = {}",
                        LEVELS.map(plot::tick).join(", ")
                    ))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(1))
                    });
                }
            }
            let c = plot::series_color(i);
            chart
                .draw_series(LineSeries::new(shown.iter().copied(), c.stroke_width(1)))?
                .label("SGD path, one sample per step")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            if left {
                if let Some(&end) = shown.last() {
                    chart
                        .draw_series(std::iter::once(TriangleMarker::new(end, 7, BLACK.filled())))?
                        .label("last point before leaving the view")
                        .legend(|(x, y)| TriangleMarker::new((x + 9, y), 5, BLACK.filled()));
                }
            }
            chart
                .draw_series(std::iter::once(Cross::new(
                    (OPTIMUM[0], OPTIMUM[1]),
                    8,
                    ShapeStyle::from(&RED).stroke_width(2),
                )))?
                .label("optimum w* = (1, -1)")
                .legend(|(x, y)| Cross::new((x + 9, y), 5, ShapeStyle::from(&RED).stroke_width(2)));
            chart
                .draw_series(std::iter::once(Circle::new((0.0, 0.0), 4, BLACK.filled())))?
                .label("start w = (0, 0)")
                .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.filled()));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .position(SeriesLabelPosition::LowerLeft)
                .draw()?;
        }
        Ok(())
    }
}
