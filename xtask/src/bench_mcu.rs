//! `cargo xtask bench-mcu [--json]`: the activation-cost and training-step tables on M4F,
//! M3 and M0 (QEMU `-icount shift=0`, SysTick ticks converted to instructions; exact counts
//! from the TCG plugin `firmware/tools/icount` when it builds), saved as
//! `target/bench-mcu/<core>.json` with each backend's maximum error. [`run_bench`] is
//! also the benchmark smoke test of `cargo xtask test-firmware`.
//!
//! With `--json` the tables go to stderr and stdout holds one JSON object (the contract of
//! issues 11 and 12; shaped by `bench_log::summary`), keyed by core:
//!
//! ```text
//! {"m4f": {"epochs": E, "steps": S, "counts": "exact" | "systick",
//!          "n1": {"instructions_per_step": .., "backend": "libm",
//!                 "micromath": {"instructions_per_step": ..}},
//!          "n2": {..}, "n2relu": {..}, "n3": {..},
//!          "activations": {"sigmoid": {"libm": {"forward": .., "max_error": ..,
//!                                               "backward": .., "backward_max_error": ..},
//!                                      "micromath": {..}}, "tanh": {..}, ..},
//!          "q16": {"n1": {"instructions_per_step": .., "backend": "fixed_table",
//!                         "fixed_poly": {"instructions_per_step": ..}},
//!                  "n2relu": {..},
//!                  "activations": {"sigmoid": {"fixed_table": {..}, "fixed_poly": {..}}, ..}},
//!          "stack_high_water_bytes": ..},
//!  "m3": {..}, "m0": {..}}
//! ```
//!
//! * `n1`, `n2`, `n2relu`, `n3`: N1 2-16-1 sigmoid, N2 2-32-32-1 sigmoid, N2 ReLU, N3
//!   2-(9×2)-1 sigmoid; `instructions_per_step` under the default backend (`Libm`; in `q16`,
//!   `FixedTable`), the other backend's count in the object named after it. The exact
//!   plugin count when `counts` is `exact`, else SysTick ticks × instructions per tick.
//! * `activations`: per activation and backend, in instructions per element over the
//!   sweep: `forward` (`Activation::apply`), `backward` (`Activation::backward`, upstream
//!   gradient 1: `f'(z)`, the refill of the gradient subtracted); `max_error` and
//!   `backward_max_error`: the maximum absolute error of each against `f64` `Libm` on the
//!   same inputs.
//! * `epochs`, `steps`: the training protocol whose steps were timed.

use std::path::{Path, PathBuf};
use std::process::Command;

use microprop_app::bench;

use crate::bench_log::{add_exact_counts, parse_bench, summary};
use crate::firmware::{self, Core, Image, CORES};
use crate::setup;
use crate::symbols::{address, symbols};
use crate::util::{root, run_cmd};

/// `println!`, or `eprintln!` when the first argument is true (`--json`: stdout holds the
/// JSON object alone).
macro_rules! say {
    ($json:expr, $($arg:tt)*) => {
        if $json {
            eprintln!($($arg)*)
        } else {
            println!($($arg)*)
        }
    };
}

/// The usage line of `cargo xtask bench-mcu`.
const USAGE: &str = "usage: cargo xtask bench-mcu [--json]";

/// What the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Args {
    /// One JSON object on stdout; the tables go to stderr.
    json: bool,
}

/// Parses the arguments; a usage error names what is wrong.
fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args { json: false };
    for a in args {
        match a.as_str() {
            "--json" => out.json = true,
            other => return Err(format!("bench-mcu: unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(out)
}

/// `cargo xtask bench-mcu [--json]`. A usage error exits with status 2.
pub fn run(args: &[String]) -> Result<(), String> {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            std::process::exit(2);
        }
    };
    setup::ensure_rustup()?;
    setup::ensure_qemu()?;
    setup::ensure_decoder()?;
    let out_dir = root().join("target/bench-mcu");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let plugin = match build_plugin(&out_dir) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("no exact counts (SysTick estimates only): {e}");
            None
        }
    };
    let mut all = serde_json::Map::new();
    for core in &CORES {
        Image::bench(core).build()?;
        let table = run_bench(core, plugin.as_deref(), &out_dir)?;
        print_table(&table, args.json);
        let path = out_dir.join(format!("{}.json", core.name));
        let text = serde_json::to_string_pretty(&table).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        say!(args.json, "saved {}\n", path.display());
        all.insert(core.name.to_string(), summary(&table)?);
    }
    if args.json {
        println!("{}", serde_json::Value::Object(all));
    }
    Ok(())
}

/// Runs the (built) benchmark on `core` under QEMU `-icount`, with the exact-count plugin
/// when given (its counts go to `out_dir`), and returns its table.
pub fn run_bench(
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
    let image = Image::bench(core);
    let elf = image.elf();
    let counts = out_dir.join(format!("{}-icount.txt", core.name));
    let plugin_arg = match plugin {
        Some(p) => Some(plugin_args(p, &elf, &counts)?),
        None => None,
    };
    if let Some(arg) = &plugin_arg {
        env.push(("QEMU_EXTRA", arg.as_str()));
    }
    let run = image.run_qemu(&env)?;
    if !run.passed || !run.lines.iter().any(|l| l == "bench done") {
        return Err(format!(
            "bench on {} failed:\n{}",
            core.name,
            run.lines.join("\n")
        ));
    }
    let mut table = parse_bench(core, machine, tick, &run.lines)?;
    if plugin_arg.is_some() {
        add_exact_counts(&mut table, &run.lines, &counts, &elf)?;
    }
    Ok(table)
}

