//! The firmware commands: `run`, `size`, `bench-mcu`, and the firmware part of `test`.
//!
//! The firmware (`firmware/`) is its own cargo project, configured by
//! `firmware/.cargo/config.toml` (default target, the QEMU runner); cargo reads that file
//! from the current directory, so every firmware command runs from inside `firmware/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use microprop::{Activation, Libm, Micromath};
use microprop_app::bench;
use serde_json::json;

use crate::setup::output;
use crate::test::{root, run_cmd};

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
}

/// The three emulated cores.
pub const CORES: [Core; 3] = [
    Core {
        name: "m4f",
        target: "thumbv7em-none-eabihf",
        machine: "mps2-an386",
        tick: 40.0,
    },
    Core {
        name: "m3",
        target: "thumbv7m-none-eabi",
        machine: "mps2-an385",
        tick: 40.0,
    },
    Core {
        name: "m0",
        target: "thumbv6m-none-eabi",
        machine: "microbit",
        tick: 62.5,
    },
];

/// The STM32F411 image: target, cargo arguments, binary.
const F411_TARGET: &str = "thumbv7em-none-eabihf";
const F411_ARGS: [&str; 5] = [
    "--no-default-features",
    "--features",
    "f411",
    "--bin",
    "train-f411",
];

/// `firmware/`.
pub fn dir() -> PathBuf {
    root().join("firmware")
}

/// A cargo command run from inside `firmware/`.
fn cargo() -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(dir());
    c
}

/// The in-tree defmt decoder's binary.
pub fn decoder() -> PathBuf {
    dir().join("tools/defmt-print/target/release/defmt-print")
}

/// Builds the in-tree defmt decoder (a no-op when it is up to date). Run from the root, so
/// that the firmware's thumb target does not apply.
pub fn ensure_decoder() -> Result<(), String> {
    run_cmd(crate::test::cmd("cargo").args([
        "build",
        "--release",
        "--locked",
        "--quiet",
        "--manifest-path",
        "firmware/tools/defmt-print/Cargo.toml",
    ]))?;
    if decoder().exists() {
        Ok(())
    } else {
        Err(format!("{} was not built", decoder().display()))
    }
}

/// Installs QEMU (`qemu-system-arm`) with apt-get when it is missing.
pub fn ensure_qemu() -> Result<(), String> {
    crate::setup::ensure_apt(&[("qemu-system-arm", "qemu-system-arm")])
}

/// `llvm-size` from rustup's `llvm-tools` component.
fn llvm_tool(name: &str) -> Result<PathBuf, String> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let vv = output(Command::new("rustc").arg("-vV"))?;
    let host = vv
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or("rustc -vV has no host line")?;
    let p = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("bin")
        .join(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} missing: run `rustup component add llvm-tools`",
            p.display()
        ))
    }
}

/// Where cargo puts a firmware binary.
fn elf(target: &str, profile: &str, bin: &str) -> PathBuf {
    dir().join("target").join(target).join(profile).join(bin)
}

fn build(target: &str, profile: &str, extra: &[&str]) -> Result<(), String> {
    run_cmd(
        cargo()
            .args(["build", "--profile", profile, "--target", target])
            .args(extra),
    )
}

fn core_by_name(name: &str) -> Result<Core, String> {
    CORES
        .iter()
        .copied()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("unknown core `{name}` (m4f, m3, m0)"))
}

/// `cargo xtask run [--core m4f|m3|m0] [--board f411]`: installs what is missing, then
/// trains on the emulated core with decoded logs; or builds the STM32F411 image and
/// flashes it with probe-rs.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut core = CORES[0];
    let mut board = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--board" => board = it.next().cloned(),
            "--core" => core = core_by_name(it.next().map_or("", |s| s.as_str()))?,
            other => return Err(format!("run: unknown argument `{other}`")),
        }
    }
    crate::setup::ensure_rustup()?;
    crate::setup::ensure_flip_link()?;
    match board.as_deref() {
        None => {
            ensure_qemu()?;
            ensure_decoder()?;
            run_cmd(cargo().args([
                "run",
                "--release",
                "--bin",
                "train",
                "--target",
                core.target,
            ]))
        }
        Some("f411") => run_f411(),
        Some(other) => Err(format!("run: unknown board `{other}` (f411)")),
    }
}

