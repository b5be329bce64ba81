//! `bn-hist`: batch norm against the collapse and the saturation of deep activations
//! (lecture 6). Without batch norm a deep tanh or sigmoid net's activations shrink to a
//! constant layer by layer under a small initialisation N(0, 0.01²) and pile up at the
//! bounds under a large one N(0, 1); with batch norm every hidden layer's pre-activations
//! are normalised over the batch (unit variance at initialisation, γ = 1, β = 0), so each
//! layer sees inputs of the same scale whatever the weights' scale.
//!
//! The experiment: 2-(64 × 8)-2 nets (softmax, cross-entropy) on two clusters (200
//! samples), with and without batch norm after every hidden dense layer; activation
//! histograms, the pre-activations' and the activations' standard deviation and the
//! saturated fraction (within 10⁻² of a bound: [`microprop::diagnostics`]'s definition) of
//! every hidden layer over the data in training mode (batches of 20, the batch statistics)
//! at initialisation and after some epochs of SGD.

use microprop::layer::{Kind, Pass};
use microprop::{train as core_train, Activation, Init, Libm, Loss, Model, Trainer};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::OptimizerArg,
    data::{Data, DatasetKind},
    net::{self, HostNet},
    optim,
    overfit::band,
    plot::{self, Figure},
    report::Section,
    stats, Ctx, Output, Res,
};

/// The hidden activation compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BnAct {
    /// tanh.
    Tanh,
    /// The logistic sigmoid.
    Sigmoid,
}

impl BnAct {
    /// The core activation.
    pub fn activation(self) -> Activation {
        match self {
            BnAct::Tanh => Activation::Tanh,
            BnAct::Sigmoid => Activation::Sigmoid,
        }
    }
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            BnAct::Tanh => "tanh",
            BnAct::Sigmoid => "sigmoid",
        }
    }
    /// The activation's range (the histograms' x range).
    pub fn range(self) -> (f64, f64) {
        match self {
            BnAct::Tanh => (-1.0, 1.0),
            BnAct::Sigmoid => (0.0, 1.0),
        }
    }
}

/// The initialisations compared.
pub const INITS: [(&str, f32); 2] = [("small", 0.01), ("large", 1.0)];

/// `bn-hist`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BnHistArgs {
    /// Hidden activations (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = vec![BnAct::Tanh, BnAct::Sigmoid])]
    pub activation: Vec<BnAct>,
    /// Seeds (1 to N).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub seeds: u32,
    /// Training epochs (SGD lr 0.05, batch 20) before the second measurement.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=2_000))]
    pub epochs: u32,
    /// Plot file: one figure per activation and initialisation (`FILE`, `FILE-<act>-<init>`
    /// for the others).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

impl BnHistArgs {
    /// The defaults, fewer seeds and epochs when `quick`.
    pub fn preset(quick: bool) -> Self {
        BnHistArgs {
            activation: vec![BnAct::Tanh, BnAct::Sigmoid],
            seeds: if quick { 2 } else { 3 },
            epochs: if quick { 10 } else { 20 },
            plot: None,
        }
    }
}

/// Hidden layers.
pub const DEPTH: usize = 8;
/// Hidden width.
pub const WIDTH: usize = 64;
/// Rows per batch (batch norm's statistics; the training batch).
pub const BATCH: usize = 20;
/// Samples.
pub const SAMPLES: usize = 200;
/// Histogram bins.
pub const BINS: usize = 30;
/// SGD learning rate.
pub const LR: f32 = 0.05;

/// One hidden layer over the data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerStats {
    /// Standard deviation of the pre-activations (with batch norm: γ x̂ + β).
    pub pre_std: f64,
    /// Standard deviation of the activations.
    pub act_std: f64,
    /// Mean activation.
    pub act_mean: f64,
    /// Share of activations within 10⁻² of a bound.
    pub saturated: f64,
    /// Histogram of the activations over the activation's range ([`BINS`] bins), as
    /// shares of the values.
    pub hist: Vec<f64>,
}

