//! `cargo xtask run [--core m4f|m3|m0] [--program train|finetune|drift|tiny] [--scalar
//! f32|q16] [--board f411]`: the main job. Installs what is missing, then trains on the emulated core with
//! decoded logs (`cargo run` of the demo, or of the fine-tuning program with `--program
//! finetune`, of the learning-under-drift program with `--program drift`, or of the
//! minimal N1 trainer with `--program tiny`, in fixed point with `--program tiny --scalar
//! q16`, through the QEMU runner); or builds the
//! STM32F411 image and flashes it with probe-rs.

use std::process::Command;

use crate::firmware::{Core, Image, CORES};
use crate::setup;
use crate::util::{run_cmd, runs};

/// `cargo xtask run`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut core = CORES[0];
    let mut board = None;
    let mut program: fn(&Core) -> Image = Image::demo;
    let mut name = "train";
    let mut q16 = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--board" => board = it.next().cloned(),
            "--core" => core = Core::by_name(it.next().map_or("", |s| s.as_str()))?,
            "--scalar" => match it.next().map(String::as_str) {
                Some("f32") => q16 = false,
                Some("q16") => q16 = true,
                other => {
                    return Err(format!(
                        "run: unknown scalar `{}` (f32, q16)",
                        other.unwrap_or_default()
                    ))
                }
            },
            "--program" => match it.next().map(String::as_str) {
                Some("train") => (program, name) = (Image::demo, "train"),
                Some("finetune") => (program, name) = (Image::finetune, "finetune"),
                Some("drift") => (program, name) = (Image::drift, "drift"),
                Some("tiny") => (program, name) = (Image::tiny, "tiny"),
                other => {
                    return Err(format!(
                        "run: unknown program `{}` (train, finetune, drift, tiny)",
                        other.unwrap_or_default()
                    ))
                }
            },
            other => return Err(format!("run: unknown argument `{other}`")),
        }
    }
    if q16 {
        if name != "tiny" || board.is_some() {
            return Err(format!(
                "run: `--scalar q16` is for `--program tiny` under QEMU (not `{name}`{})",
                if board.is_some() { " on a board" } else { "" }
            ));
        }
        program = Image::tiny_q16;
    }
    setup::ensure_rustup()?;
    setup::ensure_flip_link()?;
    match board.as_deref() {
        None => {
            setup::ensure_qemu()?;
            setup::ensure_decoder()?;
            run_cmd(&mut program(&core).cargo("run"))
        }
        Some("f411") => run_f411(),
        Some(other) => Err(format!("run: unknown board `{other}` (f411)")),
    }
}

/// Builds the STM32F411 image and flashes it with `probe-rs run`, or says how to get
/// probe-rs.
fn run_f411() -> Result<(), String> {
    let image = Image::F411;
    image.build()?;
    let elf = image.elf();
    if !runs("probe-rs", &["--version"]) {
        return Err(format!(
            "built {}; flashing needs probe-rs: `cargo install probe-rs-tools --locked` \
             (a 15-25 min build), attach the board through an ST-Link or CMSIS-DAP probe, \
             then run `cargo xtask run --board f411` again",
            elf.display()
        ));
    }
    run_cmd(
        Command::new("probe-rs")
            .args(["run", "--chip", "STM32F411CEUx"])
            .arg(&elf),
    )
}
