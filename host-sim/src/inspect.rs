//! `inspect`: what a model file holds, without running it — its layers, parameter counts,
//! stored preprocessing and optimizer state, progress, the bytes it needs to run and to
//! train with each optimizer, and its checksum.
//!
//! The file is read in three steps, each reporting as far as it got:
//! 1. [`format::read_header`]: the fixed header and the CRC-32 stored beside the one
//!    computed. Bytes that are not a model at all (bad magic, another version, shorter
//!    than the header or than the length it states) are a `model` error with no keys.
//! 2. The checksum: a mismatch is a `model` error (exit 1) whose `--json` object still
//!    has the header's keys ([`HEADER_KEYS`]) with `crc.status = "mismatch"` and both
//!    values. The kind is `model`, not `check`, because the file is what is refused, as
//!    `predict --load` refuses it.
//! 3. [`format::read_info`] and a load into a run-time network built from the specs
//!    (as `predict` does): everything else. A refusal here is a `model` error that also
//!    has the header's keys.
//!
//! The byte figures are the simulator's own formulas ([`Footprint`]): to run, the weights
//! ([`net::weight_bytes`]) and the rows one `predict` holds at its peak
//! ([`limits::inference_bytes`]); to train with each optimizer, the weights, the training
//! buffers ([`net::training_bytes`], for batches as `train` would allocate them for
//! `--batch`) and the optimizer's state (its slots measured from the optimizer itself).

use microprop::format::{self, Header, Info, Targets};
use microprop::layer::{DynLayer, Kind, Spec};
use microprop::{Libm, Optimizer, Scalar};
use serde_json::{json, Map, Value};

use clap::ValueEnum;

use crate::{
    cli::{act_flag, InspectArgs, OptimizerArg},
    ctx::{failure, ErrorKind, Failure},
    limits::{self, Footprint},
    net::{self, HostNetwork},
    optim, Ctx, Output, Res,
};

/// The keys of the report that come from the header alone: present also when the file is
/// refused after its header was read (a CRC mismatch, a spec or value the checks refuse).
pub const HEADER_KEYS: [&str; 8] = [
    "file",
    "file_bytes",
    "model_bytes",
    "format_version",
    "scalar_bytes",
    "depth",
    "has_optimizer",
    "crc",
];

/// The keys added when every check passes.
pub const MODEL_KEYS: [&str; 9] = [
    "inputs",
    "outputs",
    "layers",
    "params",
    "state",
    "preprocess",
    "optimizer",
    "progress",
    "bytes",
];

/// `microprop-sim inspect`.
pub fn run(a: &InspectArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    let file = a.file.display().to_string();
    let bytes =
        std::fs::read(&a.file).map_err(|e| failure(ErrorKind::Io, format!("{file}: {e}")))?;
    let header = format::read_header(&bytes).map_err(|e| {
        failure(
            ErrorKind::Model,
            format!("{file}: not a microprop model file: {e}"),
        )
    })?;
    let mut json = header_json(&file, bytes.len(), &header);
    let mut text = header_text(&file, bytes.len(), &header);
    let refused = |message: String, json: Map<String, Value>, text: String| {
        Box::new(Failure {
            kind: ErrorKind::Model,
            message,
            output: Some(Output {
                json: Value::Object(json),
                text,
            }),
        }) as Box<dyn std::error::Error + Send + Sync>
    };
    if !header.crc_ok() {
        return Err(refused(
            format!(
                "{file}: CRC mismatch: stored {:#010x}, computed {:#010x} (the file is corrupt)",
                header.stored_crc, header.computed_crc
            ),
            json,
            text,
        ));
    }
    let info = match format::read_info(&bytes) {
        Ok(info) => info,
        Err(e) => return Err(refused(format!("{file}: {e}"), json, text)),
    };
    let scalars = (info.params as u64).saturating_add(info.state as u64);
    limits::check_bytes(
        &file,
        &format!("{scalars} parameters and state"),
        scalars.saturating_mul(u64::from(info.scalar_bytes)),
    )?;
    let states = match info.scalar_bytes {
        4 => layer_states::<f32>(&info, &bytes),
        _ => layer_states::<f64>(&info, &bytes),
    };
    let states = match states {
        Ok(s) => s,
        Err(e) => return Err(refused(format!("{file}: {e}"), json, text)),
    };
    let (more, more_text) = model_json(&info, &states, a.batch)?;
    json.extend(more);
    text += &more_text;
    Ok(Output {
        json: Value::Object(json),
        text,
    })
}

