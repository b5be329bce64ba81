//! `bench`: the firmware's cost benchmark ([`microprop_app::bench::run`]) on the host: the
//! same sweep, nets, step data and code, timed with the host clock (1 tick = 1 ns of wall
//! time). The host has no instruction counts (those come from QEMU, `cargo xtask
//! bench-mcu`): what it shows is wall-clock nanoseconds of one run, which are noisy, and
//! each backend's maximum error, which is exact and the same on every platform.

use std::time::Instant;

use microprop::{Libm, Math, Micromath};
use microprop_app::bench::{self, Meter};
use microprop_app::{BenchEvent, Cycles, Sink};
use serde_json::json;

use crate::{
    cli::BenchArgs,
    ctx::{failure, ErrorKind},
    Ctx, Output, Res,
};

/// The host clock as the benchmark's counter: nanoseconds since start, wrapping at 32
/// bits. No markers (nothing counts instructions here).
#[derive(Debug)]
pub struct HostClock(Instant);

impl HostClock {
    /// A clock starting now.
    pub fn new() -> Self {
        HostClock(Instant::now())
    }
}

impl Default for HostClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Cycles for HostClock {
    fn now(&mut self) -> u32 {
        self.0.elapsed().as_nanos() as u32
    }
}

impl Meter for HostClock {}

/// Records the events.
#[derive(Default)]
struct Record(Vec<BenchEvent>);

impl Sink<BenchEvent> for Record {
    fn event(&mut self, e: &BenchEvent) {
        self.0.push(*e);
    }
}

/// Runs the benchmark `runs` times and keeps, per activation and per net, the fastest
/// time of each part (the runs log the same events in the same order).
///
/// # Errors
/// If the benchmark fails.
pub fn fastest(runs: u32) -> Res<Vec<BenchEvent>> {
    let mut best: Option<Vec<BenchEvent>> = None;
    for _ in 0..runs.max(1) {
        let mut log = Record::default();
        bench::run(&mut HostClock::new(), &mut log)
            .map_err(|e| failure(ErrorKind::of_app(&e), format!("bench: {e}")))?;
        let Some(best) = &mut best else {
            best = Some(log.0);
            continue;
        };
        for (b, e) in best.iter_mut().zip(log.0) {
            match (b, e) {
                (
                    BenchEvent::Activation { fwd, bwd, fill, .. },
                    BenchEvent::Activation {
                        fwd: f,
                        bwd: w,
                        fill: l,
                        ..
                    },
                ) => {
                    *fwd = (*fwd).min(f);
                    *bwd = (*bwd).min(w);
                    *fill = (*fill).min(l);
                }
                (
                    BenchEvent::Step {
                        total, fwd, sample, ..
                    },
                    BenchEvent::Step {
                        total: t,
                        fwd: f,
                        sample: s,
                        ..
                    },
                ) => {
                    *total = (*total).min(t);
                    *fwd = (*fwd).min(f);
                    *sample = (*sample).min(s);
                }
                _ => {}
            }
        }
    }
    Ok(best.unwrap_or_default())
}

/// `microprop-sim bench`.
pub fn run(a: &BenchArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    let log = Record(fastest(a.runs)?);
    let mut acts = Vec::new();
    let mut steps = Vec::new();
    let mut memory = json!(null);
    let mut text = format!(
        "The firmware's cost benchmark on the host: same protocol and code, timed by the host \
         clock.\nHost wall-clock nanoseconds, fastest of {} runs (noisy; not instructions: \
         those come from QEMU, `cargo xtask bench-mcu`).\nMax |error| against f64 over \
         [{}, {}]: exact, the same on every platform.\n\n\
         {:<11} {:<10} {:>11} {:>11} {:>10} {:>10}\n",
        a.runs.max(1),
        bench::SWEEP_LO,
        bench::SWEEP_HI,
        "activation",
        "backend",
        "fwd ns/elem",
        "bwd ns/elem",
        "fwd err",
        "bwd err"
    );
    for e in &log.0 {
        match *e {
            BenchEvent::Activation {
                act,
                backend,
                fwd,
                bwd,
                fill,
                n,
            } => {
                let n = f64::from(n.max(1));
                let fwd = f64::from(fwd) / n;
                let bwd = f64::from(bwd.saturating_sub(fill)) / n;
                let (ef, eb) = if backend == <Micromath as Math<f32>>::NAME {
                    bench::max_error::<Micromath>(act)
                } else {
                    bench::max_error::<Libm>(act)
                };
                text += &format!(
                    "{:<11} {backend:<10} {fwd:>11.2} {bwd:>11.2} {ef:>10.1e} {eb:>10.1e}\n",
                    act.name()
                );
                acts.push(json!({
                    "activation": act.name(), "backend": backend,
                    "forward_ns_per_element": fwd, "backward_ns_per_element": bwd,
                    "forward_max_abs_error": ef, "backward_max_abs_error": eb,
                }));
            }
            BenchEvent::Step {
                net,
                backend,
                total,
                steps: timed,
                fwd,
                sample,
                n,
                ..
            } => {
                let n = f64::from(n.max(1));
                let (total, fwd, sample) = (
                    f64::from(total) / f64::from(timed.max(1)),
                    f64::from(fwd) / n,
                    f64::from(sample) / n,
                );
                steps.push(json!({
                    "net": net.name(), "backend": backend,
                    "ns_per_step": total, "forward_ns": fwd, "sample_ns": sample,
                }));
            }
            BenchEvent::Memory {
                weights,
                training,
                trainer,
                optimizer,
            } => {
                memory = json!({
                    "n1_weights_bytes": weights,
                    "n1_training_buffers_bytes": training,
                    "trainer_bytes": trainer,
                    "optimizer_bytes": optimizer,
                });
            }
            BenchEvent::Calibration | BenchEvent::Region { .. } | BenchEvent::Done => {}
        }
    }
    text += &format!(
        "\n{:<22} {:<10} {:>9} {:>9} {:>9}\n",
        "training step (batch 1)", "backend", "ns/step", "forward", "sample"
    );
    for s in &steps {
        text += &format!(
            "{:<22} {:<10} {:>9.0} {:>9.0} {:>9.0}\n",
            s["net"].as_str().unwrap_or("?"),
            s["backend"].as_str().unwrap_or("?"),
            s["ns_per_step"].as_f64().unwrap_or(f64::NAN),
            s["forward_ns"].as_f64().unwrap_or(f64::NAN),
            s["sample_ns"].as_f64().unwrap_or(f64::NAN),
        );
    }
    text += &format!(
        "\nN1 memory: weights {} B, training buffers {} B; on this host a Trainer is {} B and \
         Sgd {} B\n",
        memory["n1_weights_bytes"],
        memory["n1_training_buffers_bytes"],
        memory["trainer_bytes"],
        memory["optimizer_bytes"]
    );
    let lines: Vec<String> = log.0.iter().map(ToString::to_string).collect();
    let json = json!({
        "clock": "host wall clock, 1 tick = 1 ns (no instruction counts on the host)",
        "runs": a.runs.max(1),
        "sweep": { "points": bench::SWEEP, "lo": bench::SWEEP_LO, "hi": bench::SWEEP_HI },
        "activations": acts,
        "steps": steps,
        "n1_memory": memory,
        "lines": lines,
    });
    Ok(Output { json, text })
}
