//! `dead-relu`: the share of hidden units that never pass a gradient, against the hidden
//! activation, the learning rate and the bias initialisation, at initialisation and after
//! training, over several seeds.
//!
//! Definitions (per hidden unit, over the 200 training samples, eval-mode forward pass):
//! - **dead**: the activation derivative `f'(z)` is exactly 0 on every sample, so no
//!   sample sends a gradient to the unit's incoming weights and bias;
//! - **inactive**: the pre-activation `z` is ≤ 0 on every sample.
//!
//! For ReLU the two are the same units. A Leaky ReLU unit has `f'(z) = α > 0` everywhere,
//! so it is never dead (an ELU unit only if `α·e^z` underflows in f32); an inactive one
//! still learns, and **recovered** measures whether it does: the share of the units
//! inactive at initialisation that are no longer inactive after training.

use microprop::{train as core_train, Activation, Init, Libm, Loss, Sgd, Trainer};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::{
    cli::{act_flag, DeadReluArgs},
    ctx::usage,
    data::{Data, DatasetKind},
    limits, net,
    plot::{self, Figure},
    stats, Ctx, Output, Res,
};

/// Final training accuracy below which a net is flagged as "did not learn" (the two
/// clusters are separable to ≈ 100 %; chance is 50 %).
pub const LEARNED: f64 = 0.75;

/// Mean, population standard deviation, minimum and maximum over seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Values summarised (seeds; for `recovered`, the seeds with an inactive unit at
    /// initialisation).
    pub n: usize,
}

impl Summary {
    /// Summarises `xs` (all NaN for an empty list).
    pub fn of(xs: &[f64]) -> Self {
        if xs.is_empty() {
            return Summary {
                mean: f64::NAN,
                std: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
                n: 0,
            };
        }
        let (mean, std) = stats::mean_std(xs.iter().copied());
        Summary {
            mean,
            std,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n: xs.len(),
        }
    }

    /// The JSON object (`null` for values that are not numbers).
    pub fn json(&self) -> Value {
        let f = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        json!({"mean": f(self.mean), "std": f(self.std), "min": f(self.min),
               "max": f(self.max), "n": self.n})
    }
}

/// One activation × learning rate × bias, over the seeds.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Hidden activation.
    pub activation: Activation,
    /// Learning rate.
    pub lr: f32,
    /// Bias initialisation (as typed, e.g. 0.01 rather than 0.009999999776).
    pub bias: f64,
    /// Dead fraction at initialisation.
    pub dead_at_init: Summary,
    /// Dead fraction after training.
    pub dead_after_training: Summary,
    /// Inactive fraction at initialisation.
    pub inactive_at_init: Summary,
    /// Inactive fraction after training.
    pub inactive_after_training: Summary,
    /// Of the units inactive at initialisation, the share not inactive after training
    /// (over the seeds that had any).
    pub recovered: Summary,
    /// Units inactive at initialisation, summed over seeds.
    pub inactive_at_init_units: usize,
    /// Final training accuracy.
    pub accuracy: Summary,
    /// Seeds in which the trainer refused a step (a non-finite loss or update).
    pub diverged: u32,
    /// Seeds that ended below [`LEARNED`] accuracy.
    pub not_learned: u32,
}

impl Cell {
    /// The JSON record of the sweep.
    pub fn json(&self) -> Value {
        json!({
            "activation": act_flag(self.activation),
            "lr": self.lr,
            "bias_init": self.bias,
            "dead_at_init": self.dead_at_init.json(),
            "dead_after_training": self.dead_after_training.json(),
            "inactive_at_init": self.inactive_at_init.json(),
            "inactive_after_training": self.inactive_after_training.json(),
            "recovered": self.recovered.json(),
            "inactive_at_init_units": self.inactive_at_init_units,
            "accuracy": self.accuracy.json(),
            "diverged_seeds": self.diverged,
            "not_learned_seeds": self.not_learned,
        })
    }
}

