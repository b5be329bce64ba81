//! `activations`: every activation and its derivative plotted; the host cost per element
//! of the forward and backward loops for each maths backend, with each backend's measured
//! maximum error (the app's `bench::max_error`, the same measure the microcontroller table
//! carries); and, given the microcontroller cost table of `cargo xtask bench-mcu`
//! (`target/bench-mcu/<core>.json`), the cost per core side by side.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use microprop::{Activation, Fast, Libm, Math, Micromath};
use microprop_app::bench;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::{json, Value};

use crate::{
    cli::ActivationsArgs,
    ctx::{failure, usage, ErrorKind},
    plot::{self, Figure, Lines},
    Ctx, Output, Res,
};

/// The cores of the microcontroller table, in display order.
pub const CORES: [&str; 3] = ["m4f", "m3", "m0"];

/// One row of the host table.
#[derive(Clone, Debug)]
pub struct HostCost {
    /// Activation name.
    pub activation: &'static str,
    /// Backend name.
    pub backend: &'static str,
    /// Forward ns per element.
    pub forward_ns: f64,
    /// Backward ns per element.
    pub backward_ns: f64,
    /// Max |error| of the forward pass against f64 libm.
    pub forward_max_abs_error: f64,
    /// Max |error| of the backward pass against f64 libm.
    pub backward_max_abs_error: f64,
}

fn time_backend<M: Math<f32>>(act: Activation, inner: usize, reps: u32) -> (f64, f64) {
    let z = bench::sweep();
    let n = z.len();
    let mut a = vec![0.0f32; n];
    let mut g = vec![1.0f32; n];
    let mut best_f = f64::INFINITY;
    let mut best_b = f64::INFINITY;
    let mut best_fill = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..inner {
            act.apply::<M>(black_box(&z), black_box(&mut a));
        }
        best_f = best_f.min(t.elapsed().as_nanos() as f64);
        let t = Instant::now();
        for _ in 0..inner {
            black_box(&mut g).fill(1.0);
            act.backward::<M>(black_box(&z), black_box(&a), black_box(&mut g));
        }
        best_b = best_b.min(t.elapsed().as_nanos() as f64);
        let t = Instant::now();
        for _ in 0..inner {
            black_box(&mut g).fill(1.0);
        }
        best_fill = best_fill.min(t.elapsed().as_nanos() as f64);
    }
    let per = (inner * n) as f64;
    (best_f / per, ((best_b - best_fill).max(0.0)) / per)
}

/// One activation's host cost and error under the backend `M`.
fn host_cost<M: Math<f32>>(act: Activation, inner: usize, reps: u32) -> HostCost {
    let (f, b) = time_backend::<M>(act, inner, reps);
    let (ef, eb) = bench::max_error::<M>(act);
    HostCost {
        activation: act.name(),
        backend: M::NAME,
        forward_ns: f,
        backward_ns: b,
        forward_max_abs_error: ef,
        backward_max_abs_error: eb,
    }
}

/// Host costs of every activation under each backend (libm, micromath, fast).
pub fn host_costs(elements: usize, reps: u32, ctx: &Ctx) -> Vec<HostCost> {
    let inner = (elements / bench::SWEEP).max(1);
    let pb = ctx.progress(Activation::ALL.len() as u64, "activations");
    let mut out = Vec::new();
    for act in Activation::ALL {
        out.push(host_cost::<Libm>(act, inner, reps));
        out.push(host_cost::<Micromath>(act, inner, reps));
        out.push(host_cost::<Fast>(act, inner, reps));
        pb.inc(1);
    }
    pb.finish_and_clear();
    out
}

/// Reads `<dir>/<core>.json` for each core that has one (the tables of `--mcu DIR`,
/// read before any work).
///
/// # Errors
/// A usage error naming `--mcu` if `dir` is not a directory or a table is not a JSON
/// object; an I/O error if a table cannot be read.
pub fn read_mcu(dir: &Path) -> Res<Vec<Value>> {
    if !dir.is_dir() {
        return usage(format!("--mcu {}: no such directory", dir.display()));
    }
    let mut out = Vec::new();
    for core in CORES {
        let p = dir.join(format!("{core}.json"));
        if p.exists() {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| failure(ErrorKind::Io, format!("--mcu {}: {e}", p.display())))?;
            match serde_json::from_str::<Value>(&text) {
                Ok(v) if v.is_object() => out.push(v),
                Ok(_) => {
                    return usage(format!(
                        "--mcu {}: not a bench-mcu table (not a JSON object)",
                        p.display()
                    ))
                }
                Err(e) => {
                    return usage(format!("--mcu {}: not a bench-mcu table: {e}", p.display()))
                }
            }
        }
    }
    Ok(out)
}