/// Every layer's non-trainable state, widened to `f64`, read by loading the file into a
/// run-time network of scalar `S` built from its specs.
fn layer_states<S: Scalar>(info: &Info<'_>, bytes: &[u8]) -> microprop::Result<Vec<Vec<f64>>>
where
    Libm: microprop::Math<S>,
{
    let layers = info
        .layers
        .iter()
        .map(DynLayer::from_spec)
        .collect::<microprop::Result<Vec<_>>>()?;
    let mut net: HostNetwork<S, Libm> = net::network(layers)?;
    format::load_network(bytes, &mut net, Targets::none())?;
    let mut states = Vec::with_capacity(info.layers.len());
    net.visit(|l| states.push(l.state.iter().map(|v| v.to_f64()).collect()));
    Ok(states)
}

fn header_json(file: &str, file_bytes: usize, h: &Header) -> Map<String, Value> {
    let status = if h.crc_ok() { "ok" } else { "mismatch" };
    let v = json!({
        "file": file,
        "file_bytes": file_bytes,
        "model_bytes": h.len,
        "format_version": h.version,
        "scalar_bytes": h.scalar_bytes,
        "depth": h.depth,
        "has_optimizer": h.has_optimizer,
        "crc": { "status": status, "stored": h.stored_crc, "computed": h.computed_crc },
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn header_text(file: &str, file_bytes: usize, h: &Header) -> String {
    let crc = if h.crc_ok() {
        format!("CRC ok ({:#010x})", h.stored_crc)
    } else {
        format!(
            "CRC MISMATCH (stored {:#010x}, computed {:#010x})",
            h.stored_crc, h.computed_crc
        )
    };
    format!(
        "{file}: microprop model, format version {}, {}-byte scalars, {} layers, {} bytes \
         ({file_bytes} in the file), {crc}\n",
        h.version, h.scalar_bytes, h.depth, h.len
    )
}

/// One layer as the report lists it.
fn layer_json(spec: &Spec) -> Value {
    let mut v = json!({
        "kind": spec.kind().name(),
        "inputs": spec.inputs(),
        "outputs": spec.outputs(),
        "activation": spec.activation().map(|a| act_flag(a.cast())),
        "params": spec.params(),
        "state": spec.state(),
    });
    match spec {
        Spec::BatchNorm(b) => {
            v["momentum"] = json!(b.config.momentum);
            v["eps"] = json!(b.config.eps);
        }
        Spec::Dropout(d) => v["p"] = json!(d.p),
        _ => {}
    }
    v
}

/// The preprocessing a first layer stores, with its fitted values (`state`: the layer's).
fn preprocess_json(spec: Option<&Spec>, state: &[f64]) -> Value {
    match spec {
        Some(Spec::Standardize(s)) => {
            let (mean, variance) = state.split_at(state.len() / 2);
            let std: Vec<f64> = variance.iter().map(|v| v.sqrt()).collect();
            json!({
                "kind": "standardize",
                "mode": s.mode.name(),
                "count": s.count,
                "mean": mean,
                "variance": variance,
                "std": std,
            })
        }
        Some(Spec::Whiten(w)) => json!({
            "kind": "whiten",
            "count": w.stats.count,
            "mean": w.stats.mean,
            "covariance": w.stats.cov,
            "eps": w.stats.eps,
        }),
        _ => Value::Null,
    }
}

/// Every optimizer's CLI name and its state scalars per parameter, measured from the
/// optimizer the simulator builds for one parameter.
pub fn optimizer_slots() -> Res<Vec<(String, u64)>> {
    OptimizerArg::value_variants()
        .iter()
        .map(|&o| {
            let name = o.to_possible_value().map_or_else(
                || format!("{o:?}").to_lowercase(),
                |p| p.get_name().to_string(),
            );
            let opt = optim::new::<Libm>(o, 0.1, 1)?;
            Ok((name, opt.state().len() as u64))
        })
        .collect()
}

/// The keys past the header, and their text.
fn model_json(
    info: &Info<'_>,
    states: &[Vec<f64>],
    batch: u32,
) -> Res<(Map<String, Value>, String)> {
    let specs: Vec<Spec> = info.layers.iter().copied().collect();
    let outputs = specs.last().map_or(0, Spec::outputs);
    let layers: Vec<Value> = specs.iter().map(layer_json).collect();
    let preprocess = preprocess_json(specs.first(), states.first().map_or(&[], Vec::as_slice));
    let optimizer = info.optimizer.map(|o| {
        json!({
            "name": o.name,
            "learning_rate": o.learning_rate,
            "steps": o.steps,
            "state_len": o.state_len,
        })
    });
    // The simulator's footprint is for its f32 networks.
    let (bytes, bytes_text) = if info.scalar_bytes == 4 {
        footprint(&specs, batch)?
    } else {
        (
            Value::Null,
            "bytes: not computed (the simulator's footprint is for f32 networks)\n".to_string(),
        )
    };
    let mut text = format!("layers: {} inputs -> {outputs} outputs\n", info.inputs);
    for (i, s) in specs.iter().enumerate() {
        let act = s
            .activation()
            .map_or("-".to_string(), |a| act_flag(a.cast()));
        text += &format!(
            "  {i:>2} {:<12} {:>5} -> {:<5} {:<14} {:>8} params {:>6} state\n",
            s.kind().name(),
            s.inputs(),
            s.outputs(),
            act,
            s.params(),
            s.state()
        );
    }
    text += &format!("parameters {}, state scalars {}\n", info.params, info.state);
    text += &match specs.first() {
        Some(Spec::Standardize(s)) => format!(
            "preprocessing: standardize (mode {}, fitted on {} samples): mean {}, std {}\n",
            s.mode.name(),
            s.count,
            preprocess["mean"],
            preprocess["std"]
        ),
        Some(Spec::Whiten(w)) => format!(
            "preprocessing: whiten (fitted on {} samples): mean {:?}, covariance {:?}, eps {}\n",
            w.stats.count, w.stats.mean, w.stats.cov, w.stats.eps
        ),
        _ => "preprocessing: none\n".to_string(),
    };
    text += &match info.optimizer {
        Some(o) => format!(
            "optimizer state: {} (learning rate {}, {} steps, {} scalars)\n",
            o.name,
            scalar_str(o.learning_rate, info.scalar_bytes),
            o.steps,
            o.state_len
        ),
        None => "optimizer state: none\n".to_string(),
    };
    text += &format!(
        "progress: epoch {}, step {}\n",
        info.progress.epoch, info.progress.step
    );
    text += &bytes_text;
    let v = json!({
        "inputs": info.inputs,
        "outputs": outputs,
        "layers": layers,
        "params": info.params,
        "state": info.state,
        "preprocess": preprocess,
        "optimizer": optimizer,
        "progress": { "epoch": info.progress.epoch, "step": info.progress.step },
        "bytes": bytes,
    });
    let Value::Object(m) = v else {
        return Err(failure(
            ErrorKind::Internal,
            "inspect: the report is not an object",
        ));
    };
    Ok((m, text))
}

/// The bytes to run and to train (per optimizer) a network of `specs`, with buffers for
/// the rows `train --batch batch` would allocate (the batch with batch norm, else one).
fn footprint(specs: &[Spec], batch: u32) -> Res<(Value, String)> {
    let batch_norm = specs.iter().any(|s| s.kind() == Kind::BatchNorm);
    let rows = if batch_norm { batch as usize } else { 1 };
    let f = Footprint::of(specs, rows);
    let buffers = limits::inference_bytes(specs);
    let run = f.weight_bytes.saturating_add(buffers);
    let mut train = Map::new();
    train.insert("batch".into(), json!(batch));
    train.insert("rows".into(), json!(rows));
    train.insert("weights".into(), json!(f.weight_bytes));
    train.insert("buffers".into(), json!(f.training_bytes));
    let mut text = format!(
        "bytes to run: {run} (weights {}, inference rows {buffers})\n\
         bytes to train (--batch {batch}: buffers for {rows} row(s); weights {}, gradients \
         and buffers {}, optimizer state):",
        f.weight_bytes, f.weight_bytes, f.training_bytes
    );
    let mut by_optimizer = Map::new();
    for (name, slots) in optimizer_slots()? {
        let total = f.with_optimizer(slots).total_bytes();
        text += &format!(" {name} {total}");
        by_optimizer.insert(name, json!(total));
    }
    train.insert("by_optimizer".into(), Value::Object(by_optimizer));
    text.push('\n');
    let v = json!({
        "run": { "weights": f.weight_bytes, "buffers": buffers, "total": run },
        "train": train,
    });
    Ok((v, text))
}

/// A stored scalar as its type prints it (`0.1` for an `f32` 0.1, not its widened digits).
fn scalar_str(v: f64, scalar_bytes: u8) -> String {
    if scalar_bytes == 4 {
        (v as f32).to_string()
    } else {
        v.to_string()
    }
}
