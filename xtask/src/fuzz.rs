//! `cargo xtask fuzz`: runs every cargo-fuzz target for a bounded time.
//!
//! * `cargo xtask fuzz [SECONDS] [TARGET...]` — each target for `SECONDS` (default 60).
//! * `cargo xtask test` runs [`short`]: the kept inputs replayed as a plain test, then a
//!   few seconds of fuzzing per target.
//! * Kept inputs: `fuzz/seeds/<target>/` (hand-made starting points) and
//!   `fuzz/regressions/<target>/` (inputs that once crashed).
//!
//! The toolchain is stable: libFuzzer's instrumentation needs `-Z` flags, so the fuzz
//! builds run with `RUSTC_BOOTSTRAP=1` (set here, for these commands only). Builds use
//! `-s none` (the core forbids `unsafe`; panics, debug assertions and overflow checks
//! are what the fuzzers look for) so the short run and the long run share one build.
//! New corpus entries go to `fuzz/target/corpus/` (not kept); crashes that libFuzzer
//! writes to `fuzz/artifacts/<target>/` are copied to `fuzz/regressions/<target>/`,
//! which the replay test runs from then on: commit them with the fix.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::setup::ensure_cargo_fuzz;
use crate::util::{cmd, root, run_cmd};

/// The fuzz targets, in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 3] = ["model_load", "train_step", "config"];

/// `cargo xtask fuzz [SECONDS] [TARGET...]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut secs = 60;
    let mut targets: Vec<&str> = Vec::new();
    for a in args {
        if let Ok(n) = a.parse::<u32>() {
            secs = n;
        } else if let Some(t) = TARGETS.iter().find(|t| **t == a.as_str()) {
            targets.push(t);
        } else {
            return Err(format!("unknown fuzz argument `{a}`; targets: {TARGETS:?}"));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    replay(true)?;
    fuzz(&targets, secs)
}

/// The short budget for `cargo xtask test`: replay (without the simulator's parser, which
/// would build the simulator once more), then `secs` seconds per target.
pub fn short(secs: u32) -> Result<(), String> {
    replay(false)?;
    fuzz(&TARGETS, secs)
}

/// Replays every kept input through the harnesses without libFuzzer; `sim`: with the
/// simulator's command-line parser in `config`.
pub fn replay(sim: bool) -> Result<(), String> {
    let mut c = cmd("cargo");
    c.args([
        "test",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--no-default-features",
        "--release",
    ]);
    if sim {
        c.args(["--features", "sim"]);
    }
    run_cmd(&mut c)
}

fn fuzz(targets: &[&str], secs: u32) -> Result<(), String> {
    ensure_cargo_fuzz()?;
    run_cmd(fuzz_cmd().args(["build", "-O", "-a", "-s", "none"]))?;
    let mut failed = Vec::new();
    for t in targets {
        let t0 = Instant::now();
        match run_target(t, secs) {
            Ok(runs) => eprintln!(
                "fuzz {t}: {runs} executions in {:.0} s, 0 crashes",
                t0.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("fuzz {t}: FAILED: {e}");
                failed.push(*t);
            }
        }
    }
    keep_artifacts()?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets {failed:?} crashed; the inputs are now in fuzz/regressions/ \
             (replayed by `cargo test --manifest-path fuzz/Cargo.toml --no-default-features`)"
        ))
    }
}

fn fuzz_cmd() -> Command {
    let mut c = cmd("cargo");
    c.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    c
}

/// Runs one target; returns libFuzzer's execution count.
fn run_target(target: &str, secs: u32) -> Result<u64, String> {
    let fuzz = root().join("fuzz");
    let corpus = fuzz.join("target/corpus").join(target);
    fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let logs = fuzz.join("target/logs");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut c = fuzz_cmd();
    c.args(["run", "-O", "-a", "-s", "none", target])
        .arg(&corpus)
        .arg(fuzz.join("seeds").join(target))
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::null())
        .stderr(log);
    eprintln!("$ {c:?}  (log: {})", log_path.display());
    let status = c
        .status()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let runs = executions(&text);
    if status.success() {
        runs.ok_or_else(|| format!("no execution count in {}", log_path.display()))
    } else {
        let tail: Vec<&str> = text.lines().rev().take(25).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!("{status}\n{}", tail.join("\n")))
    }
}

/// libFuzzer's "Done N runs in S second(s)" (or the final `stat::number_of_executed_units`).
fn executions(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|l| {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("Done ") {
            rest.split_whitespace().next()?.parse().ok()
        } else if let Some(rest) = l.strip_prefix("stat::number_of_executed_units:") {
            rest.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Copies crash inputs libFuzzer left in `fuzz/artifacts/` to `fuzz/regressions/`.
fn keep_artifacts() -> Result<(), String> {
    let fuzz = root().join("fuzz");
    for t in TARGETS {
        let dir = fuzz.join("artifacts").join(t);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let keep: PathBuf = fuzz.join("regressions").join(t);
        fs::create_dir_all(&keep).map_err(|e| format!("{}: {e}", keep.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if let Some(name) = p.file_name() {
                copy_once(&p, &keep.join(name))?;
            }
        }
    }
    Ok(())
}

fn copy_once(from: &Path, to: &Path) -> Result<(), String> {
    if !to.exists() {
        fs::copy(from, to).map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))?;
        eprintln!("kept {} as a regression input", to.display());
    }
    Ok(())
}