/// The whole sweep: cells in the order activation, then learning rate, then bias.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    /// Hidden activations.
    pub activations: Vec<Activation>,
    /// Learning rates.
    pub lrs: Vec<f32>,
    /// Bias initialisations.
    pub bias: Vec<f64>,
    /// Seeds per cell.
    pub seeds: u32,
    /// Epochs of training.
    pub epochs: u32,
    /// Every activation × learning rate × bias.
    pub cells: Vec<Cell>,
}

impl Sweep {
    /// The cell of `act`, `lr` and `bias`.
    pub fn cell(&self, act: Activation, lr: f32, bias: f64) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.activation == act && c.lr == lr && (c.bias - bias).abs() < 1e-9)
    }

    /// The cells of `act` at `lr`, in bias order.
    pub fn row(&self, act: Activation, lr: f32) -> Vec<&Cell> {
        self.cells
            .iter()
            .filter(|c| c.activation == act && c.lr == lr)
            .collect()
    }

    /// The "moderate" and the "high" learning rate of the figures: the median and the
    /// largest of the sweep (the same rate when there is one).
    pub fn moderate_and_high(&self) -> (f32, f32) {
        let mut l = self.lrs.clone();
        l.sort_by(f32::total_cmp);
        (l[(l.len() - 1) / 2], l[l.len() - 1])
    }
}

/// Checks the flags before any work: at least one value in every list, a net the
/// two-cluster data and MSE fit, within the model format's depth and the memory budget
/// ([`limits`]), rates SGD takes in f32, a plot file with an image extension.
///
/// # Errors
/// A usage error naming the flag.
pub fn validate(a: &DeadReluArgs) -> Res<()> {
    for (flag, empty) in [
        ("--lr", a.lr.is_empty()),
        ("--bias", a.bias.is_empty()),
        ("--activation", a.activation.is_empty()),
    ] {
        if empty {
            return usage(format!("{flag}: give at least one value"));
        }
    }
    let sizes = &a.layers.0;
    if sizes.len() < 3 {
        return usage("--layers: give at least one hidden layer, e.g. 2,32,32,1");
    }
    if sizes[0] != crate::train::FEATURES {
        return usage(format!(
            "--layers: the input layer has {} unit(s) but the two-cluster data has {} features",
            sizes[0],
            crate::train::FEATURES
        ));
    }
    let outputs = sizes[sizes.len() - 1];
    if let Err(e) = Loss::Mse.check(Activation::<f32>::Sigmoid, outputs) {
        return usage(format!(
            "--layers: {outputs} sigmoid output(s) do not fit the MSE loss on 2 classes: {e}"
        ));
    }
    if outputs > 2 {
        return usage(format!(
            "--layers: {outputs} outputs for 2 classes (use 1 output, or 2)"
        ));
    }
    for act in &a.activation {
        if act.activation().is_output_only() {
            return usage(format!(
                "--activation {act}: only valid on the output layer"
            ));
        }
        let specs = limits::dense_specs(sizes, act.activation(), Activation::Sigmoid);
        limits::check_depth("--layers", &specs)?;
        // One net at a time, one row at a time, plain SGD; 200 samples.
        limits::Footprint::of(&specs, 1)
            .plus(200 * (2 * 4 + 1 + 2))
            .check("--layers")?;
    }
    for &lr in &a.lr {
        if let Err(e) = Sgd::new(lr) {
            return usage(format!("--lr {lr}: {e}"));
        }
    }
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    Ok(())
}

/// One seed's measurements.
struct Run {
    init: stats::UnitStates,
    after: stats::UnitStates,
    recovered: Option<f64>,
    inactive_at_init: usize,
    accuracy: f64,
    diverged: bool,
}

