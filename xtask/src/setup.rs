//! Installs what the project needs on a fresh machine, and skips what is present.

use std::process::Command;

use crate::test::{cmd, run_cmd};

/// The cross targets: Cortex-M0 (M0+), M3, M4F/M7.
pub const TARGETS: [&str; 3] = [
    "thumbv6m-none-eabi",
    "thumbv7m-none-eabi",
    "thumbv7em-none-eabihf",
];

/// Installs everything the test command needs.
pub fn ensure_all() -> Result<(), String> {
    ensure_rustup()?;
    crate::firmware::ensure_qemu()?;
    crate::firmware::ensure_decoder()
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
