//! `init`: lecture 6's figure. Standard-normal inputs go through a 10-layer net (tanh, or
//! ReLU) of equal widths, no biases; the activations of every layer are recorded for each
//! initialiser: small random N(0, 0.01²), large random N(0, 1), Xavier (σ² = 1/fan_in for
//! square layers) and He (σ² = 2/fan_in).

use microprop::{layer::Pass, train as core_train, Activation, Dataset, Init, Libm, Model};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Map};

use crate::{
    cli::InitArgs,
    limits, net,
    plot::{self, Figure, Lines},
    stats, Ctx, Output, Res,
};

/// The initialisers compared, with their names in the JSON.
pub const INITS: [(&str, Init); 4] = [
    ("small", Init::Normal(0.01)),
    ("large", Init::Normal(1.0)),
    ("xavier", Init::XavierNormal),
    ("he", Init::HeNormal),
];

/// The nets compared.
pub const NETS: [(&str, Activation); 2] = [("tanh", Activation::Tanh), ("relu", Activation::Relu)];

/// Histogram bins per layer: over [-1, 1] for tanh; for ReLU over [0, mean + 3 std] of that
/// layer ([`hist_range`]), since its scale changes by orders of magnitude between layers.
pub const BINS: usize = 40;

/// The legend name of an initialiser ([`INITS`]), with its σ.
pub fn label(init: &str) -> &'static str {
    match init {
        "small" => "small N(0, 0.01²)",
        "large" => "large N(0, 1)",
        "xavier" => "Xavier σ = 1/√fan_in",
        "he" => "He σ = √(2/fan_in)",
        _ => "?",
    }
}

/// The histogram range of one layer's activations: [-1, 1] for tanh (bounded), else
/// [0, mean + 3 std] (ReLU; a positive width even when every activation is 0).
pub fn hist_range(act: Activation, mean: f64, std: f64) -> (f64, f64) {
    if act == Activation::Tanh {
        (-1.0, 1.0)
    } else {
        let hi = mean + 3.0 * std;
        (0.0, if hi.is_finite() && hi > 0.0 { hi } else { 1.0 })
    }
}

/// Activations of each layer for one net and initialiser.
#[derive(Clone, Debug)]
pub struct Run {
    /// Net name.
    pub net: &'static str,
    /// Initialiser name.
    pub init: &'static str,
    /// Mean per layer.
    pub mean: Vec<f64>,
    /// Standard deviation per layer.
    pub std: Vec<f64>,
    /// Histogram per layer (counts in [`BINS`] bins over that layer's `ranges` entry).
    pub hist: Vec<Vec<u32>>,
    /// Range of each layer's histogram ([`hist_range`]).
    pub ranges: Vec<(f64, f64)>,
    /// Share of each layer's activations that are exactly 0 (ReLU's negative side; left
    /// out of its histogram, where their spike would flatten every other bar).
    pub zeros: Vec<f64>,
}

/// What [`runs`] holds at once: one net of `layers` square layers of `width` (one row of
/// buffers), the inputs (f32) and every layer's activations for every sample (f64).
pub fn plan(width: usize, layers: usize, samples: usize) -> limits::Footprint {
    let sizes = vec![width; layers + 1];
    let specs = limits::dense_specs(&sizes, Activation::Tanh, Activation::Tanh);
    let cells = (samples as u64).saturating_mul(width as u64);
    limits::Footprint::of(&specs, 1)
        .plus(cells.saturating_mul(4))
        .plus(cells.saturating_mul(layers as u64).saturating_mul(8))
}

