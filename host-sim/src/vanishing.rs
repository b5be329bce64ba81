//! `vanishing`: per-layer gradient norms at initialisation, by activation, initialiser
//! and depth, over seeds.
//!
//! Layers differ in parameter count (the first has `3·width`, the hidden ones
//! `width² + width`, the output `width + 1`), so the layers are compared by the
//! **per-parameter** norm `‖g‖ / √n`: the RMS of the mean gradient over the layer's `n`
//! weights and biases. The regime of a run is read off those norms
//! ([`Regime::classify`]): a first/last ratio near 1 does not say the gradient flows,
//! since every layer may have collapsed to ~0 together.

use microprop::{data::Clusters, Activation, Dataset, Init, Libm, Loss, Model};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Map, Value};

use crate::{
    cli::{HiddenAct, InitArg, VanishingArgs},
    ctx::usage,
    limits, net,
    plot::{self, Figure},
    stats, Ctx, Output, Res,
};

/// Below this per-parameter gradient norm (in every hidden layer) a run is
/// [`Regime::Collapsed`], whatever its first/last ratio.
pub const COLLAPSE_FLOOR: f64 = 1e-8;

/// A first/last per-parameter ratio below this is [`Regime::Vanishing`].
pub const VANISHING_BELOW: f64 = 0.1;

/// A first/last per-parameter ratio above this is [`Regime::Exploding`].
pub const EXPLODING_ABOVE: f64 = 10.0;

/// The default initialiser of an activation: He for the ReLU family, Xavier otherwise.
pub fn default_init(act: Activation) -> Init {
    crate::train::init_of(default_init_arg(act), None).0
}

/// The `--init` of an activation when none is given: `he` for the ReLU family, `xavier`
/// otherwise (as [`default_init`]).
pub fn default_init_arg(act: Activation) -> InitArg {
    match act {
        Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_) | Activation::Gelu => {
            InitArg::He
        }
        _ => InitArg::Xavier,
    }
}

/// An initialiser as the figures name it: `N(0, 0.01²)`, `Xavier`, `He ×2`, `zeros`.
pub fn init_label(init: InitArg, scale: Option<f32>) -> String {
    let (i, mult) = crate::train::init_of(init, scale);
    let times = if mult == 1.0 {
        String::new()
    } else {
        format!(" ×{mult}")
    };
    match i {
        Init::Normal(s) => format!("N(0, {s}²)"),
        Init::XavierNormal => format!("Xavier{times}"),
        Init::HeNormal => format!("He{times}"),
        other => other.name().to_string(),
    }
}

/// Checks `--init-scale` against `--init` before any work.
///
/// # Errors
/// A usage error for a scale given with `zeros` (which has none).
pub fn check_scale(init: InitArg, scale: Option<f32>) -> Res<()> {
    match (init, scale) {
        (InitArg::Zeros, Some(s)) => usage(format!(
            "--init-scale {s}: --init zeros has no scale (every weight is 0)"
        )),
        _ => Ok(()),
    }
}

/// Parameters (weights and biases) of each dense layer of `sizes` (input first).
pub fn params_per_layer(sizes: &[usize]) -> Vec<usize> {
    sizes.windows(2).map(|w| w[0] * w[1] + w[1]).collect()
}

/// `2 → depth × width → 1`.
fn sizes_of(depth: usize, width: usize) -> Vec<usize> {
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(width, depth));
    sizes.push(1);
    sizes
}

/// Per-layer mean-gradient norms (weights and biases of each layer together, L2) of a
/// `2 → depth × width → 1` net (sigmoid output, MSE) over `samples` points of the two
/// clusters, at initialisation by `init` with its weights times `mult` (as `train`'s
/// `--init-scale` for `xavier`/`he`).
///
/// # Errors
/// Core errors (none for valid sizes); a usage error if the scaled weights overflow f32.
pub fn grad_norms(
    act: Activation,
    (init, mult): (Init, f32),
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
    let sizes = sizes_of(depth, width);
    let mut net = net::dense::<f32, Libm>(&sizes, act, Activation::Sigmoid, init, 0.0, &mut rng)?;
    if mult != 1.0 {
        net.visit_layers_mut(|l| {
            if l.kind == microprop::layer::Kind::Dense {
                l.w.iter_mut().for_each(|w| *w *= mult);
            }
        });
        if !net::weights_finite(&net) {
            return usage(format!(
                "--init-scale {mult}: the initial weights overflow f32"
            ));
        }
    }
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

/// How the gradient at initialisation behaves across the layers of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// The first hidden layer's per-parameter norm is below [`VANISHING_BELOW`] × the
    /// last hidden layer's.
    Vanishing,
    /// The first hidden layer's per-parameter norm is above [`EXPLODING_ABOVE`] × the
    /// last hidden layer's (the gradient grows toward the input).
    Exploding,
    /// Every hidden layer's per-parameter norm is below [`COLLAPSE_FLOOR`] (whatever the
    /// ratio).
    Collapsed,
    /// None of the above: the ratio is within [[`VANISHING_BELOW`], [`EXPLODING_ABOVE`]].
    Stable,
}

