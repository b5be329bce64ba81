//! `finetune`: the firmware's fine-tuning program ([`microprop_app::finetune::run`]) on the
//! host, on the same embedded model (`microprop_app::iris_model::NET`, the committed
//! export of `app/models/iris-host.mprp`), printing the same lines as the device (only
//! the `trained in` lines differ by platform). `--save-host-model FILE` instead trains the
//! host model ([`microprop_app::finetune::host_model`], the clean host third of the iris
//! data) and saves it: how `app/models/iris-host.mprp` was made.

use std::path::PathBuf;

use microprop::format::{self, Extras, Progress};
use microprop_app::finetune::{self, Config, FinetuneEvent, IrisNet};
use microprop_app::Sink;
use serde_json::json;

use crate::{
    ctx::{check_failed, failure, print_line, ErrorKind},
    demo::HostCycles,
    stats::hex16,
    Ctx, Output, Res,
};

/// `finetune`'s flags.
#[derive(Debug, clap::Args)]
pub struct FinetuneArgs {
    /// Train the host model (the firmware's embedded model, before export) and save it to
    /// FILE instead of running the device's program.
    #[arg(long, value_name = "FILE")]
    pub save_host_model: Option<PathBuf>,
}

/// Prints the lines as they come (text mode) and keeps them.
struct Lines {
    print: bool,
    lines: Vec<String>,
}

impl Sink<FinetuneEvent> for Lines {
    fn event(&mut self, e: &FinetuneEvent) {
        let line = e.to_string();
        if self.print {
            print_line(&line);
        }
        self.lines.push(line);
    }
}

/// `microprop-sim finetune`.
pub fn run(a: &FinetuneArgs, ctx: &Ctx) -> Res<Output> {
    let config = Config::default();
    if let Some(path) = &a.save_host_model {
        return save_host(&config, path);
    }
    let mut sink = Lines {
        print: !ctx.json,
        lines: Vec::new(),
    };
    let model: &IrisNet = &microprop_app::iris_model::NET;
    let outcome = finetune::run(&config, model, &mut HostCycles::new(100), &mut sink)
        .map_err(|e| failure(ErrorKind::of_app(&e), format!("finetune: {e}")))?;
    let json = json!({
        "passed": outcome.passed,
        "before_permille": outcome.before.permille(),
        "after_permille": outcome.after.permille(),
        "scratch_permille": outcome.scratch.permille(),
        "lines": sink.lines,
    });
    let out = Output {
        json,
        text: String::new(),
    };
    if outcome.passed {
        Ok(out)
    } else {
        check_failed(
            "finetune: the fine-tuned model missed its accuracy bar",
            out,
        )
    }
}

fn save_host(config: &Config, path: &std::path::Path) -> Res<Output> {
    let model = finetune::host_model(config)
        .map_err(|e| failure(ErrorKind::of_app(&e), format!("finetune: {e}")))?;
    let net = model.into_network();
    let epochs = u32::from(config.host.epochs);
    let extras = Extras {
        optimizer: None,
        progress: Progress {
            epoch: epochs,
            step: epochs * finetune::SPLIT_ROWS as u32,
        },
    };
    let mut buf = [0u8; format::network_len::<IrisNet>(None)];
    let n = format::save_network(&net, &extras, &mut buf)
        .map_err(|e| failure(ErrorKind::Model, format!("--save-host-model: {e}")))?;
    let bytes = buf.get(..n).unwrap_or_default();
    std::fs::write(path, bytes)
        .map_err(|e| failure(ErrorKind::Io, format!("{}: {e}", path.display())))?;
    let hash = hex16(net.weights_hash());
    Ok(Output {
        text: format!(
            "saved {} ({n} bytes): the host model, {} epochs on the host's third of iris, weights hash {hash}\n",
            path.display(),
            config.host.epochs
        ),
        json: json!({ "path": path.display().to_string(), "bytes": n, "weights_hash": hash }),
    })
}
