//! `babysit`: lecture 6's sanity checks before a real run, on K-arm spirals.
//!
//! (a) With small weights every class is equally likely, so the initial softmax
//! cross-entropy is ln K ([`microprop::babysit::initial_loss`]). (b) Turning L2 on adds
//! `½ λ Σ w²` to it, so the initial loss goes up with λ. (c) With regularisation off, a net
//! must fit a tiny subset (20 samples) to 100 % training accuracy and a loss near 0 — if
//! it cannot, something is broken.
//!
//! Nets: 2-64-64-K ReLU, softmax output, weights N(0, 0.01²) for (a) and (b); He for (c),
//! trained with Adam (lr 0.01, batch 4) and no regularisation.

use microprop::{
    babysit, regularization::l2_penalty, train as core_train, Activation, Init, Libm, Loss, Model,
    Trainer,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::OptimizerArg,
    data::{Data, DatasetKind},
    net, optim,
    overfit::band,
    plot::{self, Figure},
    report::Section,
    Ctx, Output, Res,
};

/// `babysit`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BabysitArgs {
    /// Class counts K (spiral arms), comma-separated, each 2 to 10.
    #[arg(long, value_delimiter = ',', default_values_t = vec![2u32, 3, 5],
          value_parser = clap::value_parser!(u32).range(2..=10))]
    pub classes: Vec<u32>,
    /// Seeds (1 to N).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub seeds: u32,
    /// Samples of the tiny subset the net must overfit.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..=256))]
    pub subset: u32,
    /// Epochs on the tiny subset.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub epochs: u32,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

impl BabysitArgs {
    /// The defaults, fewer seeds when `quick`.
    pub fn preset(quick: bool) -> Self {
        BabysitArgs {
            classes: vec![2, 3, 5],
            seeds: if quick { 3 } else { 4 },
            subset: 20,
            epochs: 300,
            plot: None,
        }
    }
}

/// Hidden widths.
pub const HIDDEN: [usize; 2] = [64, 64];

/// σ of the small initialisation.
pub const SMALL_SIGMA: f32 = 0.01;

/// The L2 strengths of check (b).
pub const LAMBDAS: [f64; 4] = [0.0, 1.0, 10.0, 100.0];

/// Samples generated per class (the initial loss is over all of them).
pub const PER_CLASS: usize = 100;

/// One class count's checks.
#[derive(Clone, Debug)]
pub struct PerK {
    /// K.
    pub classes: usize,
    /// ln K.
    pub expected: f64,
    /// Initial mean cross-entropy per seed (small init, no L2).
    pub initial: Vec<f64>,
    /// `initial_l2[s][i]`: seed `s`, data loss + ½ λ Σ w² for [`LAMBDAS`]`[i]`.
    pub initial_l2: Vec<Vec<f64>>,
    /// Tiny subset: loss after each epoch, per seed.
    pub subset_loss: Vec<Vec<f64>>,
    /// Tiny subset: accuracy after each epoch, per seed.
    pub subset_accuracy: Vec<Vec<f64>>,
    /// First epoch with 100 % on the subset, per seed.
    pub epochs_to_100: Vec<Option<u32>>,
}

fn layers_for(k: usize) -> Vec<usize> {
    let mut l = vec![2];
    l.extend_from_slice(&HIDDEN);
    l.push(k);
    l
}

