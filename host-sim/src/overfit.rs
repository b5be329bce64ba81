//! `overfit`: train against validation accuracy, with and without regularisation
//! (lecture 7). A wide net trained long on a small, noisy training set fits the training
//! rows (noise included) and the held-out rows fall behind: the train−val gap. L2 (the
//! loss `+ ½ λ Σ w²`) and dropout are meant to close it.
//!
//! The experiment: 2-64-64-2 ReLU nets (softmax, cross-entropy, Adam lr 0.01, batch 8) on
//! two configurations — two overlapping clusters (spread 1.5, 80 samples) and two noisy
//! spirals (noise 0.3, 120 samples), half of the samples held out (stratified) — in four
//! variants: none, L2, dropout, both; per epoch the training and validation accuracy over
//! seeds. Every run is `microprop-sim train` ([`train::train_with`]).

use microprop::{Activation, Libm};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::{DatasetArg, HiddenAct, LossArg, OptimizerArg, OutputAct, Sizes, TrainArgs},
    plot::{self, Figure},
    report::{train_args, Section},
    train, Ctx, Output, Res,
};

/// `overfit`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct OverfitArgs {
    /// Seeds (1 to N) per variant and configuration.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub seeds: u32,
    /// Training epochs.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub epochs: u32,
    /// L2 strength λ of the `l2` and `both` variants (> 0).
    #[arg(long, default_value_t = 0.01)]
    pub l2: f32,
    /// Drop probability of the `dropout` and `both` variants (0 < P < 1).
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f64,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

impl OverfitArgs {
    /// The defaults, fewer seeds and epochs when `quick`.
    pub fn preset(quick: bool) -> Self {
        OverfitArgs {
            seeds: if quick { 3 } else { 5 },
            epochs: if quick { 200 } else { 300 },
            l2: 0.01,
            dropout: 0.5,
            plot: None,
        }
    }
}

/// The hidden and output sizes, input first.
pub const LAYERS: [usize; 4] = [2, 64, 64, 2];

/// The variants compared.
pub const VARIANTS: [&str; 4] = ["none", "l2", "dropout", "both"];

/// One data configuration: name, data set, samples (both sides), spread.
pub const CONFIGS: [(&str, DatasetArg, u32, f32); 2] = [
    ("clusters", DatasetArg::Clusters, 80, 1.5),
    ("spirals", DatasetArg::Spirals, 120, 0.3),
];

/// Share of the samples held out.
pub const VAL_FRACTION: f64 = 0.5;

/// Median, minimum and maximum of `xs` (NaN for none).
pub fn band(xs: &[f64]) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    };
    (med, v[0], v[n - 1])
}

/// One variant's runs on one configuration.
#[derive(Clone, Debug)]
pub struct Runs {
    /// Configuration name.
    pub config: &'static str,
    /// Variant name.
    pub variant: &'static str,
    /// Training accuracy per seed, per epoch.
    pub train: Vec<Vec<f64>>,
    /// Validation accuracy per seed, per epoch.
    pub val: Vec<Vec<f64>>,
}

impl Runs {
    /// Final training accuracy per seed.
    pub fn final_train(&self) -> Vec<f64> {
        self.train
            .iter()
            .filter_map(|c| c.last().copied())
            .collect()
    }
    /// Final validation accuracy per seed.
    pub fn final_val(&self) -> Vec<f64> {
        self.val.iter().filter_map(|c| c.last().copied()).collect()
    }
    /// Final train − val gap per seed.
    pub fn gap(&self) -> Vec<f64> {
        self.final_train()
            .iter()
            .zip(self.final_val())
            .map(|(t, v)| t - v)
            .collect()
    }
}

