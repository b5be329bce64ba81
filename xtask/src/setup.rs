//! Installs what the project needs on a fresh machine, and skips what is present.

use std::process::Command;

use crate::test::{cmd, run_cmd};

/// The cross targets: Cortex-M0 (M0+), M3, M4F/M7.
pub const TARGETS: [&str; 3] = [
    "thumbv6m-none-eabi",
    "thumbv7m-none-eabi",
    "thumbv7em-none-eabihf",
];

/// Debian packages the tests need, by the command that shows each is installed:
/// QEMU for the emulated cores, Chromium to open the simulator's report page.
const APT: [(&str, &str); 2] = [
    ("qemu-system-arm", "qemu-system-arm"),
    ("chromium", "chromium"),
];

/// Installs everything the test command needs.
pub fn ensure_all() -> Result<(), String> {
    ensure_rustup()?;
    ensure_apt(&APT)?;
    ensure_flip_link()?;
    crate::firmware::ensure_decoder()
}

/// Installs flip-link (the firmware's linker: the stack below the static data, so an
/// overflow faults) unless it is on the PATH. It builds in seconds.
pub fn ensure_flip_link() -> Result<(), String> {
    // flip-link has no --version; any start at all means it is installed.
    if Command::new("flip-link").output().is_ok() {
        return Ok(());
    }
    run_cmd(cmd("cargo").args(["install", "flip-link", "--locked"]))
}

/// Installs, in one apt-get call, the packages whose command (`--version`) is missing.
/// Skips apt-get entirely when everything is present.
pub fn ensure_apt(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(bin, _)| {
            !Command::new(bin)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(_, pkg)| *pkg)
        .collect();
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

/// Runs a command and returns its stdout.
pub fn output(c: &mut Command) -> Result<String, String> {
    let out = c.output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{c:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
