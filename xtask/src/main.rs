//! `cargo xtask`: the one place for orchestration.
//!
//! * `cargo xtask test` — the test command: installs what is missing, then formatting,
//!   clippy, host tests, documentation and the cross builds.
//! * `cargo xtask run` — the main job (see the README).
//! * `cargo xtask fuzz [SECONDS] [TARGET...]` — every cargo-fuzz target for a bounded time.

mod bench;
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
         setup    install the rustup targets and components the project needs\n  \
         bench-host  instructions per training step on the host (callgrind protocol)\n  \
         fuzz     run each fuzz target for SECONDS (default 60): fuzz [SECONDS] [TARGET...]\n"
    );
}
