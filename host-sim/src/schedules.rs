//! `schedules`: learning-rate schedules (the core's [`Schedule`]) and what they do to
//! training at a high base rate.
//!
//! The nets and data are `lr-sweep`'s ([`crate::lr_sweep::train_run`]: 2-16-16-1 ReLU,
//! identity output, MSE, SGD in batches of 8); each schedule sets the rate before every
//! optimizer step from the step count, `T` steps in all (epochs × steps per epoch):
//! constant; step (×0.3 every `T/4` steps); exponential (γ per step with `γ^T = 0.01`);
//! cosine (over `T`, down to 0); linear warm-up over `T/10` steps, then cosine over the
//! rest.

use microprop::schedule::{Decay, Schedule};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::DatasetArg,
    lr_sweep::{self, CurvesFigure, Run},
    plot::{self, Figure},
    Ctx, Output, Res,
};

/// `schedules`' flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SchedulesArgs {
    /// Base learning rate η₀ of every schedule.
    #[arg(long, default_value_t = 0.8, value_parser = positive_f32)]
    pub lr: f32,
    /// Seeds (1 to N) per schedule.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub seeds: u32,
    /// Training epochs (at least 10: the warm-up is a tenth of the steps).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(10..=5_000))]
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

/// Optimizer steps per epoch (200 samples in batches of 8).
pub const STEPS_PER_EPOCH: u32 = (lr_sweep::SAMPLES as u32).div_ceil(lr_sweep::BATCH as u32);

/// The five schedules over `total` steps from base rate `lr`, by name.
///
/// # Errors
/// [`microprop::Error::InvalidHyperParameter`] for a rate the core refuses.
pub fn schedules(lr: f64, total: u32) -> Res<Vec<(&'static str, Schedule)>> {
    let total = total.max(10);
    let warm = total / 10;
    Ok(vec![
        ("constant", Schedule::constant(lr)?),
        (
            "step",
            Schedule::new(
                lr,
                Decay::Step {
                    every: (total / 4).max(1),
                    gamma: 0.3,
                },
            )?,
        ),
        (
            "exponential",
            Schedule::new(
                lr,
                Decay::Exponential {
                    gamma: 0.01f64.powf(1.0 / f64::from(total)),
                },
            )?,
        ),
        (
            "cosine",
            Schedule::new(
                lr,
                Decay::Cosine {
                    steps: total,
                    min_lr: 0.0,
                },
            )?,
        ),
        (
            "warmup+cosine",
            Schedule::new(
                lr,
                Decay::Cosine {
                    steps: total - warm,
                    min_lr: 0.0,
                },
            )?
            .with_warmup(warm)?,
        ),
    ])
}

/// One schedule's runs.
#[derive(Clone, Debug)]
pub struct Runs {
    /// The schedule's name.
    pub name: &'static str,
    /// The schedule.
    pub schedule: Schedule,
    /// One run per seed.
    pub runs: Vec<Run>,
}

/// Every schedule over seeds 1 to `--seeds`.
///
/// # Errors
/// Core errors.
pub fn sweep(a: &SchedulesArgs) -> Res<Vec<Runs>> {
    let total = a.epochs * STEPS_PER_EPOCH;
    schedules(f64::from(a.lr), total)?
        .into_iter()
        .map(|(name, schedule)| {
            let runs = (1..=u64::from(a.seeds))
                .map(|s| lr_sweep::train_run(a.dataset, a.lr, Some(&schedule), s, a.epochs))
                .collect::<Res<Vec<_>>>()?;
            Ok(Runs {
                name,
                schedule,
                runs,
            })
        })
        .collect()
}

fn describe(r: &Runs) -> String {
    let failed = r.runs.iter().filter(|x| x.failed()).count();
    let fin = lr_sweep::median_final(&r.runs);
    let mut s = if fin.is_finite() {
        format!("{}: final loss {fin:.2e}", r.name)
    } else {
        format!("{}: no run trained", r.name)
    };
    if failed > 0 {
        s += &format!(" ({failed}/{} diverged or died)", r.runs.len());
    }
    s
}

