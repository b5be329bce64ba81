//! Parity: `microprop-sim demo` and the firmware under QEMU (Cortex-M4F with hard float on
//! `mps2-an386`, Cortex-M3 with soft float on `mps2-an385`) train bit-identical weights.
//! The test builds the firmware's `train` image for both targets (`firmware/`, its own
//! cargo project), runs each through `firmware/qemu-run.sh` (QEMU + the in-tree defmt
//! decoder) and compares the weights hash lines — and every other deterministic line —
//! with the simulator's.
//!
//! The checkpoint-and-resume program too: `microprop-sim resume` and the `resume` firmware
//! on the M4F print the same lines, and the firmware resumes from flash images the
//! simulator wrote (a cut mid-checkpoint, another network's checkpoint) exactly as the
//! simulator does.
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
    firmware_run("train", target, None)
}

/// Builds and runs firmware binary `bin` for `target`, with `flash` loaded into the
/// resume firmware's flash region first; returns the decoded log lines without their
/// level prefix.
fn firmware_run(bin: &str, target: &str, flash: Option<&Path>) -> Vec<String> {
    let fw = root().join("firmware");
    let st = Command::new(env!("CARGO"))
        .current_dir(&fw)
        .args(["build", "--release", "--bin", bin, "--target", target])
        .status()
        .expect("run cargo");
    assert!(st.success(), "firmware build of {bin} for {target} failed");
    let elf = fw.join(format!("target/{target}/release/{bin}"));
    let mut run = Command::new(fw.join("qemu-run.sh"));
    run.arg(&elf).env("QEMU_TIMEOUT", "300");
    if let Some(f) = flash {
        // The region of firmware/src/flash.rs, as tools/power-cut.sh loads it.
        run.env(
            "QEMU_EXTRA",
            format!(
                "-device loader,file={},addr=0x300000,force-raw=on",
                f.display()
            ),
        );
    }
    let out = run.output().expect("run qemu-run.sh");
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
    assert_eq!(sim_hashes.len(), 4, "the demo logs four hashes: {sim:?}");
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

/// `microprop-sim resume --flash FILE` (one boot): the program's lines.
fn sim_resume(args: &[&str]) -> Vec<String> {
    let v = common::json(args);
    let boots = v["boots"].as_array().expect("boots");
    assert_eq!(boots.len(), 1, "{v}");
    boots[0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().expect("line").to_string())
        .collect()
}

#[test]
fn resume_program_prints_the_simulators_lines_and_resumes_its_flash_images() {
    ensure_tools();
    let m4f = "thumbv7em-none-eabihf";
    let dir = common::scratch("parity-resume");
    let copy = |from: &Path, name: &str| {
        let to = dir.join(name);
        std::fs::copy(from, &to).expect("copy flash image");
        to
    };

    // Uninterrupted, from an erased flash.
    let dev = firmware_run("resume", m4f, None);
    let sim = sim_resume(&["resume"]);
    assert_eq!(
        dev, sim,
        "the resume firmware's log differs from the simulator's"
    );
    assert!(sim[0] == "no checkpoint: training from the start" && sim.len() == 152);

    // Cut by the simulator half-way through checkpoint 13; resumed by both.
    let torn = dir.join("torn.bin");
    let arg = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    common::json(&[
        "resume",
        "--cut-after-words",
        "30000",
        "--flash",
        &arg(&torn),
    ]);
    let for_sim = copy(&torn, "torn-sim.bin");
    let dev = firmware_run("resume", m4f, Some(&torn));
    let sim = sim_resume(&["resume", "--flash", &arg(&for_sim)]);
    assert!(
        sim[0].starts_with("resumed from checkpoint seq 12 "),
        "{}",
        sim[0]
    );
    assert_eq!(
        dev, sim,
        "the firmware resumed the simulator's flash differently"
    );

    // Another network's checkpoint: both say so (the error's Debug text = defmt's) and
    // start afresh.
    let other = dir.join("other.bin");
    let mut flash = microprop_sim::resume::RamFlash::erased();
    {
        use microprop::checkpoint::Checkpoints;
        type Other = microprop::mlp![f32; 2, 4, 1];
        let net = Other::new(
            microprop::Activation::Tanh,
            microprop::Activation::Sigmoid,
            microprop::Init::XavierUniform,
            0.0,
            &mut microprop::rng(1),
        )
        .expect("net");
        let slot = microprop_app::resume::slot_len::<microprop_sim::resume::RamFlash>() as u32;
        let mut cp = Checkpoints::new(&mut flash, 0, 16 * 1024, slot).expect("region");
        let mut buf = [0u8; microprop::format::network_len::<Other>(None)];
        cp.save(
            &net.into_training(),
            &microprop::format::Extras::none(),
            &mut buf,
        )
        .expect("save");
    }
    std::fs::write(&other, flash.bytes()).expect("write image");
    let for_sim = copy(&other, "other-sim.bin");
    let dev = firmware_run("resume", m4f, Some(&other));
    let sim = sim_resume(&["resume", "--flash", &arg(&for_sim)]);
    assert!(
        sim[0].starts_with("checkpoint does not fit this network (Format(Depth {"),
        "{}",
        sim[0]
    );
    assert_eq!(
        dev, sim,
        "the firmware read another network's checkpoint differently"
    );
}
