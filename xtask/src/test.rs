//! `cargo xtask test [--bless]`: the README's test command, and what CI runs
//! (`.ci/run`). `--bless` rewrites the demo's committed transcript from the host run
//! before the devices are compared with it (see `test_firmware`).

use std::process::Command;
use std::time::Instant;

use crate::firmware::{self, Image};
use crate::util::{cmd, run_cmd, Snapshot};
use crate::{fuzz, setup, test_firmware};

/// Fuzzing budget per target in `cargo xtask test` (`cargo xtask fuzz` runs longer).
const FUZZ_SECONDS: u32 = 5;

/// The cross targets the core is built for.
const CORE_TARGETS: [&str; 2] = ["thumbv6m-none-eabi", "thumbv7em-none-eabihf"];

/// The whole test suite.
pub fn run(args: &[String]) -> Result<(), String> {
    let mode = Snapshot::from_args("test", args)?;
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
    fuzz::short(FUZZ_SECONDS)?;
    for target in CORE_TARGETS {
        run_cmd(cmd("cargo").args(["build", "-p", "microprop", "--release", "--target", target]))?;
    }
    // The flash-saving variant of the core builds too (and its tests pass).
    run_cmd(cmd("cargo").args([
        "build",
        "-p",
        "microprop",
        "--release",
        "--features",
        "compact",
        "--target",
        CORE_TARGETS[0],
    ]))?;
    run_cmd(cmd("cargo").args([
        "test",
        "-p",
        "microprop",
        "--release",
        "--features",
        "compact",
        "--test",
        "layers",
    ]))?;
    let t_fw = Instant::now();
    test_firmware::run(mode)?.print();
    eprintln!("firmware checks: {:.0} s", t_fw.elapsed().as_secs_f64());
    power_cut()?;
    eprintln!(
        "xtask test: all passed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Issue #6 under QEMU: the `resume` firmware is killed part-way (QMP stop + pmemsave of
/// its flash region), restarted with the same flash bytes, and must resume and end with
/// the uninterrupted run's weights (`firmware/tools/power-cut.sh`).
fn power_cut() -> Result<(), String> {
    Image::RESUME.build()?;
    run_cmd(
        Command::new("bash")
            .current_dir(firmware::dir())
            .args(["tools/power-cut.sh", "3"]),
    )
}
