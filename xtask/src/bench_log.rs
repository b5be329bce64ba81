//! Reading the cost benchmark's device log (`firmware/src/bin/bench.rs`) and the
//! exact-count plugin's output into the `bench-mcu` table (JSON, saved as
//! `target/bench-mcu/<core>.json`).
//!
//! The device log lines it reads, by their first word:
//! * `act <activation> <backend> n N fwd T fill T bwd T` — SysTick ticks of a sweep;
//! * `step <net name...> <backend> total T fwd T sample T n N` — of N training steps;
//! * `memory weights B training B trainer B optimizer B`, `stack stack B`;
//! * `region <k> <net name...> <backend>` — which plugin region is which step.
//!
//! Rows whose backend is a fixed-point one (`q16-table`, `q16-poly`) go to the table's
//! `q16` object instead: `{"n1": <step row>, "n2relu": <step row>, "n1_poly": ..,
//! "n2relu_poly": .., "activations": {"q16-table": [<activation rows>], "q16-poly": [..]}}`,
//! rows of the same shape as the float ones (`n1`, `n2relu`: under `FixedTable`, the
//! default fixed-point backend).

use std::collections::BTreeMap;
use std::path::Path;

use microprop::{Activation, FixedPoly, FixedTable, Libm, Micromath};
use microprop_app::bench;
use serde_json::json;

use crate::firmware::Core;
use crate::symbols::{function_at, symbols};

/// The table of one core's benchmark log: per-element activation costs (with each
/// backend's maximum error on the host), per-step costs, memory and stack.
pub fn parse_bench(
    core: &Core,
    machine: &str,
    tick: f64,
    lines: &[String],
) -> Result<serde_json::Value, String> {
    let mut acts = Vec::new();
    let mut steps = Vec::new();
    let mut q16 = serde_json::Map::new();
    let mut q16_acts = serde_json::Map::new();
    let mut memory = json!(null);
    let mut stack = json!(null);
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("act") => {
                let (name, backend) = (words[1], words[2]);
                let n = field(&words, "n")?;
                let fwd = field(&words, "fwd")? * tick / n;
                let bwd = (field(&words, "bwd")? - field(&words, "fill")?) * tick / n;
                let act = Activation::ALL
                    .into_iter()
                    .find(|a| a.name() == name)
                    .ok_or_else(|| format!("unknown activation {name}"))?;
                let (ef, eb) = match backend {
                    "libm" => bench::max_error::<Libm>(act),
                    "q16-table" => bench::max_error_q16::<FixedTable>(act),
                    "q16-poly" => bench::max_error_q16::<FixedPoly>(act),
                    _ => bench::max_error::<Micromath>(act),
                };
                let rows = if is_q16(backend) {
                    match q16_acts
                        .entry(backend.to_string())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        Some(rows) => rows,
                        None => return Err("q16 activations: not an array".into()),
                    }
                } else {
                    &mut acts
                };
                rows.push(json!({
                    "activation": name, "backend": backend,
                    "forward_instructions_per_element": round2(fwd),
                    "backward_instructions_per_element": round2(bwd),
                    "forward_max_abs_error": ef, "backward_max_abs_error": eb,
                }));
            }
            Some("step") => {
                // `step N1 2-16-1 sigmoid libm total ...`: the net's name has spaces.
                let at = words
                    .iter()
                    .position(|w| *w == "total")
                    .ok_or("step line without total")?;
                let backend = words[at - 1];
                let net = words[1..at - 1].join(" ");
                let n = field(&words, "n")?;
                let total = field(&words, "total")? * tick / n;
                let fwd = field(&words, "fwd")? * tick / n;
                let sample = field(&words, "sample")? * tick / n;
                let bar = bench::StepNet::ALL
                    .into_iter()
                    .find(|s| s.name() == net)
                    .map(|s| s.bar());
                let row = json!({
                    "net": net, "backend": backend,
                    "instructions_per_step": round2(total),
                    "forward": round2(fwd),
                    // one-sample `train::walk` (forward, loss, backward accumulating gradients)
                    // minus the forward; and the whole step minus that. Indicative only:
                    // the core's online step may fuse backward and update.
                    "sample_minus_forward": round2(sample - fwd),
                    "step_minus_sample": round2(total - sample),
                    "m4f_libm_bar": bar,
                });
                if is_q16(backend) {
                    let key = match net.as_str() {
                        n if n == bench::StepNet::N1.name() => "n1",
                        n if n == bench::StepNet::N2Relu.name() => "n2relu",
                        _ => return Err(format!("unexpected q16 step net {net}")),
                    };
                    let key = if backend == "q16-table" {
                        key.to_string()
                    } else {
                        format!("{key}_poly")
                    };
                    q16.insert(key, row);
                } else {
                    steps.push(row);
                }
            }
            Some("memory") => {
                memory = json!({
                    "n1_weights_bytes": field(&words, "weights")? as u64,
                    "n1_training_buffers_bytes": field(&words, "training")? as u64,
                    "trainer_bytes": field(&words, "trainer")? as u64,
                    "optimizer_bytes": field(&words, "optimizer")? as u64,
                });
            }
            Some("stack") => stack = json!(field(&words, "stack")? as u64),
            _ => {}
        }
    }
    if !q16_acts.is_empty() {
        q16.insert("activations".into(), serde_json::Value::Object(q16_acts));
    }
    Ok(json!({
        "q16": if q16.is_empty() { json!(null) } else { serde_json::Value::Object(q16) },
        "core": core.name,
        "target": core.target,
        "machine": machine,
        "method": "QEMU -icount shift=0: SysTick ticks x instructions per tick",
        "instructions_per_tick": tick,
        "sweep": { "points": bench::SWEEP, "lo": bench::SWEEP_LO, "hi": bench::SWEEP_HI },
        "activations": acts,
        "steps": steps,
        "n1_memory": memory,
        "stack_high_water_bytes": stack,
    }))
}

