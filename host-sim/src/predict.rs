//! `predict`: loads a model file in microprop's format (written by `train --save` or by
//! the device) into a run-time network built from the file's layer specs — whatever its
//! layers: dense, batch norm, dropout, standardisation, whitening — and runs it in
//! evaluation mode (dropout off, batch norm on its running statistics, the stored
//! preprocessing applied by the first layer).

use microprop::format::{self, Info, Targets};
use microprop::layer::{DynLayer, Kind, Spec};
use microprop::{Libm, Math, Micromath};
use serde_json::json;

use crate::{
    cli::{MathArg, PredictArgs},
    ctx::{failure, usage, ErrorKind},
    limits,
    net::{self, HostNetwork},
    stats, Ctx, Output, Res,
};

/// `microprop-sim predict`.
pub fn run(a: &PredictArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    let file = a.load.display();
    let bytes = std::fs::read(&a.load)
        .map_err(|e| failure(ErrorKind::Io, format!("--load {file}: {e}")))?;
    let info = format::read_info(&bytes)
        .map_err(|e| failure(ErrorKind::Model, format!("--load {file}: {e}")))?;
    if info.scalar_bytes != 4 {
        return usage(format!(
            "--load {file}: the model computes in f64; the simulator runs f32 models"
        ));
    }
    // The network built from the file holds its parameters and state.
    let scalars = (info.params as u64).saturating_add(info.state as u64);
    limits::check_bytes(
        "--load",
        &format!("{} parameters and state", scalars),
        scalars * 4,
    )?;
    for p in &a.points {
        if p.0.len() != info.inputs {
            return usage(format!(
                "--point {:?}: the model takes {} inputs",
                p.0, info.inputs
            ));
        }
    }
    match a.math {
        MathArg::Libm => run_with::<Libm>(a, &info, &bytes),
        MathArg::Micromath => run_with::<Micromath>(a, &info, &bytes),
        MathArg::Fast => run_with::<microprop::Fast>(a, &info, &bytes),
    }
}

fn run_with<M: Math<f32>>(a: &PredictArgs, info: &Info<'_>, bytes: &[u8]) -> Res<Output> {
    let file = a.load.display();
    // The file is read: whatever the core refuses now is the model's.
    let model_error =
        |e: microprop::Error| failure(ErrorKind::Model, format!("--load {file}: {e}"));
    let layers = info
        .layers
        .iter()
        .map(DynLayer::from_spec)
        .collect::<microprop::Result<Vec<_>>>()
        .map_err(model_error)?;
    let mut net: HostNetwork<f32, M> = net::network(layers).map_err(model_error)?;
    let loaded = format::load_network(bytes, &mut net, Targets::none()).map_err(model_error)?;
    // The dense sizes, input first (what `train --layers` took).
    let mut sizes = vec![info.inputs];
    sizes.extend(
        info.layers
            .iter()
            .filter(|l| l.kind() == Kind::Dense)
            .map(Spec::outputs),
    );
    let kinds: Vec<&str> = info.layers.iter().map(|l| l.kind().name()).collect();
    let activations: Vec<&str> = info
        .layers
        .iter()
        .filter_map(Spec::activation)
        .map(|a| a.name())
        .collect();
    let preprocess = match info.layers.first() {
        Some(Spec::Standardize(microprop::layer::StandardizeSpec { mode, .. })) => mode.name(),
        Some(Spec::Whiten(_)) => "whiten",
        _ => "none",
    };
    let batch_norm = info.layers.iter().any(|l| l.kind() == Kind::BatchNorm);
    let dropout = info.layers.iter().find_map(|l| match *l {
        Spec::Dropout(microprop::layer::DropoutSpec { p, .. }) => Some(p),
        _ => None,
    });
    let hash = stats::hex16(net.weights_hash());
    let mut text = format!(
        "{file}: {} ({}), {} parameters, {} state, preprocessing {preprocess}, optimizer {}, \
         epoch {}, step {}\nweights hash {hash}\n",
        kinds.join(", "),
        sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        info.params,
        info.state,
        info.optimizer.map_or("none", |o| o.name),
        loaded.progress.epoch,
        loaded.progress.step,
    );
    let mut predictions = Vec::new();
    for p in &a.points {
        let y = net::predict(&net, &p.0)?;
        text += &format!("{:?} -> {:?}\n", p.0, y);
        predictions.push(json!({ "x": p.0, "y": y }));
    }
    let json = json!({
        "file": file.to_string(),
        "layers": sizes,
        "kinds": kinds,
        "activations": activations,
        "params": info.params,
        "state": info.state,
        "bytes": info.len,
        "preprocess": preprocess,
        "batch_norm": batch_norm,
        "dropout": dropout,
        "optimizer": info.optimizer.map(|o| o.name),
        "epoch": loaded.progress.epoch,
        "step": loaded.progress.step,
        "weights_hash": hash,
        "predictions": predictions,
    });
    Ok(Output { json, text })
}