/// The `train` flags of one run.
pub fn args_of(a: &OverfitArgs, config: usize, variant: &str, seed: u64) -> TrainArgs {
    let (_, dataset, samples, spread) = CONFIGS[config];
    let mut t = train_args(&LAYERS, HiddenAct(Activation::Relu), dataset, a.epochs);
    t.layers = Sizes(LAYERS.to_vec());
    t.output = OutputAct(Activation::Softmax);
    t.loss = LossArg::Ce;
    t.optimizer = OptimizerArg::Adam;
    t.lr = 0.01;
    t.samples = samples;
    t.spread = Some(spread);
    t.val_fraction = VAL_FRACTION;
    t.seed = seed;
    if variant == "l2" || variant == "both" {
        t.l2 = a.l2;
    }
    if variant == "dropout" || variant == "both" {
        t.dropout = Some(a.dropout);
    }
    t
}

/// Every configuration × variant over seeds 1 to `a.seeds`.
///
/// # Errors
/// Usage errors for bad flags; the runs' errors.
pub fn sweep(a: &OverfitArgs, ctx: &Ctx) -> Res<Vec<Runs>> {
    if !(a.l2.is_finite() && a.l2 > 0.0) {
        return crate::ctx::usage(format!("--l2 {}: must be finite and > 0", a.l2));
    }
    if !(a.dropout > 0.0 && a.dropout < 1.0) {
        return crate::ctx::usage(format!("--dropout {}: must be in (0, 1)", a.dropout));
    }
    let quiet = Ctx { json: true };
    let pb = ctx.progress(
        (CONFIGS.len() * VARIANTS.len()) as u64 * u64::from(a.seeds),
        "overfit",
    );
    let mut out = Vec::new();
    for (c, (config, ..)) in CONFIGS.iter().enumerate() {
        for variant in VARIANTS {
            let mut r = Runs {
                config,
                variant,
                train: Vec::new(),
                val: Vec::new(),
            };
            for seed in 1..=u64::from(a.seeds) {
                let (res, _, _) = train::train_with::<Libm>(&args_of(a, c, variant, seed), &quiet)?;
                r.train.push(res.accuracy_per_epoch);
                r.val
                    .push(res.val.map(|v| v.accuracy_per_epoch).unwrap_or_default());
                pb.inc(1);
            }
            out.push(r);
        }
    }
    pb.finish_and_clear();
    Ok(out)
}