fn run_f411() -> Result<(), String> {
    build(F411_TARGET, "release", &F411_ARGS)?;
    let image = elf(F411_TARGET, "release", "train-f411");
    let has_probe_rs = Command::new("probe-rs")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_probe_rs {
        return Err(format!(
            "built {}; flashing needs probe-rs: `cargo install probe-rs-tools --locked` \
             (a 15-25 min build), attach the board through an ST-Link or CMSIS-DAP probe, \
             then run `cargo xtask run --board f411` again",
            image.display()
        ));
    }
    run_cmd(
        Command::new("probe-rs")
            .args(["run", "--chip", "STM32F411CEUx"])
            .arg(&image),
    )
}

/// One firmware image of the size report.
struct Image {
    bin: &'static str,
    target: &'static str,
    profile: &'static str,
    extra: &'static [&'static str],
}

const IMAGES: [Image; 7] = [
    Image {
        bin: "train",
        target: "thumbv7em-none-eabihf",
        profile: "release",
        extra: &[],
    },
    Image {
        bin: "train",
        target: "thumbv7m-none-eabi",
        profile: "release",
        extra: &[],
    },
    Image {
        bin: "train",
        target: "thumbv6m-none-eabi",
        profile: "release",
        extra: &[],
    },
    Image {
        bin: "bench",
        target: "thumbv7em-none-eabihf",
        profile: "speed",
        extra: &[],
    },
    Image {
        bin: "bench",
        target: "thumbv7m-none-eabi",
        profile: "speed",
        extra: &[],
    },
    Image {
        bin: "bench",
        target: "thumbv6m-none-eabi",
        profile: "speed",
        extra: &[],
    },
    Image {
        bin: "train-f411",
        target: F411_TARGET,
        profile: "release",
        extra: &F411_ARGS,
    },
];

/// The size snapshot kept in the repository.
fn snapshot_path() -> PathBuf {
    dir().join("sizes.txt")
}

/// `cargo xtask size [--bless]`: flash (text + data) and static RAM (data + bss) of every
/// firmware binary on every target, compared with `firmware/sizes.txt`; `--bless`
/// rewrites the snapshot.
pub fn size(args: &[String]) -> Result<(), String> {
    let bless = args.iter().any(|a| a == "--bless");
    let llvm_size = llvm_tool("llvm-size")?;
    let old = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    let mut table = String::from("# binary target profile flash_bytes static_ram_bytes\n");
    println!(
        "{:<11} {:<22} {:<8} {:>10} {:>10} {:>12}",
        "binary", "target", "profile", "flash B", "static RAM", "vs snapshot"
    );
    for img in &IMAGES {
        let mut extra: Vec<&str> = img.extra.to_vec();
        if !extra.contains(&"--bin") {
            extra.extend(["--bin", img.bin]);
        }
        build(img.target, img.profile, &extra)?;
        let out = output(Command::new(&llvm_size).arg(elf(img.target, img.profile, img.bin)))?;
        let nums: Vec<u64> = out
            .lines()
            .nth(1)
            .ok_or("llvm-size printed no sizes")?
            .split_whitespace()
            .take(3)
            .map(|n| n.parse::<u64>().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let [text, data, bss] = nums[..] else {
            return Err(format!("cannot parse llvm-size output: {out}"));
        };
        let (flash, ram) = (text + data, data + bss);
        let key = format!("{} {} {}", img.bin, img.target, img.profile);
        let before = old.lines().find_map(|l| {
            let rest = l.strip_prefix(&key)?;
            rest.split_whitespace().next()?.parse::<i64>().ok()
        });
        let delta = before.map_or("new".to_string(), |b| format!("{:+}", flash as i64 - b));
        println!(
            "{:<11} {:<22} {:<8} {:>10} {:>10} {:>12}",
            img.bin, img.target, img.profile, flash, ram, delta
        );
        let _ = writeln!(table, "{key} {flash} {ram}");
    }
    if bless {
        std::fs::write(snapshot_path(), table).map_err(|e| e.to_string())?;
        println!("wrote {}", snapshot_path().display());
    }
    println!("(static RAM excludes the stack; the demo logs its measured stack high-water mark)");
    Ok(())
}

/// Runs a firmware binary under QEMU through the runner, returning (success, decoded lines
/// without the level prefix).
fn run_qemu(
    target: &str,
    profile: &str,
    bin: &str,
    env: &[(&str, &str)],
) -> Result<(bool, Vec<String>), String> {
    let mut c = cargo();
    c.args([
        "run",
        "--profile",
        profile,
        "--bin",
        bin,
        "--target",
        target,
    ]);
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
    Ok((out.status.success(), lines))
}

/// The demo's deterministic lines from the host (the app's `Display`).
fn host_transcript() -> Result<Vec<String>, String> {
    let out = output(crate::test::cmd("cargo").args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "microprop-app",
        "--example",
        "transcript",
    ]))?;
    Ok(out
        .lines()
        .filter(|l| !l.contains(" trained in "))
        .map(str::to_string)
        .collect())
}

