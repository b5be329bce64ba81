//! `landscape`: the notes' Experiment A. A 2-layer and a 9-layer all-2-wide sigmoid net
//! are trained on two clusters; then, every other parameter kept at its trained value, the
//! first-layer weights `w[0][0]` (input 0 → neuron 0) and `w[1][0]` (input 0 → neuron 1)
//! are swept over a grid, and the mean loss and the norm of the mean gradient with respect
//! to those two weights are recorded at each point.
//!
//! Honesty rules of the measurement:
//! - A net that ends below [`MIN_ACCURACY`] is trained again from the next seed, at most
//!   `--attempts` seeds; every attempt (seed, accuracy, whether it trained, weights hash)
//!   is reported, and a net that never trains is reported as not trained.
//! - The nets train in `f32` (the core's arithmetic on the board), but the surfaces are
//!   evaluated in `f64` with the same weights: in `f32` the mean loss is rounded to about
//!   10⁻⁸, and where neighbouring cells differ by less than that the `f32` surface shows
//!   flat terraces that are rounding, not landscape. The share of such neighbour pairs is
//!   measured ([`Surface::f32_unresolved_fraction`]).
//! - The gradient band's thickness at the peak is measured in grid cells; a band one cell
//!   thick is not resolved by the grid, and `--zoom` sweeps a window around the peak on a
//!   grid fine enough to see it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use microprop::{
    data::Clusters,
    diagnostics::{self, Axis, Param, SliceGrad},
    train as core_train, Activation, Dataset, Init, Libm, Loss, Model, Sgd, Trainer,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::LandscapeArgs,
    ctx::usage,
    net::{self, HostNet},
    plot::{self, Figure},
    Ctx, Output, Res,
};

/// Index of `w[1][0]` in the first layer's row-major weights (2 inputs per row).
const W10: usize = 2;
/// Samples of the two-cluster data set.
const SAMPLES: usize = 200;
/// Decades below the peak the gradient colour scale shows (lower values: the floor colour).
pub const GRAD_DECADES: f64 = 8.0;
/// A band is resolved by the grid when it is at least this many cells thick.
pub const RESOLVED_CELLS: usize = 3;

/// Accuracy a net must reach to count as trained.
pub const MIN_ACCURACY: f64 = 0.9;
/// Default of `--attempts`: seeds tried (`seed`, `seed + 1`, …) before measuring an
/// untrained net anyway.
pub const ATTEMPTS: u64 = 10;

/// One training attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The seed trained from (data and initial weights).
    pub seed: u64,
    /// Accuracy after training.
    pub accuracy: f64,
    /// Whether the accuracy reached [`MIN_ACCURACY`].
    pub trained: bool,
    /// The core's hash of the trained weights (equal hashes: the same net).
    pub weights_hash: u64,
}

/// One seed's trained net and its data.
pub struct Run {
    /// Layer sizes.
    pub sizes: Vec<usize>,
    /// The trained net (`f32`, the core's arithmetic).
    pub net: HostNet<f32, Libm>,
    /// The training inputs.
    pub x: Vec<[f32; 2]>,
    /// The labels.
    pub labels: Vec<u8>,
    /// What the attempt gave.
    pub attempt: Attempt,
}

/// Trains the all-2-wide sigmoid net with `hidden` hidden layers from `seed` (no retry).
///
/// # Errors
/// Usage errors for data or weights that overflow `f32`; core errors.
pub fn train_seed(hidden: usize, a: &LandscapeArgs, seed: u64, ctx: &Ctx) -> Res<Run> {
    let mut rng = microprop::rng(seed);
    let mut x = vec![[0.0f32; 2]; SAMPLES];
    let mut labels = vec![0u8; SAMPLES];
    Clusters::two(a.spread).generate(&mut rng, &mut x, &mut labels)?;
    if !x.iter().flatten().all(|v| v.is_finite()) {
        return usage(format!("--spread {:e}: the data overflows f32", a.spread));
    }
    let init = Init::Normal(a.init_scale);
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(2, hidden));
    sizes.push(1);
    let mut net = net::dense::<f32, Libm>(
        &sizes,
        Activation::Sigmoid,
        Activation::Sigmoid,
        init,
        0.0,
        &mut rng,
    )?;
    if !net::weights_finite(&net) {
        return usage(format!(
            "--init-scale: initial weights drawn from {init:?} overflow f32"
        ));
    }
    let data = Dataset::new(&x, &labels)?;
    let mut opt = Sgd::new(a.lr)?;
    let mut trainer = Trainer::new(Loss::Mse, 8)?;
    let mut order = vec![0u16; SAMPLES];
    core_train::fill_order(&mut order)?;
    let pb = ctx.progress(u64::from(a.epochs), &format!("{hidden}-layer seed {seed}"));
    for _ in 0..a.epochs {
        trainer.epoch(&mut net, &mut opt, &data, &mut order, &mut rng)?;
        pb.inc(1);
    }
    pb.finish_and_clear();
    let accuracy = f64::from(core_train::evaluate(&mut net, Loss::Mse, &data)?.accuracy);
    let attempt = Attempt {
        seed,
        accuracy,
        trained: accuracy >= MIN_ACCURACY,
        weights_hash: net.weights_hash(),
    };
    Ok(Run {
        sizes,
        net,
        x,
        labels,
        attempt,
    })
}

