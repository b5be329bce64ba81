//! `lr-sweep`: a learning rate too low, about right and too high, on a real net.
//!
//! 2-16-16-1 ReLU nets (He initialisation) with an identity output, MSE on 0/1 targets,
//! SGD in batches of 8, on a generated data set, for each learning rate over several
//! seeds. The identity output makes the gradient unbounded, so a rate that is too high
//! either blows the weights up, which the core's divergence guard catches (the trainer
//! refuses a step whose loss, gradient or update is not finite and reports
//! `NonFiniteGradient`/`NonFiniteUpdate`), or kills the net (every output the same: see
//! [`crate::train::health_warnings`]). Both are reported, never drawn as a normal curve.
//!
//! Each rate is classified from the measured curves ([`classify`]).

use microprop::schedule::Schedule;
use microprop::{train as core_train, Activation, Init, Libm, Loss, Model, Trainer};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::{DatasetArg, OptimizerArg},
    ctx::usage,
    data::{Data, DatasetKind},
    net, optim,
    plot::{self, Figure},
    train::health_warnings,
    Ctx, Output, Res,
};

/// `lr-sweep`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LrSweepArgs {
    /// Learning rates (comma-separated, ascending after sorting).
    #[arg(long, value_delimiter = ',', value_parser = positive_f32,
          default_value = "0.0001,0.001,0.01,0.1,1")]
    pub lr: Vec<f32>,
    /// Seeds (1 to N) per learning rate.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub seeds: u32,
    /// Training epochs.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub epochs: u32,
    /// The generated data set (200 samples, 2 classes).
    #[arg(long, value_enum, default_value_t = DatasetArg::Xor)]
    pub dataset: DatasetArg,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

fn positive_f32(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("`{s}` must be finite and > 0")),
        Err(e) => Err(format!("`{s}` is not a number: {e}")),
    }
}

/// Layer sizes of the nets, input first.
pub const LAYERS: [usize; 4] = [2, 16, 16, 1];
/// Samples of the data set.
pub const SAMPLES: usize = 200;
/// Mini-batch size.
pub const BATCH: usize = 8;
/// A rate is `too_high` when at least this share of its seeds diverged or died.
pub const BAD_SHARE: f64 = 0.5;
/// A rate that is not too high is `good` when its median final loss is within this
/// factor of the best rate's, else `too_low`.
pub const GOOD_FACTOR: f64 = 20.0;

/// One training run.
#[derive(Clone, Debug)]
pub struct Run {
    /// Mean training loss after each epoch completed (a diverged epoch adds none).
    pub losses: Vec<f64>,
    /// The epoch (1-based) whose step the core refused (or whose loss was not finite).
    pub diverged_at_epoch: Option<u32>,
    /// The trained net computes one output for every sample or has no live hidden unit
    /// (`constant_output` / `all_units_dead`).
    pub died: bool,
    /// The learning rate of each optimizer step taken (schedules change it).
    pub lr_per_step: Vec<f64>,
}

impl Run {
    /// Diverged or died.
    pub fn failed(&self) -> bool {
        self.diverged_at_epoch.is_some() || self.died
    }
    /// The last loss measured.
    pub fn final_loss(&self) -> f64 {
        self.losses.last().copied().unwrap_or(f64::NAN)
    }
}