/// Adds the plugin's exact per-step counts (`counts`: `region <k> <n>` and
/// `pc <k> <pc> <n>` lines) and the per-function profile of every step to `table`.
pub fn add_exact_counts(
    table: &mut serde_json::Value,
    lines: &[String],
    counts: &Path,
    image: &Path,
) -> Result<(), String> {
    let text = std::fs::read_to_string(counts).map_err(|e| e.to_string())?;
    let syms = symbols(image)?;
    // Region labels, in order, from the device log: `region <k> <net...> <backend>`.
    let labels: Vec<(u64, String, String)> = lines
        .iter()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.first() != Some(&"region") || w.len() < 4 {
                return None;
            }
            let k = w[1].parse().ok()?;
            Some((k, w[2..w.len() - 1].join(" "), w[w.len() - 1].to_string()))
        })
        .collect();
    let mut totals = BTreeMap::new();
    let mut per_fn: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w[..] {
            ["region", k, n] => {
                totals.insert(k.parse::<u64>().unwrap_or(0), n.parse::<u64>().unwrap_or(0));
            }
            ["pc", k, pc, n] => {
                let pc = u64::from_str_radix(pc, 16).unwrap_or(0);
                *per_fn
                    .entry(k.parse().unwrap_or(0))
                    .or_default()
                    .entry(function_at(&syms, pc))
                    .or_default() += n.parse::<u64>().unwrap_or(0);
            }
            _ => {}
        }
    }
    let calibration = *totals.get(&0).ok_or("no calibration region")?;
    let steps = bench::STEP_SAMPLES as f64;
    let mut rows: Vec<&mut serde_json::Value> = Vec::new();
    let (steps_rows, q16) = match table {
        serde_json::Value::Object(m) => {
            let mut it = m.iter_mut();
            let mut steps_rows = None;
            let mut q16 = None;
            for (k, v) in &mut it {
                match k.as_str() {
                    "steps" => steps_rows = Some(v),
                    "q16" => q16 = Some(v),
                    _ => {}
                }
            }
            (steps_rows, q16)
        }
        _ => (None, None),
    };
    if let Some(v) = steps_rows {
        rows.extend(v.as_array_mut().into_iter().flatten());
    }
    if let Some(serde_json::Value::Object(q)) = q16 {
        rows.extend(
            q.iter_mut()
                .filter(|(k, _)| k.as_str() != "activations")
                .map(|(_, v)| v),
        );
    }
    for s in rows {
        let Some((k, _, _)) = labels
            .iter()
            .find(|(_, net, backend)| s["net"] == net.as_str() && s["backend"] == backend.as_str())
        else {
            continue;
        };
        let Some(&total) = totals.get(k) else {
            continue;
        };
        s["exact_instructions_per_step"] =
            json!(round2((total.saturating_sub(calibration)) as f64 / steps));
        let mut fns: Vec<(String, u64)> = per_fn
            .get(k)
            .map(|m| m.iter().map(|(f, n)| (f.clone(), *n)).collect())
            .unwrap_or_default();
        fns.sort_by_key(|f| std::cmp::Reverse(f.1));
        s["profile"] = json!(fns
            .iter()
            .filter(|(f, _)| !f.starts_with("microprop_mark"))
            .take(10)
            .map(|(f, n)| json!({ "function": f, "instructions_per_step": round2(*n as f64 / steps) }))
            .collect::<Vec<_>>());
    }
    table["method"] = json!(
        "exact: QEMU TCG plugin (firmware/tools/icount) between marker functions; \
         activations and step breakdowns: QEMU -icount shift=0, SysTick ticks x instructions per tick"
    );
    Ok(())
}