fn one(a: &DeadReluArgs, act: Activation, lr: f32, bias: f32, seed: u64) -> Res<Run> {
    // The same data and initial weights for every activation and rate of a seed.
    let mut rng = microprop::rng(1000 + seed);
    let data = Data::generate(DatasetKind::Clusters, 200, 2, 0.7, &mut rng)?;
    let view = data.view()?;
    let mut net = net::dense::<f32, Libm>(
        &a.layers.0,
        act,
        Activation::Sigmoid,
        Init::HeNormal,
        bias,
        &mut rng,
    )?;
    let (mut off0, mut off1) = (Vec::new(), Vec::new());
    let init = stats::unit_states::<_, Libm>(&mut net, &view, &mut off0)?;
    let mut opt = Sgd::new(lr)?;
    let mut trainer = Trainer::new(Loss::Mse, 8)?;
    let mut order = vec![0u16; data.len()];
    core_train::fill_order(&mut order)?;
    let mut diverged = false;
    for _ in 0..a.epochs {
        // A diverged step is refused by the trainer; keep going (that is the point) and
        // flag the run.
        diverged |= trainer
            .epoch(&mut net, &mut opt, &view, &mut order, &mut rng)
            .is_err();
    }
    let after = stats::unit_states::<_, Libm>(&mut net, &view, &mut off1)?;
    let was = off0.iter().filter(|&&x| x).count();
    let back = off0.iter().zip(&off1).filter(|(&b, &n)| b && !n).count();
    let accuracy = f64::from(core_train::evaluate(&mut net, Loss::Mse, &view)?.accuracy);
    Ok(Run {
        init,
        after,
        recovered: (was > 0).then(|| back as f64 / was as f64),
        inactive_at_init: was,
        accuracy,
        diverged,
    })
}

/// Runs the sweep: every activation × learning rate × bias, `--seeds` nets each.
///
/// # Errors
/// Usage errors ([`validate`]); core errors.
pub fn sweep(a: &DeadReluArgs, ctx: &Ctx) -> Res<Sweep> {
    validate(a)?;
    let mut s = Sweep {
        activations: a.activation.iter().map(|x| x.activation()).collect(),
        lrs: a.lr.clone(),
        bias: a
            .bias
            .iter()
            .map(|&b| b.to_string().parse::<f64>().unwrap_or(f64::from(b)))
            .collect(),
        seeds: a.seeds,
        epochs: a.epochs,
        cells: Vec::new(),
    };
    let total = (a.activation.len() * a.lr.len() * a.bias.len()) as u64 * u64::from(a.seeds);
    let pb = ctx.progress(total, "dead-relu");
    for &act in &s.activations {
        for &lr in &a.lr {
            for (&b, &bias) in a.bias.iter().zip(&s.bias) {
                let mut runs = Vec::new();
                for seed in 0..u64::from(a.seeds) {
                    runs.push(one(a, act, lr, b, seed)?);
                    pb.inc(1);
                }
                let col = |f: &dyn Fn(&Run) -> f64| -> Summary {
                    Summary::of(&runs.iter().map(f).collect::<Vec<_>>())
                };
                s.cells.push(Cell {
                    activation: act,
                    lr,
                    bias,
                    dead_at_init: col(&|r| r.init.dead_fraction()),
                    dead_after_training: col(&|r| r.after.dead_fraction()),
                    inactive_at_init: col(&|r| r.init.inactive_fraction()),
                    inactive_after_training: col(&|r| r.after.inactive_fraction()),
                    recovered: Summary::of(
                        &runs.iter().filter_map(|r| r.recovered).collect::<Vec<_>>(),
                    ),
                    inactive_at_init_units: runs.iter().map(|r| r.inactive_at_init).sum(),
                    accuracy: col(&|r| r.accuracy),
                    diverged: runs.iter().filter(|r| r.diverged).count() as u32,
                    not_learned: runs.iter().filter(|r| r.accuracy < LEARNED).count() as u32,
                });
            }
        }
    }
    pb.finish_and_clear();
    Ok(s)
}

