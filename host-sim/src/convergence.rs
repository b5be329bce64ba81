//! The report's convergence section (notes §4–7): the same 2-32-32-1 net on XOR quadrants
//! with each hidden activation (He init for the ReLU family, Xavier otherwise, SGD lr 0.1,
//! batch 8), trained from several seeds. The figure plots the metric the text quotes — the
//! training accuracy per epoch, median over seeds with a min–max band, one panel per
//! activation so that the curves do not hide each other — with the 95 % line whose first
//! crossing is "epochs to 95 %".

use std::path::Path;

use microprop::Activation;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Value};

use crate::{
    cli::{DatasetArg, HiddenAct},
    plot::{self, Band, Figure},
    report::{self, Section},
    train, Ctx, Res,
};

/// The activations compared, in the panels' order.
pub const ACTIVATIONS: [&str; 6] = ["sigmoid", "tanh", "relu", "leaky-relu", "elu", "gelu"];

/// The accuracy whose first epoch is "epochs to 95 %".
pub const TARGET: f64 = 0.95;

/// One activation's runs over the seeds.
#[derive(Clone, Debug)]
pub struct Runs {
    /// The activation's name.
    pub activation: &'static str,
    /// Training accuracy per epoch, one list per seed.
    pub accuracy: Vec<Vec<f64>>,
    /// Epochs to 95 % per seed (`None`: never within the run).
    pub epochs_to_95: Vec<Option<u32>>,
    /// Final training accuracy per seed.
    pub final_accuracy: Vec<f64>,
}

impl Runs {
    /// `(min, median, max)` of the epochs to 95 % over the seeds that reached it, and how
    /// many did not.
    pub fn summary(&self) -> (Option<(u32, u32, u32)>, usize) {
        let mut e: Vec<u32> = self.epochs_to_95.iter().flatten().copied().collect();
        e.sort_unstable();
        let never = self.epochs_to_95.len() - e.len();
        if e.is_empty() {
            return (None, never);
        }
        (Some((e[0], e[e.len() / 2], e[e.len() - 1])), never)
    }

    /// The median over every seed, a run that never reached 95 % counting as slower than
    /// any that did (`None`: the median run never got there).
    pub fn median(&self) -> Option<u32> {
        let mut e: Vec<u32> = self
            .epochs_to_95
            .iter()
            .map(|e| e.unwrap_or(u32::MAX))
            .collect();
        e.sort_unstable();
        e.get(e.len() / 2).copied().filter(|&m| m != u32::MAX)
    }

    /// The summary in words: `29 (25…35)`, `never (5 of 5 seeds)`, `2 (2…3; never in 1
    /// of 3)`, `never in 2 of 3 seeds (the other after 30…30)`.
    pub fn describe(&self) -> String {
        let n = self.epochs_to_95.len();
        match (self.summary(), self.median()) {
            ((None, never), _) => format!("never ({never} of {n} seeds)"),
            ((Some((lo, _, hi)), 0), Some(med)) => format!("{med} ({lo}…{hi})"),
            ((Some((lo, _, hi)), never), Some(med)) => {
                format!("{med} ({lo}…{hi}; never in {never} of {n})")
            }
            ((Some((lo, _, hi)), never), None) => format!(
                "never in {never} of {n} seeds (the {} after {lo}…{hi})",
                if n - never == 1 { "other" } else { "others" }
            ),
        }
    }
}

/// Trains every activation of [`ACTIVATIONS`] from `seeds` for `epochs` epochs.
///
/// # Errors
/// Training errors.
pub fn sweep(seeds: &[u64], epochs: u32, ctx: &Ctx) -> Res<Vec<Runs>> {
    let mut out = Vec::new();
    for act in Activation::ALL
        .into_iter()
        .filter(|a| ACTIVATIONS.contains(&a.name()))
    {
        let mut runs = Runs {
            activation: act.name(),
            accuracy: Vec::new(),
            epochs_to_95: Vec::new(),
            final_accuracy: Vec::new(),
        };
        for &seed in seeds {
            let mut ta =
                report::train_args(&[2, 32, 32, 1], HiddenAct(act), DatasetArg::Xor, epochs);
            ta.seed = seed;
            let (r, _, _) = train::train_with::<microprop::Libm>(&ta, ctx)?;
            runs.accuracy.push(r.accuracy_per_epoch.clone());
            runs.epochs_to_95.push(r.epochs_to_95);
            runs.final_accuracy.push(r.accuracy);
        }
        out.push(runs);
    }
    Ok(out)
}