/// Trains one net of [`LAYERS`] on seed `seed`'s `dataset` with SGD at rate `lr`, or at
/// `schedule`'s rate per step when given, for `epochs` epochs.
///
/// # Errors
/// Core errors other than divergence (which ends the run: [`Run::diverged_at_epoch`]).
pub fn train_run(
    dataset: DatasetArg,
    lr: f32,
    schedule: Option<&Schedule>,
    seed: u64,
    epochs: u32,
) -> Res<Run> {
    let mut rng = microprop::rng(seed);
    let kind = DatasetKind::from(dataset);
    let data = Data::generate(kind, SAMPLES, 2, kind.default_spread(), &mut rng)?;
    let layers = net::dense_layers::<f32>(&LAYERS, Activation::Relu, Activation::Identity)?;
    let mut net = net::build::<f32, Libm>(layers, Init::HeNormal, 0.0, 1, &mut rng)?;
    let view = data.view()?;
    let mut opt = optim::new::<Libm>(OptimizerArg::Sgd, lr, net.params())?;
    let mut trainer = Trainer::new(Loss::Mse, BATCH)?;
    let mut order = vec![0u16; data.len()];
    core_train::fill_order(&mut order)?;
    let steps_per_epoch = data.len().div_ceil(BATCH) as u32;
    let mut run = Run {
        losses: Vec::new(),
        diverged_at_epoch: None,
        died: false,
        lr_per_step: Vec::new(),
    };
    for e in 1..=epochs {
        if let Some(s) = schedule {
            let first = trainer.steps();
            run.lr_per_step
                .extend((first..first + steps_per_epoch).map(|t| f64::from(s.lr(t) as f32)));
        } else {
            run.lr_per_step
                .extend((0..steps_per_epoch).map(|_| f64::from(lr)));
        }
        let r = match schedule {
            Some(s) => s.epoch(
                &mut trainer,
                &mut net,
                &mut opt,
                &view,
                &mut order,
                &mut rng,
            ),
            None => trainer.epoch(&mut net, &mut opt, &view, &mut order, &mut rng),
        };
        match r {
            Ok(_) => {}
            Err(microprop::Error::NonFiniteGradient | microprop::Error::NonFiniteUpdate) => {
                run.diverged_at_epoch = Some(e);
                break;
            }
            Err(err) => return Err(err.into()),
        }
        let m = core_train::evaluate(&mut net, Loss::Mse, &view)?;
        let l = f64::from(m.loss);
        if !l.is_finite() {
            run.diverged_at_epoch = Some(e);
            break;
        }
        run.losses.push(l);
    }
    // The steps of a diverged epoch that were not taken are not reported.
    run.lr_per_step.truncate(trainer.steps() as usize);
    if run.diverged_at_epoch.is_none() {
        let w = health_warnings(&mut net, Loss::Mse, &data, run.final_loss())?;
        run.died = w
            .iter()
            .any(|w| w.kind == "constant_output" || w.kind == "all_units_dead");
    }
    Ok(run)
}

/// Per epoch over the runs still going (not diverged by then): (epoch, median, min, max);
/// only epochs at which more than half of the runs are still going.
pub fn band(runs: &[Run]) -> Vec<(f64, f64, f64, f64)> {
    let n = runs.iter().map(|r| r.losses.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    for e in 0..n {
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.losses.get(e).copied())
            .collect();
        if 2 * v.len() <= runs.len() {
            break;
        }
        v.sort_by(f64::total_cmp);
        let med = median_sorted(&v);
        out.push((e as f64 + 1.0, med, v[0], v[v.len() - 1]));
    }
    out
}

fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The median over seeds of the final losses of the runs that neither diverged nor died
/// (NaN if none).
pub fn median_final(runs: &[Run]) -> f64 {
    let mut v: Vec<f64> = runs
        .iter()
        .filter(|r| !r.failed())
        .map(Run::final_loss)
        .collect();
    v.sort_by(f64::total_cmp);
    median_sorted(&v)
}

/// One learning rate's runs and class.
#[derive(Clone, Debug)]
pub struct Rate {
    /// The learning rate.
    pub lr: f32,
    /// One run per seed.
    pub runs: Vec<Run>,
    /// `too_low`, `good` or `too_high` ([`classify`]).
    pub class: &'static str,
}

/// The rules, in order: `too_high` if at least [`BAD_SHARE`] of the seeds diverged (the
/// core refused a step) or died (constant output / no live unit), or if the median final
/// loss is above the median loss after the first epoch (it blew up); then, against the
/// lowest median final loss `best` of the rates not too high: `good` within
/// [`GOOD_FACTOR`] × `best`, else `too_low` (still far from where a better rate got in
/// the same epochs).
pub fn classify(rates: &mut [Rate]) {
    let mut finals = Vec::new();
    for r in rates.iter_mut() {
        let bad = r.runs.iter().filter(|x| x.failed()).count() as f64;
        let first = {
            let mut v: Vec<f64> = r
                .runs
                .iter()
                .filter_map(|x| x.losses.first().copied())
                .collect();
            v.sort_by(f64::total_cmp);
            median_sorted(&v)
        };
        let fin = median_final(&r.runs);
        let high = bad >= BAD_SHARE * r.runs.len() as f64 || !fin.is_finite() || fin > first;
        r.class = if high { "too_high" } else { "" };
        finals.push(if high { f64::INFINITY } else { fin });
    }
    let best = finals.iter().copied().fold(f64::INFINITY, f64::min);
    for (r, f) in rates.iter_mut().zip(finals) {
        if r.class.is_empty() {
            r.class = if f <= GOOD_FACTOR * best {
                "good"
            } else {
                "too_low"
            };
        }
    }
}