/// A cost panel: one bar per activation and backend.
struct Bars {
    title: String,
    unit: String,
    /// (activation, libm, micromath).
    rows: Vec<(String, f64, f64)>,
}

impl Bars {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let n = self.rows.len() as i32;
        let max = self
            .rows
            .iter()
            .map(|r| r.1.max(r.2))
            .fold(0.0f64, f64::max)
            .max(1e-9);
        // A log axis: the exponential functions cost 10–1000 × ReLU, so a linear axis
        // hides the cheap bars.
        let min = self
            .rows
            .iter()
            .flat_map(|r| [r.1, r.2])
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let lo = if min.is_finite() {
            10f64.powf((min / 2.0).log10().floor())
        } else {
            max / 1e3
        };
        let names: Vec<String> = self.rows.iter().map(|r| r.0.clone()).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(78)
            .build_cartesian_2d((lo..max * 2.0).log_scale(), (0..3 * n).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels((3 * n) as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) if k % 3 == 1 => {
                    names.get((k / 3) as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_desc(format!("{} (log scale)", self.unit))
            .x_label_formatter(&|v| plot::log_tick(*v))
            .label_style(("sans-serif", 12))
            .draw()?;
        for (i, r) in self.rows.iter().enumerate() {
            let k = 3 * i as i32;
            for (j, (v, c)) in [(r.1, plot::series_color(0)), (r.2, plot::series_color(1))]
                .into_iter()
                .enumerate()
            {
                if !(v.is_finite() && v > 0.0) {
                    continue;
                }
                let s = k + j as i32;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (lo, SegmentValue::Exact(s)),
                        (v, SegmentValue::Exact(s + 1)),
                    ],
                    c.filled(),
                )))?;
            }
        }
        // Legend as text.
        let (w, _) = area.dim_in_pixel();
        area.draw(&Text::new(
            "■ libm",
            (w as i32 - 150, 30),
            ("sans-serif", 13).into_font().color(&plot::series_color(0)),
        ))?;
        area.draw(&Text::new(
            "■ micromath",
            (w as i32 - 90, 30),
            ("sans-serif", 13).into_font().color(&plot::series_color(1)),
        ))?;
        Ok(())
    }
}

fn host_bars(h: &[HostCost]) -> Bars {
    let mut rows = Vec::new();
    for act in Activation::ALL {
        let get = |b: &str| {
            h.iter()
                .find(|r| r.activation == act.name() && r.backend == b)
                .map_or(0.0, |r| r.forward_ns)
        };
        rows.push((act.name().to_string(), get("libm"), get("micromath")));
    }
    Bars {
        title: "host: forward ns per element".into(),
        unit: "ns / element".into(),
        rows,
    }
}

fn mcu_bars(t: &Value) -> Bars {
    let core = t["core"].as_str().unwrap_or("?").to_string();
    let empty = Vec::new();
    let acts = t["activations"].as_array().unwrap_or(&empty);
    let mut rows = Vec::new();
    for act in Activation::ALL {
        let get = |b: &str| {
            acts.iter()
                .find(|r| r["activation"] == act.name() && r["backend"] == b)
                .and_then(|r| r["forward_instructions_per_element"].as_f64())
                .unwrap_or(0.0)
        };
        rows.push((act.name().to_string(), get("libm"), get("micromath")));
    }
    Bars {
        title: format!("{core}: forward instructions per element"),
        unit: "instructions / element (QEMU -icount)".into(),
        rows,
    }
}

struct CostFigure {
    panels: Vec<Bars>,
}

