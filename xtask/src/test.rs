//! `cargo xtask test`: the README's test command, and what CI runs.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::setup;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A command run from the workspace root.
pub fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root());
    c
}

/// Runs a command, echoing it, and fails on a non-zero exit.
pub fn run_cmd(c: &mut Command) -> Result<(), String> {
    let shown = format!("{c:?}");
    eprintln!("$ {shown}");
    let t = Instant::now();
    let status = c.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    eprintln!("  ({:.1} s)", t.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// Issue #6 under QEMU: the `resume` firmware is killed part-way (QMP stop + pmemsave of
/// its flash region), restarted with the same flash bytes, and must resume and end with
/// the uninterrupted run's weights (`firmware/tools/power-cut.sh`).
fn power_cut() -> Result<(), String> {
    let fw = root().join("firmware");
    run_cmd(
        cmd("cargo")
            .current_dir(&fw)
            .args(["build", "--release", "--bin", "resume"]),
    )?;
    run_cmd(
        Command::new("bash")
            .current_dir(&fw)
            .args(["tools/power-cut.sh", "3"]),
    )
}

/// Fuzzing budget per target in `cargo xtask test` (`cargo xtask fuzz` runs longer).
const FUZZ_SECONDS: u32 = 5;

/// The whole test suite.
pub fn run(_args: &[String]) -> Result<(), String> {
    let t = Instant::now();
    setup::ensure_all()?;
    run_cmd(cmd("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cmd("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(cmd("cargo").args(["test", "--workspace", "--release"]))?;
    run_cmd(
        cmd("cargo")
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // The fuzz harnesses: kept inputs replayed, then a few seconds per target.
    crate::fuzz::short(FUZZ_SECONDS)?;
    for target in ["thumbv6m-none-eabi", "thumbv7em-none-eabihf"] {
        run_cmd(cmd("cargo").args(["build", "-p", "microprop", "--release", "--target", target]))?;
    }
    let t_fw = Instant::now();
    for (what, secs) in crate::firmware::test()? {
        eprintln!("  {secs:6.1} s  {what}");
    }
    eprintln!("firmware checks: {:.0} s", t_fw.elapsed().as_secs_f64());
    power_cut()?;
    eprintln!(
        "xtask test: all passed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
