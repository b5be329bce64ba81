//! Installs what the project needs on a fresh machine, and skips what is present:
//! rustup targets and components, QEMU and Chromium (apt-get), flip-link (`cargo
//! install`), and the in-tree defmt decoder. (The fuzz step needs no cargo-fuzz: see
//! `fuzz`.)

use std::path::PathBuf;
use std::process::Command;

use crate::util::{cmd, output, root, run_cmd, runs, spawn_logged, Background};

/// The cross targets: Cortex-M0 (M0+), M3, M4F/M7.
pub const TARGETS: [&str; 3] = [
    "thumbv6m-none-eabi",
    "thumbv7m-none-eabi",
    "thumbv7em-none-eabihf",
];

/// QEMU for the emulated cores: (the command that shows it is installed, its package).
const QEMU: (&str, &str) = ("qemu-system-arm", "qemu-system-arm");

/// Debian packages the tests need, by the command that shows each is installed:
/// QEMU for the emulated cores, Chromium to open the simulator's report page.
const APT: [(&str, &str); 2] = [QEMU, ("chromium", "chromium")];

/// The in-tree defmt decoder's manifest, relative to the workspace root.
const DECODER_MANIFEST: &str = "firmware/tools/defmt-print/Cargo.toml";

/// `cargo xtask setup`, and the first step of `cargo xtask test`: installs everything the
/// test command needs.
pub fn ensure_all() -> Result<(), String> {
    ensure_rustup()?;
    ensure_apt(&APT)?;
    ensure_flip_link()?;
    ensure_decoder()
}

/// [`ensure_all`] for `cargo xtask test`, whose first steps (fmt, clippy, compiling the
/// host tests) need only the toolchain: the rustup targets and components now, and
/// whatever of apt-get (as root), flip-link and the defmt decoder is missing started in
/// the background, each logging to `target/xtask-logs/`. [`finish_all`] waits for them
/// before the first step that runs QEMU, Chromium or the firmware's linker.
pub fn start_all() -> Result<Vec<Background>, String> {
    ensure_rustup()?;
    let logs = root().join("target/xtask-logs");
    let mut jobs = Vec::new();
    let missing = missing_apt(&APT);
    let root_user = output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    if !missing.is_empty() {
        if root_user {
            // Both apt-get commands, in order, as one background job.
            let mut c = Command::new("sh");
            c.args([
                "-c",
                "apt-get update -qq && \
                 apt-get install -y -qq --no-install-recommends \"$@\"",
                "apt-get",
            ])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive");
            jobs.push(spawn_logged(&mut c, &logs.join("apt-get.log"))?);
        } else {
            // sudo may ask for a password: not in the background.
            ensure_apt(&APT)?;
        }
    }
    if !flip_link_present() {
        jobs.push(spawn_logged(
            &mut flip_link_install(),
            &logs.join("flip-link.log"),
        )?);
    }
    jobs.push(spawn_logged(
        &mut decoder_build(),
        &logs.join("defmt-print.log"),
    )?);
    Ok(jobs)
}

/// Waits for the jobs of [`start_all`]; fails with the end of the first failed one's log.
pub fn finish_all(jobs: Vec<Background>) -> Result<(), String> {
    for job in jobs {
        job.wait()?;
    }
    if decoder().exists() {
        Ok(())
    } else {
        Err(format!("{} was not built", decoder().display()))
    }
}

fn flip_link_present() -> bool {
    // flip-link has no --version; any start at all means it is installed.
    Command::new("flip-link").output().is_ok()
}

fn flip_link_install() -> Command {
    let mut c = cmd("cargo");
    c.args(["install", "flip-link", "--locked"]);
    c
}

/// Installs flip-link (the firmware's linker: the stack below the static data, so an
/// overflow faults) unless it is on the PATH. It builds in seconds.
pub fn ensure_flip_link() -> Result<(), String> {
    if flip_link_present() {
        return Ok(());
    }
    run_cmd(&mut flip_link_install())
}

/// Installs QEMU (`qemu-system-arm`) with apt-get when it is missing.
pub fn ensure_qemu() -> Result<(), String> {
    ensure_apt(&[QEMU])
}

/// Installs, in one apt-get call, the packages whose command (`--version`) is missing.
/// Skips apt-get entirely when everything is present.
pub fn ensure_apt(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing = missing_apt(packages);
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    let apt = |args: &[&str]| {
        let mut c = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_cmd(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    run_cmd(&mut install)
}

/// The packages among `packages` whose command (`--version`) is missing.
fn missing_apt<'a>(packages: &[(&str, &'a str)]) -> Vec<&'a str> {
    packages
        .iter()
        .filter(|(bin, _)| !runs(bin, &["--version"]))
        .map(|(_, pkg)| *pkg)
        .collect()
}

/// Adds the rustup targets and components that are missing.
pub fn ensure_rustup() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        let mut c = cmd("rustup");
        c.args(["target", "add"]).args(&missing);
        run_cmd(&mut c)?;
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for comp in ["llvm-tools", "clippy", "rustfmt"] {
        if !components.lines().any(|l| l.starts_with(comp)) {
            run_cmd(cmd("rustup").args(["component", "add", comp]))?;
        }
    }
    Ok(())
}

/// The in-tree defmt decoder's binary (the runner `firmware/qemu-run.sh` and
/// `firmware/tools/power-cut.sh` look for it there).
pub fn decoder() -> PathBuf {
    root().join("firmware/tools/defmt-print/target/release/defmt-print")
}

/// Builds the in-tree defmt decoder (a no-op when it is up to date). Run from the root, so
/// that the firmware's thumb target does not apply.
pub fn ensure_decoder() -> Result<(), String> {
    run_cmd(&mut decoder_build())?;
    if decoder().exists() {
        Ok(())
    } else {
        Err(format!("{} was not built", decoder().display()))
    }
}

fn decoder_build() -> Command {
    let mut c = cmd("cargo");
    c.args([
        "build",
        "--release",
        "--locked",
        "--quiet",
        "--manifest-path",
        DECODER_MANIFEST,
    ]);
    c
}