/// Runs every net × initialiser.
///
/// # Errors
/// Core errors.
pub fn runs(width: usize, layers: usize, samples: usize, seed: u64, ctx: &Ctx) -> Res<Vec<Run>> {
    let mut rng = microprop::rng(seed);
    let xs: Vec<f32> = (0..samples * width)
        .map(|_| microprop::rng::normal(&mut rng) as f32)
        .collect();
    let labels = vec![0u8; samples];
    let data = Dataset::from_flat(&xs, &labels, width)?;
    let sizes = vec![width; layers + 1];
    let pb = ctx.progress((NETS.len() * INITS.len()) as u64, "init");
    let mut out = Vec::new();
    for (net_name, act) in NETS {
        for (init_name, init) in INITS {
            let mut wrng = microprop::rng(seed ^ 0x9e37);
            let mut net = net::dense::<f32, Libm>(&sizes, act, act, init, 0.0, &mut wrng)?;
            let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(samples * width); layers];
            // The core's forward walk over the data (eval mode), every layer's outputs
            // recorded after each pass.
            core_train::walk_all(
                &mut net,
                None,
                &data,
                &mut Pass::eval(),
                None,
                Some(&mut |m: &net::HostNet<f32, Libm>| {
                    let mut slots = values.iter_mut();
                    m.visit_layers(|l| {
                        if let Some(v) = slots.next() {
                            v.extend(l.a.iter().map(|&a| f64::from(a)));
                        }
                    });
                }),
            )?;
            let mut mean = Vec::new();
            let mut std = Vec::new();
            let mut hist = Vec::new();
            let mut ranges = Vec::new();
            let mut zeros = Vec::new();
            for v in &values {
                let (m, s) = stats::mean_std(v.iter().copied());
                mean.push(m);
                std.push(s);
                let range = hist_range(act, m, s);
                ranges.push(range);
                let mut h = vec![0u32; BINS];
                let relu = act != Activation::Tanh;
                let zero = v.iter().filter(|&&a| a == 0.0).count();
                zeros.push(zero as f64 / v.len().max(1) as f64);
                for &a in v.iter().filter(|&&a| !(relu && a == 0.0)) {
                    let t = (a - range.0) / (range.1 - range.0);
                    if (0.0..=1.0).contains(&t) {
                        h[((t * BINS as f64) as usize).min(BINS - 1)] += 1;
                    }
                }
                hist.push(h);
            }
            out.push(Run {
                net: net_name,
                init: init_name,
                mean,
                std,
                hist,
                ranges,
                zeros,
            });
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    Ok(out)
}

/// Writes the std chart to `path` and the histograms to `<stem>-tanh`, `<stem>-relu`.
///
/// # Errors
/// Drawing errors.
pub fn save(r: &[Run], path: &std::path::Path) -> Res<()> {
    plot::save(&StdFigure { r }, path)?;
    for (net, _) in NETS {
        plot::save(&HistFigure { r, net }, &plot::sibling(path, net))?;
    }
    Ok(())
}

/// `microprop-sim init`.
pub fn run(a: &InitArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    plan(a.width as usize, a.layers as usize, a.samples as usize)
        .check("--width, --layers and --samples")?;
    let r = runs(
        a.width as usize,
        a.layers as usize,
        a.samples as usize,
        a.seed,
        ctx,
    )?;
    let mut text = format!(
        "activation std per layer, {} layers of {}, {} standard-normal inputs, no biases\n",
        a.layers, a.width, a.samples
    );
    let mut std_map = Map::new();
    let mut mean_map = Map::new();
    for (net, _) in NETS {
        let mut s = Map::new();
        let mut m = Map::new();
        for x in r.iter().filter(|x| x.net == net) {
            text += &format!(
                "{net:<5} {:<7} {}\n",
                x.init,
                x.std
                    .iter()
                    .map(|v| format!("{v:.2e}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            s.insert(x.init.into(), json!(x.std));
            m.insert(x.init.into(), json!(x.mean));
        }
        std_map.insert(net.into(), s.into());
        mean_map.insert(net.into(), m.into());
    }
    if let Some(p) = &a.plot {
        save(&r, p)?;
        text += &format!(
            "plots: {}, {}, {}\n",
            p.display(),
            plot::sibling(p, "tanh").display(),
            plot::sibling(p, "relu").display()
        );
    }
    let json = json!({
        "width": a.width,
        "layers": a.layers,
        "samples": a.samples,
        "std_per_layer": std_map,
        "mean_per_layer": mean_map,
    });
    Ok(Output { json, text })
}

struct StdFigure<'a> {
    r: &'a [Run],
}

impl Figure for StdFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        for ((net, _), area) in NETS.iter().zip(panels.iter()) {
            Lines {
                title: format!("{net} net: std of each layer's activations (log scale)"),
                x_label: "layer (1 = first hidden layer)",
                y_label: "std of the layer's activations (unitless)",
                series: self
                    .r
                    .iter()
                    .filter(|x| x.net == *net)
                    .map(|x| {
                        (
                            label(x.init).to_string(),
                            x.std
                                .iter()
                                .enumerate()
                                .map(|(i, &s)| ((i + 1) as f64, s))
                                .collect(),
                        )
                    })
                    .collect(),
                log_y: true,
                points: true,
                legend: SeriesLabelPosition::LowerLeft,
            }
            .draw(area)?;
        }
        Ok(())
    }
}

struct HistFigure<'a> {
    r: &'a [Run],
    net: &'static str,
}

