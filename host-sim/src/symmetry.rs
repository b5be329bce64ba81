//! `symmetry`: why weights are not initialised to one value. A net whose weights all
//! start equal (zeros, or any constant) computes the same output and receives the same
//! gradient in every hidden unit of a layer, so after any amount of training every
//! hidden unit's incoming weights (and bias) are still identical: the net is as wide as
//! one unit per layer. A small random initialisation breaks the symmetry.
//!
//! The experiment: 2-16-16-1 tanh nets with a sigmoid output, MSE, SGD (batch 8) on XOR
//! quadrants (which one unit per layer cannot separate), from zeros, from a constant and
//! from N(0, σ²), over several seeds; per hidden layer the largest difference between
//! any two units' incoming rows (weights and bias) after training, and the accuracy.

use microprop::{train as core_train, Activation, Init, Libm, Loss, Model, Trainer};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::OptimizerArg,
    data::{Data, DatasetKind},
    net, optim,
    plot::{self, Figure},
    Ctx, Output, Res,
};

/// `symmetry`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SymmetryArgs {
    /// Seeds (1 to N) per initialisation.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub seeds: u32,
    /// Training epochs.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub epochs: u32,
    /// The constant every weight of the `constant` nets starts at.
    #[arg(long, default_value_t = 0.3, allow_hyphen_values = true)]
    pub constant: f32,
    /// σ of the small random initialisation N(0, σ²).
    #[arg(long, default_value_t = 0.5)]
    pub sigma: f32,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

/// Hidden and output sizes of the experiment's nets, input first.
pub const LAYERS: [usize; 4] = [2, 16, 16, 1];

/// Learning rate of the SGD steps.
pub const LR: f32 = 0.5;

/// One initialisation's runs.
#[derive(Clone, Debug)]
pub struct Runs {
    /// `zeros`, `constant` or `normal`.
    pub init: &'static str,
    /// `spread[s][l]`: seed `s`, hidden layer `l`: the largest difference, over inputs
    /// (and the bias), between any two units' incoming parameters after training.
    pub spread: Vec<Vec<f64>>,
    /// The same before training.
    pub spread_init: Vec<Vec<f64>>,
    /// Training accuracy after training, per seed.
    pub accuracy: Vec<f64>,
    /// The largest change of any weight or bias during training, per seed (the nets
    /// did train: their symmetry is not that of weights that never moved).
    pub moved: Vec<f64>,
}

/// Every dense weight and bias of `net`, in order.
fn params_of<T: Model<Scalar = f32>>(net: &T) -> Vec<f32> {
    let mut v = Vec::new();
    net.visit_layers(|l| {
        if l.kind == microprop::layer::Kind::Dense {
            v.extend_from_slice(l.w);
            v.extend_from_slice(l.b);
        }
    });
    v
}

/// The largest difference between any two units' incoming rows (weights, then bias) of
/// every dense layer but the last (the hidden layers), first layer first.
pub fn hidden_spread<T: Model<Scalar = f32>>(net: &T) -> Vec<f64> {
    let mut out = Vec::new();
    let mut dense = Vec::new();
    net.visit_layers(|l| {
        if l.kind == microprop::layer::Kind::Dense {
            let (n, k) = (l.outputs, l.inputs);
            let mut worst = 0.0f64;
            for i in 0..=k {
                let col = (0..n).map(|o| {
                    if i < k {
                        l.w.get(o * k + i).copied().unwrap_or(0.0)
                    } else {
                        l.b.get(o).copied().unwrap_or(0.0)
                    }
                });
                let (lo, hi) = col.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
                if n > 0 {
                    worst = worst.max(f64::from(hi) - f64::from(lo));
                }
            }
            dense.push(worst);
        }
    });
    if let Some((_, hidden)) = dense.split_last() {
        out.extend_from_slice(hidden);
    }
    out
}

/// Trains one net from `init` (`constant`: every weight `c`; biases 0) on seed `seed`'s
/// XOR data; returns the hidden spreads before and after, the accuracy and the largest
/// change of any parameter.
///
/// # Errors
/// Core errors.
pub fn run_one(
    init: &str,
    c: f32,
    sigma: f32,
    seed: u64,
    epochs: u32,
) -> Res<(Vec<f64>, Vec<f64>, f64, f64)> {
    let mut rng = microprop::rng(seed);
    let data = Data::generate(DatasetKind::Xor, 200, 2, 0.1, &mut rng)?;
    let layers = net::dense_layers::<f32>(&LAYERS, Activation::Tanh, Activation::Sigmoid)?;
    let core_init = match init {
        "normal" => Init::Normal(sigma),
        _ => Init::Zeros,
    };
    let mut net = net::build::<f32, Libm>(layers, core_init, 0.0, 1, &mut rng)?;
    if init == "constant" {
        net.visit_layers_mut(|l| {
            if l.kind == microprop::layer::Kind::Dense {
                l.w.iter_mut().for_each(|w| *w = c);
            }
        });
    }
    let before = hidden_spread(&net);
    let start = params_of(&net);
    let view = data.view()?;
    let mut opt = optim::new::<Libm>(OptimizerArg::Sgd, LR, net.params())?;
    let mut trainer = Trainer::new(Loss::Mse, 8)?;
    let mut order = vec![0u16; data.len()];
    core_train::fill_order(&mut order)?;
    for _ in 0..epochs {
        trainer.epoch(&mut net, &mut opt, &view, &mut order, &mut rng)?;
    }
    let m = core_train::evaluate(&mut net, Loss::Mse, &view)?;
    let moved = params_of(&net)
        .iter()
        .zip(&start)
        .map(|(a, b)| f64::from((a - b).abs()))
        .fold(0.0, f64::max);
    Ok((before, hidden_spread(&net), f64::from(m.accuracy), moved))
}

