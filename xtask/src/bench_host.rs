//! `cargo xtask bench-host [--json] [--math libm|micromath|fast]`: the cost of one training
//! step on the host, by callgrind and by the wall clock.
//!
//! The protocol (issue #11): a release binary (`core/examples/train_steps.rs`) trains each
//! benchmark net online on 512 samples of two clusters at ±(1, 1), σ 0.7 per coordinate,
//! lr 0.1 on ½(o − t)², sigmoid output, for 100 epochs = 51,200 steps.
//!
//! * instructions per step: the difference of callgrind's totals for 51,200 steps and for
//!   0 steps, divided by 51,200 (free of start-up and data generation; repeatable on a
//!   busy machine);
//! * ns per step: the wall time of the training loop alone in a plain run, the median of
//!   [`REPEATS`] runs;
//! * accuracy: on the training set after the plain run.
//!
//! The binary is the one cargo reports building (`--message-format=json`), so
//! `CARGO_TARGET_DIR` and `RUSTFLAGS` (e.g. `-C target-cpu=native`) are honoured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{cmd, output};

/// Steps of the counted run: 100 epochs of 512 samples.
const STEPS: u64 = 51_200;

/// Plain runs timed per net; the median is reported.
const REPEATS: usize = 5;

/// (network, the bar, the best C trainer measured with the same protocol).
const NETS: [(&str, u64, u64); 4] = [
    ("n1", 1_200, 2_400),
    ("n2", 5_700, 19_100),
    ("n2relu", 3_600, 17_900),
    ("n3", 1_500, 3_000),
];

/// What one net measured.
struct Measured {
    net: &'static str,
    bar: u64,
    c: u64,
    instructions_per_step: u64,
    ns_per_step: f64,
    accuracy: f64,
}

/// Runs the protocol for every benchmark net and prints the table, or with `--json` one
/// JSON object keyed by net.
pub fn run(args: &[String]) -> Result<(), String> {
    let (mut json, mut math) = (false, "libm".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--math" => {
                math = it
                    .next()
                    .cloned()
                    .ok_or("bench-host: --math needs a backend (libm, micromath, fast)")?;
            }
            other => {
                return Err(format!(
                    "bench-host: unknown argument `{other}` (flags: --json, --math BACKEND)"
                ))
            }
        }
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
    }
    let bin = example()?;
    let mut all = Vec::new();
    for (net, bar, c) in NETS {
        let full = instructions(&bin, net, &math, STEPS)?;
        let empty = instructions(&bin, net, &math, 0)?;
        let mut ns = Vec::new();
        let mut accuracy = 0.0;
        for _ in 0..REPEATS {
            let r = plain(&bin, net, &math)?;
            ns.push(r.0);
            accuracy = r.1;
        }
        ns.sort_by(f64::total_cmp);
        all.push(Measured {
            net,
            bar,
            c,
            instructions_per_step: full.saturating_sub(empty) / STEPS,
            ns_per_step: ns.get(ns.len() / 2).copied().unwrap_or(f64::NAN),
            accuracy,
        });
    }
    if json {
        let mut obj = serde_json::Map::new();
        for m in &all {
            obj.insert(
                m.net.to_string(),
                serde_json::json!({
                    "instructions_per_step": m.instructions_per_step,
                    "ns_per_step": m.ns_per_step,
                    "accuracy": m.accuracy,
                }),
            );
        }
        println!("{}", serde_json::Value::Object(obj));
    } else {
        println!("maths backend: {math}; ns/step: median of {REPEATS} plain runs");
        println!("| net | instructions / step | bar | best C trainer | ns / step | accuracy |");
        println!("|---|---:|---:|---:|---:|---:|");
        for m in &all {
            println!(
                "| {} | {} | {} | {} | {:.1} | {:.4} |",
                m.net, m.instructions_per_step, m.bar, m.c, m.ns_per_step, m.accuracy
            );
        }
    }
    Ok(())
}

/// Builds the release example `core/examples/train_steps.rs` (the step protocol) and
/// returns the executable cargo reports (honouring `CARGO_TARGET_DIR` and `RUSTFLAGS`);
/// `bench-mcu` runs it too, as the devices' host twin.
pub fn example() -> Result<PathBuf, String> {
    let mut c = cmd("cargo");
    c.args([
        "build",
        "--release",
        "-p",
        "microprop",
        "--example",
        "train_steps",
        "--message-format=json",
    ])
    .stderr(Stdio::inherit());
    eprintln!("$ {c:?}");
    let stdout = output(&mut c)?;
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "train_steps")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no executable for the example train_steps".into())
}

/// Total instructions of one run under callgrind.
fn instructions(bin: &Path, net: &str, math: &str, steps: u64) -> Result<u64, String> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(bin)
        .args([net, &steps.to_string(), "--math", math])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "{} {net} under callgrind failed:\n{stderr}",
            bin.display()
        ));
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind output:\n{stderr}"))
}

/// One plain run of the full protocol: (ns per step of the training loop, accuracy).
fn plain(bin: &Path, net: &str, math: &str) -> Result<(f64, f64), String> {
    let mut c = Command::new(bin);
    c.args([net, &STEPS.to_string(), "--math", math, "--eval"]);
    let text = output(&mut c)?;
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("{}: not one JSON object ({e}): {text}", bin.display()))?;
    let field = |k: &str| {
        v[k].as_f64()
            .ok_or_else(|| format!("{}: no number `{k}` in {text}", bin.display()))
    };
    Ok((field("ns_per_step")?, field("accuracy")?))
}
