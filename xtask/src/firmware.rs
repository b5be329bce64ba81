//! The firmware project as the commands see it: the emulated cores, the images, typed
//! `cargo` commands run from inside `firmware/`, building an image and running it under
//! QEMU with its decoded defmt log.
//!
//! The firmware (`firmware/`) is its own cargo project, configured by
//! `firmware/.cargo/config.toml` (default target, the QEMU runner `qemu-run.sh`); cargo
//! reads that file from the current directory, so every firmware command runs from inside
//! `firmware/`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::util::{root, run_cmd};

/// An emulated core: its target, the QEMU machine it runs on and how many instructions one
/// SysTick tick is under `-icount shift=0`.
#[derive(Clone, Copy, Debug)]
pub struct Core {
    /// Short name: `m4f`, `m3`, `m0`.
    pub name: &'static str,
    /// Rust target.
    pub target: &'static str,
    /// QEMU machine of the training demo.
    pub machine: &'static str,
    /// Instructions per SysTick tick on that machine.
    pub tick: f64,
    /// The firmware features its demo image is built with, besides the defaults (the M0's
    /// `compact`: one out-of-line copy of the dense kernels for every shape, so its image
    /// keeps to 64 KiB of flash).
    pub demo_features: &'static str,
}

/// The three emulated cores.
pub const CORES: [Core; 3] = [
    Core {
        name: "m4f",
        target: "thumbv7em-none-eabihf",
        machine: "mps2-an386",
        tick: 40.0,
        demo_features: "",
    },
    Core {
        name: "m3",
        target: "thumbv7m-none-eabi",
        machine: "mps2-an385",
        tick: 40.0,
        demo_features: "",
    },
    Core {
        name: "m0",
        target: "thumbv6m-none-eabi",
        machine: "microbit",
        tick: 62.5,
        demo_features: "compact",
    },
];

impl Core {
    /// The core called `name` (`m4f`, `m3`, `m0`).
    pub fn by_name(name: &str) -> Result<Core, String> {
        CORES
            .iter()
            .copied()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("unknown core `{name}` (m4f, m3, m0)"))
    }
}

/// A cargo profile of the firmware (`firmware/Cargo.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `release`: the demo and the board image (`opt-level = "z"`, fat LTO).
    Release,
    /// `speed`: the cost benchmark (`opt-level = 3`).
    Speed,
    /// `bench-smoke`: the cost benchmark of the `test-firmware` smoke test: `speed`
    /// without LTO, in parallel codegen units (it checks that the benchmark runs to a
    /// complete table; it publishes no numbers).
    BenchSmoke,
}

impl Profile {
    /// The profile's name, also its directory under `target/<triple>/`.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Speed => "speed",
            Profile::BenchSmoke => "bench-smoke",
        }
    }
}

/// One firmware binary built for one target with one profile: what `cargo build`,
/// `cargo run` and `cargo clippy` are given.
#[derive(Clone, Copy, Debug)]
pub struct Image {
    /// The binary (`firmware/src/bin/<bin>.rs`).
    pub bin: &'static str,
    /// Rust target.
    pub target: &'static str,
    /// Cargo profile.
    pub profile: Profile,
    /// `Some(f)`: built with `--no-default-features --features f` (the board image);
    /// `None`: the default features (QEMU).
    pub only_feature: Option<&'static str>,
    /// Features added to the default ones (`--features f`), when `only_feature` is
    /// `None`: empty for none.
    pub features: &'static str,
}

impl Image {
    /// The STM32F411 image (a real board, flashed with probe-rs).
    pub const F411: Image = Image {
        bin: "train-f411",
        target: "thumbv7em-none-eabihf",
        profile: Profile::Release,
        only_feature: Some("f411"),
        features: "",
    };

    /// The checkpoint-and-resume firmware of the power-cut test (M4F).
    pub const RESUME: Image = Image {
        bin: "resume",
        target: "thumbv7em-none-eabihf",
        profile: Profile::Release,
        only_feature: None,
        features: "",
    };

    /// The drift program (issue 15) on `core` (feature `drift`).
    pub const fn drift(core: &Core) -> Image {
        Image {
            bin: "drift",
            target: core.target,
            profile: Profile::Release,
            only_feature: None,
            features: "drift",
        }
    }

    /// The training demo on `core`.
    pub const fn demo(core: &Core) -> Image {
        Image {
            bin: "train",
            target: core.target,
            profile: Profile::Release,
            only_feature: None,
            features: core.demo_features,
        }
    }