/// The sweep as JSON: per configuration and variant the curves (median, min, max per
/// epoch) and the final accuracies and gaps per seed.
pub fn json_of(a: &OverfitArgs, runs: &[Runs]) -> serde_json::Value {
    let mut configs = serde_json::Map::new();
    for (name, dataset, samples, spread) in CONFIGS {
        let mut variants = serde_json::Map::new();
        for r in runs.iter().filter(|r| r.config == name) {
            let curve = |c: &[Vec<f64>]| {
                let epochs = c.first().map_or(0, Vec::len);
                let bands: Vec<_> = (0..epochs)
                    .map(|e| {
                        band(
                            &c.iter()
                                .filter_map(|s| s.get(e).copied())
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect();
                json!({
                    "median": bands.iter().map(|b| b.0).collect::<Vec<_>>(),
                    "min": bands.iter().map(|b| b.1).collect::<Vec<_>>(),
                    "max": bands.iter().map(|b| b.2).collect::<Vec<_>>(),
                })
            };
            let gap = r.gap();
            variants.insert(
                r.variant.into(),
                json!({
                    "train_accuracy": r.final_train(),
                    "val_accuracy": r.final_val(),
                    "gap": gap,
                    "median_gap": band(&gap).0,
                    "median_val_accuracy": band(&r.final_val()).0,
                    "median_train_accuracy": band(&r.final_train()).0,
                    "train_curve": curve(&r.train),
                    "val_curve": curve(&r.val),
                }),
            );
        }
        configs.insert(
            name.into(),
            json!({
                "dataset": format!("{dataset:?}").to_lowercase(),
                "samples": samples, "spread": spread, "val_fraction": VAL_FRACTION,
                "variants": variants,
            }),
        );
    }
    json!({
        "layers": LAYERS, "activation": "relu", "output": "softmax", "loss": "ce",
        "optimizer": "adam", "lr": 0.01, "batch": 8,
        "epochs": a.epochs, "seeds": a.seeds, "l2": a.l2, "dropout": a.dropout,
        "configs": configs,
    })
}

/// The measured lines, one per configuration and variant.
pub fn text_of(a: &OverfitArgs, runs: &[Runs]) -> String {
    let mut text = format!(
        "2-64-64-2 ReLU, softmax + CE, Adam lr 0.01, batch 8, {} epochs, seeds 1-{}, half held out; \
         l2 λ = {}, dropout p = {}\n",
        a.epochs, a.seeds, a.l2, a.dropout
    );
    for r in runs {
        let (t, v, g) = (band(&r.final_train()), band(&r.final_val()), band(&r.gap()));
        text += &format!(
            "{:<8} {:<7} train {:5.1} %  val {:5.1} % (min {:5.1}, max {:5.1})  gap {:5.1} points (min {:5.1}, max {:5.1})\n",
            r.config,
            r.variant,
            t.0 * 100.0,
            v.0 * 100.0,
            v.1 * 100.0,
            v.2 * 100.0,
            g.0 * 100.0,
            g.1 * 100.0,
            g.2 * 100.0,
        );
    }
    text
}

/// `microprop-sim overfit`.
pub fn run(a: &OverfitArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let runs = sweep(a, ctx)?;
    if let Some(p) = &a.plot {
        plot::save(&OverfitFigure { runs: &runs }, p)?;
    }
    let mut text = text_of(a, &runs);
    if let Some(p) = &a.plot {
        text += &format!("figure: {}\n", p.display());
    }
    Ok(Output {
        json: json_of(a, &runs),
        text,
    })
}

/// The report's section: `overfit.png` in `out`.
///
/// # Errors
/// The runs' and the figure's errors.
pub fn section(out: &std::path::Path, ctx: &Ctx, quick: bool) -> Res<(Section, serde_json::Value)> {
    let a = OverfitArgs::preset(quick);
    let runs = sweep(&a, ctx)?;
    plot::save(&OverfitFigure { runs: &runs }, &out.join("overfit.png"))?;
    let pct = |config: &str, variant: &str, f: fn(&Runs) -> Vec<f64>| {
        runs.iter()
            .find(|r| r.config == config && r.variant == variant)
            .map_or(f64::NAN, |r| band(&f(r)).0 * 100.0)
    };
    let mut measured = Vec::new();
    for (config, ..) in CONFIGS {
        let none_gap = pct(config, "none", Runs::gap);
        let none_val = pct(config, "none", Runs::final_val);
        let parts: Vec<String> = VARIANTS
            .iter()
            .map(|v| {
                format!(
                    "{v} train {:.1} % / val {:.1} % (gap {:.1})",
                    pct(config, v, Runs::final_train),
                    pct(config, v, Runs::final_val),
                    pct(config, v, Runs::gap)
                )
            })
            .collect();
        let smaller = VARIANTS[1..]
            .iter()
            .filter(|v| pct(config, v, Runs::gap) < none_gap)
            .count();
        let better_val = VARIANTS[1..]
            .iter()
            .filter(|v| pct(config, v, Runs::final_val) > none_val)
            .count();
        measured.push(format!(
            "{config}: {}; {smaller} of 3 regularised variants have a smaller median gap than none, \
             {better_val} of 3 a higher median validation accuracy",
            parts.join(", ")
        ));
    }
    let text = format!(
        "<code>microprop-sim overfit</code>: 2-64-64-2 ReLU nets (softmax, cross-entropy, Adam lr 0.01, batch 8) trained {} \
         epochs on half of a small noisy data set, the other half held out: two overlapping clusters (spread 1.5, 80 \
         samples) and two noisy spirals (noise 0.3, 120 samples); no regularisation, L2 λ = {}, dropout p = {}, both; \
         seeds 1–{} (line: median, band: min–max). <b>What to look for:</b> the unregularised net's training accuracy \
         (solid) climbs to about 100 % while its validation accuracy (dashed) stays lower: it fits the noise; \
         regularisation keeps the training accuracy down and the gap smaller, which buys validation accuracy only \
         where the noise, not the capacity, limits it. Medians: {}.",
        a.epochs,
        a.l2,
        a.dropout,
        a.seeds,
        measured.join(". ")
    );
    Ok((
        Section {
            title:
                "Overfitting: training against validation accuracy, with L2 and dropout (lecture 7)"
                    .into(),
            images: vec!["overfit.png".into()],
            text,
        },
        json_of(&a, &runs),
    ))
}

/// A grid: rows = configurations, columns = variants; in each panel the training (solid)
/// and validation (dashed) accuracy per epoch, median over seeds with a min–max band.
pub struct OverfitFigure<'a> {
    /// The sweep.
    pub runs: &'a [Runs],
}

impl Figure for OverfitFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1600, 820)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (top, body) = root.split_vertically(40);
        top.draw(&Text::new(
            "blue solid: training accuracy, red dashed: validation accuracy (held-out half) — median over seeds, band: min–max",
            (20, 10),
            ("sans-serif", 20),
        ))?;
        let panels = body.split_evenly((CONFIGS.len(), VARIANTS.len()));
        for (row, (config, ..)) in CONFIGS.iter().enumerate() {
            for (col, variant) in VARIANTS.iter().enumerate() {
                let Some(r) = self
                    .runs
                    .iter()
                    .find(|r| r.config == *config && r.variant == *variant)
                else {
                    continue;
                };
                let area = &panels[row * VARIANTS.len() + col];
                let epochs = r.train.first().map_or(1, Vec::len).max(2);
                let (g, ..) = band(&r.gap());
                let mut chart = ChartBuilder::on(area)
                    .caption(
                        format!("{config}, {variant}: gap {:.1} points", g * 100.0),
                        ("sans-serif", 16),
                    )
                    .margin(8)
                    .margin_right(22)
                    .x_label_area_size(36)
                    .y_label_area_size(48)
                    .build_cartesian_2d(1f64..epochs as f64, 40f64..101.0)?;
                chart
                    .configure_mesh()
                    .x_desc("epoch")
                    .y_desc("accuracy (%)")
                    .x_label_formatter(&|v| format!("{v:.0}"))
                    .y_label_formatter(&|v| format!("{v:.0}"))
                    .light_line_style(WHITE)
                    .label_style(("sans-serif", 12))
                    .draw()?;
                for (k, curves) in [&r.train, &r.val].into_iter().enumerate() {
                    let c = plot::series_color(k);
                    let bands: Vec<(f64, f64, f64)> = (0..epochs)
                        .map(|e| {
                            band(
                                &curves
                                    .iter()
                                    .filter_map(|s| s.get(e).copied())
                                    .map(|v| v * 100.0)
                                    .collect::<Vec<_>>(),
                            )
                        })
                        .filter(|b| b.0.is_finite())
                        .collect();
                    let mut poly: Vec<(f64, f64)> = bands
                        .iter()
                        .enumerate()
                        .map(|(e, b)| ((e + 1) as f64, b.2.max(40.0)))
                        .collect();
                    poly.extend(
                        bands
                            .iter()
                            .enumerate()
                            .rev()
                            .map(|(e, b)| ((e + 1) as f64, b.1.max(40.0))),
                    );
                    chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))?;
                    let line: Vec<(f64, f64)> = bands
                        .iter()
                        .enumerate()
                        .map(|(e, b)| ((e + 1) as f64, b.0.max(40.0)))
                        .collect();
                    if k == 0 {
                        chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?;
                    } else {
                        chart.draw_series(DashedLineSeries::new(line, 6, 4, c.stroke_width(2)))?;
                    }
                }
            }
        }
        Ok(())
    }
}