impl Regime {
    /// The JSON and text name.
    pub const fn name(self) -> &'static str {
        match self {
            Regime::Vanishing => "vanishing",
            Regime::Exploding => "exploding",
            Regime::Collapsed => "collapsed",
            Regime::Stable => "stable",
        }
    }

    /// The regime of per-parameter norms `rms` (hidden layers, then the output layer):
    /// collapsed first, then by [`hidden_ratio`] (first hidden layer / last hidden layer).
    pub fn classify(rms: &[f64]) -> Regime {
        let hidden = &rms[..rms.len().saturating_sub(1)];
        if hidden.iter().all(|&v| v < COLLAPSE_FLOOR) {
            return Regime::Collapsed;
        }
        let r = hidden_ratio(rms);
        if r > EXPLODING_ABOVE {
            Regime::Exploding
        } else if r < VANISHING_BELOW {
            Regime::Vanishing
        } else {
            // Including NaN: the first and last hidden layers both exactly 0 while a
            // layer between is above the floor (not seen in practice).
            Regime::Stable
        }
    }
}

/// First hidden layer / last hidden layer of per-layer norms `rms` (the output layer,
/// last in `rms`, left out: its gradient is `δ · a` of the last hidden activations and
/// shrinks with them, which would hide a gradient that dies inside the hidden stack).
pub fn hidden_ratio(rms: &[f64]) -> f64 {
    first_over_last(&rms[..rms.len().saturating_sub(1)])
}

/// One activation under one initialiser, over seeds.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The activation's flag spelling.
    pub activation: String,
    /// The `--init` used.
    pub init: InitArg,
    /// The `--init-scale` given, if any.
    pub init_scale: Option<f32>,
    /// The seeds, in order.
    pub seeds: Vec<u64>,
    /// Per seed, per layer: L2 norm of the mean gradient (weights and biases).
    pub norms: Vec<Vec<f64>>,
    /// Per seed, per layer: that norm / √(parameters of the layer).
    pub rms: Vec<Vec<f64>>,
    /// Parameters of each layer.
    pub params: Vec<usize>,
}

/// Element-wise (min, median, max) over seeds of `rows` (each one layer list).
pub fn spread(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let layers = rows.first().map_or(0, Vec::len);
    let (mut lo, mut med, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..layers {
        let mut col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        col.sort_by(f64::total_cmp);
        lo.push(col[0]);
        hi.push(col[col.len() - 1]);
        med.push(median_sorted(&col));
    }
    (lo, med, hi)
}

fn median_sorted(col: &[f64]) -> f64 {
    let n = col.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        col[n / 2]
    } else {
        (col[n / 2 - 1] + col[n / 2]) / 2.0
    }
}

/// (min, median, max) of `xs`, NaN ignored (all NaN: NaN).
pub fn min_med_max(xs: &[f64]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    (v[0], median_sorted(&v), v[v.len() - 1])
}

