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
//! * `epochs`, `steps`: the training protocol whose steps were timed;
//!   `weights_identical_to_host`: every float net's weights hash after those steps equals
//!   the host twin's (`core/examples/train_steps.rs`, what `cargo xtask bench-host`
//!   measures), so the device timed the host's protocol bit for bit (checked on every run;
//!   a difference fails the command).
//!
//! The protocol (`microprop_app::bench`): issue 11's, the host's: 512 samples, two clusters
//! ±(1, 1), σ 0.7 per coordinate, online SGD from the fresh init; instructions per step =
//! (Ir(steps) − Ir(0)) / steps. The full protocol is 100 epochs (`--full`), but under QEMU
//! with the counting plugin one epoch of all twelve step rows costs about 1.7 s of CPU on
//! the M4F, 8.5 s on the M3 and 12 s on the M0 (soft float: N2 is ~1.06 M instructions a
//! step there): 100 epochs are ~37 min of CPU before the three image builds, so the
//! default is [`DEFAULT_EPOCHS`] (~4 min) and `--epochs N` / `--full` choose. Each image
//! is built for its step count (`MICROPROP_BENCH_STEPS`), with the profile `speed` (the
//! published image, fat LTO). The M4F's full protocol against 1 epoch: N1 2,097 against
//! 1,974 instructions per step (the exponential's cost grows with the pre-activations as
//! the weights grow), N2 18,346 against 17,902.

use std::path::{Path, PathBuf};
use std::process::Command;

use microprop_app::bench;

use crate::bench_log::{add_exact_counts, parse_bench, summary};
use crate::firmware::{self, Core, Image, CORES};
use crate::setup;
use crate::symbols::{address, symbols};
use crate::util::{output, root, run_cmd};

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
const USAGE: &str =
    "usage: cargo xtask bench-mcu [--json] [--epochs N | --full] [--core m4f|m3|m0]";

/// Epochs timed unless `--epochs` or `--full` says otherwise (see the module doc for
/// why not the full protocol).
pub const DEFAULT_EPOCHS: usize = 10;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
struct Args {
    /// One JSON object on stdout; the tables go to stderr.
    json: bool,
    /// Epochs of the protocol timed per net.
    epochs: usize,
    /// The cores to run on (all three by default).
    cores: Vec<&'static str>,
}

/// Parses the arguments; a usage error names what is wrong.
fn parse_args(args: &[String]) -> Result<Args, String> {
    let usage = |what: String| format!("bench-mcu: {what}\n{USAGE}");
    let (mut json, mut epochs, mut full, mut core) = (false, None, false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--full" => full = true,
            "--epochs" => {
                let v = it
                    .next()
                    .ok_or_else(|| usage("--epochs needs a number".into()))?;
                let n: usize = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=bench::FULL_EPOCHS).contains(n))
                    .ok_or_else(|| {
                        usage(format!(
                            "--epochs `{v}`: give a whole number from 1 to {}",
                            bench::FULL_EPOCHS
                        ))
                    })?;
                epochs = Some(n);
            }
            "--core" => {
                let v = it
                    .next()
                    .ok_or_else(|| usage("--core needs a core".into()))?;
                let c = Core::by_name(v).map_err(usage)?;
                core = Some(c.name);
            }
            other => return Err(usage(format!("unknown argument `{other}`"))),
        }
    }
    let epochs = match (epochs, full) {
        (Some(_), true) => return Err(usage("give --epochs or --full, not both".into())),
        (Some(n), false) => n,
        (None, true) => bench::FULL_EPOCHS,
        (None, false) => DEFAULT_EPOCHS,
    };
    let cores = match core {
        Some(c) => vec![c],
        None => CORES.iter().map(|c| c.name).collect(),
    };
    Ok(Args {
        json,
        epochs,
        cores,
    })
}