/// One activation × init × batch norm × phase, every seed.
#[derive(Clone, Debug)]
pub struct Case {
    /// Activation.
    pub act: BnAct,
    /// `small` or `large`.
    pub init: &'static str,
    /// With batch norm.
    pub batch_norm: bool,
    /// `init` or `trained`.
    pub phase: &'static str,
    /// `layers[s][l]`: seed `s`, hidden layer `l`.
    pub layers: Vec<Vec<LayerStats>>,
}

impl Case {
    /// The median over seeds of `f` of hidden layer `l`.
    pub fn median(&self, l: usize, f: fn(&LayerStats) -> f64) -> f64 {
        band(
            &self
                .layers
                .iter()
                .filter_map(|s| s.get(l).map(f))
                .collect::<Vec<_>>(),
        )
        .0
    }
}

/// Every hidden layer's statistics over `data` in training mode (batch statistics).
///
/// # Errors
/// Core errors.
pub fn measure(
    net: &mut HostNet<f32, Libm>,
    data: &microprop::Dataset<'_, f32>,
    act: BnAct,
) -> Res<Vec<LayerStats>> {
    let idx: Vec<u16> = (0..data.len() as u16).collect();
    let mut z: Vec<Vec<f64>> = vec![Vec::new(); DEPTH];
    let mut a: Vec<Vec<f64>> = vec![Vec::new(); DEPTH];
    for chunk in idx.chunks(BATCH) {
        core_train::walk(net, None, data, chunk, &mut Pass::probe(), None)?;
        let mut k = 0;
        net.visit_layers(|l| {
            let hidden = l.kind == Kind::BatchNorm
                || (l.kind == Kind::Dense
                    && l.activation.is_some_and(|x| x != Activation::Identity));
            if hidden && k < DEPTH {
                let n = chunk.len() * l.outputs;
                z[k].extend(l.z.iter().take(n).map(|&v| f64::from(v)));
                a[k].extend(l.a.iter().take(n).map(|&v| f64::from(v)));
                k += 1;
            }
        });
    }
    let (lo, hi) = act.range();
    let margin = microprop::diagnostics::SATURATION_MARGIN;
    Ok(z.iter()
        .zip(&a)
        .map(|(z, a)| {
            let mut hist = vec![0.0; BINS];
            for &v in a {
                let t = (v - lo) / (hi - lo);
                hist[((t * BINS as f64).max(0.0) as usize).min(BINS - 1)] += 1.0;
            }
            let n = a.len().max(1) as f64;
            hist.iter_mut().for_each(|h| *h /= n);
            let sat = a
                .iter()
                .filter(|&&v| v < lo + margin || v > hi - margin)
                .count() as f64
                / n;
            let (m, s) = stats::mean_std(a.iter().copied());
            LayerStats {
                pre_std: stats::mean_std(z.iter().copied()).1,
                act_std: s,
                act_mean: m,
                saturated: sat,
                hist,
            }
        })
        .collect())
}

/// One net: statistics at initialisation and after `epochs` epochs.
///
/// # Errors
/// Core errors.
pub fn run_one(
    act: BnAct,
    sigma: f32,
    batch_norm: bool,
    seed: u64,
    epochs: u32,
) -> Res<(Vec<LayerStats>, Vec<LayerStats>)> {
    let mut rng = microprop::rng(seed);
    let data = Data::generate(DatasetKind::Clusters, SAMPLES, 2, 0.7, &mut rng)?;
    let view = data.view()?;
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(WIDTH, DEPTH));
    sizes.push(2);
    let extras = net::Extras {
        batch_norm,
        dropout: None,
    };
    let layers = net::layers_with::<f32>(&sizes, act.activation(), Activation::Softmax, extras)?;
    let mut net = net::build::<f32, Libm>(layers, Init::Normal(sigma), 0.0, BATCH, &mut rng)?;
    let at_init = measure(&mut net, &view, act)?;
    let mut opt = optim::new::<Libm>(OptimizerArg::Sgd, LR, net.params())?;
    let mut trainer = Trainer::new(Loss::CrossEntropy, BATCH)?;
    let mut order = vec![0u16; data.len()];
    core_train::fill_order(&mut order)?;
    for _ in 0..epochs {
        trainer.epoch(&mut net, &mut opt, &view, &mut order, &mut rng)?;
    }
    let trained = measure(&mut net, &view, act)?;
    Ok((at_init, trained))
}

