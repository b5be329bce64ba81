//! `cargo xtask`: the one place for orchestration.
//!
//! * `cargo xtask test [--bless]` — the test command (what CI runs): installs what is
//!   missing (in the background while the first steps run), then formatting, clippy, host
//!   tests, documentation, the cross builds, fuzzing (its build in the background since
//!   the host tests), the firmware checks and the power cuts.
//! * `cargo xtask test-firmware [--bless]` — only the firmware checks. `--bless` (also on
//!   `test`) rewrites the committed transcripts `firmware/expected/{train,finetune,drift}.log`
//!   from the host runs; without it, the host runs and the device logs must equal them.
//! * `cargo xtask run [--core m4f|m3|m0] [--program train|finetune|drift|tiny] [--board f411]` — the
//!   main job (see the README).
//! * `cargo xtask size [--bless] [--breakdown] [--top N] [--only BIN]`,
//!   `bench-mcu [--json] [--epochs N | --full] [--core C]`, `bench-host [--json]`, `setup`.
//! * `cargo xtask fuzz [SECONDS] [TARGET...]` — every libFuzzer target for a bounded time.
//! * `cargo xtask web [--serve | --test]` — the browser playground in `target/web/`; served
//!   on 127.0.0.1, or its browser test in headless Chromium.
//!
//! # Layering
//!
//! Modules form layers; a module imports only from layers below its own, never from its
//! own layer or above, so there are no import cycles (the test `layering` at the end of
//! this file checks every `crate::` path against its table `LAYERS`):
//!
//! | layer | modules | what |
//! |---|---|---|
//! | 0 | [`util`] | leaf helpers: paths, running commands, flags, lap times |
//! | 1 | [`setup`], [`firmware`], [`symbols`] | installing tools; firmware images, typed cargo commands, QEMU runs; ELF symbols |
//! | 2 | [`transcript`], [`bench_log`], [`size`], [`run`], [`fuzz`], [`bench_host`], [`web`] | a firmware program's committed transcript and device-log check (shared); reading the benchmark log; the `size`, `run`, `fuzz`, `bench-host` commands; the browser playground's build, server and browser test |
//! | 3 | [`demo`], [`drift`], [`finetune`], [`tiny`], [`bench_mcu`] | the demo's, the drift program's, the fine-tuning program's and the minimal trainer's host runs and checks; the `bench-mcu` command and one benchmark run |
//! | 4 | [`test_firmware`] | the `test-firmware` command |
//! | 5 | [`test`](mod@test) | the `test` command |
//!
//! `main` only dispatches to the commands.

mod bench_host;
mod bench_log;
mod bench_mcu;
mod demo;
mod drift;
mod finetune;
mod firmware;
mod fuzz;
mod run;
mod setup;
mod size;
mod symbols;
mod test;
mod test_firmware;
mod tiny;
mod transcript;
mod util;
mod web;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "test" => test::run(rest),
        "test-firmware" => test_firmware::command(rest),
        "bench-host" => bench_host::run(rest),
        "setup" => setup::ensure_all(),
        "fuzz" => fuzz::run(rest),
        "run" => run::run(rest),
        "size" => size::run(rest),
        "bench-mcu" => bench_mcu::run(rest),
        "web" => web::run(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <command>\n\n\
         commands:\n  \
         test     install what is missing, then fmt, clippy, host tests, docs, fuzz, cross builds,\n           \
         firmware checks, power cuts (--bless: rewrite firmware/expected/train.log first)\n  \
         setup    install the rustup targets and components, QEMU and the defmt decoder\n  \
         run      train on the emulated Cortex-M4F (--core m3|m0; --board f411: flash a board)\n  \
         size     flash and static RAM of every firmware binary (--bless: update firmware/sizes.txt;\n           \
         --breakdown [--top N]: flash by section, crate and largest functions; --only BIN)\n  \
         test-firmware  only the firmware part of `test` (--bless: rewrite the expected logs\n           \
         firmware/expected/train.log, finetune.log and drift.log from the host runs)\n  \
         bench-mcu  activation and training-step cost on M4F, M3, M0 (target/bench-mcu/*.json;\n           \
         --json: one JSON object on stdout; --epochs N (default 10) | --full (100); --core C)\n  \
         bench-host  instructions per training step on the host (callgrind protocol)\n  \
         fuzz     run each fuzz target for SECONDS (default 60): fuzz [SECONDS] [TARGET...]\n  \
         web      build the browser playground into target/web/ (--serve: serve it on 127.0.0.1;\n           \
         --test: its browser test in headless Chromium, screenshots in target/web-test/)\n"
    );
}

#[cfg(test)]
mod tests {
    /// Each module's layer (see the module documentation).
    const LAYERS: [(&str, u8); 18] = [
        ("util", 0),
        ("setup", 1),
        ("firmware", 1),
        ("symbols", 1),
        ("transcript", 2),
        ("demo", 3),
        ("drift", 3),
        ("finetune", 3),
        ("tiny", 3),
        ("bench_log", 2),
        ("size", 2),
        ("run", 2),
        ("fuzz", 2),
        ("bench_host", 2),
        ("web", 2),
        ("bench_mcu", 3),
        ("test_firmware", 4),
        ("test", 5),
    ];

    /// The modules a source file names as `crate::<module>`, outside comments.
    fn imports(source: &str) -> Vec<String> {
        let code: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut found = Vec::new();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::{c, d}}`: the first segment of each top-level item.
                let (mut depth, mut item) = (0, String::new());
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.push(first_segment(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 {
                        item.push(ch);
                    }
                }
                found.push(first_segment(&item));
            } else {
                found.push(first_segment(rest));
            }
        }
        found.retain(|m| !m.is_empty());
        found
    }

    fn first_segment(path: &str) -> String {
        path.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    }

    fn layer(module: &str) -> Option<u8> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
    }

    #[test]
    fn layering() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        for entry in std::fs::read_dir(&src).expect("xtask/src") {
            let path = entry.expect("entry").path();
            let Some(module) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if module == "main" || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let own = layer(module).unwrap_or_else(|| {
                panic!("{module}.rs has no layer: add it to LAYERS and the module doc")
            });
            let source = std::fs::read_to_string(&path).expect("source");
            for imported in imports(&source) {
                let theirs = layer(&imported)
                    .unwrap_or_else(|| panic!("{module} imports unknown module {imported}"));
                assert!(
                    theirs < own,
                    "{module} (layer {own}) imports {imported} (layer {theirs}): \
                     only lower layers may be imported"
                );
            }
            checked += 1;
        }
        assert_eq!(checked, LAYERS.len(), "every module in LAYERS has a file");
    }

    #[test]
    fn imports_are_parsed() {
        let src = "use crate::util::{a, b};\nuse crate::{fuzz, setup::{x, y}, test_firmware};\n\
                   // crate::ignored\nlet x = crate::demo::host();";
        assert_eq!(
            imports(src),
            ["util", "fuzz", "setup", "test_firmware", "demo"]
        );
    }
}
