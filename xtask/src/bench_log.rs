//! Reading the cost benchmark's device log (`firmware/src/bin/bench.rs`) and the
//! exact-count plugin's output into the `bench-mcu` table (JSON, saved as
//! `target/bench-mcu/<core>.json`).
//!
//! The device log lines it reads, by their first word:
//! * `act <activation> <backend> n N fwd T fill T bwd T` — SysTick ticks of a sweep;
//! * `step <net name...> <backend> total T steps S fwd T sample T n N hash H` — ticks of S
//!   training steps of the protocol (`bench::SAMPLES` samples, from the fresh init), of N
//!   forward passes, of N one-sample walks; the weights hash after the S steps;
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
    let mut steps_timed: Vec<f64> = Vec::new();
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
                let timed = field(&words, "steps")?;
                steps_timed.push(timed);
                let total = field(&words, "total")? * tick / timed;
                let fwd = field(&words, "fwd")? * tick / n;
                let sample = field(&words, "sample")? * tick / n;
                let bar = bench::StepNet::ALL
                    .into_iter()
                    .find(|s| s.name() == net)
                    .map(|s| s.bar());
                let hash = words
                    .iter()
                    .position(|w| *w == "hash")
                    .and_then(|i| words.get(i + 1))
                    .ok_or_else(|| format!("no `hash` in `{line}`"))?;
                let row = json!({
                    "net": net, "backend": backend,
                    "steps": timed as u64,
                    "weights_hash": hash,
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
    // Every net timed the same protocol.
    let protocol = match steps_timed.first() {
        None => json!(null),
        Some(&s) if steps_timed.iter().all(|&t| t == s) => json!({
            "samples": bench::SAMPLES,
            "steps": s as u64,
            "epochs": s / bench::SAMPLES as f64,
        }),
        Some(_) => {
            return Err(format!(
                "step lines timed different step counts: {steps_timed:?}"
            ))
        }
    };
    if !q16_acts.is_empty() {
        q16.insert("activations".into(), serde_json::Value::Object(q16_acts));
    }
    Ok(json!({
        "q16": if q16.is_empty() { json!(null) } else { serde_json::Value::Object(q16) },
        "core": core.name,
        "protocol": protocol,
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
        let steps = s["steps"].as_f64().unwrap_or(f64::NAN);
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

/// The step nets' keys in `bench-mcu --json`, in table order.
const NET_KEYS: [(bench::StepNet, &str); 4] = [
    (bench::StepNet::N1, "n1"),
    (bench::StepNet::N2Sigmoid, "n2"),
    (bench::StepNet::N2Relu, "n2relu"),
    (bench::StepNet::N3, "n3"),
];

/// A backend's key in `bench-mcu --json`: `libm`, `micromath`, `fixed_table`
/// (`q16-table`), `fixed_poly` (`q16-poly`).
pub fn backend_key(backend: &str) -> String {
    match backend {
        "q16-table" => "fixed_table".into(),
        "q16-poly" => "fixed_poly".into(),
        other => other.replace('-', "_"),
    }
}

/// One core's object of `bench-mcu --json`, shaped from its table ([`parse_bench`], with
/// [`add_exact_counts`] when the plugin ran): see `bench_mcu` for the keys.
///
/// # Errors
/// If a step net or an activation row is missing or has no number.
pub fn summary(table: &serde_json::Value) -> Result<serde_json::Value, String> {
    let core = table["core"].as_str().unwrap_or("?");
    let mut out = serde_json::Map::new();
    let protocol = &table["protocol"];
    out.insert("epochs".into(), protocol["epochs"].clone());
    out.insert("steps".into(), protocol["steps"].clone());
    out.insert(
        "weights_identical_to_host".into(),
        json!(table["weights_identical_to_host"] == true),
    );
    let float_rows: Vec<&serde_json::Value> =
        table["steps"].as_array().into_iter().flatten().collect();
    let exact = float_rows
        .iter()
        .all(|s| s["exact_instructions_per_step"].is_number());
    out.insert(
        "counts".into(),
        json!(if exact && !float_rows.is_empty() {
            "exact"
        } else {
            "systick"
        }),
    );
    let nets = summary_nets(core, &float_rows, "libm", &NET_KEYS)?;
    out.extend(nets);
    let acts = table["activations"].as_array().map(Vec::as_slice);
    out.insert(
        "activations".into(),
        summary_activations(core, acts.unwrap_or_default())?,
    );
    let q = &table["q16"];
    if !q.is_null() {
        let q_rows: Vec<&serde_json::Value> = q
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "activations")
            .map(|(_, v)| v)
            .collect();
        let q_nets = [NET_KEYS[0], NET_KEYS[2]];
        let mut qo = summary_nets(core, &q_rows, "q16-table", &q_nets)?;
        let mut all = Vec::new();
        for rows in q["activations"].as_object().into_iter().flatten() {
            all.extend(rows.1.as_array().into_iter().flatten().cloned());
        }
        qo.insert("activations".into(), summary_activations(core, &all)?);
        out.insert("q16".into(), serde_json::Value::Object(qo));
    }
    out.insert(
        "stack_high_water_bytes".into(),
        table["stack_high_water_bytes"].clone(),
    );
    Ok(serde_json::Value::Object(out))
}

/// The step rows as `{"n1": {"instructions_per_step": .., "backend": <default>,
/// "<other backend>": {"instructions_per_step": ..}}, ..}`: the exact count where the
/// plugin gave one, else the SysTick one.
fn summary_nets(
    core: &str,
    rows: &[&serde_json::Value],
    default: &str,
    nets: &[(bench::StepNet, &str)],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut out = serde_json::Map::new();
    for (net, key) in nets {
        let mine: Vec<&&serde_json::Value> =
            rows.iter().filter(|r| r["net"] == net.name()).collect();
        let per_step = |r: &serde_json::Value| {
            r["exact_instructions_per_step"]
                .as_f64()
                .or(r["instructions_per_step"].as_f64())
                .ok_or_else(|| format!("{core}: {} has no instruction count", net.name()))
        };
        let first = mine
            .iter()
            .find(|r| r["backend"] == default)
            .ok_or_else(|| format!("{core}: no {} row under {default}", net.name()))?;
        let mut o = serde_json::Map::new();
        o.insert("instructions_per_step".into(), json!(per_step(first)?));
        o.insert("backend".into(), json!(backend_key(default)));
        for r in mine.iter().filter(|r| r["backend"] != default) {
            let b = r["backend"].as_str().unwrap_or("?");
            o.insert(
                backend_key(b),
                json!({ "instructions_per_step": per_step(r)? }),
            );
        }
        out.insert((*key).to_string(), serde_json::Value::Object(o));
    }
    Ok(out)
}

/// Activation rows as `{"sigmoid": {"libm": {"forward": .., "max_error": .., "backward":
/// .., "backward_max_error": ..}, ..}, ..}` (instructions per element; maximum absolute
/// error against `f64`).
fn summary_activations(
    core: &str,
    rows: &[serde_json::Value],
) -> Result<serde_json::Value, String> {
    let mut out = serde_json::Map::new();
    for r in rows {
        let (Some(act), Some(backend)) = (r["activation"].as_str(), r["backend"].as_str()) else {
            return Err(format!("{core}: an activation row without its names: {r}"));
        };
        let num = |k: &str| {
            r[k].as_f64()
                .ok_or_else(|| format!("{core}: {act} {backend}: no number `{k}`"))
        };
        let entry = out.entry(act.to_string()).or_insert_with(|| json!({}));
        entry[backend_key(backend)] = json!({
            "forward": num("forward_instructions_per_element")?,
            "max_error": num("forward_max_abs_error")?,
            "backward": num("backward_instructions_per_element")?,
            "backward_max_error": num("backward_max_abs_error")?,
        });
    }
    Ok(serde_json::Value::Object(out))
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
            "step N1 2-16-1 sigmoid libm total 3200 steps 64 fwd 800 sample 1600 n 64 hash 00000000000000ab",
            "step N1 2-16-1 sigmoid q16-table total 6400 steps 64 fwd 1600 sample 3200 n 64 hash 00000000000000ab",
            "step N2 2-32-32-1 relu q16-table total 64000 steps 64 fwd 1600 sample 3200 n 64 hash 00000000000000ab",
            "step N1 2-16-1 sigmoid q16-poly total 6500 steps 64 fwd 1600 sample 3200 n 64 hash 00000000000000ab",
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

    #[test]
    fn the_json_summary_has_the_issues_shape_from_a_parsed_table() {
        let mut lines = vec![
            "act sigmoid libm fwd 4000 bwd 3000 fill 1000 n 1024".to_string(),
            "act sigmoid micromath fwd 2000 bwd 2000 fill 1000 n 1024".into(),
            "act relu libm fwd 100 bwd 300 fill 100 n 1024".into(),
            "act sigmoid q16-table fwd 2000 bwd 3000 fill 1000 n 1024".into(),
            "act sigmoid q16-poly fwd 1000 bwd 3000 fill 1000 n 1024".into(),
            "stack 3000 of 4096".into(),
        ];
        for (k, net) in bench::StepNet::ALL.iter().enumerate() {
            for (b, backend) in ["libm", "micromath"].iter().enumerate() {
                // 128 steps; the breakdown over 64 passes.
                let total = 2 * (640 * (k + 1) + 64 * b);
                lines.push(format!(
                    "step {} {backend} total {total} steps 128 fwd 64 sample 128 n 64 hash 0123456789abcdef",
                    net.name()
                ));
            }
        }
        for net in [bench::StepNet::N1, bench::StepNet::N2Relu] {
            for (backend, total) in [("q16-table", 12800), ("q16-poly", 25600)] {
                lines.push(format!(
                    "step {} {backend} total {total} steps 128 fwd 64 sample 128 n 64 hash 0123456789abcdef",
                    net.name()
                ));
            }
        }
        for core in &CORES {
            let t = parse_bench(core, "test", 40.0, &lines).expect("parses");
            let s = summary(&t).expect("shapes");
            let keys = |v: &serde_json::Value| {
                let mut k: Vec<String> = v
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                k.sort();
                k
            };
            assert_eq!(
                keys(&s),
                [
                    "activations",
                    "counts",
                    "epochs",
                    "n1",
                    "n2",
                    "n2relu",
                    "n3",
                    "q16",
                    "stack_high_water_bytes",
                    "steps",
                    "weights_identical_to_host"
                ]
            );
            // SysTick only (no plugin): 1280 ticks x 40 / 128 steps, and the other backend
            // beside it; the protocol timed.
            assert_eq!(s["counts"], "systick");
            // Not checked against the host twin here.
            assert_eq!(s["weights_identical_to_host"], false);
            assert_eq!(
                (s["steps"].clone(), s["epochs"].clone()),
                (json!(128), json!(0.25))
            );
            assert_eq!(t["steps"][0]["forward"], json!(40.0));
            assert_eq!(t["steps"][0]["weights_hash"], "0123456789abcdef");
            assert_eq!(s["n1"]["instructions_per_step"], json!(400.0));
            assert_eq!(s["n1"]["backend"], "libm");
            assert_eq!(s["n1"]["micromath"]["instructions_per_step"], json!(440.0));
            assert_eq!(s["n3"]["instructions_per_step"], json!(1600.0));
            assert_eq!(s["n2relu"]["instructions_per_step"], json!(1200.0));
            let sig = &s["activations"]["sigmoid"];
            assert_eq!(keys(sig), ["libm", "micromath"]);
            assert_eq!(
                keys(&sig["libm"]),
                ["backward", "backward_max_error", "forward", "max_error"]
            );
            assert_eq!(sig["libm"]["forward"], json!(156.25));
            assert_eq!(sig["libm"]["backward"], json!(78.13));
            let (ef, eb) = bench::max_error::<Micromath>(Activation::Sigmoid);
            assert_eq!(sig["micromath"]["max_error"], json!(ef));
            assert_eq!(sig["micromath"]["backward_max_error"], json!(eb));
            assert_eq!(keys(&s["activations"]["relu"]), ["libm"]);
            let q = &s["q16"];
            assert_eq!(keys(q), ["activations", "n1", "n2relu"]);
            assert_eq!(q["n1"]["instructions_per_step"], json!(4000.0));
            assert_eq!(q["n1"]["backend"], "fixed_table");
            assert_eq!(
                q["n2relu"]["fixed_poly"]["instructions_per_step"],
                json!(8000.0)
            );
            let qs = &q["activations"]["sigmoid"];
            assert_eq!(keys(qs), ["fixed_poly", "fixed_table"]);
            assert_eq!(qs["fixed_poly"]["forward"], json!(39.06));
            assert_eq!(s["stack_high_water_bytes"], json!(3000));
        }
        // Nets timed over different protocols do not make one table.
        let mut mixed = lines.clone();
        mixed.push(format!(
            "step {} libm total 1 steps 64 fwd 1 sample 1 n 64 hash 0",
            bench::StepNet::N1.name()
        ));
        let e = parse_bench(&CORES[0], "test", 40.0, &mixed).expect_err("mixed");
        assert!(e.contains("different step counts"), "{e}");
        // A missing net is an error naming it, not a hole in the contract.
        let t = parse_bench(&CORES[0], "test", 40.0, &lines[..6]).expect("parses");
        let e = summary(&t).expect_err("no steps");
        assert!(e.contains("N1 2-16-1 sigmoid"), "{e}");
    }
}