/// Every activation × init × batch norm over seeds 1 to `a.seeds`: the cases in order
/// (per activation and init: no BN init, BN init, no BN trained, BN trained).
///
/// # Errors
/// Usage errors; core errors.
pub fn sweep(a: &BnHistArgs, ctx: &Ctx) -> Res<Vec<Case>> {
    if a.activation.is_empty() {
        return crate::ctx::usage("--activation: give at least one activation");
    }
    let pb = ctx.progress(
        (a.activation.len() * INITS.len() * 2) as u64 * u64::from(a.seeds),
        "bn-hist",
    );
    let mut out = Vec::new();
    for &act in &a.activation {
        for (init, sigma) in INITS {
            let mut cases: Vec<Case> = Vec::new();
            for phase in ["init", "trained"] {
                for batch_norm in [false, true] {
                    cases.push(Case {
                        act,
                        init,
                        batch_norm,
                        phase,
                        layers: Vec::new(),
                    });
                }
            }
            for batch_norm in [false, true] {
                for seed in 1..=u64::from(a.seeds) {
                    let (i, t) = run_one(act, sigma, batch_norm, seed, a.epochs)?;
                    let b = usize::from(batch_norm);
                    cases[b].layers.push(i);
                    cases[2 + b].layers.push(t);
                    pb.inc(1);
                }
            }
            out.extend(cases);
        }
    }
    pb.finish_and_clear();
    Ok(out)
}