/// Writes the figures: dead/inactive fraction against the bias at the moderate and the
/// high learning rate ([`Sweep::moderate_and_high`]) to `path`, and, when the sweep has
/// two rates or more, against the learning rate to `<stem>-lr`. Returns the files.
///
/// # Errors
/// Drawing errors.
pub fn save(s: &Sweep, path: &std::path::Path) -> Res<Vec<std::path::PathBuf>> {
    plot::save(&BiasFigure { s }, path)?;
    let mut files = vec![path.to_path_buf()];
    if s.lrs.len() > 1 {
        let p = plot::sibling(path, "lr");
        plot::save(&LrFigure { s }, &p)?;
        files.push(p);
    }
    Ok(files)
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}", x * 100.0)
    } else {
        "–".into()
    }
}

/// `microprop-sim dead-relu`.
pub fn run(a: &DeadReluArgs, ctx: &Ctx) -> Res<Output> {
    validate(a)?;
    let s = sweep(a, ctx)?;
    let files = match &a.plot {
        Some(p) => save(&s, p)?,
        None => Vec::new(),
    };
    let mut text = format!(
        "hidden units of {} nets (He init), {} seed(s), {} epochs of SGD (batch 8) on 200 two-cluster samples\n\
         dead = f'(z) = 0 on every sample; inactive = z <= 0 on every sample (= dead for ReLU);\n\
         recovered = share of the units inactive at init that are not inactive after training.\n\
         values in %: mean [min, max] over seeds\n\
         {:<11} {:>6} {:>6} {:>8} {:>20} {:>8} {:>20} {:>17} {:>19}  flags\n",
        a.layers.0.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("-"),
        a.seeds,
        a.epochs,
        "activation",
        "lr",
        "bias",
        "dead@0",
        "dead after",
        "inact@0",
        "inactive after",
        "recovered",
        "accuracy"
    );
    let range = |m: &Summary| format!("{} [{}, {}]", pct(m.mean), pct(m.min), pct(m.max));
    for c in &s.cells {
        let mut flags = Vec::new();
        if c.diverged > 0 {
            flags.push(format!("diverged in {}/{} seeds", c.diverged, s.seeds));
        }
        if c.not_learned > 0 {
            flags.push(format!(
                "below {:.0} % accuracy in {}/{} seeds",
                LEARNED * 100.0,
                c.not_learned,
                s.seeds
            ));
        }
        text += &format!(
            "{:<11} {:>6} {:>6} {:>8} {:>20} {:>8} {:>20} {:>17} {:>19}  {}\n",
            act_flag(c.activation),
            c.lr,
            c.bias,
            pct(c.dead_at_init.mean),
            range(&c.dead_after_training),
            pct(c.inactive_at_init.mean),
            range(&c.inactive_after_training),
            if c.recovered.n == 0 {
                "none inactive".into()
            } else {
                pct(c.recovered.mean)
            },
            range(&c.accuracy),
            flags.join("; ")
        );
    }
    for f in &files {
        text += &format!("plot: {}\n", f.display());
    }
    // The keys of the single-sweep call, for the first activation and the first rate.
    let (act0, lr0) = (s.activations[0], s.lrs[0]);
    let first = s.row(act0, lr0);
    let mean = |f: &dyn Fn(&Cell) -> f64| first.iter().map(|c| f(c)).collect::<Vec<_>>();
    let json = json!({
        "layers": a.layers.0,
        "epochs": a.epochs,
        "lr": if s.lrs.len() == 1 { json!(lr0) } else { json!(s.lrs) },
        "lrs": s.lrs,
        "activations": s.activations.iter().map(|&x| act_flag(x)).collect::<Vec<_>>(),
        "seeds": a.seeds,
        "definitions": {
            "dead": "activation derivative exactly 0 on every training sample",
            "inactive": "pre-activation <= 0 on every training sample (= dead for ReLU)",
            "recovered": "of the units inactive at initialisation, the share not inactive after training",
            "learned": format!("final training accuracy >= {LEARNED}"),
        },
        "bias_init": s.bias,
        "dead_at_init": mean(&|c| c.dead_at_init.mean),
        "dead_after_training": mean(&|c| c.dead_after_training.mean),
        "accuracy": mean(&|c| c.accuracy.mean),
        "legacy_keys_for": {"activation": act_flag(act0), "lr": lr0},
        "sweep": s.cells.iter().map(Cell::json).collect::<Vec<_>>(),
        "plots": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
    });
    Ok(Output { json, text })
}