/// The firmware part of `cargo xtask test`. Returns the time of each part.
pub fn test() -> Result<Vec<(String, f64)>, String> {
    let mut times = Vec::new();
    let mut t = Instant::now();
    let mut lap = |what: &str, t: &mut Instant| {
        times.push((what.to_string(), t.elapsed().as_secs_f64()));
        *t = Instant::now();
    };
    ensure_qemu()?;
    ensure_decoder()?;
    lap("firmware: tools (QEMU, defmt decoder)", &mut t);
    run_cmd(cargo().args(["fmt", "--", "--check"]))?;
    run_cmd(cargo().args(["clippy", "--release", "--bins", "--", "-D", "warnings"]))?;
    run_cmd(
        cargo()
            .args(["clippy", "--release", "--target", F411_TARGET])
            .args(F411_ARGS)
            .args(["--", "-D", "warnings"]),
    )?;
    lap("firmware: fmt + clippy", &mut t);
    for core in &CORES {
        build(core.target, "release", &["--bin", "train"])?;
        build(core.target, "speed", &["--bin", "bench"])?;
    }
    build(F411_TARGET, "release", &F411_ARGS)?;
    lap(
        "firmware: build 3 targets x (demo, bench) + STM32F411",
        &mut t,
    );
    let host = host_transcript()?;
    if !host.iter().any(|l| l.ends_with("(bar 95.0%): PASS")) {
        return Err("host transcript has no PASS verdict".into());
    }
    lap("firmware: host transcript", &mut t);
    for core in &CORES {
        let (ok, lines) = run_qemu(core.target, "release", "train", &[])?;
        check_demo(core, ok, &lines, &host)?;
        lap(
            &format!("firmware: demo under QEMU on {}", core.name),
            &mut t,
        );
    }
    // The benchmark runs to the end on every core and its output parses into a table.
    let scratch = root().join("target/bench-mcu-smoke");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    for core in &CORES {
        let table = run_bench(core, None, &scratch)?;
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
    lap("firmware: cost benchmark under QEMU on m4f, m3, m0", &mut t);
    Ok(times)
}

/// Asserts that the demo passed on `core` and printed the host's lines.
fn check_demo(core: &Core, ok: bool, lines: &[String], host: &[String]) -> Result<(), String> {
    let fail = |why: String| {
        Err(format!(
            "demo on {} ({}): {why}\n--- device log ---\n{}",
            core.name,
            core.machine,
            lines.join("\n")
        ))
    };
    if !ok {
        return fail("QEMU did not exit with 0".into());
    }
    let Some(verdict) = lines.iter().find(|l| l.starts_with("result: ")) else {
        return fail("no accuracy line".into());
    };
    if !verdict.ends_with("(bar 95.0%): PASS") {
        return fail(format!("accuracy line is `{verdict}`"));
    }
    let device: Vec<&String> = lines
        .iter()
        .filter(|l| {
            !l.contains(" trained in ")
                && !l.starts_with("board: ")
                && !l.starts_with("stack high-water mark")
        })
        .collect();
    if device.len() != host.len() || device.iter().zip(host).any(|(d, h)| *d != h) {
        let first = device
            .iter()
            .zip(host)
            .find(|(d, h)| **d != *h)
            .map_or("(different line counts)".to_string(), |(d, h)| {
                format!("device `{d}` vs host `{h}`")
            });
        return fail(format!("device log differs from the host's: {first}"));
    }
    let Some(stack) = lines
        .iter()
        .find_map(|l| l.strip_prefix("stack high-water mark: "))
    else {
        return fail("no stack high-water line".into());
    };
    let nums: Vec<u32> = stack
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match nums[..] {
        [used, size] if used > 0 && used <= STACK_BUDGET && used < size => {}
        [used, _] if used > STACK_BUDGET => {
            return fail(format!(
                "stack high-water mark {used} B exceeds the {STACK_BUDGET} B budget (README)"
            ))
        }
        _ => return fail(format!("implausible stack line `{stack}`")),
    }
    eprintln!(
        "  demo on {}: {verdict}; stack {stack}; {} lines identical to the host's",
        core.name,
        device.len()
    );
    Ok(())
}

/// The training demo's stack budget on every core (README, "On the microcontroller"):
/// 14 KiB, what the micro:bit's 16 KiB of RAM leaves after static data and a margin.
/// `memory/microbit-m0.x` makes the link keep at least this much free for the stack.
const STACK_BUDGET: u32 = 14 * 1024;

/// `cargo xtask bench-mcu`: the activation-cost and training-step tables on M4F, M3 and
/// M0 (QEMU `-icount shift=0`, SysTick ticks converted to instructions), saved as
/// `target/bench-mcu/<core>.json` with each backend's maximum error.
pub fn bench_mcu(_args: &[String]) -> Result<(), String> {
    crate::setup::ensure_rustup()?;
    ensure_qemu()?;
    ensure_decoder()?;
    let out_dir = root().join("target/bench-mcu");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let plugin = match build_plugin(&out_dir) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("no exact counts (SysTick estimates only): {e}");
            None
        }
    };
    for core in &CORES {
        build(core.target, "speed", &["--bin", "bench"])?;
        let table = run_bench(core, plugin.as_deref(), &out_dir)?;
        print_table(&table);
        let path = out_dir.join(format!("{}.json", core.name));
        let text = serde_json::to_string_pretty(&table).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        println!("saved {}\n", path.display());
    }
    Ok(())
}