/// The checks for K classes and one seed: initial loss, with each λ, and the subset run.
///
/// # Errors
/// Core errors.
#[allow(clippy::type_complexity)]
pub fn run_one(
    k: usize,
    seed: u64,
    subset: usize,
    epochs: u32,
) -> Res<(f64, Vec<f64>, Vec<f64>, Vec<f64>)> {
    let mut rng = microprop::rng(seed);
    let data = Data::generate(DatasetKind::Spirals, PER_CLASS * k, k, 0.05, &mut rng)?;
    let view = data.view()?;
    let sizes = layers_for(k);
    let mut small = net::dense::<f32, Libm>(
        &sizes,
        Activation::Relu,
        Activation::Softmax,
        Init::Normal(SMALL_SIGMA),
        0.0,
        &mut rng,
    )?;
    let check = babysit::initial_loss(&mut small, Loss::CrossEntropy, &view)?;
    let with_l2 = LAMBDAS
        .iter()
        .map(|&l| check.measured + l2_penalty(&small, l))
        .collect();
    // The tiny subset, regularisation off.
    let mut he = net::dense::<f32, Libm>(
        &sizes,
        Activation::Relu,
        Activation::Softmax,
        Init::HeNormal,
        0.0,
        &mut rng,
    )?;
    let tiny = view.head(subset);
    let mut opt = optim::new::<Libm>(OptimizerArg::Adam, 0.01, he.params())?;
    let mut trainer = Trainer::new(Loss::CrossEntropy, 4)?;
    let mut order = vec![0u16; tiny.len()];
    core_train::fill_order(&mut order)?;
    let (mut losses, mut accs) = (Vec::new(), Vec::new());
    for _ in 0..epochs {
        trainer.epoch(&mut he, &mut opt, &tiny, &mut order, &mut rng)?;
        let m = core_train::evaluate(&mut he, Loss::CrossEntropy, &tiny)?;
        losses.push(f64::from(m.loss));
        accs.push(f64::from(m.accuracy));
    }
    Ok((check.measured, with_l2, losses, accs))
}

/// Every K over seeds 1 to `a.seeds`.
///
/// # Errors
/// Core errors.
pub fn sweep(a: &BabysitArgs, ctx: &Ctx) -> Res<Vec<PerK>> {
    if a.classes.is_empty() {
        return crate::ctx::usage("--classes: give at least one class count");
    }
    let pb = ctx.progress(a.classes.len() as u64 * u64::from(a.seeds), "babysit");
    let mut out = Vec::new();
    for &k in &a.classes {
        let k = k as usize;
        let mut r = PerK {
            classes: k,
            expected: (k as f64).ln(),
            initial: Vec::new(),
            initial_l2: Vec::new(),
            subset_loss: Vec::new(),
            subset_accuracy: Vec::new(),
            epochs_to_100: Vec::new(),
        };
        for seed in 1..=u64::from(a.seeds) {
            let (l0, l2, losses, accs) = run_one(k, seed, a.subset as usize, a.epochs)?;
            r.initial.push(l0);
            r.initial_l2.push(l2);
            r.epochs_to_100
                .push(accs.iter().position(|&x| x >= 1.0).map(|e| e as u32 + 1));
            r.subset_loss.push(losses);
            r.subset_accuracy.push(accs);
            pb.inc(1);
        }
        out.push(r);
    }
    pb.finish_and_clear();
    Ok(out)
}

/// The sweep as JSON.
pub fn json_of(a: &BabysitArgs, runs: &[PerK]) -> serde_json::Value {
    let per_k: Vec<_> = runs
        .iter()
        .map(|r| {
            let rel: Vec<f64> = r
                .initial
                .iter()
                .map(|l| (l - r.expected).abs() / r.expected)
                .collect();
            json!({
                "classes": r.classes,
                "ln_k": r.expected,
                "initial_loss": r.initial,
                "initial_loss_rel_error": rel,
                "lambdas": LAMBDAS,
                "initial_loss_with_l2": r.initial_l2,
                "subset_final_loss": r.subset_loss.iter().filter_map(|c| c.last()).collect::<Vec<_>>(),
                "subset_final_accuracy": r.subset_accuracy.iter().filter_map(|c| c.last()).collect::<Vec<_>>(),
                "subset_epochs_to_100": r.epochs_to_100,
                "subset_loss_per_epoch": r.subset_loss,
            })
        })
        .collect();
    json!({
        "dataset": "spirals", "hidden": HIDDEN, "activation": "relu", "output": "softmax",
        "loss": "ce", "small_init_sigma": SMALL_SIGMA, "samples_per_class": PER_CLASS,
        "subset": a.subset, "subset_epochs": a.epochs, "subset_optimizer": "adam",
        "subset_lr": 0.01, "subset_batch": 4, "seeds": a.seeds,
        "per_k": per_k,
    })
}