/// Markers of the series of one figure, one per activation.
fn marker<DB: DrawingBackend, C>(
    chart: &mut ChartContext<'_, DB, C>,
    pts: &[(f64, f64, f64, f64)],
    i: usize,
    hollow: bool,
) -> Res<()>
where
    DB::ErrorType: 'static,
    C: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    let c = plot::series_color(i);
    // Error bars: min to max over seeds, with 8-pixel caps.
    for &(x, _, lo, hi) in pts {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, lo), (x, hi)],
            c.stroke_width(1),
        )))?;
        for y in [lo, hi] {
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-4, 0), (4, 0)], c.stroke_width(2)),
            ))?;
        }
    }
    chart.draw_series(LineSeries::new(
        pts.iter().map(|&(x, y, _, _)| (x, y)),
        c.stroke_width(if hollow { 1 } else { 2 }),
    ))?;
    let style = if hollow {
        c.stroke_width(2)
    } else {
        c.filled()
    };
    chart.draw_series(
        pts.iter()
            .map(|&(x, y, _, _)| Circle::new((x, y), 4, style)),
    )?;
    Ok(())
}

/// The legend under the panels, outside the data: one entry per activation, with what
/// each shows.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, bool)]) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let per = (w as i32 - 40) / entries.len().max(1) as i32;
    for (i, (label, dashed)) in entries.iter().enumerate() {
        let x = 20 + per * i as i32;
        let y = 14;
        if *dashed {
            for k in 0..4 {
                area.draw(&PathElement::new(
                    vec![(x + k * 7, y), (x + k * 7 + 4, y)],
                    BLACK.stroke_width(2),
                ))?;
            }
        } else {
            let c = plot::series_color(i);
            area.draw(&PathElement::new(
                vec![(x, y), (x + 26, y)],
                c.stroke_width(2),
            ))?;
            area.draw(&Circle::new((x + 13, y), 4, c.filled()))?;
        }
        area.draw(&Text::new(
            label.clone(),
            (x + 32, y - 8),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    Ok(())
}

/// Legend entries: each activation, with its largest measured dead fraction when that
/// differs from the inactive one plotted.
fn entries(s: &Sweep) -> Vec<(String, bool)> {
    let mut e: Vec<(String, bool)> = s
        .activations
        .iter()
        .map(|&act| {
            let worst = s
                .cells
                .iter()
                .filter(|c| c.activation == act)
                .map(|c| c.dead_after_training.max)
                .fold(0.0, f64::max);
            if act == Activation::Relu {
                (format!("{} (inactive = dead)", act_flag(act)), false)
            } else {
                (
                    format!("{} (dead: at most {} %)", act_flag(act), pct(worst)),
                    false,
                )
            }
        })
        .collect();
    e.push(("dashed: at initialisation".into(), true));
    e
}

fn y_top(s: &Sweep) -> f64 {
    let hi = s
        .cells
        .iter()
        .flat_map(|c| [c.inactive_after_training.max, c.inactive_at_init.max])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    ((hi * 100.0 * 1.15).max(5.0) / 5.0).ceil() * 5.0
}

const Y_LABEL: &str = "hidden units inactive on all samples (%)";

/// Inactive (= dead for ReLU) fraction against the bias, one panel per learning rate.
struct BiasFigure<'a> {
    s: &'a Sweep,
}

impl Figure for BiasFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let s = self.s;
        let (moderate, high) = s.moderate_and_high();
        let lrs: Vec<(f32, &str)> = if moderate == high {
            vec![(high, "")]
        } else {
            vec![(moderate, "moderate "), (high, "high ")]
        };
        let (main, foot) = root.split_vertically(root.dim_in_pixel().1 - 34);
        let panels = main.split_evenly((1, lrs.len()));
        let n = s.bias.len();
        let top = y_top(s);
        let k = s.activations.len() as f64;
        for ((lr, which), area) in lrs.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!(
                        "after {} epochs at {which}lr {lr}, {} seeds",
                        s.epochs, s.seeds
                    ),
                    ("sans-serif", 17),
                )
                .margin(10)
                .x_label_area_size(42)
                .y_label_area_size(58)
                .build_cartesian_2d(-0.6..(n as f64 - 0.4), 0.0..top)?;
            let bias = s.bias.clone();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n + 1)
                .x_label_formatter(&move |x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < bias.len() {
                        format!("{}", bias[i as usize])
                    } else {
                        String::new()
                    }
                })
                .x_desc("bias initialisation (evenly spaced categories)")
                .y_desc(Y_LABEL)
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style(("sans-serif", 13))
                .draw()?;
            for (ai, &act) in s.activations.iter().enumerate() {
                // At initialisation (dashed): the same weights for every activation, but
                // deeper layers see different inputs.
                let init: Vec<(f64, f64)> = s
                    .row(act, *lr)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i as f64, c.inactive_at_init.mean * 100.0))
                    .collect();
                let col = plot::series_color(ai);
                chart.draw_series(DashedLineSeries::new(init, 5, 4, col.stroke_width(1)))?;
                // Dodge the activations around each category.
                let dx = (ai as f64 - (k - 1.0) / 2.0) * 0.18;
                let pts: Vec<_> = s
                    .row(act, *lr)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let m = &c.inactive_after_training;
                        (i as f64 + dx, m.mean * 100.0, m.min * 100.0, m.max * 100.0)
                    })
                    .collect();
                marker(&mut chart, &pts, ai, false)?;
            }
        }
        legend(&foot, &entries(s))
    }
}