/// Builds the instruction-count plugin (`firmware/tools/icount/icount.c`) with the host's
/// C compiler, unless the library in `out_dir` is newer than the source.
fn build_plugin(out_dir: &Path) -> Result<PathBuf, String> {
    let src = firmware::dir().join("tools/icount/icount.c");
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

/// QEMU's `-plugin` argument: count between the two marker functions of `image`.
fn plugin_args(plugin: &Path, image: &Path, counts: &Path) -> Result<String, String> {
    let syms = symbols(image)?;
    Ok(format!(
        "-plugin {},start={:#x},stop={:#x},out={}",
        plugin.display(),
        address(&syms, image, "microprop_mark_start")?,
        address(&syms, image, "microprop_mark_stop")?,
        counts.display()
    ))
}

/// Prints one core's table.
fn print_table(t: &serde_json::Value, json: bool) {
    say!(
        json,
        "== {} ({}) — instructions (QEMU -icount), max |error| vs f64 over [{}, {}] ==",
        t["core"].as_str().unwrap_or("?"),
        t["machine"].as_str().unwrap_or("?"),
        bench::SWEEP_LO,
        bench::SWEEP_HI
    );
    say!(
        json,
        "{:<11} {:<10} {:>9} {:>10} {:>9} {:>10}",
        "activation",
        "backend",
        "fwd/elem",
        "fwd err",
        "bwd/elem",
        "bwd err"
    );
    for a in t["activations"].as_array().into_iter().flatten() {
        say!(
            json,
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
    say!(
        json,
        "{:<22} {:<10} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "training step (batch 1)",
        "backend",
        "instr",
        "forward",
        "smp-fwd",
        "step-smp",
        "bar"
    );
    for s in t["steps"].as_array().into_iter().flatten() {
        say!(
            json,
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
        say!(
            json,
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
            say!(
                json,
                "    {:>9.1}  {short}",
                f["instructions_per_step"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    print_q16(t, json);
    say!(
        json,
        "N1 memory: {} ; stack high-water {} B",
        t["n1_memory"],
        t["stack_high_water_bytes"]
    );
}

/// Prints one core's fixed-point rows (the table's `q16` object), against the issue's bars
/// (M0: N1 ≤ 10,000, N2 ReLU ≤ 100,000 instructions per step, sigmoid forward ≤ 150 per
/// element; M3: N1 ≤ 6,000).
fn print_q16(t: &serde_json::Value, json: bool) {
    let q = &t["q16"];
    if q.is_null() {
        return;
    }
    let core = t["core"].as_str().unwrap_or("?");
    say!(json, "-- {core} fixed point (Q16.16) --");
    for (backend, rows) in q["activations"].as_object().into_iter().flatten() {
        for a in rows.as_array().into_iter().flatten() {
            say!(
                json,
                "{:<11} {:<10} {:>9.1} {:>10.1e} {:>9.1} {:>10.1e}",
                a["activation"].as_str().unwrap_or("?"),
                backend,
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
    }
    let bar = |key: &str| match (core, key) {
        ("m0", "n1") => Some(10_000),
        ("m0", "n2relu") => Some(100_000),
        ("m3", "n1") => Some(6_000),
        _ => None,
    };
    for key in ["n1", "n2relu", "n1_poly", "n2relu_poly"] {
        let s = &q[key];
        if s.is_null() {
            continue;
        }
        let exact = s["exact_instructions_per_step"].as_f64();
        let per_step = exact.or(s["instructions_per_step"].as_f64());
        let verdict = match (bar(key), per_step) {
            (Some(b), Some(n)) if n <= f64::from(b) => format!(" (bar {b}: met)"),
            (Some(b), Some(_)) => format!(" (bar {b}: MISSED)"),
            _ => String::new(),
        };
        say!(
            json,
            "  {} {}: {} {:.1} instructions per step{verdict}",
            s["net"].as_str().unwrap_or("?"),
            s["backend"].as_str().unwrap_or("?"),
            if exact.is_some() { "exactly" } else { "about" },
            per_step.unwrap_or(f64::NAN),
        );
        for f in s["profile"].as_array().into_iter().flatten().take(4) {
            let name = f["function"].as_str().unwrap_or("?");
            let short: String = name.chars().take(90).collect();
            say!(
                json,
                "    {:>9.1}  {short}",
                f["instructions_per_step"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_parse_and_unknown_ones_are_usage_errors() {
        assert_eq!(parse_args(&[]), Ok(Args { json: false }));
        assert_eq!(parse_args(&strings(&["--json"])), Ok(Args { json: true }));
        for bad in [&["--jsn"][..], &["json"], &["--json", "-x"]] {
            let e = parse_args(&strings(bad)).expect_err("a usage error");
            assert!(e.contains("unknown argument") && e.contains(USAGE), "{e}");
        }
    }
}