/// A net after the retries: the measured run and every attempt (the last is the measured
/// one).
pub struct Trained {
    /// The measured run.
    pub run: Run,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl Trained {
    /// Whether the measured net did not reach [`MIN_ACCURACY`] in any attempt.
    pub fn did_not_train(&self) -> bool {
        !self.run.attempt.trained
    }
}

/// Trains from `a.seed`, then from the next seeds while the net does not train (at most
/// `a.attempts` seeds).
///
/// # Errors
/// As [`train_seed`].
pub fn train(hidden: usize, a: &LandscapeArgs, ctx: &Ctx) -> Res<Trained> {
    let mut attempts = Vec::new();
    let mut k = 0;
    loop {
        let run = train_seed(hidden, a, a.seed + k, ctx)?;
        attempts.push(run.attempt.clone());
        k += 1;
        if run.attempt.trained || k >= a.attempts.max(1) {
            return Ok(Trained { run, attempts });
        }
    }
}

/// One net's surfaces over one window, and their summary.
#[derive(Clone, Debug)]
pub struct Surface {
    /// `"2-layer"` or `"9-layer"` (`"9-layer, zoomed"` for a zoom).
    pub name: String,
    /// Layer sizes.
    pub sizes: Vec<usize>,
    /// Accuracy after training.
    pub accuracy: f64,
    /// The seed of the measured net.
    pub seed: u64,
    /// Every training attempt (the last is the measured net).
    pub attempts: Vec<Attempt>,
    /// The measured net never reached [`MIN_ACCURACY`]: its surfaces are an untrained
    /// net's.
    pub did_not_train: bool,
    /// The measured net's weights hash.
    pub weights_hash: u64,
    /// Trained `(w[0][0], w[1][0])`.
    pub trained: (f64, f64),
    /// Whether the trained point lies inside the window.
    pub trained_in_window: bool,
    /// Centre of the window.
    pub center: (f64, f64),
    /// Half-width of the window.
    pub range: f64,
    /// Grid step (both axes).
    pub step: f64,
    /// Grid x coordinates (`w[0][0]`).
    pub xs: Vec<f64>,
    /// Grid y coordinates (`w[1][0]`).
    pub ys: Vec<f64>,
    /// Mean loss in `f64`, `[iy][ix]` (y = `w[1][0]`, x = `w[0][0]`).
    pub loss: Vec<Vec<f64>>,
    /// Norm of the mean gradient with respect to the two swept weights, in `f64`.
    pub grad: Vec<Vec<f64>>,
    /// Share of grid points with gradient norm < 1e-3 × the surface's maximum.
    pub plateau_fraction: f64,
    /// The surface's maximum gradient norm.
    pub peak_grad: f64,
    /// Where the maximum is, `(w[0][0], w[1][0])`.
    pub peak_at: (f64, f64),
    /// Share of grid points with gradient norm > ½ × the maximum.
    pub band_width: f64,
    /// Thickness of the band through the peak, in cells: contiguous cells above ½ × the
    /// maximum along the narrower of the two axes.
    pub band_cells: usize,
    /// The same in weight units (`band_cells × step`; an upper bound when 1 cell).
    pub band_thickness: f64,
    /// Loss range over the grid (max − min).
    pub loss_range: f64,
    /// Share of neighbouring-cell pairs whose `f64` loss difference is not larger than the
    /// `f32` rounding error of the two losses: there the `f32` surface shows terraces.
    pub f32_unresolved_fraction: f64,
    /// Largest |loss in `f32` − loss in `f64`| over the grid.
    pub f32_max_loss_error: f64,
}

impl Surface {
    /// Whether the grid resolves the band through the peak ([`RESOLVED_CELLS`] or more).
    pub fn band_resolved(&self) -> bool {
        self.band_cells >= RESOLVED_CELLS
    }

    /// `[lo, hi]` of log10 of the loss over the grid (the loss colour scale).
    pub fn loss_levels(&self) -> (f64, f64) {
        log_levels(&self.loss, f64::INFINITY)
    }

    /// `[lo, hi]` of log10 of the gradient norm, at most [`GRAD_DECADES`] below the peak
    /// (the gradient colour scale).
    pub fn grad_levels(&self) -> (f64, f64) {
        log_levels(&self.grad, GRAD_DECADES)
    }