/// The report's section: runs the sweep (3 seeds × 40 epochs for `quick`, else 5 × 100),
/// writes `convergence.png` into `out` and returns the section and its JSON.
///
/// # Errors
/// Training and drawing errors.
pub fn section(out: &Path, ctx: &Ctx, quick: bool) -> Res<(Section, Value)> {
    let (n_seeds, epochs) = if quick { (3u64, 40) } else { (5, 100) };
    let seeds: Vec<u64> = (1..=n_seeds).collect();
    let runs = sweep(&seeds, epochs, ctx)?;
    plot::save(
        &ConvergenceFigure {
            runs: &runs,
            epochs,
        },
        &out.join("convergence.png"),
    )?;
    let words: Vec<String> = runs
        .iter()
        .map(|r| format!("{} {}", r.activation, r.describe()))
        .collect();
    let med = |name: &str| {
        runs.iter()
            .find(|r| r.activation == name)
            .and_then(Runs::median)
    };
    // The comparison follows the numbers: which of sigmoid and tanh is slower than ReLU.
    let relu = med("relu");
    let verdict = match (med("sigmoid"), med("tanh"), relu) {
        (None, Some(t), Some(r)) => format!(
            "within the run the median sigmoid seed never gets there while tanh needs {t} epochs and ReLU {r}"
        ),
        (None, None, Some(r)) => format!(
            "within the run the median sigmoid and tanh seeds never get there while ReLU needs {r} epochs"
        ),
        (Some(s), Some(t), Some(r)) => {
            format!("the median seed needs {s} epochs with sigmoid, {t} with tanh and {r} with ReLU")
        }
        _ => "the panels tell each activation's story".to_string(),
    };
    let text = format!(
        "The same 2-32-32-1 net on XOR quadrants (He init for the ReLU family, Xavier otherwise, SGD lr 0.1, \
         batch 8, MSE), seeds 1–{n_seeds}, {epochs} epochs. Each panel: training accuracy per epoch, median \
         over seeds (line) and min–max (band); the dashed line is 95 %, each dot one seed's first epoch at or \
         above it. <b>What to look for:</b> how soon each \
         band crosses the dashed line, and how wide it is. Epochs to 95 % accuracy, median (min…max) over \
         seeds: {}. So {verdict}.",
        words.join(", ")
    );
    let json = json!({
        "seeds": seeds,
        "epochs": epochs,
        "activations": runs.iter().map(|r| (r.activation.to_string(), json!({
            "epochs_to_95": r.epochs_to_95,
            "final_accuracy": r.final_accuracy,
            "median_epochs_to_95": r.median(),
            "never": r.summary().1,
        }))).collect::<serde_json::Map<_, _>>(),
    });
    Ok((
        Section {
            title: "Convergence by activation (notes §4–7)".into(),
            images: vec!["convergence.png".into()],
            text,
        },
        json,
    ))
}

/// Accuracy per epoch, one panel per activation, median and min–max band over seeds.
pub struct ConvergenceFigure<'a> {
    /// The runs.
    pub runs: &'a [Runs],
    /// Epochs per run.
    pub epochs: u32,
}

impl Figure for ConvergenceFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 640)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let seeds = self.runs.first().map_or(0, |r| r.accuracy.len());
        let root = root.titled(
            &format!(
                "XOR, 2-32-32-1, SGD lr 0.1: training accuracy per epoch (median, band min–max over {seeds} seeds)"
            ),
            ("sans-serif", 19),
        )?;
        let cols = 3;
        let rows = self.runs.len().div_ceil(cols).max(1);
        let areas = root.split_evenly((rows, cols));
        let x1 = f64::from(self.epochs.max(2));
        for (i, (r, area)) in self.runs.iter().zip(areas.iter()).enumerate() {
            let percent: Vec<Vec<f64>> = r
                .accuracy
                .iter()
                .map(|a| a.iter().map(|v| v * 100.0).collect())
                .collect();
            let band = Band::of(r.activation, 1.0, &percent);
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{}: 95 % after {}", r.activation, r.describe()),
                    ("sans-serif", 15),
                )
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d((1.0..x1).log_scale(), 40.0..102.0)?;
            chart
                .configure_mesh()
                .x_desc("epoch (log scale)")
                .y_desc("training accuracy (%)")
                .x_label_formatter(&|v| plot::log_tick(*v))
                .y_label_formatter(&|v| plot::tick(*v))
                .label_style(("sans-serif", 12))
                .draw()?;
            chart.draw_series(DashedLineSeries::new(
                [(1.0, TARGET * 100.0), (x1, TARGET * 100.0)],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            ))?;
            plot::draw_band(&mut chart, &band, plot::series_color(i))?;
            // Each seed's first epoch at 95 %.
            chart.draw_series(
                r.epochs_to_95
                    .iter()
                    .flatten()
                    .map(|&e| Circle::new((f64::from(e), TARGET * 100.0), 4, BLACK.filled())),
            )?;
        }
        Ok(())
    }
}
