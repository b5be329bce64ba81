//! `optimizers`: the core's update rules on a 2-D ravine, the picture of CS231n lecture 7.
//!
//! The loss is the quadratic `f(w₁, w₂) = ½ (w₁² + κ w₂²)`: curvature 1 along `w₁` (the
//! floor of the ravine) and κ (the condition number, default 50) across it. Every
//! optimizer is one of the core's (driven through
//! [`AnyOptimizer`](crate::optim::AnyOptimizer), as `train` drives them) on a 2-parameter
//! state with the analytic gradient `(w₁, κ w₂)`, so the paths are microprop's own update
//! rules. A step the core refuses (its update would not be finite)
//! or a loss above 10⁶ × the starting loss ends the path as diverged.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::OptimizerArg,
    ctx::usage,
    optim,
    plot::{self, Figure},
    Ctx, Output, Res,
};
use microprop::{Libm, Optimizer};

/// `optimizers`' flags.
#[derive(Debug, Clone, clap::Args)]
pub struct OptimizersArgs {
    /// Optimizer steps per path.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub steps: u32,
    /// Learning rate: one value for every optimizer, or one per --optimizer (in its order).
    /// Default per optimizer (for the default κ = 50): sgd 0.036 (1.8/κ, just inside SGD's
    /// stability limit 2/κ: it zig-zags), momentum and nesterov 0.01 (μ = 0.9), adagrad 2,
    /// rmsprop 0.1, adam and adamw 0.3.
    #[arg(long, value_delimiter = ',', value_parser = positive_f32)]
    pub lr: Vec<f32>,
    /// Start point W1,W2.
    #[arg(long, value_name = "W1,W2", default_value = "-8,1.2", value_parser = start,
          allow_hyphen_values = true)]
    pub start: Start,
    /// The optimizers to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sgd,momentum,nesterov,adagrad,rmsprop,adam"
    )]
    pub optimizer: Vec<OptimizerArg>,
    /// Condition number κ: the ravine's curvature across (w₂) over along (w₁), 1 to 10⁴.
    #[arg(long, default_value_t = 50.0, value_parser = condition)]
    pub condition: f64,
    /// The loss a path must go below to count as arrived (`steps_to_threshold`).
    #[arg(long, default_value_t = 1e-3, value_parser = positive_f64)]
    pub threshold: f64,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

/// `--start W1,W2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Start(pub [f32; 2]);

fn positive_f32(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("`{s}` must be finite and > 0")),
        Err(e) => Err(format!("`{s}` is not a number: {e}")),
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("`{s}` must be finite and > 0")),
        Err(e) => Err(format!("`{s}` is not a number: {e}")),
    }
}

