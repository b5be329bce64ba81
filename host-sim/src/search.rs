//! `search`: random hyper-parameter search (lecture 7; Bergstra & Bengio). The learning
//! rate and the L2 strength are drawn log-uniformly ([`microprop::search::RandomSearch`]);
//! each trial is a short `train` run ([`train::train_with`]) scored by its accuracy on a
//! held-out validation split. A coarse stage over wide ranges is followed by a fine stage
//! over one decade around the coarse stage's best trial.
//!
//! Trials: 2-32-32-2 ReLU nets, softmax + cross-entropy, SGD (batch 8), on two spirals
//! (300 samples, 30 % held out).

use microprop::search::{Goal, LogRange, RandomSearch, Trial};
use microprop::{Activation, Libm};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::{DatasetArg, HiddenAct, LossArg, OptimizerArg, OutputAct, Sizes, TrainArgs},
    overfit::band,
    plot::{self, Figure},
    report::{train_args, Section},
    train, Ctx, Output, Res,
};

/// `search`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// Trials of the coarse stage.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub trials: u32,
    /// Trials of the fine stage (0: none).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub fine_trials: u32,
    /// Epochs of each trial's training run.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub epochs: u32,
    /// The search's seed (the draws of lr and λ) and the data's.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

impl SearchArgs {
    /// The defaults; 30 + 10 trials of 15 epochs when `quick`.
    pub fn preset(quick: bool, seed: u64) -> Self {
        SearchArgs {
            trials: if quick { 30 } else { 40 },
            fine_trials: if quick { 10 } else { 20 },
            epochs: if quick { 15 } else { 20 },
            seed,
            plot: None,
        }
    }
}

/// The coarse stage's learning-rate range.
pub const LR_RANGE: LogRange = LogRange { lo: 1e-5, hi: 10.0 };

/// The coarse stage's L2 range.
pub const L2_RANGE: LogRange = LogRange { lo: 1e-5, hi: 1.0 };

/// The trials' layer sizes.
pub const LAYERS: [usize; 4] = [2, 32, 32, 2];

/// One trial as run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// 1 = coarse, 2 = fine.
    pub stage: u8,
    /// Learning rate.
    pub lr: f64,
    /// L2 strength.
    pub l2: f64,
    /// Validation accuracy (`None`: the run failed, e.g. a non-finite step).
    pub val_accuracy: Option<f64>,
    /// Training accuracy.
    pub train_accuracy: Option<f64>,
    /// Why the run failed.
    pub error: Option<String>,
}

/// Both stages.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// Every trial, coarse first.
    pub trials: Vec<Run>,
    /// Index of the best trial (highest validation accuracy) in `trials`.
    pub best: Option<usize>,
    /// The fine stage's ranges (lr, λ), if it ran.
    pub fine_ranges: Option<(LogRange, LogRange)>,
}

/// The `train` flags of one trial.
pub fn args_of(a: &SearchArgs, lr: f64, l2: f64) -> TrainArgs {
    let mut t = train_args(
        &LAYERS,
        HiddenAct(Activation::Relu),
        DatasetArg::Spirals,
        a.epochs,
    );
    t.layers = Sizes(LAYERS.to_vec());
    t.samples = 300;
    t.output = OutputAct(Activation::Softmax);
    t.loss = LossArg::Ce;
    t.optimizer = OptimizerArg::Sgd;
    t.lr = lr as f32;
    t.l2 = l2 as f32;
    t.val_fraction = 0.3;
    t.seed = a.seed;
    t
}

