//! `microprop-sim`: see `microprop-sim --help`.
//!
//! Exit codes: 0 on success, 2 for a usage error (clap's and the commands' own checks of
//! the values, all made before any work), 1 for every other failure. With `--json` a
//! failure prints exactly one JSON object on stdout, `{"error": {"kind", "message"}}`
//! (kinds: [`ErrorKind`]), and its message on stderr. Output that cannot be written to
//! stdout is a failure too (exit 1, the reason on stderr).

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use microprop_sim::{
    activations, bench,
    cli::{Cli, Command},
    ctx::{error_json, stdout_error, ErrorKind, Failure},
    dead_relu, demo, drift, gradcheck, import, init_stats, inspect, landscape, predict, report,
    resume, train, vanishing, zigzag, Ctx,
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let ctx = Ctx { json: cli.json };
    let result = match &cli.command {
        Command::Demo(a) => demo::run(a, &ctx),
        Command::Resume(a) => resume::run(a, &ctx),
        Command::Drift(a) => drift::run(a, &ctx),
        Command::Bench(a) => bench::run(a, &ctx),
        Command::Train(a) => train::run(a, &ctx),
        Command::Predict(a) => predict::run(a, &ctx),
        Command::Import(a) => import::run(a, &ctx),
        Command::Inspect(a) => inspect::run(a, &ctx),
        Command::Export(a) => microprop_sim::export::run(a, &ctx),
        Command::Finetune(a) => microprop_sim::finetune::run(a, &ctx),
        Command::Gradcheck(a) => gradcheck::run(a, &ctx),
        Command::Vanishing(a) => vanishing::run(a, &ctx),
        Command::Landscape(a) => landscape::run(a, &ctx),
        Command::Zigzag(a) => zigzag::run(a, &ctx),
        Command::Init(a) => init_stats::run(a, &ctx),
        Command::DeadRelu(a) => dead_relu::run(a, &ctx),
        Command::Symmetry(a) => microprop_sim::symmetry::run(a, &ctx),
        Command::Overfit(a) => microprop_sim::overfit::run(a, &ctx),
        Command::BnHist(a) => microprop_sim::bn_hist::run(a, &ctx),
        Command::Babysit(a) => microprop_sim::babysit::run(a, &ctx),
        Command::Search(a) => microprop_sim::search::run(a, &ctx),
        Command::Activations(a) => activations::run(a, &ctx),
        Command::Optimizers(a) => microprop_sim::optimizers::run(a, &ctx),
        Command::LrSweep(a) => microprop_sim::lr_sweep::run(a, &ctx),
        Command::Schedules(a) => microprop_sim::schedules::run(a, &ctx),
        Command::Report(a) => report::run(a, &ctx),
    };
    let code = match result {
        Ok(out) => {
            let printed = if ctx.json {
                match serde_json::to_string(&out.json) {
                    Ok(s) => print(&format!("{s}\n")),
                    Err(e) => {
                        eprintln!("error: cannot encode JSON: {e}");
                        return ExitCode::from(ErrorKind::Internal.exit_code());
                    }
                }
            } else {
                print(&out.text)
            };
            if printed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(ErrorKind::Io.exit_code())
            }
        }
        Err(e) => {
            let kind = ErrorKind::of(e.as_ref());
            let message = e.to_string();
            // A failed check still reports what it measured.
            let output = e.downcast_ref::<Failure>().and_then(|f| f.output.as_ref());
            // The error's own exit code stands even if this does not get out.
            if ctx.json {
                let _ = print(&format!(
                    "{}\n",
                    error_json(kind, &message, output.map(|o| &o.json))
                ));
            } else if let Some(o) = output {
                let _ = print(&o.text);
            }
            if kind == ErrorKind::Usage {
                // Same shape as clap's own errors.
                let _ = Cli::command()
                    .error(clap::error::ErrorKind::ValueValidation, &message)
                    .print();
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(kind.exit_code())
        }
    };
    // A line the command printed as it ran (demo's, resume's log) that did not get out.
    if let Some(e) = stdout_error() {
        if code == ExitCode::SUCCESS {
            eprintln!("error: cannot write to stdout: {e}");
            return ExitCode::from(ErrorKind::Io.exit_code());
        }
    }
    code
}

/// Writes `s` to stdout and flushes it; a failure (a full disk, a closed pipe) is reported
/// on stderr and returns `false`: the run's output did not get out, so it failed.
fn print(s: &str) -> bool {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            false
        }
    }
}

/// Whether the command line asks for `--json` (looked up in the raw arguments: clap
/// refused them, so there is no parsed `Cli`).
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// clap's error as one line, without its `error: ` prefix and usage hint.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let body = text.split("\n\n").next().unwrap_or(&text);
    let body = body.strip_prefix("error: ").unwrap_or(body);
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints clap's error (or the help or version it stands for) and, under `--json`, the
/// error object; returns clap's exit code (2 for errors, 0 for help and version).
fn clap_error(e: &clap::Error) -> ExitCode {
    if e.use_stderr() && json_requested() {
        let _ = print(&format!(
            "{}\n",
            error_json(ErrorKind::Usage, &clap_message(e), None)
        ));
    }
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(ErrorKind::Usage.exit_code()))
}