impl Measured {
    /// Measures `act` under `init` × `scale` on `seeds` seeds from `seed`.
    ///
    /// # Errors
    /// As [`grad_norms`].
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        h: HiddenAct,
        init: InitArg,
        scale: Option<f32>,
        depth: usize,
        width: usize,
        samples: usize,
        seed: u64,
        seeds: u32,
    ) -> Res<Measured> {
        let params = params_per_layer(&sizes_of(depth, width));
        let seeds: Vec<u64> = (0..u64::from(seeds))
            .map(|i| seed.wrapping_add(i))
            .collect();
        let mut norms = Vec::new();
        let mut rms = Vec::new();
        for &s in &seeds {
            let g = grad_norms(
                h.activation(),
                crate::train::init_of(init, scale),
                depth,
                width,
                samples,
                s,
            )?;
            rms.push(
                g.iter()
                    .zip(&params)
                    .map(|(&v, &n)| v / (n as f64).sqrt())
                    .collect(),
            );
            norms.push(g);
        }
        Ok(Measured {
            activation: h.to_string(),
            init,
            init_scale: scale,
            seeds,
            norms,
            rms,
            params,
        })
    }

    /// [`hidden_ratio`] of each seed's per-parameter norms.
    pub fn ratios(&self) -> Vec<f64> {
        self.rms.iter().map(|r| hidden_ratio(r)).collect()
    }

    /// The regime of each seed.
    pub fn regimes(&self) -> Vec<Regime> {
        self.rms.iter().map(|r| Regime::classify(r)).collect()
    }

    /// The regime of every seed if they agree, else `mixed`.
    pub fn regime(&self) -> &'static str {
        let r = self.regimes();
        match r.first() {
            Some(&f) if r.iter().all(|&x| x == f) => f.name(),
            _ => "mixed",
        }
    }

    /// Layers (1-based) whose gradient is exactly zero in every seed.
    pub fn zero_layers(&self) -> Vec<usize> {
        let layers = self.params.len();
        (0..layers)
            .filter(|&j| self.norms.iter().all(|g| g[j] == 0.0))
            .map(|j| j + 1)
            .collect()
    }

    /// Whether every hidden layer's gradient is exactly zero in every seed.
    pub fn all_zero(&self) -> bool {
        let hidden = self.params.len() - 1;
        (0..hidden).all(|j| self.norms.iter().all(|g| g[j] == 0.0))
    }

    /// The initialiser as the figures name it.
    pub fn init_label(&self) -> String {
        init_label(self.init, self.init_scale)
    }

    /// A one-line summary: regime, ratio median (min–max), per-layer medians.
    pub fn summary(&self) -> String {
        let (lo, med, hi) = min_med_max(&self.ratios());
        let (_, m, _) = spread(&self.rms);
        format!(
            "{:<11} {:<13} {:<9} first/last hidden per-param {:.3e} ({:.2e}…{:.2e}){}   median RMS: {}",
            self.activation,
            self.init_label(),
            self.regime(),
            med,
            lo,
            hi,
            if self.all_zero() {
                "  ALL ZERO (hidden layers)"
            } else {
                ""
            },
            m.iter()
                .map(|v| format!("{v:.1e}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    }

    /// The series the figures draw.
    pub fn plot_series(&self, label: String) -> PlotSeries {
        let (lo, med, hi) = spread(&self.rms);
        let (rlo, rmed, rhi) = min_med_max(&self.ratios());
        let zero = self.zero_layers();
        let mut note = format!(
            "{}, layer 1 / layer {} = {} ({}…{})",
            self.regime(),
            self.params.len() - 1,
            sig(rmed),
            sig(rlo),
            sig(rhi)
        );
        if self.all_zero() {
            note = format!(
                "ALL ZERO in layers 1–{} (drawn at the floor, ×)",
                self.params.len() - 1
            );
        } else if !zero.is_empty() {
            note += &format!("; zero at layer {zero:?} (×)");
        }
        PlotSeries {
            label,
            note,
            lo,
            med,
            hi,
            all_zero: self.all_zero(),
        }
    }
}

/// A number as the figures and the report print it: 2 decimals in [0.01, 1000), else
/// 2 significant digits in e-notation; `—` for NaN.
pub fn sig(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if (0.01..1000.0).contains(&v.abs()) {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

/// A float as JSON (non-finite values as null).
pub fn json_f64(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn json_vec(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|&x| json_f64(x)).collect())
}

/// `microprop-sim vanishing`.
pub fn run(a: &VanishingArgs, _ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    if let Some(i) = a.init {
        check_scale(i, a.init_scale)?;
    }
    let sizes = sizes_of(a.depth as usize, a.width as usize);
    let specs = limits::dense_specs(&sizes, Activation::Relu, Activation::Sigmoid);
    limits::Footprint::of(&specs, 1)
        .plus(u64::from(a.samples) * (2 * 4 + 1))
        .check("--depth and --width")?;
    let mut acts: Vec<HiddenAct> = Vec::new();
    for &h in &a.activation {
        if !acts.contains(&h) {
            acts.push(h);
        }
    }
    let mut ms = Vec::new();
    for h in acts {
        let init = a.init.unwrap_or_else(|| default_init_arg(h.activation()));
        ms.push(Measured::run(
            h,
            init,
            a.init_scale,
            a.depth as usize,
            a.width as usize,
            a.samples as usize,
            a.seed,
            a.seeds,
        )?);
    }
    let mut text = format!(
        "per-layer gradient at init: 2 → {} × {} → 1, sigmoid output, MSE, {} samples, seeds {}…{}\n\
         per-parameter norm = ‖g‖/√n of each layer (RMS gradient per weight/bias); \
         collapsed: every hidden layer < {COLLAPSE_FLOOR:.0e}; vanishing: layer 1 / layer D < {VANISHING_BELOW}; \
         exploding: > {EXPLODING_ABOVE}\n",
        a.depth,
        a.width,
        a.samples,
        a.seed,
        a.seed.wrapping_add(u64::from(a.seeds) - 1),
    );
    for m in &ms {
        text += &m.summary();
        text += "\n";
    }
    if let Some(p) = &a.plot {
        let fig = VanishingFigure {
            title: format!(
                "per-parameter gradient norm per layer at init (2 → {} × {} → 1, {} seeds)",
                a.depth, a.width, a.seeds
            ),
            series: ms
                .iter()
                .map(|m| m.plot_series(format!("{} ({})", m.activation, m.init_label())))
                .collect(),
        };
        plot::save(&fig, p)?;
        text += &format!("plot: {}\n", p.display());
    }
    Ok(Output {
        json: to_json(a, &ms),
        text,
    })
}

/// The command's JSON for the measurements `ms`.
fn to_json(a: &VanishingArgs, ms: &[Measured]) -> Value {
    let mut norms = Map::new();
    let mut ratios = Map::new();
    let mut inits = Map::new();
    let mut scales = Map::new();
    let mut rms_map = Map::new();
    let mut ratio_rms = Map::new();
    let mut regime = Map::new();
    let mut regime_per_seed = Map::new();
    let mut all_zero = Map::new();
    let mut zero_layers = Map::new();
    for m in ms {
        let k = m.activation.clone();
        let (init, mult) = crate::train::init_of(m.init, m.init_scale);
        norms.insert(k.clone(), json_vec(&m.norms[0]));
        ratios.insert(k.clone(), json_f64(first_over_last(&m.norms[0])));
        inits.insert(k.clone(), json!(init.name()));
        scales.insert(
            k.clone(),
            match init {
                Init::Normal(s) => json!({ "sigma": s }),
                Init::Zeros => Value::Null,
                _ => json!({ "multiplier": mult }),
            },
        );
        let (lo, med, hi) = spread(&m.rms);
        rms_map.insert(
            k.clone(),
            json!({
                "min": json_vec(&lo),
                "median": json_vec(&med),
                "max": json_vec(&hi),
                "per_seed": m.rms.iter().map(|r| json_vec(r)).collect::<Vec<_>>(),
            }),
        );
        let r = m.ratios();
        let (rlo, rmed, rhi) = min_med_max(&r);
        ratio_rms.insert(
            k.clone(),
            json!({
                "min": json_f64(rlo),
                "median": json_f64(rmed),
                "max": json_f64(rhi),
                "per_seed": json_vec(&r),
            }),
        );
        regime.insert(k.clone(), json!(m.regime()));
        regime_per_seed.insert(
            k.clone(),
            json!(m.regimes().iter().map(|r| r.name()).collect::<Vec<_>>()),
        );
        all_zero.insert(k.clone(), json!(m.all_zero()));
        zero_layers.insert(k, json!(m.zero_layers()));
    }
    json!({
        "depth": a.depth,
        "width": a.width,
        "samples": a.samples,
        "seeds": ms.first().map(|m| m.seeds.clone()).unwrap_or_default(),
        "init": inits,
        "init_scale": scales,
        "params_per_layer": ms.first().map(|m| m.params.clone()).unwrap_or_default(),
        "grad_norms": norms,
        "first_over_last": ratios,
        "norm": "per-parameter: ‖g‖/√n, the RMS of the layer's mean gradient over its n weights and biases",
        "ratio": "first_over_last_rms: first hidden layer / last hidden layer of the per-parameter norms",
        "grad_rms_per_layer": rms_map,
        "first_over_last_rms": ratio_rms,
        "regime": regime,
        "regime_per_seed": regime_per_seed,
        "regime_bounds": {
            "collapse_floor": COLLAPSE_FLOOR,
            "vanishing_below": VANISHING_BELOW,
            "exploding_above": EXPLODING_ABOVE,
        },
        "all_zero": all_zero,
        "zero_layers": zero_layers,
    })
}

/// One series of a [`VanishingFigure`]: per layer, min, median and max over seeds.
#[derive(Clone, Debug)]
pub struct PlotSeries {
    /// Legend line 1.
    pub label: String,
    /// Legend line 2 (regime, ratio, zero layers).
    pub note: String,
    /// Per-layer minimum over seeds.
    pub lo: Vec<f64>,
    /// Per-layer median over seeds.
    pub med: Vec<f64>,
    /// Per-layer maximum over seeds.
    pub hi: Vec<f64>,
    /// Every hidden layer exactly zero in every seed (the legend shows a ×).
    pub all_zero: bool,
}

/// Per-parameter gradient norm per layer (log y, integer layer ticks, the last labelled
/// `out`), median lines over min–max bands, legend beside the chart; exact zeros are
/// drawn as × on the plot's floor.
pub struct VanishingFigure {
    /// Title.
    pub title: String,
    /// The series.
    pub series: Vec<PlotSeries>,
}

impl Figure for VanishingFigure {
    fn size(&self) -> (u32, u32) {
        (1100, 560)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (chart_area, legend_area) = root.split_horizontally(720);
        let layers = self.series.iter().map(|s| s.med.len()).max().unwrap_or(1) as i32;
        let pos = self
            .series
            .iter()
            .flat_map(|s| s.lo.iter().chain(&s.hi))
            .copied()
            .filter(|&v| v.is_finite() && v > 0.0);
        let (mut y0, mut y1) = pos.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !y0.is_finite() {
            (y0, y1) = (1e-12, 1.0);
        }
        if y1 <= y0 {
            y1 = y0 * 10.0;
        }
        // The floor: half a decade below the smallest non-zero value; zeros are drawn on it.
        let floor = y0 / 4.0;
        let top = y1 * 3.0;
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(&self.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0i32..layers + 1, (floor..top).log_scale())?;
        let out = layers;
        chart
            .configure_mesh()
            .x_labels((layers + 2) as usize)
            .x_label_formatter(&move |&x| {
                if x == out {
                    "out".to_string()
                } else if (1..out).contains(&x) {
                    x.to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .x_desc("layer (1 = first hidden, out = output layer)")
            .y_desc("‖∂L/∂θ‖/√n (RMS per parameter; MSE loss, unitless)")
            .label_style(("sans-serif", 13))
            .draw()?;
        let clamp = |v: f64| {
            if v > 0.0 && v.is_finite() {
                v.max(floor)
            } else {
                floor
            }
        };
        let any_zero = self.series.iter().any(|s| s.lo.iter().any(|&v| v <= 0.0));
        if any_zero {
            chart.draw_series(DashedLineSeries::new(
                [(0, floor * 1.05), (out + 1, floor * 1.05)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                "exact 0 (×), drawn on the floor",
                (0, floor * 8.0),
                ("sans-serif", 12).into_font(),
            )))?;
        }
        if (floor..top).contains(&COLLAPSE_FLOOR) {
            chart.draw_series(DashedLineSeries::new(
                [(0, COLLAPSE_FLOOR), (out + 1, COLLAPSE_FLOOR)],
                10,
                5,
                RGBColor(120, 120, 120).stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("collapse floor {COLLAPSE_FLOOR:.0e}"),
                (0, COLLAPSE_FLOOR * 2.5),
                ("sans-serif", 12).into_font(),
            )))?;
        }
        let n = self.series.len() as f64;
        for (i, s) in self.series.iter().enumerate() {
            let c = plot::series_color(i);
            // Exact zeros of several series share the floor: each series' × is dodged.
            let dodge = ((i as f64 - (n - 1.0) / 2.0) * 9.0) as i32;
            let xs = || 1..=s.med.len() as i32;
            let mut band: Vec<(i32, f64)> = xs().zip(s.hi.iter().map(|&v| clamp(v))).collect();
            band.extend(xs().rev().zip(s.lo.iter().rev().map(|&v| clamp(v))));
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
            let line: Vec<(i32, f64)> = xs().zip(s.med.iter().map(|&v| clamp(v))).collect();
            chart.draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))?;
            for (&(x, y), &m) in line.iter().zip(&s.med) {
                if m > 0.0 {
                    chart.draw_series(std::iter::once(Circle::new((x, y), 4, c.filled())))?;
                } else {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, y)) + Cross::new((dodge, 0), 6, c.stroke_width(3)),
                    ))?;
                }
            }
        }
        // The legend, beside the chart (never over the data).
        let font = ("sans-serif", 14).into_font();
        let small = ("sans-serif", 12).into_font().color(&RGBColor(60, 60, 60));
        legend_area.draw(&Text::new(
            "median over seeds; band: min–max",
            (10, 30),
            small.clone(),
        ))?;
        for (i, s) in self.series.iter().enumerate() {
            let c = plot::series_color(i);
            let y = 60 + 52 * i as i32;
            legend_area.draw(&PathElement::new(
                vec![(10, y + 7), (36, y + 7)],
                c.stroke_width(3),
            ))?;
            if s.all_zero {
                legend_area.draw(&Cross::new((23, y + 7), 6, c.stroke_width(3)))?;
            }
            legend_area.draw(&Text::new(s.label.clone(), (44, y), font.clone()))?;
            legend_area.draw(&Text::new(s.note.clone(), (44, y + 18), small.clone()))?;
        }
        Ok(())
    }
}