/// Whether `backend` (a `Math::NAME`) is one of the fixed-point backends.
pub fn is_q16(backend: &str) -> bool {
    backend.starts_with("q16-")
}

/// The number after `key` in a log line's words.
fn field(words: &[&str], key: &str) -> Result<f64, String> {
    words
        .iter()
        .position(|w| *w == key)
        .and_then(|i| words.get(i + 1))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no `{key}` in `{}`", words.join(" ")))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::CORES;

    #[test]
    fn q16_rows_go_to_the_q16_object_in_the_float_rows_shape() {
        let lines: Vec<String> = [
            "act sigmoid libm fwd 4000 bwd 3000 fill 1000 n 1024",
            "act sigmoid q16-table fwd 2000 bwd 3000 fill 1000 n 1024",
            "act relu q16-poly fwd 100 bwd 300 fill 100 n 1024",
            "step N1 2-16-1 sigmoid libm total 3200 fwd 800 sample 1600 n 64",
            "step N1 2-16-1 sigmoid q16-table total 6400 fwd 1600 sample 3200 n 64",
            "step N2 2-32-32-1 relu q16-table total 64000 fwd 1600 sample 3200 n 64",
            "step N1 2-16-1 sigmoid q16-poly total 6500 fwd 1600 sample 3200 n 64",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = parse_bench(&CORES[2], "test", 40.0, &lines).expect("parses");
        assert_eq!(t["activations"].as_array().map(Vec::len), Some(1));
        assert_eq!(t["steps"].as_array().map(Vec::len), Some(1));
        let q = &t["q16"];
        assert_eq!(q["n1"]["instructions_per_step"], json!(4000.0));
        assert_eq!(q["n1"]["backend"], "q16-table");
        assert_eq!(q["n2relu"]["instructions_per_step"], json!(40000.0));
        assert_eq!(q["n1_poly"]["instructions_per_step"], json!(4062.5));
        let table = &q["activations"]["q16-table"][0];
        assert_eq!(table["forward_instructions_per_element"], json!(78.13));
        // The error of the Q16 backend, not of a float one.
        let (ef, _) = bench::max_error_q16::<FixedTable>(Activation::Sigmoid);
        assert_eq!(table["forward_max_abs_error"], json!(ef));
        assert!(ef > 0.0 && ef < 1e-4, "{ef}");
        // The same keys as a float row.
        let keys =
            |v: &serde_json::Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(table), keys(&t["activations"][0]));
        assert_eq!(keys(&q["n1"]), keys(&t["steps"][0]));
        // No fixed-point lines: no q16 object.
        let t = parse_bench(&CORES[2], "test", 40.0, &lines[..1]).expect("parses");
        assert!(t["q16"].is_null());
    }
}