fn condition(s: &str) -> Result<f64, String> {
    let v = positive_f64(s)?;
    if (1.0..=1e4).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` must be in [1, 10000]"))
    }
}

fn start(s: &str) -> Result<Start, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [x, y] = parts.as_slice() else {
        return Err(format!("`{s}` is not two numbers W1,W2 (e.g. -8,1.2)"));
    };
    let num = |t: &str| match t.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v.abs() <= 1e3 => Ok(v),
        _ => Err(format!("`{t}` is not a number in [-1000, 1000]")),
    };
    let p = [num(x)?, num(y)?];
    if p == [0.0, 0.0] {
        return Err("the start is the minimum (0,0): nothing to optimise".into());
    }
    Ok(Start(p))
}

/// The default condition number κ.
pub const CONDITION: f64 = 50.0;

/// A loss above this multiple of the starting loss ends a path as diverged.
pub const BLOW_UP: f64 = 1e6;

/// The default learning rate of `which` on the default ravine (κ = 50), stated in
/// `--lr`'s help.
pub fn default_lr(which: OptimizerArg) -> f32 {
    match which {
        OptimizerArg::Sgd => 0.036,
        OptimizerArg::Momentum | OptimizerArg::Nesterov => 0.01,
        OptimizerArg::Adagrad => 2.0,
        OptimizerArg::Rmsprop => 0.1,
        OptimizerArg::Adam | OptimizerArg::Adamw => 0.3,
    }
}

/// The optimizer's command-line name.
pub fn name_of(which: OptimizerArg) -> String {
    format!("{which:?}").to_lowercase()
}

/// The ravine `f(w) = ½ (w₁² + κ w₂²)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ravine {
    /// κ: the curvature along `w₂` (along `w₁` it is 1).
    pub condition: f64,
}

impl Ravine {
    /// The loss at `w` (in f64).
    pub fn loss(&self, w: [f64; 2]) -> f64 {
        0.5 * (w[0] * w[0] + self.condition * w[1] * w[1])
    }
    /// The gradient at `w`, in the optimizer's f32.
    pub fn grad(&self, w: [f32; 2]) -> [f32; 2] {
        [w[0], self.condition as f32 * w[1]]
    }
}

/// One optimizer's path.
#[derive(Clone, Debug)]
pub struct Path {
    /// The optimizer.
    pub optimizer: OptimizerArg,
    /// Its learning rate.
    pub lr: f32,
    /// The parameters, the start first, then after each step taken.
    pub points: Vec<[f64; 2]>,
    /// The loss at each point.
    pub losses: Vec<f64>,
    /// First step (1-based) after which the loss is below the threshold.
    pub steps_to_threshold: Option<u32>,
    /// The step (1-based) that diverged: refused by the core (non-finite update) or a
    /// loss above [`BLOW_UP`] × the start's; the path ends before it.
    pub diverged_at: Option<u32>,
}

impl Path {
    /// The loss after the last step taken.
    pub fn final_loss(&self) -> f64 {
        self.losses.last().copied().unwrap_or(f64::NAN)
    }
}

/// Runs `which` with rate `lr` for `steps` steps from `start` on `ravine`.
///
/// # Errors
/// A usage error for a rate the optimizer refuses; core errors.
pub fn run_path(
    which: OptimizerArg,
    lr: f32,
    start: [f32; 2],
    ravine: Ravine,
    steps: u32,
    threshold: f64,
) -> Res<Path> {
    let mut opt = optim::new::<Libm>(which, lr, 2)?;
    let mut w = start;
    let at = |w: [f32; 2]| [f64::from(w[0]), f64::from(w[1])];
    let f0 = ravine.loss(at(w));
    let mut path = Path {
        optimizer: which,
        lr,
        points: vec![at(w)],
        losses: vec![f0],
        steps_to_threshold: (f0 < threshold).then_some(0),
        diverged_at: None,
    };
    for step in 1..=steps {
        let g = ravine.grad(w);
        if !g.iter().all(|v| v.is_finite()) || !opt.accepts(2, 0, &w, &g) {
            path.diverged_at = Some(step);
            break;
        }
        opt.begin_step(2)?;
        let mut next = w;
        opt.update(0, &mut next, &g);
        let f = ravine.loss(at(next));
        if !f.is_finite() || f > BLOW_UP * f0 {
            path.diverged_at = Some(step);
            break;
        }
        w = next;
        path.points.push(at(w));
        path.losses.push(f);
        if path.steps_to_threshold.is_none() && f < threshold {
            path.steps_to_threshold = Some(step);
        }
    }
    Ok(path)
}

/// Every `--optimizer` with its rate.
///
/// # Errors
/// A usage error for a `--lr` list of the wrong length or a rate an optimizer refuses.
pub fn sweep(a: &OptimizersArgs) -> Res<Vec<Path>> {
    if !(a.lr.is_empty() || a.lr.len() == 1 || a.lr.len() == a.optimizer.len()) {
        return usage(format!(
            "--lr: {} rates for {} optimizers (give one for all, or one per --optimizer)",
            a.lr.len(),
            a.optimizer.len()
        ));
    }
    let ravine = Ravine {
        condition: a.condition,
    };
    a.optimizer
        .iter()
        .enumerate()
        .map(|(i, &which)| {
            let lr = match a.lr.as_slice() {
                [] => default_lr(which),
                [one] => *one,
                many => many[i],
            };
            run_path(which, lr, a.start.0, ravine, a.steps, a.threshold)
        })
        .collect()
}

/// Sign changes of `w₂` along a path (`w₂ = 0` exactly counts as no sign).
pub fn sign_changes(path: &Path, coord: usize) -> usize {
    let signs: Vec<f64> = path
        .points
        .iter()
        .map(|p| p[coord])
        .filter(|v| *v != 0.0)
        .map(f64::signum)
        .collect();
    signs.windows(2).filter(|w| w[0] != w[1]).count()
}

/// The paths as JSON.
pub fn json_of(a: &OptimizersArgs, paths: &[Path]) -> serde_json::Value {
    let ps: Vec<_> = paths
        .iter()
        .map(|p| {
            json!({
                "optimizer": name_of(p.optimizer),
                "lr": p.lr,
                "path": p.points,
                "final_loss": p.final_loss(),
                "steps_taken": p.points.len() - 1,
                "steps_to_threshold": p.steps_to_threshold,
                "diverged": p.diverged_at.is_some(),
                "diverged_at_step": p.diverged_at,
                "w2_sign_changes": sign_changes(p, 1),
            })
        })
        .collect();
    json!({
        "loss": "0.5 * (w1^2 + condition * w2^2)",
        "condition": a.condition,
        "start": a.start.0,
        "steps": a.steps,
        "threshold": a.threshold,
        "optimizers": ps,
    })
}

fn arrived(p: &Path) -> String {
    match (p.diverged_at, p.steps_to_threshold) {
        (Some(s), _) => format!("diverged at step {s}"),
        (None, Some(s)) => format!("below the threshold after {s} steps"),
        (None, None) => "never below the threshold".into(),
    }
}

/// `microprop-sim optimizers`.
pub fn run(a: &OptimizersArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let paths = sweep(a)?;
    if let Some(p) = &a.plot {
        plot::save(
            &RavineFigure {
                args: a,
                paths: &paths,
            },
            p,
        )?;
    }
    let mut text = format!(
        "f(w) = ½(w₁² + {} w₂²) from ({}, {}), {} steps, threshold {:e}\n",
        a.condition, a.start.0[0], a.start.0[1], a.steps, a.threshold
    );
    for p in &paths {
        text += &format!(
            "{:<9} lr {:<6} final loss {:.3e}  {}  (w₂ changed sign {} times)\n",
            name_of(p.optimizer),
            p.lr,
            p.final_loss(),
            arrived(p),
            sign_changes(p, 1)
        );
    }
    Ok(Output {
        json: json_of(a, &paths),
        text,
    })
}

/// The paths' default arguments (the report's configuration; `quick` takes fewer steps).
pub fn default_args(quick: bool) -> OptimizersArgs {
    OptimizersArgs {
        steps: if quick { 120 } else { 200 },
        lr: Vec::new(),
        start: Start([-8.0, 1.2]),
        optimizer: vec![
            OptimizerArg::Sgd,
            OptimizerArg::Momentum,
            OptimizerArg::Nesterov,
            OptimizerArg::Adagrad,
            OptimizerArg::Rmsprop,
            OptimizerArg::Adam,
        ],
        condition: CONDITION,
        threshold: 1e-3,
        plot: None,
    }
}

/// The report's section: the figure, and a paragraph with the measured steps.
///
/// # Errors
/// Plot and core errors.
pub fn section(
    out: &std::path::Path,
    _ctx: &Ctx,
    quick: bool,
) -> Res<(crate::report::Section, serde_json::Value)> {
    let a = default_args(quick);
    let paths = sweep(&a)?;
    let file = "optimizers.png";
    plot::save(
        &RavineFigure {
            args: &a,
            paths: &paths,
        },
        &out.join(file),
    )?;
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("{} (lr {}): {}", name_of(p.optimizer), p.lr, arrived(p)))
        .collect();
    let sgd_changes = paths
        .iter()
        .find(|p| p.optimizer == OptimizerArg::Sgd)
        .map_or(0, |p| sign_changes(p, 1));
    let html = format!(
        "The core's optimizers on the ravine f(w) = ½(w₁² + {k} w₂²) from ({x}, {y}), \
         {n} steps, each at its own learning rate; the threshold is a loss of {t:e}. \
         {list}. SGD's w₂ changed sign {sgd_changes} times. \
         What to look for: SGD bouncing across the steep direction while it crawls along the \
         shallow one, momentum overshooting the minimum and coming back, and the adaptive \
         methods (AdaGrad, RMSProp, Adam) heading diagonally at first, because they divide \
         each coordinate's step by its own gradient scale.",
        k = a.condition,
        x = a.start.0[0],
        y = a.start.0[1],
        n = a.steps,
        t = a.threshold,
        list = list.join("; "),
    );
    Ok((
        crate::report::Section {
            title: "Optimizers on a ravine".into(),
            images: vec![file.into()],
            text: html,
        },
        json_of(&a, &paths),
    ))
}