/// The sweep as JSON.
pub fn json_of(a: &SchedulesArgs, all: &[Runs]) -> serde_json::Value {
    let total = a.epochs * STEPS_PER_EPOCH;
    let ss: Vec<_> = all
        .iter()
        .map(|r| {
            json!({
                "schedule": r.name,
                "lr_per_epoch": (0..a.epochs).map(|e| r.schedule.lr(e * STEPS_PER_EPOCH)).collect::<Vec<_>>(),
                "lr_last_step": r.schedule.lr(total.saturating_sub(1)),
                "median_final_loss": lr_sweep::median_final(&r.runs),
                "final_loss": r.runs.iter().map(Run::final_loss).collect::<Vec<_>>(),
                "diverged": r.runs.iter().map(|x| x.diverged_at_epoch.is_some()).collect::<Vec<_>>(),
                "died": r.runs.iter().map(|x| x.died).collect::<Vec<_>>(),
                "loss_per_epoch": r.runs.iter().map(|x| &x.losses).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "layers": lr_sweep::LAYERS, "output": "identity", "loss": "mse", "optimizer": "sgd",
        "dataset": format!("{:?}", a.dataset).to_lowercase(),
        "base_lr": a.lr, "epochs": a.epochs, "seeds": a.seeds,
        "steps_per_epoch": STEPS_PER_EPOCH, "total_steps": total,
        "schedules": ss,
    })
}

/// `microprop-sim schedules`.
pub fn run(a: &SchedulesArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let all = sweep(a)?;
    if let Some(p) = &a.plot {
        plot::save(&figure_of(a, &all), p)?;
    }
    let mut text = format!(
        "2-16-16-1 relu, identity output, MSE, SGD, {}, base lr {}, {} epochs ({} steps), seeds 1-{}\n",
        format!("{:?}", a.dataset).to_lowercase(),
        a.lr,
        a.epochs,
        a.epochs * STEPS_PER_EPOCH,
        a.seeds
    );
    for r in &all {
        text += &describe(r);
        text += "\n";
    }
    Ok(Output {
        json: json_of(a, &all),
        text,
    })
}

/// The figure of a sweep.
pub fn figure_of<'a>(a: &'a SchedulesArgs, all: &'a [Runs]) -> SchedulesFigure<'a> {
    SchedulesFigure { args: a, all }
}

/// The report's configuration (`quick`: fewer seeds and epochs).
pub fn default_args(quick: bool) -> SchedulesArgs {
    SchedulesArgs {
        lr: 0.8,
        seeds: if quick { 3 } else { 5 },
        epochs: if quick { 20 } else { 40 },
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
    let all = sweep(&a)?;
    let file = "schedules.png";
    plot::save(&figure_of(&a, &all), &out.join(file))?;
    let list: Vec<String> = all.iter().map(describe).collect();
    let best = all
        .iter()
        .map(|r| (r.name, lr_sweep::median_final(&r.runs)))
        .filter(|(_, f)| f.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or("none".to_string(), |(n, f)| format!("{n} ({f:.2e})"));
    let failed: Vec<String> = all
        .iter()
        .map(|r| {
            format!(
                "{} {}/{}",
                r.name,
                r.runs.iter().filter(|x| x.failed()).count(),
                r.runs.len()
            )
        })
        .collect();
    let list = format!(
        "{}. Lowest final loss: {best}; runs that diverged or died: {}",
        list.join("; "),
        failed.join(", ")
    );
    let html = format!(
        "Five schedules of the core (microprop::schedule) from the base rate {} on lr-sweep's \
         nets (XOR, {} epochs, {} seeds; final loss: the median over the seeds that neither \
         diverged nor died): {}. What to look for: the shapes of the rates on \
         the left, and on the right whether the decayed schedules end lower than the constant \
         rate once their rate has come down.",
        a.lr, a.epochs, a.seeds, list
    );
    Ok((
        crate::report::Section {
            title: "Learning-rate schedules".into(),
            images: vec![file.into()],
            text: html,
        },
        json_of(&a, &all),
    ))
}

/// Two panels: each schedule's rate against epoch, and the training-loss curves.
pub struct SchedulesFigure<'a> {
    /// The flags.
    pub args: &'a SchedulesArgs,
    /// The runs.
    pub all: &'a [Runs],
}

impl Figure for SchedulesFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1400, 600)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (left, right) = root.split_horizontally(600);
        let epochs = f64::from(self.args.epochs);
        let top = f64::from(self.args.lr) * 1.5;
        let mut chart = ChartBuilder::on(&left)
            .caption(
                format!("learning rate per step, base {}", self.args.lr),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..epochs, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("learning rate")
            .y_label_formatter(&|v| format!("{v:.2}"))
            .label_style(("sans-serif", 13))
            .draw()?;
        let total = self.args.epochs * STEPS_PER_EPOCH;
        for (i, r) in self.all.iter().enumerate() {
            let c = plot::series_color(i);
            let pts: Vec<(f64, f64)> = (0..total)
                .map(|t| (f64::from(t) / f64::from(STEPS_PER_EPOCH), r.schedule.lr(t)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(r.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        let curves = CurvesFigure {
            title: format!(
                "training loss: median and min–max over {} seeds ({})",
                self.args.seeds,
                format!("{:?}", self.args.dataset).to_lowercase()
            ),
            curves: self
                .all
                .iter()
                .map(|r| (describe(r), r.runs.clone()))
                .collect(),
        };
        curves.draw_on(&right)?;
        Ok(())
    }
}
