//! Parity: `microprop-sim demo` and the firmware under QEMU (Cortex-M4F with hard float on
//! `mps2-an386`, Cortex-M3 with soft float on `mps2-an385`) train bit-identical weights.
//! The test builds the firmware's `train` image for both targets (`firmware/`, its own
//! cargo project), runs each through `firmware/qemu-run.sh` (QEMU + the in-tree defmt
//! decoder) and compares the weights hash lines — and every other deterministic line —
//! with the simulator's.
//!
//! Needs `qemu-system-arm` and the decoder (`cargo xtask setup` installs both); a missing
//! tool fails the test with the command that installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn ensure_tools() {
    let qemu = Command::new("qemu-system-arm").arg("--version").output();
    assert!(
        qemu.is_ok_and(|o| o.status.success()),
        "qemu-system-arm is missing: `apt-get install -y --no-install-recommends qemu-system-arm` \
         (or `cargo xtask setup`)"
    );
    let decoder = root().join("firmware/tools/defmt-print/target/release/defmt-print");
    if !decoder.exists() {
        // The same build `cargo xtask setup` does, from the root so the thumb target of
        // firmware/.cargo/config.toml does not apply.
        let st = Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "build",
                "--release",
                "--manifest-path",
                "firmware/tools/defmt-print/Cargo.toml",
            ])
            .status()
            .expect("run cargo");
        assert!(st.success(), "building the defmt decoder failed");
    }
}

/// Builds and runs the demo image for `target`; returns the decoded log lines without
/// their level prefix.
fn firmware_log(target: &str) -> Vec<String> {
    let fw = root().join("firmware");
    let st = Command::new(env!("CARGO"))
        .current_dir(&fw)
        .args(["build", "--release", "--bin", "train", "--target", target])
        .status()
        .expect("run cargo");
    assert!(st.success(), "firmware build for {target} failed");
    let elf = fw.join(format!("target/{target}/release/train"));
    let out = Command::new(fw.join("qemu-run.sh"))
        .arg(&elf)
        .env("QEMU_TIMEOUT", "300")
        .output()
        .expect("run qemu-run.sh");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "firmware on {target} exited with {}:\n{log}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    log.lines()
        .map(|l| {
            l.split_once(' ')
                .map_or(l, |(_, m)| m.trim_start())
                .to_string()
        })
        .collect()
}

fn hashes(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("weights hash "))
        .cloned()
        .collect()
}

fn deterministic(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            !l.contains(" trained in ")
                && !l.starts_with("board: ")
                && !l.starts_with("stack high-water mark")
        })
        .cloned()
        .collect()
}

#[test]
fn simulator_and_firmware_on_m4f_and_m3_train_identical_weights() {
    ensure_tools();
    let v = common::json(&["demo", "--no-delay"]);
    let sim: Vec<String> = v["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().expect("line").to_string())
        .collect();
    let sim_hashes = hashes(&sim);
    assert_eq!(sim_hashes.len(), 3, "the demo logs three hashes: {sim:?}");
    for (core, target) in [
        ("M4F", "thumbv7em-none-eabihf"),
        ("M3", "thumbv7m-none-eabi"),
    ] {
        let dev = firmware_log(target);
        assert_eq!(
            hashes(&dev),
            sim_hashes,
            "weights hash on {core} differs from the simulator's"
        );
        assert_eq!(
            deterministic(&dev),
            deterministic(&sim),
            "the {core} log differs from the simulator's"
        );
        eprintln!("{core}: {}", hashes(&dev).join("; "));
    }
}
