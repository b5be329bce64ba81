//! `cargo xtask fuzz`: runs every libFuzzer target of `fuzz/` for a bounded time.
//!
//! * `cargo xtask fuzz [SECONDS] [TARGET...]` — each target for `SECONDS` (default 60).
//! * `cargo xtask test`: the kept inputs replayed as a plain test ([`replay`]), the
//!   targets built in the background while the host tests run ([`build_in_background`]),
//!   then a few seconds of fuzzing per target ([`fuzz_built`]).
//! * Kept inputs: `fuzz/seeds/<target>/` (hand-made starting points) and
//!   `fuzz/regressions/<target>/` (inputs that once crashed).
//!
//! No cargo-fuzz is needed (installing it costs minutes on a fresh machine): the targets
//! are built by cargo with the instrumentation flags that `cargo fuzz build -O -a -s none`
//! passes (cargo-fuzz 0.13, [`instrumentation`]), into the same directory
//! (`fuzz/target/<host>/release/`), and each binary is run as `cargo fuzz run` runs it. So
//! `cargo fuzz run -O -a -s none TARGET` still works where cargo-fuzz is installed, with
//! the same build. No sanitizer (`-s none`: the core forbids `unsafe`; panics, debug
//! assertions and overflow checks are what the fuzzers look for), and no nightly
//! features: the build runs on the stable toolchain. New corpus entries go to
//! `fuzz/target/corpus/` (not kept); crashes that libFuzzer writes to
//! `fuzz/artifacts/<target>/` are copied to `fuzz/regressions/<target>/`, which the replay
//! test runs from then on: commit them with the fix.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{cmd, output, root, run_cmd, spawn_logged, Background};

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

/// The instrumented build of the fuzz targets started in the background for `cargo xtask
/// test` (after [`replay`], which uses the same target directory), its output in
/// `fuzz/target/logs/build.log`; [`fuzz_built`] runs the targets once it is done.
pub fn build_in_background() -> Result<Background, String> {
    let triple = host_triple()?;
    spawn_logged(
        &mut build_cmd(&triple),
        &root().join("fuzz/target/logs/build.log"),
    )
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
    run_cmd(&mut build_cmd(&host_triple()?))?;
    fuzz_built(targets, secs)
}

/// Runs each of `targets`, already built, for `secs` seconds; keeps the crashes.
pub fn fuzz_built(targets: &[&str], secs: u32) -> Result<(), String> {
    let triple = host_triple()?;
    let mut failed = Vec::new();
    for t in targets {
        let t0 = Instant::now();
        match run_target(&triple, t, secs) {
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

/// The host's target triple (`rustc -vV`). The fuzz build names it with `--target`, as
/// cargo-fuzz does, so that the instrumentation flags do not reach build scripts and
/// procedural macros.
fn host_triple() -> Result<String, String> {
    let vv = output(Command::new("rustc").arg("-vV"))?;
    vv.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
        .ok_or_else(|| "rustc -vV has no host line".to_string())
}

/// The `RUSTFLAGS` of `cargo fuzz build -O -a -s none` (cargo-fuzz 0.13.2,
/// `src/project.rs`, `Project::cargo`) for `triple`: libFuzzer's coverage
/// instrumentation (inline 8-bit counters, PC table, compare tracing, stack depth on
/// Linux), `--cfg fuzzing`, no branch folding, debug assertions (`-a`) and one codegen
/// unit (`-O`: ThinLTO cannot import across instrumented units). Stable `-C` flags only.
fn instrumentation(triple: &str) -> Vec<&'static str> {
    let mut flags = vec![
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg",
        "fuzzing",
        "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
    ];
    if triple.contains("-linux-") {
        flags.push("-Cllvm-args=-sanitizer-coverage-stack-depth");
    }
    flags.extend(["-Cdebug-assertions", "-Ccodegen-units=1"]);
    flags
}

/// Builds every fuzz target: what `cargo fuzz build -O -a -s none` runs.
fn build_cmd(triple: &str) -> Command {
    let mut rustflags = instrumentation(triple).join(" ");
    // As cargo-fuzz does: the caller's RUSTFLAGS last, so that they win.
    if let Ok(extra) = std::env::var("RUSTFLAGS") {
        rustflags.push(' ');
        rustflags.push_str(&extra);
    }
    let mut c = cmd("cargo");
    c.args([
        "build",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--target",
        triple,
        "--release",
        "--config",
        "profile.release.debug=\"line-tables-only\"",
        "--bins",
    ])
    .env("RUSTFLAGS", rustflags);
    c
}

/// Runs one target (built by [`build_cmd`]); returns libFuzzer's execution count.
fn run_target(triple: &str, target: &str, secs: u32) -> Result<u64, String> {
    let fuzz = root().join("fuzz");
    let bin = fuzz
        .join("target")
        .join(triple)
        .join("release")
        .join(target);
    let corpus = fuzz.join("target/corpus").join(target);
    fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let artifacts = fuzz.join("artifacts").join(target);
    fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    let logs = fuzz.join("target/logs");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut c = Command::new(&bin);
    // The arguments of `cargo fuzz run`: the artifact prefix (a directory: trailing `/`),
    // then ours, then the corpus directories (new entries go to the first).
    c.current_dir(root())
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1")
        .arg(&corpus)
        .arg(fuzz.join("seeds").join(target))
        .stdout(Stdio::null())
        .stderr(log);
    eprintln!("$ {c:?}  (log: {})", log_path.display());
    let status = c
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
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
