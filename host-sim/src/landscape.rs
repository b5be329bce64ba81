//! `landscape`: the notes' Experiment A. A 2-layer and a 9-layer all-2-wide sigmoid net
//! are trained on two clusters; then, every other parameter kept at its trained value, the
//! first-layer weights `w[0][0]` (input 0 → neuron 0) and `w[1][0]` (input 0 → neuron 1)
//! are swept over a grid, and the mean loss and the norm of the mean gradient with respect
//! to those two weights are recorded at each point.

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
    net,
    plot::{self, Figure, Heatmap},
    Ctx, Output, Res,
};

/// Index of `w[1][0]` in the first layer's row-major weights (2 inputs per row).
const W10: usize = 2;

/// One net's surfaces and their summary.
#[derive(Clone, Debug)]
pub struct Surface {
    /// `"2-layer"` or `"9-layer"`.
    pub name: String,
    /// Layer sizes.
    pub sizes: Vec<usize>,
    /// Accuracy after training.
    pub accuracy: f64,
    /// The seed of the measured net.
    pub seed: u64,
    /// Trained `(w[0][0], w[1][0])`.
    pub trained: (f64, f64),
    /// Grid coordinates (both axes).
    pub axis: Vec<f64>,
    /// Mean loss, `[iy][ix]` (y = `w[1][0]`, x = `w[0][0]`).
    pub loss: Vec<Vec<f64>>,
    /// Norm of the mean gradient with respect to the two swept weights.
    pub grad: Vec<Vec<f64>>,
    /// Share of grid points with gradient norm < 1e-3 × the surface's maximum.
    pub plateau_fraction: f64,
    /// The surface's maximum gradient norm.
    pub peak_grad: f64,
    /// Share of grid points with gradient norm > ½ × the maximum.
    pub band_width: f64,
    /// Loss range over the grid (max − min).
    pub loss_range: f64,
}

/// Trains an all-2-wide sigmoid net with `hidden` hidden layers and sweeps it. If the net
/// ends below [`MIN_ACCURACY`], it is trained again from the next seed (at most
/// [`ATTEMPTS`] seeds); [`Surface::seed`] tells which one was measured.
///
/// # Errors
/// Core errors.
pub fn surface(hidden: usize, a: &LandscapeArgs, ctx: &Ctx) -> Res<Surface> {
    surface_attempt(
        hidden,
        a.spread,
        a.grid as usize,
        f64::from(a.range),
        a.epochs,
        a.lr,
        Init::Normal(a.init_scale),
        a.seed,
        0,
        ctx,
    )
}

/// Accuracy a net must reach before its surfaces are measured.
pub const MIN_ACCURACY: f64 = 0.9;
/// Seeds tried (`seed`, `seed + 1`, …) before measuring an untrained net anyway.
pub const ATTEMPTS: u64 = 10;

#[allow(clippy::too_many_arguments)]
fn surface_attempt(
    hidden: usize,
    spread: f32,
    grid: usize,
    range: f64,
    epochs: u32,
    lr: f32,
    init: Init,
    seed: u64,
    attempt: u64,
    ctx: &Ctx,
) -> Res<Surface> {
    let mut rng = microprop::rng(seed + attempt);
    let n = 200;
    let mut x = vec![[0.0f32; 2]; n];
    let mut labels = vec![0u8; n];
    Clusters::two(spread).generate(&mut rng, &mut x, &mut labels)?;
    if !x.iter().flatten().all(|v| v.is_finite()) {
        return usage(format!("--spread {spread:e}: the data overflows f32"));
    }
    let data = Dataset::new(&x, &labels)?;
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
    let mut opt = Sgd::new(lr)?;
    let mut trainer = Trainer::new(Loss::Mse, 8)?;
    let mut order = vec![0u16; n];
    core_train::fill_order(&mut order)?;
    let name = format!("{hidden}-layer");
    let pb = ctx.progress(u64::from(epochs) + grid as u64, &name);
    for _ in 0..epochs {
        trainer.epoch(&mut net, &mut opt, &data, &mut order, &mut rng)?;
        pb.inc(1);
    }
    pb.finish_and_clear();
    let accuracy = f64::from(core_train::evaluate(&mut net, Loss::Mse, &data)?.accuracy);
    if accuracy < MIN_ACCURACY && attempt + 1 < ATTEMPTS {
        // Deep sigmoid nets often do not train at all (the notes' point); the surfaces of an
        // untrained net say nothing about the trained one, so draw again.
        return surface_attempt(
            hidden,
            spread,
            grid,
            range,
            epochs,
            lr,
            init,
            seed,
            attempt + 1,
            ctx,
        );
    }
    let pb = ctx.progress(grid as u64, &name);
    let trained = {
        let w = net::first_weights(&net);
        (f64::from(w[0]), f64::from(w[W10]))
    };
    let axis: Vec<f64> = (0..grid)
        .map(|i| -range + 2.0 * range * i as f64 / (grid - 1) as f64)
        .collect();
    // The core's loss-slice evaluator: every other parameter stays at its trained value.
    let ax = |param| Axis {
        param,
        from: -range,
        to: range,
        steps: grid,
    };
    let mut losses = vec![0.0f32; grid * grid];
    let mut grads = vec![0.0f32; grid * grid];
    diagnostics::loss_slice(
        &mut net,
        Loss::Mse,
        &data,
        ax(Param::weight(0, 0, 0)),
        ax(Param::weight(0, 1, 0)),
        SliceGrad::Swept,
        &mut losses,
        &mut grads,
    )?;
    let rows = |v: &[f32]| -> Vec<Vec<f64>> {
        v.chunks(grid)
            .map(|r| r.iter().map(|&x| f64::from(x)).collect())
            .collect()
    };
    let (loss, grad) = (rows(&losses), rows(&grads));
    pb.inc(grid as u64);
    pb.finish_and_clear();
    net.zero_grads();
    let all: Vec<f64> = grad.iter().flatten().copied().collect();
    let peak = all.iter().copied().fold(0.0, f64::max);
    let total = all.len() as f64;
    let plateau = all.iter().filter(|&&g| g < 1e-3 * peak).count() as f64 / total;
    let band = all.iter().filter(|&&g| g > 0.5 * peak).count() as f64 / total;
    let lmin = loss.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let lmax = loss
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    Ok(Surface {
        name,
        sizes,
        accuracy,
        seed: seed + attempt,
        trained,
        axis,
        loss,
        grad,
        plateau_fraction: plateau,
        peak_grad: peak,
        band_width: band,
        loss_range: lmax - lmin,
    })
}

