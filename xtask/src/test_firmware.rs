//! `cargo xtask test-firmware [--bless]`: the firmware part of `cargo xtask test`.
//!
//! The demo, the fine-tuning program and the drift program on the host checked against
//! their committed transcripts (`--bless`: the transcripts rewritten from them), fmt and
//! clippy of the firmware, every image built (three cores x (demo, benchmark,
//! fine-tuning, drift) and the STM32F411, in as few cargo commands as possible so that
//! cargo builds them side by side), the demo and the fine-tuning program under QEMU on
//! M4F, M3 and M0 checked against their transcripts and the stack budget, the drift
//! program on each core checked against the host's run and cut under QEMU (`drift`), and
//! the cost benchmark run to a complete table on each core (its short run, 64 steps per
//! net, built at profile `bench-smoke`: no LTO; `cargo xtask bench-mcu` builds and times
//! the published image); the minimal trainer (`tiny`)
//! on the M0 checked against its transcript (the host's accuracies and weights hash) and
//! its RAM ceiling; its fixed-point variant (`tiny-q16`) on M4F, M3 and M0, each checked
//! against its transcript `firmware/expected/tiny-q16.log` (bit-identical weights).

use microprop::Activation;

use crate::bench_mcu::run_bench;
use crate::demo;
use crate::drift;
use crate::finetune;
use crate::firmware::{self, Image, CORES};
use crate::setup;
use crate::tiny;
use crate::util::{root, run_cmd, Laps, Snapshot};

/// `cargo xtask test-firmware [--bless]`.
pub fn command(args: &[String]) -> Result<(), String> {
    run(Snapshot::from_args("test-firmware", args)?)?.print();
    Ok(())
}

/// The firmware checks; `mode` says what happens to the three transcripts. Returns the
/// time of each part.
pub fn run(mode: Snapshot) -> Result<Laps, String> {
    let mut laps = Laps::start();
    setup::ensure_qemu()?;
    setup::ensure_decoder()?;
    laps.lap("firmware: tools (QEMU, defmt decoder)");
    // First, so that a changed transcript fails (or is blessed) within seconds.
    let expected = demo::host(mode)?;
    let tuned = finetune::host(mode)?;
    let drifted = drift::host(mode)?;
    let small = tiny::host(mode)?;
    let small_q16 = tiny::host_q16(mode)?;
    laps.lap("firmware: host transcripts");
    run_cmd(firmware::cargo().args(["fmt", "--", "--check"]))?;
    run_cmd(firmware::cargo().args(["clippy", "--release", "--bins", "--", "-D", "warnings"]))?;
    run_cmd(Image::F411.cargo("clippy").args(["--", "-D", "warnings"]))?;
    run_cmd(
        Image::finetune(&CORES[0])
            .cargo("clippy")
            .args(["--", "-D", "warnings"]),
    )?;
    run_cmd(
        Image::tiny(&CORES[2])
            .cargo("clippy")
            .args(["--", "-D", "warnings"]),
    )?;
    run_cmd(
        Image::tiny_q16(&CORES[2])
            .cargo("clippy")
            .args(["--", "-D", "warnings"]),
    )?;
    laps.lap("firmware: fmt + clippy");
    // Every image at once (cargo builds them side by side); the runs below find them
    // fresh.
    let mut images: Vec<Image> = Vec::new();
    for core in &CORES {
        images.extend([
            Image::demo(core),
            Image::bench_smoke(core),
            Image::finetune(core),
            Image::drift(core),
        ]);
    }
    images.push(Image::F411);
    images.push(Image::tiny(&CORES[2]));
    images.extend(CORES.iter().map(Image::tiny_q16));
    Image::build_all(&images)?;
    laps.lap(
        "firmware: build 3 targets x (demo, bench, finetune, drift, tiny-q16) + STM32F411 + tiny",
    );
    for core in &CORES {
        let run = Image::demo(core).run_qemu(&[])?;
        demo::check_device(core, &run, &expected)?;
        laps.lap(&format!("firmware: demo under QEMU on {}", core.name));
    }
    drift::check_all(&drifted, &mut laps)?;
    for core in &CORES {
        let run = Image::finetune(core).run_qemu(&[])?;
        finetune::check_device(core, &run, &tuned)?;
        laps.lap(&format!("firmware: finetune under QEMU on {}", core.name));
    }
    let m0 = &CORES[2];
    tiny::check_device(m0, &Image::tiny(m0).run_qemu(&[])?, &small)?;
    laps.lap("firmware: tiny under QEMU on m0");
    for core in &CORES {
        let run = Image::tiny_q16(core).run_qemu(&[])?;
        tiny::check_device_q16(core, &run, &small_q16)?;
        laps.lap(&format!("firmware: tiny-q16 under QEMU on {}", core.name));
    }
    // The benchmark runs to the end on every core and its output parses into a table.
    let scratch = root().join("target/bench-mcu-smoke");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    for core in &CORES {
        let table = run_bench(core, &Image::bench_smoke(core), None, None, &scratch)?;
        let n1 = table["steps"]
            .as_array()
            .and_then(|s| s.first())
            .and_then(|s| s["instructions_per_step"].as_f64())
            .unwrap_or(0.0);
        let acts = table["activations"].as_array().map_or(0, Vec::len);
        if !(n1 > 100.0 && acts == 2 * Activation::ALL.len()) {
            return Err(format!(
                "bench on {}: implausible table (N1 step {n1}, {acts} activation rows)",
                core.name
            ));
        }
        eprintln!(
            "  bench on {}: N1 step {n1:.0} instructions, {acts} activation rows",
            core.name
        );
    }
    laps.lap("firmware: cost benchmark under QEMU on m4f, m3, m0");
    Ok(laps)
}