    /// One line on the net's status: trained (after how many retries) or not.
    pub fn status_text(&self) -> String {
        let tried = self.attempts.len();
        let first = self.attempts.first().map_or(self.seed, |a| a.seed);
        if self.did_not_train {
            format!(
                "did not train: below {:.0} % from every seed tried ({first}–{}), measured seed {} at {:.1} %",
                MIN_ACCURACY * 100.0,
                first + tried as u64 - 1,
                self.seed,
                self.accuracy * 100.0
            )
        } else if tried > 1 {
            let failed: Vec<String> = self.attempts[..tried - 1]
                .iter()
                .map(|a| format!("{} ({:.1} %)", a.seed, a.accuracy * 100.0))
                .collect();
            format!(
                "trained from seed {} after {} retr{} (seeds {} did not train)",
                self.seed,
                tried - 1,
                if tried == 2 { "y" } else { "ies" },
                failed.join(", ")
            )
        } else {
            format!("trained from seed {}", self.seed)
        }
    }
}

fn log_levels(v: &[Vec<f64>], decades: f64) -> (f64, f64) {
    let logs = v
        .iter()
        .flatten()
        .filter(|&&x| x > 0.0 && x.is_finite())
        .map(|x| x.log10());
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for l in logs {
        lo = lo.min(l);
        hi = hi.max(l);
    }
    if !hi.is_finite() {
        return (-1.0, 0.0);
    }
    lo = lo.max(hi - decades);
    if hi - lo < 1e-3 {
        lo = hi - 1e-3;
    }
    (lo, hi)
}

/// The grid coordinates of one axis: `steps` points over `[c − r, c + r]`.
fn axis_values(c: f64, r: f64, steps: usize) -> Vec<f64> {
    (0..steps)
        .map(|i| c - r + 2.0 * r * i as f64 / (steps - 1) as f64)
        .collect()
}

/// Sweeps the two weights of `t`'s net over the window `center ± range` on a `grid × grid`
/// grid, in `f64` (and in `f32`, for the rounding measure).
///
/// # Errors
/// Core errors.
pub fn sweep(
    t: &mut Trained,
    name: &str,
    center: (f64, f64),
    range: f64,
    grid: usize,
    ctx: &Ctx,
) -> Res<Surface> {
    let grid = grid.max(3);
    let run = &mut t.run;
    let pb = ctx.progress(2, name);
    let trained = {
        let w = net::first_weights(&run.net);
        (f64::from(w[0]), f64::from(w[W10]))
    };
    // The same weights in f64.
    let mut p32 = vec![0.0f32; run.net.params()];
    run.net.copy_params(&mut p32)?;
    let mut rng = microprop::rng(0);
    let mut net64 = net::dense::<f64, Libm>(
        &run.sizes,
        Activation::Sigmoid,
        Activation::Sigmoid,
        Init::Zeros,
        0.0,
        &mut rng,
    )?;
    let p64: Vec<f64> = p32.iter().map(|&v| f64::from(v)).collect();
    net64.set_params(&p64)?;
    let x64: Vec<f64> = run.x.iter().flatten().map(|&v| f64::from(v)).collect();
    let data64 = Dataset::from_flat(&x64, &run.labels, 2)?;
    let data32 = Dataset::new(&run.x, &run.labels)?;
    let ax = |param, c: f64| Axis {
        param,
        from: c - range,
        to: c + range,
        steps: grid,
    };
    let (axx, axy) = (
        ax(Param::weight(0, 0, 0), center.0),
        ax(Param::weight(0, 1, 0), center.1),
    );
    let n = grid * grid;
    let (mut l64, mut g64) = (vec![0.0f64; n], vec![0.0f64; n]);
    diagnostics::loss_slice(
        &mut net64,
        Loss::Mse,
        &data64,
        axx,
        axy,
        SliceGrad::Swept,
        &mut l64,
        &mut g64,
    )?;
    pb.inc(1);
    let (mut l32, mut g32) = (vec![0.0f32; n], vec![0.0f32; n]);
    diagnostics::loss_slice(
        &mut run.net,
        Loss::Mse,
        &data32,
        axx,
        axy,
        SliceGrad::Swept,
        &mut l32,
        &mut g32,
    )?;
    pb.inc(1);
    pb.finish_and_clear();
    run.net.zero_grads();
    let rows = |v: &[f64]| -> Vec<Vec<f64>> { v.chunks(grid).map(<[f64]>::to_vec).collect() };
    let (loss, grad) = (rows(&l64), rows(&g64));
    let err: Vec<f64> = l32
        .iter()
        .zip(&l64)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .collect();
    let f32_max_loss_error = err.iter().copied().fold(0.0, f64::max);
    let (mut pairs, mut unresolved) = (0usize, 0usize);
    for iy in 0..grid {
        for ix in 0..grid {
            let i = iy * grid + ix;
            for j in [
                (ix + 1 < grid).then_some(i + 1),
                (iy + 1 < grid).then_some(i + grid),
            ]
            .into_iter()
            .flatten()
            {
                pairs += 1;
                unresolved += usize::from((l64[j] - l64[i]).abs() <= err[i] + err[j]);
            }
        }
    }
    let all: Vec<f64> = g64.clone();
    let (mut peak, mut at) = (0.0f64, 0usize);
    for (i, &g) in all.iter().enumerate() {
        if g > peak {
            (peak, at) = (g, i);
        }
    }
    let total = all.len() as f64;
    let plateau = all.iter().filter(|&&g| g < 1e-3 * peak).count() as f64 / total;
    let band = all.iter().filter(|&&g| g > 0.5 * peak).count() as f64 / total;
    let (px, py) = (at % grid, at / grid);
    let above = |ix: usize, iy: usize| grad[iy][ix] > 0.5 * peak;
    let run_len = |horizontal: bool| {
        let mut c = 1;
        let (mut lo, mut hi) = if horizontal { (px, px) } else { (py, py) };
        while lo > 0
            && (if horizontal {
                above(lo - 1, py)
            } else {
                above(px, lo - 1)
            })
        {
            lo -= 1;
            c += 1;
        }
        while hi + 1 < grid
            && (if horizontal {
                above(hi + 1, py)
            } else {
                above(px, hi + 1)
            })
        {
            hi += 1;
            c += 1;
        }
        c
    };
    let band_cells = run_len(true).min(run_len(false));
    let step = 2.0 * range / (grid - 1) as f64;
    let xs = axis_values(center.0, range, grid);
    let ys = axis_values(center.1, range, grid);
    let lmin = l64.iter().copied().fold(f64::INFINITY, f64::min);
    let lmax = l64.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let inside = |v: f64, c: f64| (v - c).abs() <= range + step / 2.0;
    Ok(Surface {
        name: name.to_string(),
        sizes: run.sizes.clone(),
        accuracy: run.attempt.accuracy,
        seed: run.attempt.seed,
        attempts: t.attempts.clone(),
        did_not_train: !run.attempt.trained,
        weights_hash: run.attempt.weights_hash,
        trained,
        trained_in_window: inside(trained.0, center.0) && inside(trained.1, center.1),
        center,
        range,
        step,
        peak_at: (xs[px], ys[py]),
        xs,
        ys,
        loss,
        grad,
        plateau_fraction: plateau,
        peak_grad: peak,
        band_width: band,
        band_cells,
        band_thickness: band_cells as f64 * step,
        loss_range: lmax - lmin,
        f32_unresolved_fraction: unresolved as f64 / pairs.max(1) as f64,
        f32_max_loss_error,
    })
}

/// Trains the net with `hidden` hidden layers (with retries) and sweeps the window of the
/// flags.
///
/// # Errors
/// As [`train`] and [`sweep`].
pub fn surface(hidden: usize, a: &LandscapeArgs, ctx: &Ctx) -> Res<Surface> {
    let mut t = train(hidden, a, ctx)?;
    sweep(
        &mut t,
        &format!("{hidden}-layer"),
        a.center,
        f64::from(a.range),
        a.grid as usize,
        ctx,
    )
}

/// The zoomed window around `s`'s gradient peak: half-width two of `s`'s grid steps (the
/// same number of points over four of `s`'s cells).
pub fn zoom_window(s: &Surface) -> ((f64, f64), f64) {
    (s.peak_at, 2.0 * s.step)
}

/// Everything `landscape` measures: both nets' surfaces and, with `--zoom`, the 9-layer
/// net's zoomed surface.
pub struct Measured {
    /// The 2-layer and the 9-layer surface.
    pub surfaces: [Surface; 2],
    /// The 9-layer net around its gradient peak (`--zoom`).
    pub zoom: Option<Surface>,
    /// How many times the zoom narrowed the window (each time around the last window's
    /// peak, by a factor `(grid − 1) / 4`) before the band was resolved or
    /// [`MAX_ZOOMS`] was reached.
    pub zoom_levels: usize,
}

/// Most zoom levels `--zoom` makes.
pub const MAX_ZOOMS: usize = 3;

impl Measured {
    /// The surfaces in figure order (2-layer, 9-layer, zoom).
    pub fn rows(&self) -> Vec<&Surface> {
        self.surfaces.iter().chain(self.zoom.as_ref()).collect()
    }
}

/// Both surfaces (and the zoom when `a.zoom`) with the command's flags.
///
/// # Errors
/// As [`train`] and [`sweep`].
pub fn measure(a: &LandscapeArgs, ctx: &Ctx) -> Res<Measured> {
    let (range, grid) = (f64::from(a.range), a.grid as usize);
    let mut t2 = train(2, a, ctx)?;
    let s2 = sweep(&mut t2, "2-layer", a.center, range, grid, ctx)?;
    let mut t9 = train(9, a, ctx)?;
    let s9 = sweep(&mut t9, "9-layer", a.center, range, grid, ctx)?;
    let mut zoom = None;
    let mut zoom_levels = 0;
    if a.zoom {
        // Zoom around the peak until the band is resolved (at most MAX_ZOOMS times).
        let mut from = s9.clone();
        while zoom_levels < MAX_ZOOMS {
            let (c, r) = zoom_window(&from);
            let z = sweep(&mut t9, "9-layer, zoomed", c, r, grid, ctx)?;
            zoom_levels += 1;
            let done = z.band_resolved();
            from = z.clone();
            zoom = Some(z);
            if done {
                break;
            }
        }
    }
    Ok(Measured {
        surfaces: [s2, s9],
        zoom,
        zoom_levels,
    })
}

/// Both surfaces with the command's flags (no zoom).
///
/// # Errors
/// As [`measure`].
pub fn both(a: &LandscapeArgs, ctx: &Ctx) -> Res<[Surface; 2]> {
    let a = LandscapeArgs {
        zoom: false,
        ..a.clone()
    };
    Ok(measure(&a, ctx)?.surfaces)
}

/// Writes the figure as PNG and SVG next to `path`.
///
/// # Errors
/// Drawing or file errors.
pub fn save(m: &Measured, path: &Path) -> Res<()> {
    let fig = LandscapeFigure { rows: m.rows() };
    plot::save(&fig, &path.with_extension("png"))?;
    plot::save(&fig, &path.with_extension("svg"))?;
    Ok(())
}

/// `microprop-sim landscape`.
pub fn run(a: &LandscapeArgs, ctx: &Ctx) -> Res<Output> {
    // Its extension is replaced: `.png` and `.svg` are written.
    if let Some(p) = &a.plot {
        plot::check_not_dir("--plot", p)?;
    }
    let m = measure(a, ctx)?;
    if let Some(p) = &a.plot {
        save(&m, p)?;
    }
    let (cx, cy) = a.center;
    let mut text = format!(
        "loss and gradient surfaces (evaluated in f64) over first-layer w[0][0] ∈ [{}, {}], w[1][0] ∈ [{}, {}], {g}×{g} grid, step {:.4}\n",
        fmt_num(cx - f64::from(a.range)),
        fmt_num(cx + f64::from(a.range)),
        fmt_num(cy - f64::from(a.range)),
        fmt_num(cy + f64::from(a.range)),
        m.surfaces[0].step,
        g = a.grid
    );
    for x in m.rows() {
        text += &format!(
            "{:<16} {}; accuracy {:.1} %\n  {}  peak_grad {:.3e} at ({}, {})  band_width {:.3}  band {} cell(s) = {:.3} ({})  loss range {:.4}  f32-unresolved neighbours {:.1} %\n",
            x.name,
            x.status_text(),
            x.accuracy * 100.0,
            if x.did_not_train {
                "plateau not reported: the net did not train".to_string()
            } else {
                format!("plateau_fraction {:.3}", x.plateau_fraction)
            },
            x.peak_grad,
            fmt_num(x.peak_at.0),
            fmt_num(x.peak_at.1),
            x.band_width,
            x.band_cells,
            x.band_thickness,
            if x.band_resolved() { "resolved" } else { "not resolved by the grid" },
            x.loss_range,
            x.f32_unresolved_fraction * 100.0,
        );
    }
    if let Some(p) = &a.plot {
        text += &format!(
            "figure: {} and {}\n",
            p.with_extension("png").display(),
            p.with_extension("svg").display()
        );
    }
    let json = measured_json(a, &m);
    Ok(Output { json, text })
}

/// One surface's JSON.
pub fn surface_json(x: &Surface) -> serde_json::Value {
    let (llo, lhi) = x.loss_levels();
    let (glo, ghi) = x.grad_levels();
    json!({
        "sizes": x.sizes,
        "accuracy": x.accuracy,
        "seed": x.seed,
        "status": if x.did_not_train { "did_not_train" } else { "trained" },
        "did_not_train": x.did_not_train,
        "status_text": x.status_text(),
        "retries": x.attempts.len().saturating_sub(1),
        "attempts": x.attempts.iter().map(|t| json!({
            "seed": t.seed,
            "accuracy": t.accuracy,
            "trained": t.trained,
            "weights_hash": crate::stats::hex16(t.weights_hash),
        })).collect::<Vec<_>>(),
        "weights_hash": crate::stats::hex16(x.weights_hash),
        "trained": [x.trained.0, x.trained.1],
        "trained_in_window": x.trained_in_window,
        "center": [x.center.0, x.center.1],
        "range": x.range,
        "grid": x.xs.len(),
        "step": x.step,
        "plateau_fraction": x.plateau_fraction,
        "peak_grad": x.peak_grad,
        "peak_at": [x.peak_at.0, x.peak_at.1],
        "band_width": x.band_width,
        "band_cells": x.band_cells,
        "band_thickness": x.band_thickness,
        "band_resolved": x.band_resolved(),
        "loss_range": x.loss_range,
        "f32_unresolved_fraction": x.f32_unresolved_fraction,
        "f32_max_loss_error": x.f32_max_loss_error,
        "colour_scale": {
            "loss": {"scale": "log10", "levels": [llo, lhi]},
            "grad": {"scale": "log10", "levels": [glo, ghi]},
        },
    })
}

/// The command's JSON for what flags `a` measured.
pub fn measured_json(a: &LandscapeArgs, m: &Measured) -> serde_json::Value {
    json!({
        "grid": a.grid,
        "range": a.range,
        "center": [a.center.0, a.center.1],
        "step": m.surfaces[0].step,
        "precision": "f64",
        "epochs": a.epochs,
        "lr": a.lr,
        "init": format!("normal({})", a.init_scale),
        "max_attempts": a.attempts,
        "min_accuracy": MIN_ACCURACY,
        "two_layer": surface_json(&m.surfaces[0]),
        "nine_layer": surface_json(&m.surfaces[1]),
        "zoom": m.zoom.as_ref().map(surface_json),
        "zoom_levels": m.zoom_levels,
    })
}

/// The command's JSON for surfaces `s` measured with flags `a` (no zoom).
pub fn run_json(a: &LandscapeArgs, s: &[Surface; 2]) -> serde_json::Value {
    measured_json(
        a,
        &Measured {
            surfaces: s.clone(),
            zoom: None,
            zoom_levels: 0,
        },
    )
}

/// The robustness check: the experiment from several start seeds, counted honestly.
#[derive(Clone, Debug)]
pub struct Robustness {
    /// Start seeds.
    pub seeds: Vec<u64>,
    /// Per start seed and depth (2, 9): the attempts made from it.
    pub attempts: Vec<[Vec<Attempt>; 2]>,
    /// Per depth: start seeds whose own net trained (no retry needed).
    pub trained_without_retry: [usize; 2],
    /// Per depth: distinct measured nets (by weights hash) over the start seeds.
    pub distinct_nets: [usize; 2],
    /// Distinct (2-layer, 9-layer) pairs of measured nets.
    pub distinct_pairs: usize,
    /// Per start seed: (9-layer plateau larger, band narrower, peak taller).
    pub wins: Vec<[bool; 3]>,
    /// Per start seed: whether either measured net did not train.
    pub untrained: Vec<bool>,
}

impl Robustness {
    /// Start seeds where finding `k` (0 plateau, 1 band, 2 peak) holds.
    pub fn count(&self, k: usize) -> usize {
        self.wins.iter().filter(|w| w[k]).count()
    }