/// The configurations of the report's regimes figure: tanh under N(0, 0.01²), Xavier and
/// N(0, 1), with sigmoid (Xavier) and ReLU (He) for contrast.
pub const REGIMES: [(Activation, InitArg, Option<f32>); 5] = [
    (Activation::Tanh, InitArg::Normal, Some(0.01)),
    (Activation::Tanh, InitArg::Xavier, None),
    (Activation::Tanh, InitArg::Normal, Some(1.0)),
    (Activation::Sigmoid, InitArg::Xavier, None),
    (Activation::Relu, InitArg::He, None),
];

/// Measures the [`REGIMES`] at `depth × width` over `seeds` seeds from `seed`, draws
/// them into `plot`, and returns the measurements.
///
/// # Errors
/// As [`grad_norms`] and [`plot::save`].
pub fn regimes(
    depth: usize,
    width: usize,
    samples: usize,
    seed: u64,
    seeds: u32,
    plot_path: &std::path::Path,
) -> Res<Vec<Measured>> {
    let mut ms = Vec::new();
    for (act, init, scale) in REGIMES {
        ms.push(Measured::run(
            HiddenAct(act),
            init,
            scale,
            depth,
            width,
            samples,
            seed,
            seeds,
        )?);
    }
    let fig = VanishingFigure {
        title: format!(
            "regimes at init: per-parameter gradient per layer (2 → {depth} × {width} → 1, {seeds} seeds)"
        ),
        series: ms
            .iter()
            .map(|m| m.plot_series(format!("{} ({})", m.activation, m.init_label())))
            .collect(),
    };
    plot::save(&fig, plot_path)?;
    Ok(ms)
}

/// One measurement as JSON (the keys of one activation in `vanishing`'s JSON).
pub fn measured_json(m: &Measured) -> Value {
    let (lo, med, hi) = spread(&m.rms);
    let r = m.ratios();
    let (rlo, rmed, rhi) = min_med_max(&r);
    json!({
        "activation": m.activation,
        "init": m.init_label(),
        "grad_rms_per_layer": { "min": json_vec(&lo), "median": json_vec(&med), "max": json_vec(&hi) },
        "first_over_last_rms": {
            "min": json_f64(rlo), "median": json_f64(rmed), "max": json_f64(rhi), "per_seed": json_vec(&r)
        },
        "regime": m.regime(),
        "regime_per_seed": m.regimes().iter().map(|r| r.name()).collect::<Vec<_>>(),
        "all_zero": m.all_zero(),
    })
}