/// Runs the (built) benchmark on `core` under QEMU `-icount`, with the exact-count plugin
/// when given, and returns its table.
fn run_bench(
    core: &Core,
    plugin: Option<&Path>,
    out_dir: &Path,
) -> Result<serde_json::Value, String> {
    // The ARMv6-M image runs on mps2-an385 (see firmware/memory/mps2-bench.x): same
    // instructions, more RAM, 40 instructions per tick.
    let (machine, tick, mut env): (&str, f64, Vec<(&str, &str)>) = if core.name == "m0" {
        (
            "mps2-an385 (ARMv6-M image)",
            40.0,
            vec![
                ("QEMU_ICOUNT", "1"),
                ("QEMU_MACHINE", "mps2-an385"),
                ("QEMU_CPU", "cortex-m3"),
            ],
        )
    } else {
        (core.machine, core.tick, vec![("QEMU_ICOUNT", "1")])
    };
    let image = elf(core.target, "speed", "bench");
    let counts = out_dir.join(format!("{}-icount.txt", core.name));
    let plugin_arg = match plugin {
        Some(p) => Some(plugin_args(p, &image, &counts)?),
        None => None,
    };
    if let Some(arg) = &plugin_arg {
        env.push(("QEMU_EXTRA", arg.as_str()));
    }
    let (ok, lines) = run_qemu(core.target, "speed", "bench", &env)?;
    if !ok || !lines.iter().any(|l| l == "bench done") {
        return Err(format!(
            "bench on {} failed:\n{}",
            core.name,
            lines.join("\n")
        ));
    }
    let mut table = parse_bench(core, machine, tick, &lines)?;
    if plugin_arg.is_some() {
        add_exact_counts(&mut table, &lines, &counts, &image)?;
    }
    Ok(table)
}