/// Every `--lr` over seeds 1 to `--seeds`, classified.
///
/// # Errors
/// Core errors.
pub fn sweep(a: &LrSweepArgs) -> Res<Vec<Rate>> {
    let mut lrs = a.lr.clone();
    lrs.sort_by(f32::total_cmp);
    lrs.dedup();
    let mut rates = Vec::new();
    for lr in lrs {
        let runs = (1..=u64::from(a.seeds))
            .map(|s| train_run(a.dataset, lr, None, s, a.epochs))
            .collect::<Res<Vec<_>>>()?;
        rates.push(Rate {
            lr,
            runs,
            class: "",
        });
    }
    classify(&mut rates);
    Ok(rates)
}

/// The sweep as JSON.
pub fn json_of(a: &LrSweepArgs, rates: &[Rate]) -> serde_json::Value {
    let rs: Vec<_> = rates
        .iter()
        .map(|r| {
            json!({
                "lr": r.lr,
                "class": r.class,
                "median_final_loss": median_final(&r.runs),
                "runs": r.runs.iter().enumerate().map(|(i, x)| json!({
                    "seed": i + 1,
                    "loss_per_epoch": x.losses,
                    "final_loss": x.final_loss(),
                    "diverged": x.diverged_at_epoch.is_some(),
                    "diverged_at_epoch": x.diverged_at_epoch,
                    "died": x.died,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "layers": LAYERS, "activation": "relu", "output": "identity", "loss": "mse",
        "optimizer": "sgd", "batch": BATCH, "samples": SAMPLES,
        "dataset": format!("{:?}", a.dataset).to_lowercase(),
        "epochs": a.epochs, "seeds": a.seeds,
        "rules": format!(
            "too_high: >= {BAD_SHARE} of the seeds diverged or died, or the median final loss \
             is above the median first-epoch loss; good: median final loss within \
             {GOOD_FACTOR}x the best of the others; too_low: the rest"),
        "rates": rs,
    })
}

fn describe(r: &Rate) -> String {
    let div = r
        .runs
        .iter()
        .filter(|x| x.diverged_at_epoch.is_some())
        .count();
    let died = r.runs.iter().filter(|x| x.died).count();
    let mut s = format!("lr {}: {}", r.lr, r.class);
    let fin = median_final(&r.runs);
    if fin.is_finite() {
        s += &format!(", final loss {fin:.2e}");
    }
    if div > 0 {
        s += &format!(", {div}/{} diverged", r.runs.len());
    }
    if died > 0 {
        s += &format!(", {died}/{} died", r.runs.len());
    }
    s
}

/// `microprop-sim lr-sweep`.
pub fn run(a: &LrSweepArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    if a.lr.is_empty() {
        return usage("--lr: give at least one learning rate");
    }
    let rates = sweep(a)?;
    if let Some(p) = &a.plot {
        plot::save(&figure_of(a, &rates), p)?;
    }
    let mut text = format!(
        "2-16-16-1 relu, identity output, MSE, SGD batch {BATCH}, {:?}, {} epochs, seeds 1-{}\n",
        a.dataset, a.epochs, a.seeds
    )
    .to_lowercase();
    for r in &rates {
        text += &describe(r);
        text += "\n";
    }
    Ok(Output {
        json: json_of(a, &rates),
        text,
    })
}

/// The sweep's figure.
pub fn figure_of(a: &LrSweepArgs, rates: &[Rate]) -> CurvesFigure {
    CurvesFigure {
        title: format!(
            "2-16-16-1 relu, identity output, MSE, SGD on {}: median and min–max over {} seeds",
            format!("{:?}", a.dataset).to_lowercase(),
            a.seeds
        ),
        curves: rates
            .iter()
            .map(|r| (describe(r), r.runs.clone()))
            .collect(),
    }
}

/// The report's configuration (`quick`: fewer epochs and seeds).
pub fn default_args(quick: bool) -> LrSweepArgs {
    LrSweepArgs {
        lr: vec![0.0001, 0.001, 0.01, 0.1, 1.0],
        seeds: if quick { 3 } else { 5 },
        epochs: if quick { 25 } else { 40 },
        dataset: DatasetArg::Xor,
        plot: None,
    }
}

/// The report's section.
///
/// # Errors
/// Plot and core errors.
pub fn section(
    out: &std::path::Path,
    _ctx: &Ctx,
    quick: bool,
) -> Res<(crate::report::Section, serde_json::Value)> {
    let a = default_args(quick);
    let file = "lr-sweep.png";
    let rates = sweep(&a)?;
    plot::save(&figure_of(&a, &rates), &out.join(file))?;
    let list: Vec<String> = rates.iter().map(describe).collect();
    let html = format!(
        "SGD at five learning rates on 2-16-16-1 ReLU nets (identity output, MSE) on XOR, \
         {} epochs, {} seeds: {}. A diverged run is one whose step the core refused (its \
         loss or update was not finite); a run that died computes the same output for every \
         sample. What to look for: the lowest rate's curve still sloping down far above the \
         others, the good rates dropping by decades, and the highest rate ending in a \
         refused step or a flat line at the loss of a constant prediction.",
        a.epochs,
        a.seeds,
        list.join("; ")
    );
    Ok((
        crate::report::Section {
            title: "Learning rate: too low, right, too high".into(),
            images: vec![file.into()],
            text: html,
        },
        json_of(&a, &rates),
    ))
}

/// Loss curves on a log axis: per series a median line and a min–max band over seeds,
/// each diverged run marked with a cross at its last loss, the epoch it diverged in.
pub struct CurvesFigure {
    /// Title.
    pub title: String,
    /// (legend, runs) per series.
    pub curves: Vec<(String, Vec<Run>)>,
}

impl CurvesFigure {
    /// Draws the chart on `area` (also used by `schedules`).
    ///
    /// # Errors
    /// Plot errors.
    pub fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let all = || {
            self.curves
                .iter()
                .flat_map(|(_, r)| r.iter().flat_map(|x| x.losses.iter().copied()))
                .filter(|v| v.is_finite() && *v > 0.0)
        };
        let lo = all().fold(f64::INFINITY, f64::min).max(1e-12);
        let hi = all().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (1e-3, 1.0)
        };
        let epochs = self
            .curves
            .iter()
            .flat_map(|(_, r)| r.iter().map(|x| x.losses.len()))
            .max()
            .unwrap_or(1)
            .max(2) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(1.0..epochs, (lo / 2.0..hi * 3.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("training loss (MSE, log scale)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, (name, runs)) in self.curves.iter().enumerate() {
            let c = plot::series_color(i);
            let floor = |v: f64| v.max(lo / 2.0);
            // The band and the median: the runs that neither diverged nor died.
            let healthy: Vec<Run> = runs.iter().filter(|r| !r.failed()).cloned().collect();
            let b = band(&healthy);
            if b.len() > 1 {
                let mut poly: Vec<(f64, f64)> =
                    b.iter().map(|&(e, _, mn, _)| (e, floor(mn))).collect();
                poly.extend(b.iter().rev().map(|&(e, _, _, mx)| (e, floor(mx))));
                chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled())))?;
            }
            chart
                .draw_series(LineSeries::new(
                    b.iter().map(|&(e, m, _, _)| (e, floor(m))),
                    c.stroke_width(2),
                ))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            // Each failed run on its own, thin and dashed-looking (dots), never in the band.
            for r in runs.iter().filter(|r| r.failed()) {
                let pts: Vec<(f64, f64)> = r
                    .losses
                    .iter()
                    .enumerate()
                    .map(|(e, &l)| (e as f64 + 1.0, floor(l)))
                    .collect();
                chart.draw_series(LineSeries::new(pts.clone(), c.mix(0.7).stroke_width(1)))?;
                chart.draw_series(
                    pts.iter()
                        .map(|&xy| Circle::new(xy, 2, c.mix(0.7).filled())),
                )?;
                match (r.diverged_at_epoch, r.losses.last()) {
                    (Some(e), Some(&l)) => {
                        chart.draw_series(std::iter::once(Cross::new(
                            (f64::from(e).min(epochs), floor(l)),
                            7,
                            c.stroke_width(3),
                        )))?;
                    }
                    (Some(_), None) => {
                        chart.draw_series(std::iter::once(Cross::new(
                            (1.0, hi * 2.0),
                            7,
                            c.stroke_width(3),
                        )))?;
                    }
                    _ => {}
                }
            }
        }
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

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        (1000, 620)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (top, note) = root.split_vertically(572);
        self.draw_on(&top)?;
        let font = ("sans-serif", 13).into_font();
        for (i, line) in [
            "thick line: median, band: min–max over the seeds that neither diverged nor died; \
             thin dotted: each run that died (its output constant)",
            "✕: a run diverged there (the core refused a non-finite step); at the top: in epoch 1, \
             before any loss was measured",
        ]
        .into_iter()
        .enumerate()
        {
            note.draw(&Text::new(line, (20, 4 + 20 * i as i32), font.clone()))?;
        }
        Ok(())
    }
}
