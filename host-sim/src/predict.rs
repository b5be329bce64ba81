//! `predict`: loads a model file in microprop's format (written by `train --save` or by
//! the device) into a run-time shaped network and runs it.

use microprop::format::{self, Info, Statistics, Targets};
use microprop::{Libm, Math, Micromath, Preprocess, Standardizer};
use serde_json::json;

use crate::{
    cli::{MathArg, PredictArgs},
    ctx::usage,
    net::{self, HostNetwork},
    stats, Ctx, Output, Res,
};

/// `microprop-sim predict`.
pub fn run(a: &PredictArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    let file = a.load.display();
    let bytes = std::fs::read(&a.load).map_err(|e| format!("--load {file}: {e}"))?;
    let info = format::read_info(&bytes).map_err(|e| format!("--load {file}: {e}"))?;
    if info.scalar_bytes != 4 {
        return usage(format!(
            "--load {file}: the model computes in f64; the simulator runs f32 models"
        ));
    }
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
    }
}

fn run_with<M: Math<f32>>(a: &PredictArgs, info: &Info<'_>, bytes: &[u8]) -> Res<Output> {
    let file = a.load.display();
    let mut sizes = vec![info.inputs];
    sizes.extend(info.layers.iter().map(|l| l.outputs));
    if info.layers.is_empty() {
        return usage(format!("--load {file}: no layers"));
    }
    let acts: Vec<_> = info.layers.iter().map(|l| l.activation.cast()).collect();
    let layers = net::dense_layers_with(&sizes, &acts)?;
    let mut net: HostNetwork<f32, M> = net::network(layers)?;
    let mut stats = Standardizer::<f32, 2>::new(Preprocess::None);
    let preprocess: Option<&mut dyn Statistics<f32>> = match info.preprocess {
        Some(p) if p.dim == 2 => Some(&mut stats),
        Some(p) => {
            return usage(format!(
                "--load {file}: preprocessing of {} features (the simulator's data are 2-D)",
                p.dim
            ))
        }
        None => None,
    };
    let targets = Targets {
        preprocess,
        ..Targets::none()
    };
    let loaded = format::load_network(bytes, &mut net, targets)
        .map_err(|e| format!("--load {file}: {e}"))?;
    let mut predictions = Vec::new();
    let mut text = format!(
        "{file}: {} ({}), {} parameters, preprocessing {}, optimizer {}, epoch {}, step {}\n\
         weights hash {}\n",
        sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        info.layers
            .iter()
            .map(|l| l.activation.name())
            .collect::<Vec<_>>()
            .join(", "),
        info.params,
        info.preprocess.map_or("none", |p| p.mode.name()),
        info.optimizer.map_or("none", |o| o.name),
        loaded.progress.epoch,
        loaded.progress.step,
        stats::hex16(net.weights_hash()),
    );
    for p in &a.points {
        let mut x = p.0.clone();
        if let [x0, x1] = x.as_mut_slice() {
            let mut xy = [*x0, *x1];
            stats.apply::<M>(&mut xy);
            [*x0, *x1] = xy;
        }
        let y = net::predict(&net, &x)?;
        text += &format!("{:?} -> {:?}\n", p.0, y);
        predictions.push(json!({ "x": p.0, "y": y }));
    }
    let json = json!({
        "file": file.to_string(),
        "layers": sizes,
        "activations": info.layers.iter().map(|l| l.activation.name()).collect::<Vec<_>>(),
        "params": info.params,
        "bytes": info.len,
        "preprocess": info.preprocess.map(|p| p.mode.name()),
        "optimizer": info.optimizer.map(|o| o.name),
        "epoch": loaded.progress.epoch,
        "step": loaded.progress.step,
        "weights_hash": stats::hex16(net.weights_hash()),
        "predictions": predictions,
    });
    Ok(Output { json, text })
}