/// Builds the instruction-count plugin (`firmware/tools/icount/icount.c`) with the host's
/// C compiler.
fn build_plugin(out_dir: &Path) -> Result<PathBuf, String> {
    let src = dir().join("tools/icount/icount.c");
    let lib = out_dir.join("libicount.so");
    let fresh = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if fresh(&lib).is_some() && fresh(&lib) >= fresh(&src) {
        return Ok(lib);
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    run_cmd(
        Command::new(cc)
            .args(["-O2", "-shared", "-fPIC", "-o"])
            .arg(&lib)
            .arg(&src),
    )?;
    Ok(lib)
}

/// The text and function symbols of an ELF: (start, size, demangled name), sorted.
fn symbols(image: &Path) -> Result<Vec<(u64, u64, String)>, String> {
    let nm = llvm_tool("llvm-nm")?;
    let out = output(
        Command::new(nm)
            .args(["-S", "--defined-only", "--demangle", "-n"])
            .arg(image),
    )?;
    let mut syms: Vec<(u64, u64, String)> = out
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(4, ' ');
            let (a, s, k, n) = (p.next()?, p.next()?, p.next()?, p.next()?);
            if !matches!(k, "t" | "T") {
                return None;
            }
            let a = u64::from_str_radix(a, 16).ok()? & !1;
            let s = u64::from_str_radix(s, 16).ok()?;
            // Drop the hash suffix `::h0123456789abcdef`.
            let n = match n.rsplit_once("::h") {
                Some((base, h)) if h.len() == 16 => base,
                _ => n,
            };
            Some((a, s, unescape(n)))
        })
        .collect();
    syms.sort();
    Ok(syms)
}

/// Finishes demangling legacy Rust symbols that `llvm-nm` leaves escaped.
fn unescape(name: &str) -> String {
    let mut s = name.trim_start_matches('_').to_string();
    for (from, to) in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$u20$", " "),
        ("$C$", ","),
        ("$RF$", "&"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$BP$", "*"),
        ("..", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}

fn plugin_args(plugin: &Path, image: &Path, counts: &Path) -> Result<String, String> {
    let syms = symbols(image)?;
    let addr = |name: &str| {
        syms.iter()
            .find(|s| s.2 == name)
            .map(|s| s.0)
            .ok_or_else(|| format!("{} has no symbol {name}", image.display()))
    };
    Ok(format!(
        "-plugin {},start={:#x},stop={:#x},out={}",
        plugin.display(),
        addr("microprop_mark_start")?,
        addr("microprop_mark_stop")?,
        counts.display()
    ))
}

/// Adds the plugin's exact per-step counts and the per-function profile of every step.
fn add_exact_counts(
    table: &mut serde_json::Value,
    lines: &[String],
    counts: &Path,
    image: &Path,
) -> Result<(), String> {
    let text = std::fs::read_to_string(counts).map_err(|e| e.to_string())?;
    let syms = symbols(image)?;
    let function = |pc: u64| {
        let i = syms.partition_point(|s| s.0 <= pc);
        i.checked_sub(1)
            .and_then(|i| syms.get(i))
            .filter(|s| pc < s.0 + s.1.max(2))
            .map_or("?".to_string(), |s| s.2.clone())
    };
    // Region labels, in order, from the device log: `region <k> <net...> <backend>`.
    let labels: Vec<(u64, String, String)> = lines
        .iter()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.first() != Some(&"region") || w.len() < 4 {
                return None;
            }
            let k = w[1].parse().ok()?;
            Some((k, w[2..w.len() - 1].join(" "), w[w.len() - 1].to_string()))
        })
        .collect();
    let mut totals = std::collections::BTreeMap::new();
    let mut per_fn: std::collections::BTreeMap<u64, std::collections::BTreeMap<String, u64>> =
        Default::default();
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w[..] {
            ["region", k, n] => {
                totals.insert(k.parse::<u64>().unwrap_or(0), n.parse::<u64>().unwrap_or(0));
            }
            ["pc", k, pc, n] => {
                let pc = u64::from_str_radix(pc, 16).unwrap_or(0);
                *per_fn
                    .entry(k.parse().unwrap_or(0))
                    .or_default()
                    .entry(function(pc))
                    .or_default() += n.parse::<u64>().unwrap_or(0);
            }
            _ => {}
        }
    }
    let calibration = *totals.get(&0).ok_or("no calibration region")?;
    let steps = bench::STEP_SAMPLES as f64;
    for s in table["steps"].as_array_mut().into_iter().flatten() {
        let Some((k, _, _)) = labels
            .iter()
            .find(|(_, net, backend)| s["net"] == net.as_str() && s["backend"] == backend.as_str())
        else {
            continue;
        };
        let Some(&total) = totals.get(k) else {
            continue;
        };
        s["exact_instructions_per_step"] =
            json!(round2((total.saturating_sub(calibration)) as f64 / steps));
        let mut fns: Vec<(String, u64)> = per_fn
            .get(k)
            .map(|m| m.iter().map(|(f, n)| (f.clone(), *n)).collect())
            .unwrap_or_default();
        fns.sort_by_key(|f| std::cmp::Reverse(f.1));
        s["profile"] = json!(fns
            .iter()
            .filter(|(f, _)| !f.starts_with("microprop_mark"))
            .take(10)
            .map(|(f, n)| json!({ "function": f, "instructions_per_step": round2(*n as f64 / steps) }))
            .collect::<Vec<_>>());
    }
    table["method"] = json!(
        "exact: QEMU TCG plugin (firmware/tools/icount) between marker functions; \
         activations and step breakdowns: QEMU -icount shift=0, SysTick ticks x instructions per tick"
    );
    Ok(())
}

