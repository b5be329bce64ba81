//! Zero-centring: epochs to 95 % accuracy on data shifted away from the origin
//! (`train --offset o,o`), with raw inputs (`--preprocess none`), mean subtraction
//! (`mean`) and standardisation (`standardize`), over several seeds. The generated data
//! sets are centred already, so only an offset shows what mean subtraction buys: with
//! inputs far from zero every first-layer weight gradient of a unit shares one sign (the
//! zig-zag of [`zigzag`](crate::zigzag), in a real net) and the units' pre-activations are
//! large, so raw inputs train slowly or not at all.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Value};

use crate::{
    cli::{DatasetArg, HiddenAct, Offset, PreprocessArg},
    plot::{self, Figure},
    report::train_args,
    train, Ctx, Res,
};

/// The preprocessings compared, in the figure's order.
pub const PREPROCESS: [PreprocessArg; 3] = [
    PreprocessArg::None,
    PreprocessArg::Mean,
    PreprocessArg::Standardize,
];

/// How the command line spells a preprocessing.
pub fn preprocess_name(p: PreprocessArg) -> &'static str {
    match p {
        PreprocessArg::None => "none",
        PreprocessArg::Mean => "mean",
        PreprocessArg::Standardize => "standardize",
        PreprocessArg::Whiten => "whiten",
    }
}

/// The results of [`sweep`].
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Offsets `o` (the data is shifted by `(o, o)`).
    pub offsets: Vec<f32>,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Epochs per run (a run that has not reached 95 % by then never did).
    pub epochs: u32,
    /// `epochs_to_95[p][o][s]`: preprocessing [`PREPROCESS`]`[p]`, offset `o`, seed `s`.
    pub epochs_to_95: Vec<Vec<Vec<Option<u32>>>>,
    /// Final accuracy, same indices.
    pub accuracy: Vec<Vec<Vec<f64>>>,
}

/// The `train` flags of one run: the default 2-16-16-1 ReLU net (He init, SGD lr 0.1,
/// batch 8, MSE on a sigmoid) on the two clusters shifted by `(offset, offset)`.
pub fn args(
    offset: f32,
    preprocess: PreprocessArg,
    seed: u64,
    epochs: u32,
) -> crate::cli::TrainArgs {
    let mut a = train_args(
        &[2, 16, 16, 1],
        HiddenAct(microprop::Activation::Relu),
        DatasetArg::Clusters,
        epochs,
    );
    a.offset = Some(Offset([offset, offset]));
    a.preprocess = preprocess;
    a.seed = seed;
    a
}

/// Trains every preprocessing × offset × seed for `epochs` epochs.
///
/// # Errors
/// The runs' errors.
pub fn sweep(offsets: &[f32], seeds: &[u64], epochs: u32, ctx: &Ctx) -> Res<Sweep> {
    let mut e95 = Vec::new();
    let mut acc = Vec::new();
    for p in PREPROCESS {
        let (mut ep, mut ap) = (Vec::new(), Vec::new());
        for &o in offsets {
            let (mut eo, mut ao) = (Vec::new(), Vec::new());
            for &s in seeds {
                let (r, _, _) = train::train_with::<microprop::Libm>(&args(o, p, s, epochs), ctx)?;
                eo.push(r.epochs_to_95);
                ao.push(r.accuracy);
            }
            ep.push(eo);
            ap.push(ao);
        }
        e95.push(ep);
        acc.push(ap);
    }
    Ok(Sweep {
        offsets: offsets.to_vec(),
        seeds: seeds.to_vec(),
        epochs,
        epochs_to_95: e95,
        accuracy: acc,
    })
}

impl Sweep {
    /// Runs of preprocessing `p` at offset index `o` that never reached 95 %.
    pub fn never(&self, p: usize, o: usize) -> usize {
        self.epochs_to_95[p][o]
            .iter()
            .filter(|e| e.is_none())
            .count()
    }