/// Inactive (= dead for ReLU) fraction against the learning rate (log x), one panel per
/// bias: 0 and 0.01 when swept, else the first and the last.
struct LrFigure<'a> {
    s: &'a Sweep,
}

impl LrFigure<'_> {
    fn biases(&self) -> Vec<f64> {
        let b = &self.s.bias;
        let has = |v: f64| b.iter().any(|&x| (x - v).abs() < 1e-9);
        if has(0.0) && has(0.01) {
            vec![0.0, 0.01]
        } else if b.len() > 1 {
            vec![b[0], b[b.len() - 1]]
        } else {
            vec![b[0]]
        }
    }
}

impl Figure for LrFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let s = self.s;
        let biases = self.biases();
        let (main, foot) = root.split_vertically(root.dim_in_pixel().1 - 34);
        let panels = main.split_evenly((1, biases.len()));
        let lo = s.lrs.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = s.lrs.iter().copied().fold(0.0, f32::max) as f64;
        let top = y_top(s);
        let k = s.activations.len() as f64;
        for (&bias, area) in biases.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("bias init {bias}, {} epochs, {} seeds", s.epochs, s.seeds),
                    ("sans-serif", 17),
                )
                .margin(10)
                .x_label_area_size(42)
                .y_label_area_size(58)
                .build_cartesian_2d((lo / 1.6..hi * 1.6).log_scale(), 0.0..top)?;
            chart
                .configure_mesh()
                .x_desc("SGD learning rate (log scale)")
                .y_desc(Y_LABEL)
                .y_label_formatter(&|v| format!("{v:.0}"))
                .x_label_formatter(&|v| format!("{v}"))
                .label_style(("sans-serif", 13))
                .draw()?;
            let at = |act: Activation| -> Vec<&Cell> {
                s.lrs
                    .iter()
                    .filter_map(|&lr| s.cell(act, lr, bias))
                    .collect()
            };
            for (ai, &act) in s.activations.iter().enumerate() {
                let init: Vec<(f64, f64)> = at(act)
                    .iter()
                    .map(|c| (f64::from(c.lr), c.inactive_at_init.mean * 100.0))
                    .collect();
                let col = plot::series_color(ai);
                chart.draw_series(DashedLineSeries::new(init, 5, 4, col.stroke_width(1)))?;
                // Dodge by a constant factor on the log axis.
                let f = 10f64.powf((ai as f64 - (k - 1.0) / 2.0) * 0.07);
                let pts: Vec<_> = at(act)
                    .iter()
                    .map(|c| {
                        let m = &c.inactive_after_training;
                        (
                            f64::from(c.lr) * f,
                            m.mean * 100.0,
                            m.min * 100.0,
                            m.max * 100.0,
                        )
                    })
                    .collect();
                marker(&mut chart, &pts, ai, false)?;
            }
        }
        legend(&foot, &entries(s))
    }
}