fn stage(
    a: &SearchArgs,
    n: u32,
    lr: LogRange,
    l2: LogRange,
    seed: u64,
    id: u8,
    pb: &indicatif::ProgressBar,
) -> Res<Vec<Run>> {
    let search = RandomSearch::new(lr, Some(l2), seed)?;
    let mut trials = vec![Trial::default(); n as usize];
    let quiet = Ctx { json: true };
    let mut runs = Vec::new();
    search.run(&mut trials, Goal::Maximize, |lr, l2| {
        pb.inc(1);
        let (val, tr, error) = match train::train_with::<Libm>(&args_of(a, lr, l2), &quiet) {
            Ok((res, _, _)) => (res.val.map(|v| v.accuracy), Some(res.accuracy), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        runs.push(Run {
            stage: id,
            lr,
            l2,
            val_accuracy: val,
            train_accuracy: tr,
            error,
        });
        val.ok_or(microprop::Error::InvalidHyperParameter("trial failed"))
    });
    Ok(runs)
}

fn best_of(trials: &[Run]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, t) in trials.iter().enumerate() {
        if let Some(v) = t.val_accuracy {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// Runs the coarse stage, then (with `fine_trials` > 0) the fine stage over one decade
/// (½ decade each side) around the coarse best.
///
/// # Errors
/// Range errors of the core's search.
pub fn search(a: &SearchArgs, ctx: &Ctx) -> Res<Search> {
    let pb = ctx.progress(u64::from(a.trials + a.fine_trials), "search");
    let mut trials = stage(a, a.trials, LR_RANGE, L2_RANGE, a.seed, 1, &pb)?;
    let mut fine_ranges = None;
    if let (Some(b), true) = (best_of(&trials), a.fine_trials > 0) {
        let around = |v: f64| LogRange {
            lo: v / 10f64.sqrt(),
            hi: v * 10f64.sqrt(),
        };
        let (lr, l2) = (around(trials[b].lr), around(trials[b].l2));
        fine_ranges = Some((lr, l2));
        let fine = stage(a, a.fine_trials, lr, l2, a.seed ^ 0xf1e, 2, &pb)?;
        trials.extend(fine);
    }
    pb.finish_and_clear();
    Ok(Search {
        best: best_of(&trials),
        trials,
        fine_ranges,
    })
}

fn trial_json(t: &Run) -> serde_json::Value {
    json!({
        "stage": t.stage, "lr": t.lr, "l2": t.l2,
        "val_accuracy": t.val_accuracy, "train_accuracy": t.train_accuracy, "error": t.error,
    })
}

/// The search as JSON.
pub fn json_of(a: &SearchArgs, s: &Search) -> serde_json::Value {
    let vals: Vec<f64> = s.trials.iter().filter_map(|t| t.val_accuracy).collect();
    json!({
        "layers": LAYERS, "dataset": "spirals", "classes": 2, "samples": 300, "val_fraction": 0.3,
        "optimizer": "sgd", "batch": 8, "epochs": a.epochs, "seed": a.seed,
        "lr_range": [LR_RANGE.lo, LR_RANGE.hi], "l2_range": [L2_RANGE.lo, L2_RANGE.hi],
        "fine_ranges": s.fine_ranges.map(|(l, r)| json!({"lr": [l.lo, l.hi], "l2": [r.lo, r.hi]})),
        "trials": s.trials.iter().map(trial_json).collect::<Vec<_>>(),
        "best": s.best.map(|b| trial_json(&s.trials[b])),
        "best_index": s.best,
        "median_val_accuracy": band(&vals).0,
        "failed": s.trials.iter().filter(|t| t.val_accuracy.is_none()).count(),
    })
}

/// The measured lines.
pub fn text_of(a: &SearchArgs, s: &Search) -> String {
    let vals: Vec<f64> = s.trials.iter().filter_map(|t| t.val_accuracy).collect();
    let mut t = format!(
        "2-32-32-2 ReLU, softmax + CE, SGD batch 8, {} epochs per trial, two spirals (300, 30 % held out), seed {}\n\
         coarse: {} trials, lr in [{:e}, {:e}], λ in [{:e}, {:e}] (log-uniform)\n",
        a.epochs, a.seed, a.trials, LR_RANGE.lo, LR_RANGE.hi, L2_RANGE.lo, L2_RANGE.hi
    );
    if let Some((l, r)) = s.fine_ranges {
        t += &format!(
            "fine:   {} trials, lr in [{:.3e}, {:.3e}], λ in [{:.3e}, {:.3e}]\n",
            a.fine_trials, l.lo, l.hi, r.lo, r.hi
        );
    }
    let mut sorted: Vec<&Run> = s.trials.iter().collect();
    sorted.sort_by(|x, y| {
        y.val_accuracy
            .unwrap_or(-1.0)
            .total_cmp(&x.val_accuracy.unwrap_or(-1.0))
    });
    t += "best trials:\n";
    for r in sorted.iter().take(5) {
        t += &format!(
            "  stage {}  lr {:.3e}  λ {:.3e}  val {:5.1} %  train {:5.1} %\n",
            r.stage,
            r.lr,
            r.l2,
            r.val_accuracy.unwrap_or(f64::NAN) * 100.0,
            r.train_accuracy.unwrap_or(f64::NAN) * 100.0
        );
    }
    t += &format!(
        "median validation accuracy {:.1} %, failed trials {}\n",
        band(&vals).0 * 100.0,
        s.trials.iter().filter(|t| t.val_accuracy.is_none()).count()
    );
    t
}

/// `microprop-sim search`.
pub fn run(a: &SearchArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let s = search(a, ctx)?;
    if let Some(p) = &a.plot {
        plot::save(&SearchFigure { search: &s }, p)?;
    }
    let mut text = text_of(a, &s);
    if let Some(p) = &a.plot {
        text += &format!("figure: {}\n", p.display());
    }
    Ok(Output {
        json: json_of(a, &s),
        text,
    })
}

/// The report's section: `search.png` in `out`.
///
/// # Errors
/// The runs' and the figure's errors.
pub fn section(out: &std::path::Path, ctx: &Ctx, quick: bool) -> Res<(Section, serde_json::Value)> {
    let a = SearchArgs::preset(quick, 1);
    let s = search(&a, ctx)?;
    plot::save(&SearchFigure { search: &s }, &out.join("search.png"))?;
    let vals: Vec<f64> = s.trials.iter().filter_map(|t| t.val_accuracy).collect();
    let coarse_best = best_of(&s.trials[..(a.trials as usize).min(s.trials.len())]);
    let high: Vec<f64> = s
        .trials
        .iter()
        .filter(|t| t.lr > 3.0)
        .map(|t| t.val_accuracy.unwrap_or(0.0))
        .collect();
    let best = s.best.map(|b| &s.trials[b]);
    let text = format!(
        "<code>microprop-sim search</code>: random search over the learning rate (log-uniform in [{:e}, {:e}]) and the \
         L2 strength (in [{:e}, {:e}]), {} coarse trials then {} fine ones within half a decade of the coarse best; each \
         trial trains a 2-32-32-2 ReLU net (softmax, SGD, batch 8) for {} epochs on two spirals (300 samples) and is scored by its \
         accuracy on the 30 % held out. <b>What to look for:</b> good trials form a band in learning rate (too small: \
         no progress in {} epochs; too large: diverged or stuck) and below a largest λ; the fine stage (triangles) \
         samples the good corner densely. Measured: best {} (★), coarse best {:.1} %, median of all trials {:.1} %, \
         trials with lr &gt; 3: {} with at most {:.1} % validation accuracy, {} failed (×).",
        LR_RANGE.lo,
        LR_RANGE.hi,
        L2_RANGE.lo,
        L2_RANGE.hi,
        a.trials,
        a.fine_trials,
        a.epochs,
        a.epochs,
        best.map_or("none".into(), |b| format!(
            "lr {:.3e}, λ {:.2e}: {:.1} % validation accuracy (stage {})",
            b.lr,
            b.l2,
            b.val_accuracy.unwrap_or(f64::NAN) * 100.0,
            b.stage
        )),
        coarse_best.map_or(f64::NAN, |b| s.trials[b].val_accuracy.unwrap_or(f64::NAN)) * 100.0,
        band(&vals).0 * 100.0,
        high.len(),
        high.iter().copied().fold(0.0, f64::max) * 100.0,
        s.trials.iter().filter(|t| t.val_accuracy.is_none()).count(),
    );
    Ok((
        Section {
            title:
                "Random hyper-parameter search: learning rate × L2, coarse then fine (lecture 7)"
                    .into(),
            images: vec!["search.png".into()],
            text,
        },
        json_of(&a, &s),
    ))
}

/// The trials on log-log axes (lr × λ), coloured by validation accuracy, with a colour
/// bar; coarse circles, fine triangles, failed ×, the best a star.
pub struct SearchFigure<'a> {
    /// The search.
    pub search: &'a Search,
}

impl Figure for SearchFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (980, 720)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (key, rest) = root.split_vertically(30);
        key.draw(&Text::new(
            "● coarse stage   ▲ fine stage (inside the dashed box)   × failed (non-finite step)   ★ best",
            (90, 8),
            ("sans-serif", 15),
        ))?;
        let (main, bar) = rest.split_horizontally(850);
        let s = self.search;
        let lo = s
            .trials
            .iter()
            .filter_map(|t| t.val_accuracy)
            .fold(f64::INFINITY, f64::min);
        let hi = s
            .trials
            .iter()
            .filter_map(|t| t.val_accuracy)
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        let t_of = |v: f64| (v - lo) / (hi - lo);
        let mut c = ChartBuilder::on(&main)
            .caption(
                "random search: validation accuracy per trial",
                ("sans-serif", 19),
            )
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (LR_RANGE.lo / 1.5..LR_RANGE.hi * 1.5).log_scale(),
                (L2_RANGE.lo / 1.5..L2_RANGE.hi * 1.5).log_scale(),
            )?;
        c.configure_mesh()
            .x_desc("learning rate (log)")
            .y_desc("L2 strength λ (log)")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style(("sans-serif", 14))
            .draw()?;
        if let Some((l, r)) = s.fine_ranges {
            let corners = vec![
                (l.lo, r.lo),
                (l.hi, r.lo),
                (l.hi, r.hi),
                (l.lo, r.hi),
                (l.lo, r.lo),
            ];
            c.draw_series(DashedLineSeries::new(corners, 6, 4, BLACK.stroke_width(1)))?;
        }
        let grey = RGBColor(110, 110, 110);
        for t in &s.trials {
            let p = (t.lr, t.l2);
            match t.val_accuracy {
                None => {
                    c.draw_series(std::iter::once(Cross::new(p, 6, grey.stroke_width(2))))?;
                }
                Some(v) => {
                    let col = plot::viridis(t_of(v));
                    if t.stage == 1 {
                        c.draw_series(std::iter::once(Circle::new(p, 7, col.filled())))?;
                        c.draw_series(std::iter::once(Circle::new(p, 7, BLACK.stroke_width(1))))?;
                    } else {
                        c.draw_series(std::iter::once(TriangleMarker::new(p, 8, col.filled())))?;
                    }
                }
            }
        }
        if let Some(b) = s.best {
            let t = &s.trials[b];
            let star = |cx: f64, cy: f64, r_out: f64, r_in: f64| -> Vec<(i32, i32)> {
                (0..10)
                    .map(|k| {
                        let r = if k % 2 == 0 { r_out } else { r_in };
                        let a = std::f64::consts::PI * (f64::from(k) / 5.0 - 0.5);
                        ((cx + r * a.cos()) as i32, (cy + r * a.sin()) as i32)
                    })
                    .collect()
            };
            // The chart's pixel is the root's; `main` starts below the key.
            let (bx, by) = main.get_base_pixel();
            let (px, py) = c.backend_coord(&(t.lr, t.l2));
            let (px, py) = (px - bx, py - by);
            let pts = star(f64::from(px), f64::from(py), 16.0, 7.0);
            main.draw(&Polygon::new(pts.clone(), RED.filled()))?;
            let mut closed = pts;
            if let Some(&f) = closed.first() {
                closed.push(f);
            }
            main.draw(&PathElement::new(closed, BLACK.stroke_width(1)))?;
            main.draw(&Text::new(
                format!(
                    "best: lr {:.2e}, λ {:.1e}, {:.1} %",
                    t.lr,
                    t.l2,
                    t.val_accuracy.unwrap_or(f64::NAN) * 100.0
                ),
                (px + 18, py + 6),
                ("sans-serif", 14),
            ))?;
        }
        // Colour bar.
        plot::ViridisBar {
            lo: lo * 100.0,
            hi: hi * 100.0,
            label: "validation accuracy (%)",
            labels: 10,
            format: &|v| format!("{v:.0}"),
            margins: (48, 58),
        }
        .draw(&bar)?;
        Ok(())
    }
}