/// Every initialisation over seeds 1 to `a.seeds`.
///
/// # Errors
/// Core errors.
pub fn sweep(a: &SymmetryArgs) -> Res<Vec<Runs>> {
    let mut all = Vec::new();
    for init in ["zeros", "constant", "normal"] {
        let mut r = Runs {
            init,
            spread: Vec::new(),
            spread_init: Vec::new(),
            accuracy: Vec::new(),
            moved: Vec::new(),
        };
        for seed in 1..=u64::from(a.seeds) {
            let (b, s, acc, moved) = run_one(init, a.constant, a.sigma, seed, a.epochs)?;
            r.moved.push(moved);
            r.spread_init.push(b);
            r.spread.push(s);
            r.accuracy.push(acc);
        }
        all.push(r);
    }
    Ok(all)
}

/// The sweep as JSON, keyed by initialisation.
pub fn json_of(a: &SymmetryArgs, runs: &[Runs]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for r in runs {
        m.insert(
            r.init.into(),
            json!({
                "spread_init": r.spread_init,
                "spread": r.spread,
                "max_spread": r.spread.iter().flatten().copied().fold(0.0, f64::max),
                "accuracy": r.accuracy,
                "moved": r.moved,
            }),
        );
    }
    json!({
        "layers": LAYERS, "activation": "tanh", "dataset": "xor", "lr": LR,
        "epochs": a.epochs, "seeds": a.seeds, "constant": a.constant, "sigma": a.sigma,
        "inits": m,
    })
}

/// `microprop-sim symmetry`.
pub fn run(a: &SymmetryArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    if !(a.constant.is_finite() && a.sigma.is_finite() && a.sigma > 0.0) {
        return crate::ctx::usage("--constant must be finite and --sigma finite and > 0");
    }
    let runs = sweep(a)?;
    if let Some(p) = &a.plot {
        plot::save(&SymmetryFigure { runs: &runs }, p)?;
    }
    let mut text = format!(
        "2-16-16-1 tanh, sigmoid output, MSE, SGD lr {LR}, XOR, {} epochs, seeds 1-{}\n",
        a.epochs, a.seeds
    );
    for r in &runs {
        let worst = r.spread.iter().flatten().copied().fold(0.0, f64::max);
        text += &format!(
            "{:<9} max difference between two hidden units' rows after training {:.3e}  largest weight change {:?}  accuracy {:?}\n",
            r.init,
            worst,
            r.moved.iter().map(|m| format!("{m:.2}")).collect::<Vec<_>>(),
            r.accuracy
                .iter()
                .map(|x| format!("{:.1} %", x * 100.0))
                .collect::<Vec<_>>()
        );
    }
    Ok(Output {
        json: json_of(a, &runs),
        text,
    })
}

/// Two panels: per initialisation and hidden layer the largest row difference after
/// training (the mean over seeds; 0 is labelled "0 exactly"), and the accuracy per seed.
pub struct SymmetryFigure<'a> {
    /// The sweep.
    pub runs: &'a [Runs],
}

impl Figure for SymmetryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 500)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        let n = self.runs.len() as f64;
        let layers = self
            .runs
            .first()
            .map_or(0, |r| r.spread.first().map_or(0, Vec::len));
        let top = self
            .runs
            .iter()
            .flat_map(|r| r.spread.iter().flatten().copied())
            .fold(0.0, f64::max)
            .max(1e-3)
            * 1.2;
        let names: Vec<&str> = self.runs.iter().map(|r| r.init).collect();
        let fmt_names = names.clone();
        let mut chart = ChartBuilder::on(&panels[0])
            .caption(
                "after training: max difference between two hidden units' rows",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n - 0.5, 0.0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(self.runs.len())
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    fmt_names
                        .get(i as usize)
                        .map_or(String::new(), |s| (*s).to_string())
                } else {
                    String::new()
                }
            })
            .y_desc("max |w_j − w_k| over units j, k (weights and bias)")
            .label_style(("sans-serif", 13))
            .draw()?;
        let w = 0.7 / layers.max(1) as f64;
        for (i, r) in self.runs.iter().enumerate() {
            for l in 0..layers {
                let mean = r.spread.iter().filter_map(|s| s.get(l)).sum::<f64>()
                    / r.spread.len().max(1) as f64;
                let x0 = i as f64 - 0.35 + w * l as f64;
                let c = plot::series_color(l);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x0 + w * 0.9, mean)],
                    c.filled(),
                )))?;
                let label = if mean == 0.0 {
                    format!("layer {}: 0 exactly", l + 1)
                } else {
                    format!("layer {}: {mean:.2}", l + 1)
                };
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    (x0, mean + top * 0.03 + top * 0.05 * l as f64),
                    ("sans-serif", 12),
                )))?;
            }
        }
        let mut acc = ChartBuilder::on(&panels[1])
            .caption("training accuracy on XOR (each seed)", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n - 0.5, 0.0f64..105.0)?;
        acc.configure_mesh()
            .disable_x_mesh()
            .x_labels(self.runs.len())
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names
                        .get(i as usize)
                        .map_or(String::new(), |s| (*s).to_string())
                } else {
                    String::new()
                }
            })
            .y_desc("accuracy (%)")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, r) in self.runs.iter().enumerate() {
            let k = r.accuracy.len().max(1) as f64;
            acc.draw_series(r.accuracy.iter().enumerate().map(|(s, &a)| {
                let x = i as f64 + (s as f64 - (k - 1.0) / 2.0) * 0.08;
                Circle::new((x, a * 100.0), 5, plot::series_color(i).filled())
            }))?;
        }
        Ok(())
    }
}