    /// The median over seeds of epochs to 95 % (a run that never reached it counts as
    /// `epochs + 1`, above every one that did).
    pub fn median(&self, p: usize, o: usize) -> f64 {
        let mut v: Vec<f64> = self.epochs_to_95[p][o]
            .iter()
            .map(|e| f64::from(e.unwrap_or(self.epochs + 1)))
            .collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return f64::NAN;
        }
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }

    /// The sweep as JSON: per preprocessing, per offset, the seeds' epochs to 95 % (null:
    /// never) and accuracies.
    pub fn json(&self) -> Value {
        let mut by = serde_json::Map::new();
        for (p, pre) in PREPROCESS.iter().enumerate() {
            by.insert(
                preprocess_name(*pre).into(),
                json!({
                    "epochs_to_95": self.epochs_to_95[p],
                    "accuracy": self.accuracy[p],
                    "never": (0..self.offsets.len()).map(|o| self.never(p, o)).collect::<Vec<_>>(),
                }),
            );
        }
        json!({
            "offsets": self.offsets,
            "seeds": self.seeds,
            "epochs": self.epochs,
            "preprocess": by,
        })
    }

    /// One sentence per offset quoting each preprocessing's epochs to 95 % (seed by seed).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (o, off) in self.offsets.iter().enumerate() {
            let each: Vec<String> = PREPROCESS
                .iter()
                .enumerate()
                .map(|(p, pre)| {
                    let runs: Vec<String> = self.epochs_to_95[p][o]
                        .iter()
                        .map(|e| e.map_or("never".into(), |e| e.to_string()))
                        .collect();
                    format!("{} [{}]", preprocess_name(*pre), runs.join(", "))
                })
                .collect();
            parts.push(format!("offset ({off}, {off}): {}", each.join("; ")));
        }
        parts.join(". ")
    }
}

/// The figure: epochs to 95 % against the offset, one series per preprocessing (median
/// over seeds, bars from the fastest to the slowest seed), never-reached runs at a
/// "never" line above the epochs run.
pub struct CentringFigure<'a>(pub &'a Sweep);

impl Figure for CentringFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 540)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let s = self.0;
        let never = f64::from(s.epochs) * 1.12;
        let x1 = s.offsets.iter().copied().fold(1.0f32, f32::max) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Two clusters shifted by (o, o), 2-16-16-1 ReLU, SGD lr 0.1: epochs to 95 % ({} seeds)",
                    s.seeds.len()
                ),
                ("sans-serif", 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.6f64..x1 * 1.06 + 0.4, -4.0f64..never * 1.06)?;
        let epochs = s.epochs;
        chart
            .configure_mesh()
            .x_desc(
                "offset o (data shifted by (o, o); cluster centres at ±(1, 1) before the shift)",
            )
            .y_desc("epochs to 95 % accuracy (median, bar: min–max over seeds)")
            .x_label_formatter(&|v| plot::tick(*v))
            .y_label_formatter(&move |v| {
                if *v > f64::from(epochs) {
                    String::new()
                } else {
                    format!("{v:.0}")
                }
            })
            .label_style(("sans-serif", 13))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(-0.6, never), (x1 * 1.06 + 0.4, never)],
            6,
            4,
            BLACK.mix(0.6).stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("never (not within {} epochs)", s.epochs),
            (-0.5, never * 1.045),
            ("sans-serif", 13),
        )))?;
        let value = |e: Option<u32>| e.map_or(never, f64::from);
        for (p, pre) in PREPROCESS.iter().enumerate() {
            let c = plot::series_color(p);
            let dx = (p as f64 - 1.0) * 0.15 * (x1 / 10.0).max(0.3);
            let med: Vec<(f64, f64)> = (0..s.offsets.len())
                .map(|o| {
                    let m = s.median(p, o);
                    let y = if m > f64::from(s.epochs) { never } else { m };
                    (f64::from(s.offsets[o]) + dx, y)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(med.clone(), c.stroke_width(2)))?
                .label(format!("--preprocess {}", preprocess_name(*pre)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            chart.draw_series(med.iter().map(|&xy| Circle::new(xy, 4, c.filled())))?;
            for (o, off) in s.offsets.iter().enumerate() {
                let ys: Vec<f64> = s.epochs_to_95[p][o].iter().map(|&e| value(e)).collect();
                let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let x = f64::from(*off) + dx;
                let cap = 0.08 * (x1 / 10.0).max(0.3);
                chart.draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(2)),
                    PathElement::new(vec![(x - cap, lo), (x + cap, lo)], c.stroke_width(2)),
                    PathElement::new(vec![(x - cap, hi), (x + cap, hi)], c.stroke_width(2)),
                ])?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::MiddleLeft)
            .draw()?;
        Ok(())
    }
}