/// The cases as JSON: per case the per-layer medians over seeds and every seed's values.
pub fn json_of(a: &BnHistArgs, cases: &[Case]) -> serde_json::Value {
    let cs: Vec<_> = cases
        .iter()
        .map(|c| {
            let per =
                |f: fn(&LayerStats) -> f64| (0..DEPTH).map(|l| c.median(l, f)).collect::<Vec<_>>();
            let seeds = |f: fn(&LayerStats) -> f64| {
                c.layers
                    .iter()
                    .map(|s| s.iter().map(f).collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            };
            json!({
                "activation": c.act.name(), "init": c.init, "batch_norm": c.batch_norm,
                "phase": c.phase,
                "pre_std": per(|s| s.pre_std),
                "act_std": per(|s| s.act_std),
                "act_mean": per(|s| s.act_mean),
                "saturated": per(|s| s.saturated),
                "pre_std_per_seed": seeds(|s| s.pre_std),
                "act_std_per_seed": seeds(|s| s.act_std),
                "saturated_per_seed": seeds(|s| s.saturated),
            })
        })
        .collect();
    json!({
        "depth": DEPTH, "width": WIDTH, "batch": BATCH, "samples": SAMPLES,
        "dataset": "clusters", "output": "softmax", "loss": "ce", "optimizer": "sgd",
        "lr": LR, "epochs": a.epochs, "seeds": a.seeds,
        "inits": INITS.iter().map(|(n, s)| json!({"name": n, "sigma": s})).collect::<Vec<_>>(),
        "saturation_margin": microprop::diagnostics::SATURATION_MARGIN,
        "cases": cs,
    })
}

/// The measured lines.
pub fn text_of(a: &BnHistArgs, cases: &[Case]) -> String {
    let mut t = format!(
        "2-(64 x {DEPTH})-2, softmax + CE, two clusters ({SAMPLES}), training-mode statistics over batches of {BATCH}, \
         seeds 1-{}, medians over seeds; trained = after {} epochs of SGD lr {LR}\n",
        a.seeds, a.epochs
    );
    for c in cases {
        let f = |g: fn(&LayerStats) -> f64| {
            (0..DEPTH)
                .map(|l| format!("{:.2e}", c.median(l, g)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        t += &format!(
            "{:<7} {:<5} {:<5} {:<7}\n  pre-activation std {}\n  activation std     {}\n  saturated          {}\n",
            c.act.name(),
            c.init,
            if c.batch_norm { "BN" } else { "no BN" },
            c.phase,
            f(|s| s.pre_std),
            f(|s| s.act_std),
            f(|s| s.saturated)
        );
    }
    t
}

/// The figure's file for `act` × `init`: the first under `path` itself, the others beside it.
pub fn figure_path(
    path: &std::path::Path,
    first: bool,
    act: BnAct,
    init: &str,
) -> std::path::PathBuf {
    if first {
        path.to_path_buf()
    } else {
        plot::sibling(path, &format!("{}-{init}", act.name()))
    }
}

/// Saves one figure per activation × init (4 cases each).
///
/// # Errors
/// Plot errors.
pub fn save_all(cases: &[Case], path: &std::path::Path) -> Res<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for (i, group) in cases.chunks(4).enumerate() {
        let Some(c) = group.first() else { continue };
        let p = figure_path(path, i == 0, c.act, c.init);
        plot::save(&BnHistFigure { cases: group }, &p)?;
        written.push(p);
    }
    Ok(written)
}

/// `microprop-sim bn-hist`.
pub fn run(a: &BnHistArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let cases = sweep(a, ctx)?;
    let mut written = Vec::new();
    if let Some(p) = &a.plot {
        written = save_all(&cases, p)?;
    }
    let mut text = text_of(a, &cases);
    for p in &written {
        text += &format!("figure: {}\n", p.display());
    }
    let mut json = json_of(a, &cases);
    json["plots"] = json!(written
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>());
    Ok(Output { json, text })
}

/// The report's section: `bn-hist-<act>-<init>.png` for tanh (both inits) and sigmoid
/// (large) in `out`.
///
/// # Errors
/// The runs' and the figures' errors.
pub fn section(out: &std::path::Path, ctx: &Ctx, quick: bool) -> Res<(Section, serde_json::Value)> {
    let a = BnHistArgs::preset(quick);
    let cases = sweep(&a, ctx)?;
    let mut images = Vec::new();
    for group in cases.chunks(4) {
        let Some(c) = group.first() else { continue };
        let name = format!("bn-hist-{}-{}.png", c.act.name(), c.init);
        plot::save(&BnHistFigure { cases: group }, &out.join(&name))?;
        images.push(name);
    }
    let find = |act: BnAct, init: &str, bn: bool, phase: &str| {
        cases
            .iter()
            .find(|c| c.act == act && c.init == init && c.batch_norm == bn && c.phase == phase)
    };
    let last = DEPTH - 1;
    let mut parts = Vec::new();
    for act in [BnAct::Tanh, BnAct::Sigmoid] {
        for (init, _) in INITS {
            let (Some(p), Some(b), Some(bt)) = (
                find(act, init, false, "init"),
                find(act, init, true, "init"),
                find(act, init, true, "trained"),
            ) else {
                continue;
            };
            parts.push(format!(
                "{} {init}: layer {} without BN activation std {:.1e}, saturated {:.0} %; with BN pre-activation std {:.2} \
                 (after training {:.2}), saturated {:.1} % (after training {:.1} %)",
                act.name(),
                DEPTH,
                p.median(last, |s| s.act_std),
                p.median(last, |s| s.saturated) * 100.0,
                b.median(last, |s| s.pre_std),
                bt.median(last, |s| s.pre_std),
                b.median(last, |s| s.saturated) * 100.0,
                bt.median(last, |s| s.saturated) * 100.0,
            ));
        }
    }
    let text = format!(
        "<code>microprop-sim bn-hist</code>: 2-(64 × {DEPTH})-2 tanh and sigmoid nets (softmax, cross-entropy) on two clusters, \
         weights N(0, 0.01²) (small) or N(0, 1) (large), with and without batch norm after every hidden dense layer; every \
         hidden layer's activations over the {SAMPLES} samples in training mode (batch statistics over batches of {BATCH}) at \
         initialisation and after {} epochs of SGD (lr {LR}), seeds 1–{}. <b>What to look for:</b> without batch norm the \
         histograms narrow to a spike layer by layer (small init: tanh at 0, sigmoid at 0.5) or pile up at the bounds \
         (large init); with batch norm every layer's histogram keeps the same spread. Measured (medians): {}.",
        a.epochs,
        a.seeds,
        parts.join("; ")
    );
    Ok((
        Section {
            title: "Batch norm: per-layer activation histograms with and without it (lecture 6)"
                .into(),
            images,
            text,
        },
        json_of(&a, &cases),
    ))
}

/// Small multiples: rows = without / with batch norm at initialisation, then after
/// training; columns = hidden layers; each panel the median over seeds of each bin's
/// share of the activations.
pub struct BnHistFigure<'a> {
    /// One activation × init's four cases (no BN init, BN init, no BN trained, BN trained).
    pub cases: &'a [Case],
}

impl Figure for BnHistFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1800, 980)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let Some(first) = self.cases.first() else {
            return Ok(());
        };
        let (act, init) = (first.act, first.init);
        let sigma = INITS
            .iter()
            .find(|(n, _)| *n == init)
            .map_or(f32::NAN, |x| x.1);
        let (top, body) = root.split_vertically(44);
        top.draw(&Text::new(
            format!(
                "{} net, weights N(0, {sigma}²): activations of each hidden layer (share of values per bin, median over seeds; \
                 sd = activation std, sat = share within 0.01 of a bound)",
                act.name()
            ),
            (16, 12),
            ("sans-serif", 18),
        ))?;
        let (left, grid) = body.split_horizontally(120);
        let rows = grid.split_evenly((self.cases.len(), DEPTH));
        let row_h = body.dim_in_pixel().1 as i32 / self.cases.len().max(1) as i32;
        let (lo, hi) = act.range();
        for (r, c) in self.cases.iter().enumerate() {
            left.draw(&Text::new(
                if c.batch_norm { "with BN" } else { "no BN" },
                (8, r as i32 * row_h + row_h / 2 - 16),
                ("sans-serif", 16),
            ))?;
            left.draw(&Text::new(
                if c.phase == "init" {
                    "at init".to_string()
                } else {
                    "trained".to_string()
                },
                (8, r as i32 * row_h + row_h / 2 + 4),
                ("sans-serif", 16),
            ))?;
            for l in 0..DEPTH {
                let hist: Vec<f64> = (0..BINS)
                    .map(|b| {
                        band(
                            &c.layers
                                .iter()
                                .filter_map(|s| s.get(l).and_then(|x| x.hist.get(b).copied()))
                                .collect::<Vec<_>>(),
                        )
                        .0
                    })
                    .collect();
                let ymax = hist.iter().copied().fold(0.0, f64::max).max(0.05) * 1.15;
                let area = &rows[r * DEPTH + l];
                let mut ch = ChartBuilder::on(area)
                    .caption(
                        format!(
                            "layer {}: sd {}, sat {:.1} %",
                            l + 1,
                            short(c.median(l, |s| s.act_std)),
                            c.median(l, |s| s.saturated) * 100.0
                        ),
                        ("sans-serif", 12),
                    )
                    .margin(4)
                    .x_label_area_size(if r + 1 == self.cases.len() { 34 } else { 18 })
                    .y_label_area_size(if l == 0 { 44 } else { 30 })
                    .build_cartesian_2d(lo..hi, 0f64..ymax)?;
                let mut mesh = ch.configure_mesh();
                mesh.disable_mesh()
                    .x_labels(3)
                    .y_labels(3)
                    .x_label_formatter(&|v| format!("{v:.1}"))
                    .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                    .label_style(("sans-serif", 10));
                if r + 1 == self.cases.len() {
                    mesh.x_desc("activation");
                }
                if l == 0 {
                    mesh.y_desc("share");
                }
                mesh.draw()?;
                let w = (hi - lo) / BINS as f64;
                let col = plot::series_color(usize::from(c.batch_norm));
                ch.draw_series(hist.iter().enumerate().map(|(b, &h)| {
                    let x0 = lo + w * b as f64;
                    Rectangle::new([(x0, 0.0), (x0 + w, h)], col.filled())
                }))?;
            }
        }
        Ok(())
    }
}

/// A std for a caption: 2 significant digits, scientific below 0.01.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() < 0.01 {
        format!("{v:.0e}")
    } else {
        format!("{v:.2}")
    }
}