/// The measured lines.
pub fn text_of(a: &BabysitArgs, runs: &[PerK]) -> String {
    let mut t = format!(
        "K-arm spirals ({PER_CLASS} per class), 2-64-64-K ReLU + softmax, seeds 1-{}\n\
         (a) initial cross-entropy, weights N(0, {SMALL_SIGMA}^2), against ln K\n",
        a.seeds
    );
    for r in runs {
        let (m, lo, hi) = band(&r.initial);
        t += &format!(
            "  K = {:>2}: ln K = {:.4}, measured {:.4} (min {:.4}, max {:.4})\n",
            r.classes, r.expected, m, lo, hi
        );
    }
    t += "(b) initial loss + ½ λ Σ w² (median over seeds)\n";
    for r in runs {
        let cols: Vec<String> = LAMBDAS
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let v: Vec<f64> = r
                    .initial_l2
                    .iter()
                    .filter_map(|s| s.get(i).copied())
                    .collect();
                format!("λ {l}: {:.4}", band(&v).0)
            })
            .collect();
        t += &format!("  K = {:>2}: {}\n", r.classes, cols.join("  "));
    }
    t += &format!(
        "(c) {} samples, He init, Adam lr 0.01, batch 4, no regularisation, {} epochs\n",
        a.subset, a.epochs
    );
    for r in runs {
        let fl: Vec<f64> = r
            .subset_loss
            .iter()
            .filter_map(|c| c.last().copied())
            .collect();
        let fa: Vec<f64> = r
            .subset_accuracy
            .iter()
            .filter_map(|c| c.last().copied())
            .collect();
        t += &format!(
            "  K = {:>2}: final loss max {:.2e}, final accuracy min {:.1} %, epochs to 100 %: {}\n",
            r.classes,
            fl.iter().copied().fold(0.0, f64::max),
            fa.iter().copied().fold(1.0, f64::min) * 100.0,
            r.epochs_to_100
                .iter()
                .map(|e| e.map_or("never".to_string(), |e| e.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    t
}

/// `microprop-sim babysit`.
pub fn run(a: &BabysitArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let runs = sweep(a, ctx)?;
    if let Some(p) = &a.plot {
        plot::save(&BabysitFigure { runs: &runs }, p)?;
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

/// The report's section: `babysit.png` in `out`.
///
/// # Errors
/// The runs' and the figure's errors.
pub fn section(out: &std::path::Path, ctx: &Ctx, quick: bool) -> Res<(Section, serde_json::Value)> {
    let a = BabysitArgs::preset(quick);
    let runs = sweep(&a, ctx)?;
    plot::save(&BabysitFigure { runs: &runs }, &out.join("babysit.png"))?;
    let init: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "K = {}: {:.4} against ln K = {:.4}",
                r.classes,
                band(&r.initial).0,
                r.expected
            )
        })
        .collect();
    let l2: Vec<String> = runs
        .iter()
        .map(|r| {
            let v = |i: usize| {
                band(
                    &r.initial_l2
                        .iter()
                        .filter_map(|s| s.get(i).copied())
                        .collect::<Vec<_>>(),
                )
                .0
            };
            format!(
                "K = {}: {:.4} (λ 0) → {:.4} (λ {})",
                r.classes,
                v(0),
                v(LAMBDAS.len() - 1),
                LAMBDAS[LAMBDAS.len() - 1]
            )
        })
        .collect();
    let worst_loss = runs
        .iter()
        .flat_map(|r| r.subset_loss.iter().filter_map(|c| c.last().copied()))
        .fold(0.0, f64::max);
    let worst_acc = runs
        .iter()
        .flat_map(|r| r.subset_accuracy.iter().filter_map(|c| c.last().copied()))
        .fold(1.0, f64::min);
    let slowest = runs
        .iter()
        .flat_map(|r| r.epochs_to_100.iter().copied())
        .try_fold(0u32, |m, e| e.map(|e| m.max(e)));
    let text = format!(
        "<code>microprop-sim babysit</code>: the sanity checks before a real run, on K-arm spirals ({PER_CLASS} samples \
         per class), 2-64-64-K ReLU nets with a softmax output, seeds 1–{}. <b>What to look for:</b> left, the initial \
         cross-entropy of nets with weights N(0, {SMALL_SIGMA}²) sits on ln K (every class equally likely); middle, the \
         same loss plus ½ λ Σ w² grows with λ (L2 on: the initial loss must go up); right, with regularisation off the \
         net fits a tiny subset of {} samples: loss towards 0, accuracy 100 %. Measured (medians): {}; with L2 {}; tiny \
         subset after {} epochs: largest final loss {:.1e}, lowest final accuracy {:.1} %, {}.",
        a.seeds,
        a.subset,
        init.join(", "),
        l2.join(", "),
        a.epochs,
        worst_loss,
        worst_acc * 100.0,
        match slowest {
            Some(e) => format!("every run at 100 % by epoch {e}"),
            None => "not every run reached 100 %".into(),
        }
    );
    Ok((
        Section {
            title:
                "Babysitting: initial loss ln K, L2 raises it, a tiny subset overfits (lecture 6)"
                    .into(),
            images: vec!["babysit.png".into()],
            text,
        },
        json_of(&a, &runs),
    ))
}

/// Three panels: initial loss against ln K; initial loss against λ; the tiny subset's
/// loss (log) per epoch.
pub struct BabysitFigure<'a> {
    /// The sweep.
    pub runs: &'a [PerK],
}

impl Figure for BabysitFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1650, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 3));
        // (a) initial loss vs K.
        let kmax = self.runs.iter().map(|r| r.classes).max().unwrap_or(2) as f64;
        let ymax = self
            .runs
            .iter()
            .flat_map(|r| r.initial.iter().copied().chain([r.expected]))
            .fold(0.0, f64::max)
            * 1.15;
        let mut c = ChartBuilder::on(&panels[0])
            .caption("(a) initial loss, weights N(0, 0.01²)", ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(1.5f64..kmax + 0.5, 0f64..ymax.max(1.0))?;
        c.configure_mesh()
            .x_desc("classes K")
            .y_desc("mean cross-entropy (nats)")
            .x_labels((kmax as usize).saturating_sub(1).max(1))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 13))
            .draw()?;
        let lnk: Vec<(f64, f64)> = (0..=100)
            .map(|i| {
                let k = 1.5 + (kmax - 1.0) * f64::from(i) / 100.0;
                (k, k.ln())
            })
            .collect();
        let grey = RGBColor(120, 120, 120);
        c.draw_series(LineSeries::new(lnk, grey.stroke_width(2)))?
            .label("ln K")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(2))
            });
        let blue = plot::series_color(0);
        c.draw_series(self.runs.iter().flat_map(|r| {
            let n = r.initial.len().max(1) as f64;
            r.initial.iter().enumerate().map(move |(s, &l)| {
                let x = r.classes as f64 + (s as f64 - (n - 1.0) / 2.0) * 0.06;
                Circle::new((x, l), 5, blue.filled())
            })
        }))?
        .label("measured (each seed)")
        .legend(move |(x, y)| Circle::new((x + 9, y), 5, blue.filled()));
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        // (b) initial loss vs λ (λ = 0 drawn at the left edge).
        let pos = |i: usize| i as f64;
        let ymax_b = self
            .runs
            .iter()
            .flat_map(|r| r.initial_l2.iter().flatten().copied())
            .fold(0.0, f64::max)
            * 1.5;
        let ymin_b = self
            .runs
            .iter()
            .flat_map(|r| r.initial_l2.iter().flatten().copied())
            .filter(|&v| v > 0.0)
            .fold(f64::INFINITY, f64::min)
            .min(ymax_b / 10.0)
            / 1.5;
        let mut b = ChartBuilder::on(&panels[1])
            .caption("(b) initial loss + ½ λ Σ w²", ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(
                -0.3f64..(LAMBDAS.len() as f64 - 0.7),
                (ymin_b..ymax_b.max(1.0)).log_scale(),
            )?;
        b.configure_mesh()
            .x_desc("L2 strength λ")
            .y_desc("loss at initialisation (nats, log)")
            .y_label_formatter(&|v| log_tick(*v))
            .light_line_style(WHITE)
            .x_labels(LAMBDAS.len())
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    LAMBDAS
                        .get(i as usize)
                        .map_or(String::new(), |l| format!("{l}"))
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 13))
            .draw()?;
        for (j, r) in self.runs.iter().enumerate() {
            let col = plot::series_color(j + 1);
            let med: Vec<(f64, f64)> = (0..LAMBDAS.len())
                .map(|i| {
                    let v: Vec<f64> = r
                        .initial_l2
                        .iter()
                        .filter_map(|s| s.get(i).copied())
                        .collect();
                    (pos(i), band(&v).0)
                })
                .collect();
            b.draw_series(LineSeries::new(med.clone(), col.stroke_width(2)))?
                .label(format!("K = {}", r.classes))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
            b.draw_series(med.iter().map(|&p| Circle::new(p, 4, col.filled())))?;
        }
        b.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        // (c) tiny subset loss (log y), median per K with a min–max band.
        let epochs = self
            .runs
            .iter()
            .flat_map(|r| r.subset_loss.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .max(2);
        let all: Vec<f64> = self
            .runs
            .iter()
            .flat_map(|r| r.subset_loss.iter().flatten().copied())
            .filter(|&v| v > 0.0 && v.is_finite())
            .collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min).max(1e-12);
        let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
        let mut s = ChartBuilder::on(&panels[2])
            .caption("(c) tiny subset, no regularisation", ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(1f64..epochs as f64, (lo / 2.0..hi * 2.0).log_scale())?;
        s.configure_mesh()
            .x_desc("epoch")
            .y_desc("training loss on the subset (nats, log)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| log_tick(*v))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 13))
            .draw()?;
        for (j, r) in self.runs.iter().enumerate() {
            let col = plot::series_color(j + 1);
            let bands: Vec<(f64, f64, f64)> = (0..epochs)
                .map(|e| {
                    band(
                        &r.subset_loss
                            .iter()
                            .filter_map(|c| c.get(e).copied())
                            .map(|v| v.max(lo))
                            .collect::<Vec<_>>(),
                    )
                })
                .take_while(|b| b.0.is_finite())
                .collect();
            let mut poly: Vec<(f64, f64)> = bands
                .iter()
                .enumerate()
                .map(|(e, b)| ((e + 1) as f64, b.2))
                .collect();
            poly.extend(
                bands
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(e, b)| ((e + 1) as f64, b.1)),
            );
            s.draw_series(std::iter::once(Polygon::new(poly, col.mix(0.2).filled())))?;
            let last_acc = band(
                &r.subset_accuracy
                    .iter()
                    .filter_map(|c| c.last().copied())
                    .collect::<Vec<_>>(),
            )
            .1;
            s.draw_series(LineSeries::new(
                bands.iter().enumerate().map(|(e, b)| ((e + 1) as f64, b.0)),
                col.stroke_width(2),
            ))?
            .label(if last_acc >= 1.0 {
                format!("K = {}: final accuracy 100 % (every seed)", r.classes)
            } else {
                format!(
                    "K = {}: final accuracy, worst seed {:.0} %",
                    r.classes,
                    last_acc * 100.0
                )
            })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
        s.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    }
}

/// A log axis's tick: plain between 0.01 and 1000, else `1e-3`.
pub fn log_tick(v: f64) -> String {
    if (0.01..1000.0).contains(&v) {
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.0e}")
    }
}