/// The report's section: title, figures, a paragraph of numbers measured in this run,
/// and the JSON.
#[derive(Debug)]
pub struct ReportSection {
    /// Section title.
    pub title: String,
    /// Figure files, relative to the report directory.
    pub images: Vec<String>,
    /// The paragraph (plain text).
    pub text: String,
    /// The JSON of the run.
    pub json: Value,
}

/// The flags of the report's run: ReLU, Leaky ReLU and ELU; four learning rates; six
/// biases including 0 and the notes' 0.01.
pub fn report_args(quick: bool) -> DeadReluArgs {
    use crate::cli::{HiddenAct, Sizes};
    DeadReluArgs {
        bias: vec![-0.5, -0.1, 0.0, 0.01, 0.1, 0.5],
        layers: Sizes(vec![2, 32, 32, 1]),
        epochs: if quick { 10 } else { 20 },
        lr: vec![0.1, 0.5, 2.0, 10.0],
        activation: [
            Activation::Relu,
            Activation::LeakyRelu(0.01),
            Activation::Elu(1.0),
        ]
        .map(HiddenAct)
        .to_vec(),
        seeds: if quick { 3 } else { 5 },
        plot: None,
    }
}

/// Runs [`report_args`] and writes its figures as `path` and `<stem>-lr`.
///
/// # Errors
/// As [`sweep`] and [`save`].
pub fn report(path: &std::path::Path, quick: bool, ctx: &Ctx) -> Res<ReportSection> {
    let a = report_args(quick);
    let s = sweep(&a, ctx)?;
    let files = save(&s, path)?;
    let (moderate, high) = s.moderate_and_high();
    let low = s.lrs.iter().copied().fold(f32::INFINITY, f32::min);
    let relu = Activation::Relu;
    let get = |act: Activation, lr: f32, b: f64| s.cell(act, lr, b);
    let m = |c: Option<&Cell>| c.map_or(f64::NAN, |c| c.inactive_after_training.mean);
    let r = |c: Option<&Cell>| {
        c.map_or("–".into(), |c| {
            let x = &c.inactive_after_training;
            format!("{} % [{}, {}]", pct(x.mean), pct(x.min), pct(x.max))
        })
    };
    let mut text = format!(
        "Hidden units of 2-32-32-1 nets (He init, {} seeds, {} epochs of SGD): a unit is dead when its activation derivative \
         is 0 on every training sample, inactive when its pre-activation is ≤ 0 on every sample (the same units for ReLU; \
         Leaky ReLU and ELU units that are inactive still get a gradient). Values: mean [min, max] over seeds. \
         What to look for: does the ReLU curve rise with the learning rate, and do bias 0 and 0.01 differ by more than the \
         seed-to-seed spread? ",
        s.seeds, s.epochs
    );
    let z_mod = get(relu, moderate, 0.0);
    let p_mod = get(relu, moderate, 0.01);
    let z_hi = get(relu, high, 0.0);
    let p_hi = get(relu, high, 0.01);
    let z_lo = get(relu, low, 0.0);
    let _ = write!(
        text,
        "ReLU, dead after training: at lr {moderate}, bias 0: {}, bias 0.01: {}; at lr {high}, bias 0: {}, bias 0.01: {}; \
         at lr {low}, bias 0: {}. ",
        r(z_mod),
        r(p_mod),
        r(z_hi),
        r(p_hi),
        r(z_lo)
    );
    let d_bias = (m(p_mod) - m(z_mod)).abs().max((m(p_hi) - m(z_hi)).abs());
    let d_lr = m(z_hi) - m(z_lo);
    let _ = write!(
        text,
        "The 0.01 bias moves the dead share by at most {} points; raising lr from {low} to {high} moves it by {} points{}. ",
        pct(d_bias),
        pct(d_lr),
        if d_lr.abs() > 2.0 * d_bias {
            ": in this experiment the learning rate, not the 0.01 bias, decides how many ReLUs die"
        } else {
            ": here the bias matters as much as the learning rate"
        }
    );
    let neg = get(relu, moderate, -0.5);
    let _ = write!(
        text,
        "A negative bias does kill units at initialisation (bias −0.5: {} % dead at init). ",
        neg.map_or("–".into(), |c| pct(c.dead_at_init.mean))
    );
    for &act in s.activations.iter().filter(|&&x| x != relu) {
        let worst = s
            .cells
            .iter()
            .filter(|c| c.activation == act)
            .map(|c| c.dead_after_training.max)
            .fold(0.0, f64::max);
        let rec: Vec<f64> = s
            .cells
            .iter()
            .filter(|c| c.activation == act && c.recovered.n > 0)
            .map(|c| c.recovered.mean)
            .collect();
        let relu_rec: Vec<f64> = s
            .cells
            .iter()
            .filter(|c| c.activation == relu && c.recovered.n > 0)
            .map(|c| c.recovered.mean)
            .collect();
        let _ = write!(
            text,
            "{}: dead at most {} % in any cell; inactive after training at lr {high}, bias 0: {}; of the units inactive at \
             init, {} % are active after training (mean over cells; ReLU: {} %). ",
            act_flag(act),
            pct(worst),
            r(get(act, high, 0.0)),
            pct(stats::mean_std(rec).0),
            pct(stats::mean_std(relu_rec).0)
        );
    }
    let flagged: Vec<String> = s
        .cells
        .iter()
        .filter(|c| c.diverged > 0 || c.not_learned > 0)
        .map(|c| {
            format!(
                "{} lr {} bias {} ({} diverged, {} below {:.0} %)",
                act_flag(c.activation),
                c.lr,
                c.bias,
                c.diverged,
                c.not_learned,
                LEARNED * 100.0
            )
        })
        .collect();
    let _ = write!(
        text,
        "Runs flagged (a refused step, or final accuracy below {:.0} %): {}.",
        LEARNED * 100.0,
        if flagged.is_empty() {
            "none".into()
        } else {
            flagged.join("; ")
        }
    );
    let images = files
        .iter()
        .rev()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    Ok(ReportSection {
        title: "Dead units against learning rate, bias and activation (notes §5)".into(),
        images,
        text,
        json: json!({
            "definitions": {
                "dead": "activation derivative exactly 0 on every training sample",
                "inactive": "pre-activation <= 0 on every training sample (= dead for ReLU)",
            },
            "activations": s.activations.iter().map(|&x| act_flag(x)).collect::<Vec<_>>(),
            "lrs": s.lrs,
            "bias_init": s.bias,
            "seeds": s.seeds,
            "epochs": s.epochs,
            "sweep": s.cells.iter().map(Cell::json).collect::<Vec<_>>(),
        }),
    })
}