impl Figure for CostFigure {
    fn size(&self) -> (u32, u32) {
        (430 * self.panels.len().max(1) as u32, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (p, a) in self.panels.iter().zip(areas.iter()) {
            p.draw(a)?;
        }
        Ok(())
    }
}

struct FunctionsFigure;

/// The elementwise activations plotted (one panel each, four to a row).
fn plotted() -> Vec<Activation> {
    Activation::ALL
        .into_iter()
        .filter(|a| a.is_elementwise())
        .collect()
}

/// Panels per row of [`FunctionsFigure`].
const PANELS_PER_ROW: usize = 4;

impl Figure for FunctionsFigure {
    fn size(&self) -> (u32, u32) {
        let rows = plotted().len().div_ceil(PANELS_PER_ROW).max(1);
        (1400, 320 * rows as u32)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let acts = plotted();
        let rows = acts.len().div_ceil(PANELS_PER_ROW).max(1);
        let areas = root.split_evenly((rows, PANELS_PER_ROW));
        for (act, area) in acts.iter().zip(areas.iter()) {
            let act = act.cast::<f64>();
            let xs: Vec<f64> = (0..=200)
                .map(|i| -5.0 + 10.0 * f64::from(i) / 200.0)
                .collect();
            let f: Vec<(f64, f64)> = xs.iter().map(|&x| (x, act.forward::<Libm>(x))).collect();
            let d: Vec<(f64, f64)> = xs
                .iter()
                .map(|&x| {
                    let a = act.forward::<Libm>(x);
                    (x, act.derivative::<Libm>(x, a))
                })
                .collect();
            Lines {
                title: act.name().to_string(),
                x_label: "z",
                y_label: "f(z), df/dz",
                series: vec![("f(z)".into(), f), ("df/dz".into(), d)],
                log_y: false,
                points: false,
                legend: SeriesLabelPosition::UpperLeft,
            }
            .draw(area)?;
        }
        Ok(())
    }
}

/// `microprop-sim activations`.
pub fn run(a: &ActivationsArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
    }
    let mcu = match &a.mcu {
        Some(dir) => read_mcu(dir)?,
        None => Vec::new(),
    };
    let host = host_costs(a.elements as usize, a.reps, ctx);
    let mut text = format!(
        "host cost per element ({} inputs over [{}, {}], fastest of {} runs) and max |error| vs f64\n\
         {:<11} {:<9} {:>9} {:>9} {:>11} {:>11}\n",
        bench::SWEEP,
        bench::SWEEP_LO,
        bench::SWEEP_HI,
        a.reps,
        "activation",
        "backend",
        "fwd ns",
        "bwd ns",
        "fwd error",
        "bwd error"
    );
    for r in &host {
        text += &format!(
            "{:<11} {:<9} {:>9.2} {:>9.2} {:>11.2e} {:>11.2e}\n",
            r.activation,
            r.backend,
            r.forward_ns,
            r.backward_ns,
            r.forward_max_abs_error,
            r.backward_max_abs_error
        );
    }
    if mcu.is_empty() {
        text += "no microcontroller table (run `cargo xtask bench-mcu`, then pass --mcu target/bench-mcu)\n";
    } else {
        text += &format!(
            "microcontroller tables: {}\n",
            mcu.iter()
                .map(|t| t["core"].as_str().unwrap_or("?").to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(p) = &a.plot {
        save(&host, &mcu, p)?;
        text += &format!(
            "plots: {}, {}{}\n",
            p.display(),
            plot::sibling(p, "cost").display(),
            if mcu.is_empty() {
                String::new()
            } else {
                format!(", {}", plot::sibling(p, "mcu").display())
            }
        );
    }
    let json = json!({
        "sweep": { "points": bench::SWEEP, "lo": bench::SWEEP_LO, "hi": bench::SWEEP_HI },
        "host": host.iter().map(|r| json!({
            "activation": r.activation,
            "backend": r.backend,
            "forward_ns_per_element": r.forward_ns,
            "backward_ns_per_element": r.backward_ns,
            "forward_max_abs_error": r.forward_max_abs_error,
            "backward_max_abs_error": r.backward_max_abs_error,
        })).collect::<Vec<_>>(),
        "mcu": if mcu.is_empty() { Value::Null } else { json!(mcu) },
    });
    Ok(Output { json, text })
}

/// Writes the functions figure to `path`, the host cost chart to `<stem>-cost` and, when
/// there are MCU tables, the per-core charts to `<stem>-mcu`.
///
/// # Errors
/// Drawing errors.
pub fn save(host: &[HostCost], mcu: &[Value], path: &Path) -> Res<()> {
    plot::save(&FunctionsFigure, path)?;
    plot::save(
        &CostFigure {
            panels: vec![host_bars(host)],
        },
        &plot::sibling(path, "cost"),
    )?;
    if !mcu.is_empty() {
        plot::save(
            &CostFigure {
                panels: mcu.iter().map(mcu_bars).collect(),
            },
            &plot::sibling(path, "mcu"),
        )?;
    }
    Ok(())
}