fn field(words: &[&str], key: &str) -> Result<f64, String> {
    words
        .iter()
        .position(|w| *w == key)
        .and_then(|i| words.get(i + 1))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no `{key}` in `{}`", words.join(" ")))
}

fn parse_bench(
    core: &Core,
    machine: &str,
    tick: f64,
    lines: &[String],
) -> Result<serde_json::Value, String> {
    let mut acts = Vec::new();
    let mut steps = Vec::new();
    let mut memory = json!(null);
    let mut stack = json!(null);
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("act") => {
                let (name, backend) = (words[1], words[2]);
                let n = field(&words, "n")?;
                let fwd = field(&words, "fwd")? * tick / n;
                let bwd = (field(&words, "bwd")? - field(&words, "fill")?) * tick / n;
                let act = Activation::ALL
                    .into_iter()
                    .find(|a| a.name() == name)
                    .ok_or_else(|| format!("unknown activation {name}"))?;
                let (ef, eb) = match backend {
                    "libm" => bench::max_error::<Libm>(act),
                    _ => bench::max_error::<Micromath>(act),
                };
                acts.push(json!({
                    "activation": name, "backend": backend,
                    "forward_instructions_per_element": round2(fwd),
                    "backward_instructions_per_element": round2(bwd),
                    "forward_max_abs_error": ef, "backward_max_abs_error": eb,
                }));
            }
            Some("step") => {
                // `step N1 2-16-1 sigmoid libm total ...`: the net's name has spaces.
                let at = words
                    .iter()
                    .position(|w| *w == "total")
                    .ok_or("step line without total")?;
                let backend = words[at - 1];
                let net = words[1..at - 1].join(" ");
                let n = field(&words, "n")?;
                let total = field(&words, "total")? * tick / n;
                let fwd = field(&words, "fwd")? * tick / n;
                let sample = field(&words, "sample")? * tick / n;
                let bar = bench::StepNet::ALL
                    .into_iter()
                    .find(|s| s.name() == net)
                    .map(|s| s.bar());
                steps.push(json!({
                    "net": net, "backend": backend,
                    "instructions_per_step": round2(total),
                    "forward": round2(fwd),
                    // `Trainer::sample` (forward, loss, backward accumulating gradients)
                    // minus the forward; and the whole step minus that. Indicative only:
                    // the core's online step may fuse backward and update.
                    "sample_minus_forward": round2(sample - fwd),
                    "step_minus_sample": round2(total - sample),
                    "m4f_libm_bar": bar,
                }));
            }
            Some("memory") => {
                memory = json!({
                    "n1_weights_bytes": field(&words, "weights")? as u64,
                    "n1_training_buffers_bytes": field(&words, "training")? as u64,
                    "trainer_bytes": field(&words, "trainer")? as u64,
                    "optimizer_bytes": field(&words, "optimizer")? as u64,
                });
            }
            Some("stack") => stack = json!(field(&words, "stack")? as u64),
            _ => {}
        }
    }
    Ok(json!({
        "core": core.name,
        "target": core.target,
        "machine": machine,
        "method": "QEMU -icount shift=0: SysTick ticks x instructions per tick",
        "instructions_per_tick": tick,
        "sweep": { "points": bench::SWEEP, "lo": bench::SWEEP_LO, "hi": bench::SWEEP_HI },
        "activations": acts,
        "steps": steps,
        "n1_memory": memory,
        "stack_high_water_bytes": stack,
    }))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn print_table(t: &serde_json::Value) {
    println!(
        "== {} ({}) — instructions (QEMU -icount), max |error| vs f64 over [{}, {}] ==",
        t["core"].as_str().unwrap_or("?"),
        t["machine"].as_str().unwrap_or("?"),
        bench::SWEEP_LO,
        bench::SWEEP_HI
    );
    println!(
        "{:<11} {:<10} {:>9} {:>10} {:>9} {:>10}",
        "activation", "backend", "fwd/elem", "fwd err", "bwd/elem", "bwd err"
    );
    for a in t["activations"].as_array().into_iter().flatten() {
        println!(
            "{:<11} {:<10} {:>9.1} {:>10.1e} {:>9.1} {:>10.1e}",
            a["activation"].as_str().unwrap_or("?"),
            a["backend"].as_str().unwrap_or("?"),
            a["forward_instructions_per_element"]
                .as_f64()
                .unwrap_or(f64::NAN),
            a["forward_max_abs_error"].as_f64().unwrap_or(f64::NAN),
            a["backward_instructions_per_element"]
                .as_f64()
                .unwrap_or(f64::NAN),
            a["backward_max_abs_error"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!(
        "{:<22} {:<10} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "training step (batch 1)", "backend", "instr", "forward", "smp-fwd", "step-smp", "bar"
    );
    for s in t["steps"].as_array().into_iter().flatten() {
        println!(
            "{:<22} {:<10} {:>10.0} {:>9.0} {:>9.0} {:>9.0} {:>8}",
            s["net"].as_str().unwrap_or("?"),
            s["backend"].as_str().unwrap_or("?"),
            s["instructions_per_step"].as_f64().unwrap_or(f64::NAN),
            s["forward"].as_f64().unwrap_or(f64::NAN),
            s["sample_minus_forward"].as_f64().unwrap_or(f64::NAN),
            s["step_minus_sample"].as_f64().unwrap_or(f64::NAN),
            s["m4f_libm_bar"]
                .as_u64()
                .map_or("-".to_string(), |b| b.to_string()),
        );
    }
    for s in t["steps"].as_array().into_iter().flatten() {
        let Some(exact) = s["exact_instructions_per_step"].as_f64() else {
            continue;
        };
        let libm = s["backend"] == "libm";
        println!(
            "  {} {}: exactly {exact:.1} instructions per step{}",
            s["net"].as_str().unwrap_or("?"),
            s["backend"].as_str().unwrap_or("?"),
            if libm { "; where they go:" } else { "" }
        );
        if !libm {
            continue;
        }
        for f in s["profile"].as_array().into_iter().flatten().take(6) {
            let name = f["function"].as_str().unwrap_or("?");
            let short: String = name.chars().take(90).collect();
            println!(
                "    {:>9.1}  {short}",
                f["instructions_per_step"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    println!(
        "N1 memory: {} ; stack high-water {} B",
        t["n1_memory"], t["stack_high_water_bytes"]
    );
}
