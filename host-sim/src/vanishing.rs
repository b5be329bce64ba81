//! `vanishing`: per-layer gradient norms at initialisation, by activation and depth.

use microprop::{data::Clusters, Activation, Dataset, Init, Libm, Loss};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Map, Value};

use crate::{
    cli::{HiddenAct, VanishingArgs},
    limits, net,
    plot::{self, Figure, Lines},
    stats, Ctx, Output, Res,
};

/// The default initialiser of an activation: He for the ReLU family, Xavier otherwise.
pub fn default_init(act: Activation) -> Init {
    match act {
        Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_) | Activation::Gelu => {
            Init::HeNormal
        }
        _ => Init::XavierNormal,
    }
}

/// Per-layer mean-gradient norms of a `2 → depth × width → 1` net (sigmoid output, MSE)
/// over `samples` points of the two clusters, at initialisation.
///
/// # Errors
/// Core errors (none for valid sizes).
pub fn grad_norms(
    act: Activation,
    init: Init,
    depth: usize,
    width: usize,
    samples: usize,
    seed: u64,
) -> Res<Vec<f64>> {
    let mut rng = microprop::rng(seed);
    let mut x = vec![[0.0f32; 2]; samples];
    let mut labels = vec![0u8; samples];
    Clusters::two(0.7).generate(&mut rng, &mut x, &mut labels)?;
    let data = Dataset::new(&x, &labels)?;
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(width, depth));
    sizes.push(1);
    let mut net = net::dense::<f32, Libm>(&sizes, act, Activation::Sigmoid, init, 0.0, &mut rng)?;
    Ok(stats::grad_norms(&mut net, Loss::Mse, &data)?)
}

/// `first / last` of a norm list: ∞ when only the last is 0, NaN (JSON `null`) when both
/// are (a net whose units are all dead passes no gradient at all).
pub fn first_over_last(norms: &[f64]) -> f64 {
    match (norms.first(), norms.last()) {
        (Some(&f), Some(&l)) if l > 0.0 => f / l,
        (Some(&f), Some(_)) if f > 0.0 => f64::INFINITY,
        _ => f64::NAN,
    }
}

/// `microprop-sim vanishing`.
pub fn run(a: &VanishingArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(a.width as usize, a.depth as usize));
    sizes.push(1);
    let specs = limits::dense_specs(&sizes, Activation::Relu, Activation::Sigmoid);
    limits::Footprint::of(&specs, 1)
        .plus(u64::from(a.samples) * (2 * 4 + 1))
        .check("--depth and --width")?;
    let mut norms = Map::new();
    let mut ratios = Map::new();
    let mut inits = Map::new();
    let mut series = Vec::new();
    let mut text = format!(
        "per-layer gradient norms at init: 2 → {} × {} → 1, sigmoid output, MSE, {} samples\n",
        a.depth, a.width, a.samples
    );
    let mut acts: Vec<HiddenAct> = Vec::new();
    for &h in &a.activation {
        if !acts.contains(&h) {
            acts.push(h);
        }
    }
    for h in acts {
        let act = h.activation();
        // The flag's spelling: the name, with `:α` unless α is the usual one.
        let label = h.to_string();
        let init = match a.init {
            None => default_init(act),
            Some(i) => crate::train::init_of(i, None).0,
        };
        let g = grad_norms(
            act,
            init,
            a.depth as usize,
            a.width as usize,
            a.samples as usize,
            a.seed,
        )?;
        let r = first_over_last(&g);
        text += &format!(
            "{:<11} ({:<13}) first/last = {:.3e}   norms: {}\n",
            label,
            init.name(),
            r,
            g.iter()
                .map(|v| format!("{v:.1e}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        series.push((
            format!("{label} ({})", init.name()),
            g.iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect::<Vec<_>>(),
        ));
        norms.insert(label.clone(), json!(g));
        ratios.insert(label.clone(), json_f64(r));
        inits.insert(label, json!(init.name()));
    }
    if let Some(p) = &a.plot {
        let fig = VanishingFigure {
            lines: Lines {
                title: format!(
                    "gradient norm per layer at init (depth {}, width {})",
                    a.depth, a.width
                ),
                x_label: "layer (1 = first)",
                y_label: "‖∂L/∂θ‖ (mean over data)",
                series,
                log_y: true,
                points: true,
                legend: SeriesLabelPosition::LowerRight,
            },
        };
        plot::save(&fig, p)?;
        text += &format!("plot: {}\n", p.display());
    }
    let json = json!({
        "depth": a.depth,
        "width": a.width,
        "samples": a.samples,
        "init": inits,
        "grad_norms": norms,
        "first_over_last": ratios,
    });
    Ok(Output { json, text })
}

/// A float as JSON (non-finite values as null).
pub fn json_f64(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

struct VanishingFigure<'a> {
    lines: Lines<'a>,
}

impl Figure for VanishingFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 560)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        self.lines.draw(root)
    }
}