/// Both surfaces with the command's flags.
///
/// # Errors
/// Core errors.
pub fn both(a: &LandscapeArgs, ctx: &Ctx) -> Res<[Surface; 2]> {
    Ok([surface(2, a, ctx)?, surface(9, a, ctx)?])
}

/// Writes the figure as PNG and SVG next to `path`.
///
/// # Errors
/// Drawing or file errors.
pub fn save(s: &[Surface; 2], path: &Path) -> Res<()> {
    let fig = LandscapeFigure { s };
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
    let s = both(a, ctx)?;
    if let Some(p) = &a.plot {
        save(&s, p)?;
    }
    let mut text = format!(
        "loss and gradient surfaces over first-layer w[0][0] × w[1][0] ∈ [−{r}, {r}]², {g}×{g} grid\n",
        r = a.range,
        g = a.grid
    );
    for x in &s {
        text += &format!(
            "{:<8} (seed {}) accuracy {:>5.1} %  plateau_fraction {:.3}  peak_grad {:.3e}  band_width {:.3}  loss range {:.4}\n",
            x.name,
            x.seed,
            x.accuracy * 100.0,
            x.plateau_fraction,
            x.peak_grad,
            x.band_width,
            x.loss_range
        );
    }
    if let Some(p) = &a.plot {
        text += &format!(
            "figure: {} and {}\n",
            p.with_extension("png").display(),
            p.with_extension("svg").display()
        );
    }
    let json = run_json(a, &s);
    Ok(Output { json, text })
}

/// The command's JSON for surfaces `s` measured with flags `a`.
pub fn run_json(a: &LandscapeArgs, s: &[Surface; 2]) -> serde_json::Value {
    let net = |x: &Surface| {
        json!({
            "sizes": x.sizes,
            "accuracy": x.accuracy,
            "seed": x.seed,
            "trained": [x.trained.0, x.trained.1],
            "plateau_fraction": x.plateau_fraction,
            "peak_grad": x.peak_grad,
            "band_width": x.band_width,
            "loss_range": x.loss_range,
        })
    };
    json!({
        "grid": a.grid,
        "range": a.range,
        "epochs": a.epochs,
        "lr": a.lr,
        "init": format!("normal({})", a.init_scale),
        "two_layer": net(&s[0]),
        "nine_layer": net(&s[1]),
    })
}

struct LandscapeFigure<'a> {
    s: &'a [Surface; 2],
}

impl Figure for LandscapeFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 1040)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((2, 2));
        for (row, s) in self.s.iter().enumerate() {
            let marker = Some(s.trained);
            Heatmap {
                title: format!("{} loss", s.name),
                x_label: "w[0][0]",
                y_label: "w[1][0]",
                xs: &s.axis,
                ys: &s.axis,
                values: &s.loss,
                log: false,
                marker,
            }
            .draw(&panels[row * 2])?;
            Heatmap {
                title: format!(
                    "{} ‖∇‖ (plateau {:.0} %)",
                    s.name,
                    s.plateau_fraction * 100.0
                ),
                x_label: "w[0][0]",
                y_label: "w[1][0]",
                xs: &s.axis,
                ys: &s.axis,
                values: &s.grad,
                log: false,
                marker,
            }
            .draw(&panels[row * 2 + 1])?;
        }
        Ok(())
    }
}
