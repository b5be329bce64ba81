//! `microprop-sim`: see `microprop-sim --help`.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use microprop_sim::{
    activations, bench,
    cli::{Cli, Command},
    dead_relu, demo, gradcheck, init_stats, landscape, predict, report, resume, train, vanishing,
    zigzag, Ctx, UsageError,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx { json: cli.json };
    let result = match &cli.command {
        Command::Demo(a) => demo::run(a, &ctx),
        Command::Resume(a) => resume::run(a, &ctx),
        Command::Bench(a) => bench::run(a, &ctx),
        Command::Train(a) => train::run(a, &ctx),
        Command::Predict(a) => predict::run(a, &ctx),
        Command::Gradcheck(a) => gradcheck::run(a, &ctx),
        Command::Vanishing(a) => vanishing::run(a, &ctx),
        Command::Landscape(a) => landscape::run(a, &ctx),
        Command::Zigzag(a) => zigzag::run(a, &ctx),
        Command::Init(a) => init_stats::run(a, &ctx),
        Command::DeadRelu(a) => dead_relu::run(a, &ctx),
        Command::Activations(a) => activations::run(a, &ctx),
        Command::Report(a) => report::run(a, &ctx),
    };
    match result {
        Ok(out) => {
            if ctx.json {
                match serde_json::to_string(&out.json) {
                    // A closed stdout (`| head`) is not an error worth a panic.
                    Ok(s) => {
                        let _ = writeln!(std::io::stdout(), "{s}");
                    }
                    Err(e) => {
                        eprintln!("error: cannot encode JSON: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                let _ = write!(std::io::stdout(), "{}", out.text);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                // Same shape and exit code (2) as clap's own errors.
                Cli::command()
                    .error(clap::error::ErrorKind::ValueValidation, &u.0)
                    .exit();
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
