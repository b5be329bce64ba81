//! `cargo xtask bench-host`: instructions per training step on the host, by callgrind.
//!
//! The protocol: a release binary (`core/examples/train_steps.rs`) runs 51,200 online SGD
//! steps, and again 0 steps; the difference of callgrind's instruction totals divided by
//! 51,200 is the cost of one step, free of start-up and data generation. Instruction
//! counts are repeatable on a busy machine, unlike wall-clock time.

use std::process::Command;

use crate::util::{cmd, root, run_cmd};

const STEPS: u64 = 51_200;

/// (network, the bar, the best C trainer measured with the same protocol).
const NETS: [(&str, u64, u64); 4] = [
    ("n1", 1_200, 2_400),
    ("n2-sigmoid", 5_700, 19_100),
    ("n2-relu", 3_600, 17_900),
    ("n3", 1_500, 3_000),
];

/// Runs the protocol for every benchmark net and prints the table.
pub fn run(_args: &[String]) -> Result<(), String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
    }
    run_cmd(cmd("cargo").args([
        "build",
        "--release",
        "-p",
        "microprop",
        "--example",
        "train_steps",
    ]))?;
    let bin = root().join("target/release/examples/train_steps");
    println!("| net | instructions / step | bar | best C trainer |");
    println!("|---|---:|---:|---:|");
    for (net, bar, c) in NETS {
        let full = instructions(&bin, net, STEPS)?;
        let empty = instructions(&bin, net, 0)?;
        let per_step = full.saturating_sub(empty) / STEPS;
        println!("| {net} | {per_step} | {bar} | {c} |");
    }
    Ok(())
}

/// Total instructions of one run under callgrind.
fn instructions(bin: &std::path::Path, net: &str, steps: u64) -> Result<u64, String> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(bin)
        .args([net, &steps.to_string()])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind output:\n{stderr}"))
}