impl Figure for HistFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1500, 700)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let runs: Vec<&Run> = self.r.iter().filter(|x| x.net == self.net).collect();
        let layers = runs.first().map_or(0, |r| r.hist.len());
        let root = root.titled(
            &format!(
                "{} net: activation histograms, layer 1 to {layers} (columns) for each initialiser (rows)",
                self.net
            ),
            ("sans-serif", 19),
        )?;
        let (strip, root) = root.split_vertically(22);
        let (zlo, zhi) = runs
            .iter()
            .flat_map(|r| r.zeros.iter().copied())
            .fold((f64::INFINITY, 0.0f64), |(a, b), z| (a.min(z), b.max(z)));
        strip.draw(&Text::new(
            format!(
                "rows: {}.  x: {}.  std: of the layer's activations.",
                INITS.map(|(n, _)| label(n)).join(", "),
                if self.net == "tanh" {
                    "[-1, 1]".to_string()
                } else {
                    format!(
                        "[0, mean + 3 std] per layer; the exact zeros ({:.0}–{:.0} % of a layer) not drawn",
                        zlo * 100.0,
                        zhi * 100.0
                    )
                }
            ),
            (12, 2),
            ("sans-serif", 14),
        ))?;
        let rows = root.split_evenly((runs.len(), layers.max(1)));
        for (ri, run) in runs.iter().enumerate() {
            for (li, h) in run.hist.iter().enumerate() {
                let area = &rows[ri * layers + li];
                let range = run.ranges[li];
                let total: u32 = h.iter().sum::<u32>().max(1);
                let peak = h.iter().copied().max().unwrap_or(1).max(1) as f64 / total as f64;
                let caption = if li == 0 {
                    format!("{} L1 std {}", run.init, plot::num(run.std[li]))
                } else {
                    format!("L{} std {}", li + 1, plot::num(run.std[li]))
                };
                let mut chart = ChartBuilder::on(area)
                    .caption(caption, ("sans-serif", 12))
                    .margin_top(3)
                    .margin_bottom(3)
                    .margin_left(14)
                    .margin_right(14)
                    .x_label_area_size(16)
                    .build_cartesian_2d(range.0..range.1, 0.0..peak * 1.05)?;
                // Three ticks (both ends and the middle), short labels: the ends of
                // neighbouring panels are 28 px apart.
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .disable_y_axis()
                    .x_labels(3)
                    .x_label_formatter(&|v| plot::num(*v))
                    .label_style(("sans-serif", 10))
                    .draw()?;
                let bw = (range.1 - range.0) / h.len() as f64;
                chart.draw_series(h.iter().enumerate().map(|(i, &c)| {
                    let x0 = range.0 + i as f64 * bw;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + bw, f64::from(c) / f64::from(total))],
                        plot::series_color(ri).filled(),
                    )
                }))?;
            }
        }
        Ok(())
    }
}