    /// Distinct pairs where finding `k` holds.
    pub fn count_distinct(&self, k: usize) -> usize {
        let mut seen = BTreeMap::new();
        for (a, w) in self.attempts.iter().zip(&self.wins) {
            let key = (last_hash(&a[0]), last_hash(&a[1]));
            seen.entry(key).or_insert(w[k]);
        }
        seen.values().filter(|&&v| v).count()
    }

    /// The JSON.
    pub fn json(&self) -> serde_json::Value {
        let names = ["larger_plateau", "narrower_band", "taller_peak"];
        let per_seed: Vec<_> = self
            .seeds
            .iter()
            .zip(&self.attempts)
            .zip(&self.wins)
            .map(|((s, a), w)| {
                let net = |v: &Vec<Attempt>| {
                    let last = v.last();
                    json!({
                        "retries": v.len().saturating_sub(1),
                        "measured_seed": last.map(|t| t.seed),
                        "trained": last.is_some_and(|t| t.trained),
                        "weights_hash": last.map(|t| crate::stats::hex16(t.weights_hash)),
                        "attempts": v.iter().map(|t| json!({"seed": t.seed, "accuracy": t.accuracy, "trained": t.trained})).collect::<Vec<_>>(),
                    })
                };
                json!({
                    "start_seed": s,
                    "two_layer": net(&a[0]),
                    "nine_layer": net(&a[1]),
                    "larger_plateau": w[0], "narrower_band": w[1], "taller_peak": w[2],
                })
            })
            .collect();
        let mut findings = serde_json::Map::new();
        for (k, n) in names.iter().enumerate() {
            findings.insert(
                (*n).into(),
                json!({"start_seeds": self.count(k), "distinct_pairs": self.count_distinct(k)}),
            );
        }
        json!({
            "seeds_checked": self.seeds.len(),
            "trained_without_retry": {"two_layer": self.trained_without_retry[0], "nine_layer": self.trained_without_retry[1]},
            "distinct_nets": {"two_layer": self.distinct_nets[0], "nine_layer": self.distinct_nets[1]},
            "distinct_pairs": self.distinct_pairs,
            "findings": findings,
            "per_seed": per_seed,
        })
    }
}

fn last_hash(a: &[Attempt]) -> u64 {
    a.last().map_or(0, |t| t.weights_hash)
}

/// Repeats the experiment of `a` from each start seed in `seeds` (with `a`'s retries and
/// window, on a `grid × grid` grid). Each (depth, seed) is trained once and each distinct
/// net swept once, so start seeds that retry into the same seed share its net, and the
/// result says how many distinct nets the comparison really rests on.
///
/// # Errors
/// As [`train_seed`] and [`sweep`].
pub fn robustness(a: &LandscapeArgs, seeds: &[u64], grid: usize, ctx: &Ctx) -> Res<Robustness> {
    let mut runs: BTreeMap<(usize, u64), Option<Run>> = BTreeMap::new();
    let mut surfaces: BTreeMap<(usize, u64), Surface> = BTreeMap::new();
    let mut attempts = Vec::new();
    let mut wins = Vec::new();
    let mut untrained = Vec::new();
    let mut own = [0usize; 2];
    for &s in seeds {
        let mut pair: [Vec<Attempt>; 2] = [Vec::new(), Vec::new()];
        let mut measured = [0u64; 2];
        for (d, hidden) in [2usize, 9].into_iter().enumerate() {
            for k in 0..a.attempts.max(1) {
                let seed = s + k;
                if !runs.contains_key(&(hidden, seed)) && !surfaces.contains_key(&(hidden, seed)) {
                    let r = train_seed(hidden, a, seed, ctx)?;
                    runs.insert((hidden, seed), Some(r));
                }
                let att = match (runs.get(&(hidden, seed)), surfaces.get(&(hidden, seed))) {
                    (Some(Some(r)), _) => r.attempt.clone(),
                    (_, Some(sf)) => sf.attempts[sf.attempts.len() - 1].clone(),
                    _ => return Err("landscape: lost a run".into()),
                };
                if k == 0 && att.trained {
                    own[d] += 1;
                }
                let done = att.trained || k + 1 >= a.attempts.max(1);
                pair[d].push(att);
                if done {
                    measured[d] = seed;
                    break;
                }
            }
            let key = (hidden, measured[d]);
            if let std::collections::btree_map::Entry::Vacant(slot) = surfaces.entry(key) {
                let run = runs
                    .get_mut(&key)
                    .and_then(Option::take)
                    .ok_or("landscape: lost a run")?;
                let mut t = Trained {
                    attempts: vec![run.attempt.clone()],
                    run,
                };
                let sf = sweep(
                    &mut t,
                    &format!("{hidden}-layer"),
                    a.center,
                    f64::from(a.range),
                    grid,
                    ctx,
                )?;
                slot.insert(sf);
            }
        }
        let (s2, s9) = (&surfaces[&(2, measured[0])], &surfaces[&(9, measured[1])]);
        wins.push([
            s9.plateau_fraction > s2.plateau_fraction,
            s9.band_width < s2.band_width,
            s9.peak_grad > s2.peak_grad,
        ]);
        untrained.push(s2.did_not_train || s9.did_not_train);
        attempts.push(pair);
    }
    let distinct = |d: usize| {
        attempts
            .iter()
            .map(|p| last_hash(&p[d]))
            .collect::<BTreeSet<_>>()
            .len()
    };
    let distinct_pairs = attempts
        .iter()
        .map(|p| (last_hash(&p[0]), last_hash(&p[1])))
        .collect::<BTreeSet<_>>()
        .len();
    Ok(Robustness {
        seeds: seeds.to_vec(),
        trained_without_retry: own,
        distinct_nets: [distinct(0), distinct(1)],
        distinct_pairs,
        attempts,
        wins,
        untrained,
    })
}

/// `v` with as few decimals as its size needs, never `-0`.
pub fn fmt_num(v: f64) -> String {
    let s = if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s.replace('-', "−")
    }
}

