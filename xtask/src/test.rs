//! `cargo xtask test [--bless]`: the README's test command, and what CI runs
//! (`.ci/run`). `--bless` rewrites the demo's committed transcript from the host run
//! before the devices are compared with it (see `test_firmware`).

use std::process::Command;
use std::time::Instant;

use crate::firmware::{self, Image};
use crate::util::{cmd, run_cmd, Snapshot};
use crate::{fuzz, setup, test_firmware, web};

/// Fuzzing budget per target in `cargo xtask test` (`cargo xtask fuzz` runs longer).
const FUZZ_SECONDS: u32 = 5;

/// The cross targets the core is built for.
const CORE_TARGETS: [&str; 2] = ["thumbv6m-none-eabi", "thumbv7em-none-eabihf"];

/// The whole test suite.
pub fn run(args: &[String]) -> Result<(), String> {
    let mode = Snapshot::from_args("test", args)?;
    let t = Instant::now();
    // The tools that the first steps do not need are installed and built meanwhile.
    let tools = setup::start_all()?;
    run_cmd(cmd("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cmd("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The host tests compiled first, then run while the fuzz targets' instrumented build
    // (its own target directory) uses the core the test runs leave idle (most of their
    // time goes to single-threaded firmware builds and QEMU runs in `sim_parity`); it goes
    // on behind the docs and the core's cross builds.
    run_cmd(cmd("cargo").args(["test", "--workspace", "--release", "--no-run"]))?;
    // The fuzz harnesses: kept inputs replayed (before the build, which shares their
    // target directory), then a few seconds per target.
    fuzz::replay(false)?;
    // QEMU, Chromium, flip-link and the defmt decoder from here on.
    setup::finish_all(tools)?;
    let fuzz_build = fuzz::build_in_background()?;
    run_cmd(cmd("cargo").args(["test", "--workspace", "--release"]))?;
    run_cmd(
        cmd("cargo")
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // Both targets in one command: cargo builds them side by side.
    let mut cross = cmd("cargo");
    cross.args(["build", "-p", "microprop", "--release"]);
    for target in CORE_TARGETS {
        cross.args(["--target", target]);
    }
    run_cmd(&mut cross)?;
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
    // `--workspace` with only the core's `layers` test selected: the dependencies resolve
    // with the workspace's features, as in the test run above, so only the core is
    // rebuilt (with `-p microprop` they resolve for the core alone and criterion, serde,
    // clap... are compiled once more: 87 s of 2 cores).
    run_cmd(cmd("cargo").args([
        "test",
        "--workspace",
        "--release",
        "--features",
        "microprop/compact",
        "--test",
        "layers",
    ]))?;
    // The playground: its wasm build, then the page in headless Chromium against the
    // simulator (`cargo xtask web --test`).
    web::browser_test()?;
    // The fuzz build ran behind everything since the host tests; a few seconds per target
    // now (the firmware's power cuts, timed in wall-clock time, start with no background
    // job).
    fuzz_build.wait()?;
    fuzz::fuzz_built(&fuzz::TARGETS, FUZZ_SECONDS)?;
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