    /// The fine-tuning program on `core` (issue 15): feature `finetune`, and the demo's
    /// features (the M0's `compact`); a binary and a feature of its own, so the demo's
    /// image is unaffected.
    pub const fn finetune(core: &Core) -> Image {
        Image {
            bin: "finetune",
            target: core.target,
            profile: Profile::Release,
            only_feature: None,
            features: if core.demo_features.is_empty() {
                "finetune"
            } else {
                "compact,finetune"
            },
        }
    }

    /// The minimal trainer on `core` (issue 11): feature `tiny`, a binary of its own; on
    /// the M0 it links into 16 KiB of flash (`firmware/memory/tiny-m0.x`).
    pub const fn tiny(core: &Core) -> Image {
        Image {
            bin: "tiny",
            target: core.target,
            profile: Profile::Release,
            only_feature: None,
            features: "tiny",
        }
    }

    /// The minimal trainer in fixed point on `core`: feature `tiny-q16`, binary
    /// `tiny-q16` (linked like `tiny`).
    pub const fn tiny_q16(core: &Core) -> Image {
        Image {
            bin: "tiny-q16",
            target: core.target,
            profile: Profile::Release,
            only_feature: None,
            features: "tiny-q16",
        }
    }

    /// The cost benchmark on `core`: the published image (`cargo xtask bench-mcu`, the
    /// size report).
    pub const fn bench(core: &Core) -> Image {
        Image {
            bin: "bench",
            target: core.target,
            profile: Profile::Speed,
            only_feature: None,
            features: "bench-q16",
        }
    }

    /// The cost benchmark on `core` as the `test-firmware` smoke test builds it: the
    /// same code, profile `bench-smoke` (no LTO, 16 codegen units), so it builds in a
    /// fraction of the published image's time; its counts are not published.
    pub const fn bench_smoke(core: &Core) -> Image {
        Image {
            profile: Profile::BenchSmoke,
            ..Image::bench(core)
        }
    }

    /// Every image of the size report, in `firmware/sizes.txt` order: the demo on each
    /// core, the benchmark on each core, the STM32F411 image, the fine-tuning program and
    /// the drift program on each core, the minimal trainer on the M0, its fixed-point
    /// variant on each core.
    pub fn all() -> Vec<Image> {
        let mut all: Vec<Image> = CORES.iter().map(Image::demo).collect();
        all.extend(CORES.iter().map(Image::bench));
        all.push(Image::F411);
        all.extend(CORES.iter().map(Image::finetune));
        all.extend(CORES.iter().map(Image::drift));
        all.push(Image::tiny(&CORES[2]));
        all.extend(CORES.iter().map(Image::tiny_q16));
        all
    }

    /// Where cargo puts the ELF.
    pub fn elf(&self) -> PathBuf {
        dir()
            .join("target")
            .join(self.target)
            .join(self.profile.name())
            .join(self.bin)
    }

    /// `cargo <subcommand> --profile P --target T [--no-default-features --features F]
    /// --bin B`, run from `firmware/`.
    pub fn cargo(&self, subcommand: &str) -> Command {
        let mut c = cargo();
        c.args([
            subcommand,
            "--profile",
            self.profile.name(),
            "--target",
            self.target,
        ]);
        if let Some(feature) = self.only_feature {
            c.args(["--no-default-features", "--features", feature]);
        } else if !self.features.is_empty() {
            c.args(["--features", self.features]);
        }
        c.args(["--bin", self.bin]);
        c
    }

    /// Builds the image.
    pub fn build(&self) -> Result<(), String> {
        run_cmd(&mut self.cargo("build"))
    }

    /// Builds `images` in as few cargo commands as possible ([`Image::grouped`]): every
    /// image is built exactly as [`Image::build`] builds it (so a later `build` or
    /// `run_qemu` finds it fresh), but cargo runs the images' compilations and their
    /// serial LTO links side by side on all cores instead of one image after another.
    pub fn build_all(images: &[Image]) -> Result<(), String> {
        for mut c in Image::grouped("build", images) {
            run_cmd(&mut c)?;
        }
        Ok(())
    }