/// Tick label for a window of half-width `range`: decimals from the window's size.
fn tick(v: f64, range: f64) -> String {
    let d = if range >= 5.0 {
        0
    } else if range >= 0.5 {
        1
    } else if range >= 0.05 {
        2
    } else {
        3
    };
    let s = format!("{v:.d$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

struct LandscapeFigure<'a> {
    rows: Vec<&'a Surface>,
}

impl Figure for LandscapeFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1300, 520 * self.rows.len() as u32)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((self.rows.len(), 2));
        for (row, s) in self.rows.iter().enumerate() {
            let status = if s.did_not_train {
                format!("DID NOT TRAIN ({:.0} %)", s.accuracy * 100.0)
            } else {
                format!("seed {}, {:.1} %", s.seed, s.accuracy * 100.0)
            };
            let (llo, lhi) = s.loss_levels();
            panel(
                &panels[row * 2],
                s,
                &format!("{}: loss ({status})", s.name),
                "mean loss (log scale)",
                &s.loss,
                llo,
                lhi,
            )?;
            let (glo, ghi) = s.grad_levels();
            let gt = if s.did_not_train {
                format!("{}: ‖∇‖ — untrained net, no plateau figure", s.name)
            } else {
                format!(
                    "{}: ‖∇‖ (plateau {:.0} %, band {} cell{})",
                    s.name,
                    s.plateau_fraction * 100.0,
                    s.band_cells,
                    if s.band_cells == 1 { "" } else { "s" }
                )
            };
            panel(
                &panels[row * 2 + 1],
                s,
                &gt,
                "‖∇ w.r.t. the two weights‖ (log scale)",
                &s.grad,
                glo,
                ghi,
            )?;
        }
        Ok(())
    }
}