/// `cargo xtask bench-mcu [--json] [--epochs N | --full] [--core C]`. A usage error
/// exits with status 2.
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
    let steps = args.epochs * bench::SAMPLES;
    let twin = host_twin(steps)?;
    let mut all = serde_json::Map::new();
    for name in &args.cores {
        let core = Core::by_name(name)?;
        let image = Image::bench(&core);
        let mut build = image.cargo("build");
        build.env(STEPS_VAR, steps.to_string());
        run_cmd(&mut build)?;
        let mut table = run_bench(&core, &image, Some(steps), plugin.as_deref(), &out_dir)?;
        check_twin(&mut table, &twin)?;
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

/// The build-time variable that sets the steps the benchmark image times per net
/// (`firmware/src/bin/bench.rs`).
const STEPS_VAR: &str = "MICROPROP_BENCH_STEPS";

/// Runs the (built) benchmark `image` on `core` under QEMU `-icount`, with the
/// exact-count plugin when given (its counts go to `out_dir`), and returns its table.
/// `steps`: the value of [`STEPS_VAR`] the image was built with (`None`: unset, the
/// image's short run); cargo's `run` sees it too, so that it finds the image fresh.
pub fn run_bench(
    core: &Core,
    image: &Image,
    steps: Option<usize>,
    plugin: Option<&Path>,
    out_dir: &Path,
) -> Result<serde_json::Value, String> {
    // The ARMv6-M image runs on mps2-an385 (see firmware/memory/mps2-bench.x): same
    // instructions, more RAM, 40 instructions per tick.
    let (machine, tick, mut env): (&str, f64, Vec<(&str, String)>) = if core.name == "m0" {
        (
            "mps2-an385 (ARMv6-M image)",
            40.0,
            vec![
                ("QEMU_ICOUNT", "1".into()),
                ("QEMU_MACHINE", "mps2-an385".into()),
                ("QEMU_CPU", "cortex-m3".into()),
            ],
        )
    } else {
        (core.machine, core.tick, vec![("QEMU_ICOUNT", "1".into())])
    };
    if let Some(n) = steps {
        env.push((STEPS_VAR, n.to_string()));
        // A guard against a hung run, not a budget: one epoch takes about a minute of a
        // busy machine on the M0.
        let epochs = n.div_ceil(bench::SAMPLES);
        env.push(("QEMU_TIMEOUT", (600 + 300 * epochs).to_string()));
    }
    let elf = image.elf();
    let counts = out_dir.join(format!("{}-icount.txt", core.name));
    let plugin_arg = match plugin {
        Some(p) => Some(plugin_args(p, &elf, &counts)?),
        None => None,
    };
    if let Some(arg) = &plugin_arg {
        env.push(("QEMU_EXTRA", arg.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
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

/// The host twin of the step protocol, `core/examples/train_steps.rs` (what `cargo xtask
/// bench-host` measures), run for `steps` steps of every float net under `Libm` and
/// `Micromath`: its weights hash by (net name, backend).
fn host_twin(steps: usize) -> Result<Vec<(String, String, String)>, String> {
    let bin = crate::bench_host::example()?;
    let mut hashes = Vec::new();
    for (net, key) in [
        (bench::StepNet::N1, "n1"),
        (bench::StepNet::N2Sigmoid, "n2"),
        (bench::StepNet::N2Relu, "n2relu"),
        (bench::StepNet::N3, "n3"),
    ] {
        for math in ["libm", "micromath"] {
            let mut c = Command::new(&bin);
            c.args([key, &steps.to_string(), "--math", math]);
            let text = output(&mut c)?;
            let v: serde_json::Value = serde_json::from_str(text.trim())
                .map_err(|e| format!("train_steps: not one JSON object ({e}): {text}"))?;
            let hash = v["weights_hash"]
                .as_str()
                .ok_or_else(|| format!("train_steps: no weights_hash in {text}"))?;
            hashes.push((net.name().to_string(), math.to_string(), hash.to_string()));
        }
    }
    Ok(hashes)
}

/// Checks that every float step row of `table` ends with the host twin's weights (the
/// device timed the host's protocol, bit for bit) and records it in the table
/// (`"weights_identical_to_host": true`).
fn check_twin(
    table: &mut serde_json::Value,
    twin: &[(String, String, String)],
) -> Result<(), String> {
    let mut wrong = Vec::new();
    for (net, backend, hash) in twin {
        let row = table["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["net"] == net.as_str() && r["backend"] == backend.as_str());
        match row {
            Some(r) if r["weights_hash"] == hash.as_str() => {}
            Some(r) => wrong.push(format!(
                "{net} {backend}: device {} host {hash}",
                r["weights_hash"]
            )),
            None => wrong.push(format!("{net} {backend}: no device row")),
        }
    }
    if !wrong.is_empty() {
        return Err(format!(
            "{}: the device's weights differ from the host twin's (core/examples/train_steps.rs) \
             after the same steps:\n  {}",
            table["core"].as_str().unwrap_or("?"),
            wrong.join("\n  ")
        ));
    }
    table["weights_identical_to_host"] = serde_json::json!(true);
    Ok(())
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
        let all = vec!["m4f", "m3", "m0"];
        let args = |a: &[&str]| parse_args(&strings(a));
        assert_eq!(
            args(&[]),
            Ok(Args {
                json: false,
                epochs: DEFAULT_EPOCHS,
                cores: all.clone()
            })
        );
        assert_eq!(
            args(&["--json", "--full"]),
            Ok(Args {
                json: true,
                epochs: 100,
                cores: all
            })
        );
        assert_eq!(
            args(&["--epochs", "3", "--core", "m0"]),
            Ok(Args {
                json: false,
                epochs: 3,
                cores: vec!["m0"]
            })
        );
        for (bad, why) in [
            (&["--jsn"][..], "unknown argument `--jsn`"),
            (&["json"], "unknown argument `json`"),
            (&["--epochs"], "--epochs needs a number"),
            (&["--epochs", "0"], "--epochs `0`"),
            (&["--epochs", "101"], "--epochs `101`"),
            (&["--epochs", "x"], "--epochs `x`"),
            (&["--epochs", "2", "--full"], "not both"),
            (&["--core", "m7"], "unknown core `m7`"),
            (&["--core"], "--core needs a core"),
        ] {
            let e = args(bad).expect_err("a usage error");
            assert!(e.contains(why) && e.contains(USAGE), "{bad:?}: {e}");
        }
    }
}