    /// `cargo <subcommand>` for `images` in as few commands as possible: one per profile,
    /// feature set and set of targets, with each of its targets (`--target` repeated)
    /// and binaries (`--bin` repeated); in the order the images first appear.
    pub fn grouped(subcommand: &str, images: &[Image]) -> Vec<Command> {
        // (profile, only_feature, features) -> [(bin, targets)], in first-seen order.
        type Key = (Profile, Option<&'static str>, &'static str);
        type Bins = Vec<(&'static str, Vec<&'static str>)>;
        let mut groups: Vec<(Key, Bins)> = Vec::new();
        for img in images {
            let key = (img.profile, img.only_feature, img.features);
            let at = match groups.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                }
            };
            let bins = &mut groups[at].1;
            match bins.iter_mut().find(|(b, _)| *b == img.bin) {
                Some((_, targets)) => {
                    if !targets.contains(&img.target) {
                        targets.push(img.target);
                    }
                }
                None => bins.push((img.bin, vec![img.target])),
            }
        }
        let mut commands = Vec::new();
        for ((profile, only_feature, features), bins) in &groups {
            // Binaries with the same targets share a command.
            let mut done: Vec<&Vec<&str>> = Vec::new();
            for (_, targets) in bins {
                if done.contains(&targets) {
                    continue;
                }
                done.push(targets);
                let mut c = cargo();
                c.args([subcommand, "--profile", profile.name()]);
                for t in targets {
                    c.args(["--target", t]);
                }
                if let Some(feature) = only_feature {
                    c.args(["--no-default-features", "--features", feature]);
                } else if !features.is_empty() {
                    c.args(["--features", features]);
                }
                for (bin, _) in bins.iter().filter(|(_, ts)| ts == targets) {
                    c.args(["--bin", bin]);
                }
                commands.push(c);
            }
        }
        commands
    }

    /// Builds the image if needed and runs it under QEMU through the runner, with `env`
    /// for the runner (`QEMU_ICOUNT`, `QEMU_MACHINE`, ...; see `firmware/qemu-run.sh`).
    pub fn run_qemu(&self, env: &[(&str, &str)]) -> Result<QemuRun, String> {
        let mut c = self.cargo("run");
        for (k, v) in env {
            c.env(k, v);
        }
        eprintln!("$ {c:?}");
        let t = Instant::now();
        let out = c.output().map_err(|e| format!("cannot run cargo: {e}"))?;
        eprintln!("  ({:.1} s)", t.elapsed().as_secs_f64());
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                l.split_once(' ')
                    .map_or(l, |(_, m)| m.trim_start())
                    .to_string()
            })
            .collect();
        if !out.status.success() && out.status.code() != Some(1) {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(QemuRun {
            passed: out.status.success(),
            lines,
        })
    }
}

/// What a run under QEMU gave.
#[derive(Clone, Debug)]
pub struct QemuRun {
    /// QEMU exited with 0: the firmware's semihosting exit said success.
    pub passed: bool,
    /// The decoded defmt log, one message per line, without the level prefix (`INFO`).
    pub lines: Vec<String>,
}

/// `firmware/`.
pub fn dir() -> PathBuf {
    root().join("firmware")
}

/// A cargo command run from inside `firmware/` (so that its `.cargo/config.toml`
/// applies).
pub fn cargo() -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(dir());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The values of every `flag` in `args`.
    fn values(args: &[String], flag: &str) -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].clone())
            .collect()
    }

    #[test]
    fn grouped_commands_build_each_image_as_its_own_command_would_and_nothing_else() {
        let mut images = Image::all();
        images.push(Image::RESUME);
        let commands = Image::grouped("build", &images);
        // What the commands build: (profile, features args, target, bin) for each pair
        // of their targets and binaries.
        let mut built = Vec::new();
        for c in &commands {
            let a = args(c);
            assert_eq!(a[0], "build");
            let profile = values(&a, "--profile");
            let features: Vec<String> = a
                .iter()
                .filter(|x| *x == "--no-default-features")
                .cloned()
                .chain(values(&a, "--features"))
                .collect();
            for t in values(&a, "--target") {
                for b in values(&a, "--bin") {
                    built.push((profile.clone(), features.clone(), t.clone(), b));
                }
            }
        }
        let mut wanted: Vec<_> = images
            .iter()
            .map(|img| {
                let a = args(&img.cargo("build"));
                (
                    values(&a, "--profile"),
                    a.iter()
                        .filter(|x| *x == "--no-default-features")
                        .cloned()
                        .chain(values(&a, "--features"))
                        .collect::<Vec<_>>(),
                    values(&a, "--target").remove(0),
                    values(&a, "--bin").remove(0),
                )
            })
            .collect();
        wanted.sort();
        built.sort();
        assert_eq!(built, wanted);
        // Fewer commands than images: the three drift images, for one, share one.
        assert!(commands.len() < images.len(), "{} commands", commands.len());
        let drift = Image::grouped("clippy", &CORES.map(|c| Image::drift(&c)));
        assert_eq!(drift.len(), 1);
        assert_eq!(values(&args(&drift[0]), "--target").len(), 3);
    }
}