/// One heat map with its log colour bar (levels `lo..hi` in log10).
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Surface,
    title: &str,
    bar_label: &str,
    values: &[Vec<f64>],
    lo: f64,
    hi: f64,
) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(110));
    let (xs, ys) = (&s.xs, &s.ys);
    let g = xs.len();
    let d = s.step;
    let (x0, x1) = (xs[0] - d / 2.0, xs[g - 1] + d / 2.0);
    let (y0, y1) = (ys[0] - d / 2.0, ys[g - 1] + d / 2.0);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let r = s.range;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("w[0][0] (input 0 → neuron 0)")
        .y_desc("w[1][0] (input 0 → neuron 1)")
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&|v| tick(*v, r))
        .y_label_formatter(&|v| tick(*v, r))
        .label_style(("sans-serif", 13))
        .draw()?;
    let span = (hi - lo).max(1e-12);
    let colour = |v: f64| {
        let t = if v > 0.0 && v.is_finite() {
            (v.log10() - lo) / span
        } else {
            0.0
        };
        plot::viridis(t)
    };
    chart.draw_series(ys.iter().enumerate().flat_map(|(iy, &y)| {
        xs.iter().enumerate().map(move |(ix, &x)| {
            Rectangle::new(
                [(x - d / 2.0, y - d / 2.0), (x + d / 2.0, y + d / 2.0)],
                colour(values[iy][ix]).filled(),
            )
        })
    }))?;
    if s.trained_in_window {
        chart.draw_series(std::iter::once(Cross::new(
            s.trained,
            7,
            ShapeStyle::from(&RED).stroke_width(2),
        )))?;
    } else {
        let dir = |v: f64, c: f64| {
            if v > c + r {
                1
            } else if v < c - r {
                -1
            } else {
                0
            }
        };
        let arrow = match (dir(s.trained.0, s.center.0), dir(s.trained.1, s.center.1)) {
            (1, 1) => "↗",
            (1, -1) => "↘",
            (-1, 1) => "↖",
            (-1, -1) => "↙",
            (1, _) => "→",
            (-1, _) => "←",
            (_, 1) => "↑",
            _ => "↓",
        };
        let label = format!(
            "{arrow} trained point outside: ({}, {})",
            fmt_num(s.trained.0),
            fmt_num(s.trained.1)
        );
        chart.draw_series(std::iter::once(Rectangle::new(
            [
                (x0 + 0.01 * (x1 - x0), y1 - 0.01 * (y1 - y0)),
                (x0 + 0.72 * (x1 - x0), y1 - 0.08 * (y1 - y0)),
            ],
            WHITE.mix(0.85).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            label,
            (x0 + 0.03 * (x1 - x0), y1 - 0.025 * (y1 - y0)),
            ("sans-serif", 14).into_font().color(&RED),
        )))?;
    }
    // The colour bar.
    let decades = hi - lo;
    plot::ViridisBar {
        lo,
        hi,
        label: bar_label,
        labels: if decades >= 2.0 {
            (decades.floor() as usize + 1).min(9)
        } else {
            5
        },
        format: &plot::pow_label,
        margins: (30, 48),
    }
    .draw(&bar)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_never_print_minus_zero() {
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(-0.0004), "0.000");
        assert_eq!(tick(-0.01, 10.0), "0");
        assert_eq!(fmt_num(-4.2), "−4.20");
        assert_eq!(plot::pow_label(-3.0), "1e-3");
    }

    #[test]
    fn levels_span_at_most_the_decades_asked() {
        let v = vec![vec![1e-20, 1e-3, 1.0]];
        let (lo, hi) = log_levels(&v, GRAD_DECADES);
        assert!((hi - 0.0).abs() < 1e-12 && (lo + GRAD_DECADES).abs() < 1e-12);
        let (lo, _) = log_levels(&v, f64::INFINITY);
        assert!((lo + 20.0).abs() < 1e-9);
    }
}
