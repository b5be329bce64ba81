//! `cargo xtask`: the one place for orchestration.
//!
//! * `cargo xtask test` — the test command: installs what is missing, then formatting,
//!   clippy, host tests, documentation and the cross builds.
//! * `cargo xtask run` — the main job (see the README).
//! * `cargo xtask fuzz [SECONDS] [TARGET...]` — every cargo-fuzz target for a bounded time.

mod bench;
mod firmware;
mod fuzz;
mod setup;
mod test;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "test" => test::run(rest),
        "bench-host" => bench::run(rest),
        "setup" => setup::ensure_all(),
        "fuzz" => fuzz::run(rest),
        "run" => firmware::run(rest),
        "size" => firmware::size(rest),
        "bench-mcu" => firmware::bench_mcu(rest),
        "test-firmware" => firmware::test().map(|times| {
            for (what, secs) in times {
                eprintln!("  {secs:6.1} s  {what}");
            }
        }),
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
         test     install what is missing, then fmt, clippy, host tests, docs, cross builds\n  \
         setup    install the rustup targets and components, QEMU and the defmt decoder\n  \
         run      train on the emulated Cortex-M4F (--core m3|m0; --board f411: flash a board)\n  \
         size     flash and static RAM of every firmware binary (--bless: update firmware/sizes.txt)\n  \
         test-firmware  only the firmware part of `test`\n  \
         bench-mcu  activation and training-step cost on M4F, M3, M0 (target/bench-mcu/*.json)\n  \
         bench-host  instructions per training step on the host (callgrind protocol)\n  \
         fuzz     run each fuzz target for SECONDS (default 60): fuzz [SECONDS] [TARGET...]\n"
    );
}