/// The points of `pts` inside `[x0, x1] × [y0, y1]`, in runs (a run ends where the curve
/// leaves the box).
fn inside_runs(pts: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &(px, py) in pts {
        let inside = px.is_finite()
            && py.is_finite()
            && (x.0..=x.1).contains(&px)
            && (y.0..=y.1).contains(&py);
        match (inside, runs.last_mut()) {
            (true, Some(r)) => r.push((px, py)),
            (false, Some(r)) if !r.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    runs.retain(|r| r.len() > 1);
    runs
}

/// The first part of `pts` inside `[x0, x1] × [y0, y1]`: the points up to the first one
/// outside, and then the point where the segment to it crosses the frame (so a path that
/// leaves the plot is drawn up to the frame, not along it).
fn path_in_box(pts: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> Vec<(f64, f64)> {
    let inside = |(px, py): (f64, f64)| (x.0..=x.1).contains(&px) && (y.0..=y.1).contains(&py);
    let mut out = Vec::new();
    for &p in pts {
        if inside(p) {
            out.push(p);
            continue;
        }
        if let (Some(&a), true) = (out.last(), p.0.is_finite() && p.1.is_finite()) {
            let a: (f64, f64) = a;
            let mut t = 1.0f64;
            let mut cut = |from: f64, to: f64, lo: f64, hi: f64| {
                if to > hi {
                    t = t.min((hi - from) / (to - from));
                } else if to < lo {
                    t = t.min((lo - from) / (to - from));
                }
            };
            cut(a.0, p.0, x.0, x.1);
            cut(a.1, p.1, y.0, y.1);
            out.push((a.0 + t * (p.0 - a.0), a.1 + t * (p.1 - a.1)));
        }
        break;
    }
    out
}

/// The ravine's contour lines (log-spaced levels, a colour bar) and one path per optimizer.
pub struct RavineFigure<'a> {
    /// The flags (the ravine, the start).
    pub args: &'a OptimizersArgs,
    /// The paths.
    pub paths: &'a [Path],
}

impl RavineFigure<'_> {
    /// The plotted box: the start with a margin, symmetric about the minimum.
    fn bounds(&self) -> ((f64, f64), (f64, f64)) {
        let [sx, sy] = self.args.start.0;
        let xr = f64::from(sx.abs()).max(f64::from(sy.abs()) * 2.0).max(0.5) * 1.25;
        let yr = (f64::from(sy.abs()) * 1.6).max(xr / self.args.condition.sqrt() * 1.1);
        ((-xr, xr), (-yr, yr))
    }
}

impl Figure for RavineFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 760)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (top, legend) = root.split_vertically(600);
        let (main, bar) = top.split_horizontally(980);
        let (xb, yb) = self.bounds();
        let ravine = Ravine {
            condition: self.args.condition,
        };
        let fmax = ravine.loss([xb.1, yb.1]);
        let lo = self.args.threshold.log10().floor();
        let hi = fmax.log10().ceil();
        let mut chart = ChartBuilder::on(&main)
            .caption(
                format!(
                    "f(w) = ½(w₁² + {} w₂²): the core's optimizers from ({}, {})",
                    self.args.condition, self.args.start.0[0], self.args.start.0[1]
                ),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(xb.0..xb.1, yb.0..yb.1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("w₁ (shallow direction, curvature 1)")
            .y_desc(format!(
                "w₂ (steep direction, curvature {})",
                self.args.condition
            ))
            .x_label_formatter(&|v| plot_num(*v))
            .y_label_formatter(&|v| plot_num(*v))
            .label_style(("sans-serif", 13))
            .draw()?;
        // Contours: f = c is the ellipse w₁ = √(2c) cos θ, w₂ = √(2c/κ) sin θ; two
        // levels per decade.
        let mut k = (2.0 * lo) as i32;
        while f64::from(k) <= 2.0 * hi {
            let c = 10f64.powf(f64::from(k) / 2.0);
            let t = (c.log10() - lo) / (hi - lo).max(1e-9);
            let (a, b) = ((2.0 * c).sqrt(), (2.0 * c / self.args.condition).sqrt());
            let pts: Vec<(f64, f64)> = (0..=360)
                .map(|i| {
                    let th = f64::from(i) * std::f64::consts::PI / 180.0;
                    (a * th.cos(), b * th.sin())
                })
                .collect();
            for run in inside_runs(&pts, xb, yb) {
                chart.draw_series(std::iter::once(PathElement::new(
                    run,
                    plot::viridis(t).mix(0.8).stroke_width(1),
                )))?;
            }
            k += 1;
        }
        chart.draw_series(std::iter::once(Cross::new(
            (0.0, 0.0),
            8,
            BLACK.stroke_width(2),
        )))?;
        for (i, p) in self.paths.iter().enumerate() {
            let c = plot::series_color(i);
            let pts: Vec<(f64, f64)> = p.points.iter().map(|w| (w[0], w[1])).collect();
            // A path that leaves the box is drawn until it does (not along the frame).
            let run = path_in_box(&pts, xb, yb);
            if run.len() > 1 {
                chart.draw_series(std::iter::once(PathElement::new(
                    run.clone(),
                    c.stroke_width(2),
                )))?;
                chart.draw_series(
                    run.iter()
                        .map(|&xy| Circle::new(xy, 2, c.filled()))
                        .collect::<Vec<_>>(),
                )?;
                let left = pts
                    .iter()
                    .any(|&(px, py)| !((xb.0..=xb.1).contains(&px) && (yb.0..=yb.1).contains(&py)));
                if left {
                    // Where it leaves the plot.
                    if let Some(&xy) = run.last() {
                        chart.draw_series(std::iter::once(Cross::new(xy, 8, c.stroke_width(3))))?;
                    }
                }
            }
            if p.diverged_at.is_none() {
                if let Some(&(x, y)) = pts.last() {
                    if (xb.0..=xb.1).contains(&x) && (yb.0..=yb.1).contains(&y) {
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((x, y))
                                + plotters::element::Rectangle::new(
                                    [(-5, -5), (5, 5)],
                                    ShapeStyle::from(c).filled(),
                                ),
                        ))?;
                    }
                }
            }
        }
        let (sx, sy) = (
            f64::from(self.args.start.0[0]),
            f64::from(self.args.start.0[1]),
        );
        chart.draw_series(std::iter::once(Circle::new(
            (sx, sy),
            7,
            BLACK.stroke_width(2),
        )))?;
        // Colour bar: the contour levels (log10 axis).
        plot::ViridisBar {
            lo,
            hi,
            label: "contour level f(w)",
            labels: ((hi - lo).floor() as usize + 1).clamp(2, 10),
            format: &plot::pow_label,
            margins: (40, 50),
        }
        .draw(&bar)?;
        // Legend, below the chart (it covers nothing).
        let mut rows: Vec<(Option<RGBColor>, String)> = self
            .paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let what = match (p.diverged_at, p.steps_to_threshold) {
                    (Some(s), _) => {
                        format!("DIVERGED at step {s} (✕: where it leaves the plot)")
                    }
                    (None, Some(s)) => format!("f < {:e} after {s} steps", self.args.threshold),
                    (None, None) => format!(
                        "f = {:.2e} after {} steps",
                        p.final_loss(),
                        p.points.len() - 1
                    ),
                };
                (
                    Some(plot::series_color(i)),
                    format!("{} lr {}: {what}", name_of(p.optimizer), p.lr),
                )
            })
            .collect();
        rows.push((
            None,
            "○ start (all paths)   ■ end of each path   ✕ minimum (0, 0)   dots: one per step"
                .into(),
        ));
        let style = ("sans-serif", 14).into_font();
        for (i, (c, label)) in rows.iter().enumerate() {
            let col = if i + 1 == rows.len() { 0 } else { i % 2 };
            let row = if i + 1 == rows.len() {
                rows.len().div_ceil(2).max(1) as i32
            } else {
                (i / 2) as i32
            };
            let x = 70 + col as i32 * 520;
            let y = 12 + row * 26;
            if let Some(c) = c {
                legend.draw(&PathElement::new(
                    vec![(x, y + 8), (x + 28, y + 8)],
                    c.stroke_width(3),
                ))?;
            }
            legend.draw(&Text::new(label.clone(), (x + 36, y), style.clone()))?;
        }
        Ok(())
    }
}

/// A tick label without "-0".
fn plot_num(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_start_and_lr_list_are_usage_errors() {
        assert!(start("1").is_err());
        assert!(start("0,0").is_err());
        assert!(start("nan,1").is_err());
        let mut a = default_args(true);
        a.lr = vec![0.1, 0.2];
        assert!(sweep(&a).is_err());
    }
}
