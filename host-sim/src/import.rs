//! `import --safetensors FILE --out MODEL`: a PyTorch `nn.Sequential` of `nn.Linear`
//! layers and activations, saved with `safetensors`, as a microprop model file (the
//! format `train --save` writes, without optimizer state; `predict --load` runs it).
//!
//! # What is read
//! * Tensors `<index>.weight` (`out × in`, PyTorch's `nn.Linear` layout, which is the
//!   core's row-major `w[o · inputs + i]`) and `<index>.bias` (`out`), one pair per
//!   `nn.Linear`, in the order of their module index (indices need not be consecutive:
//!   activations take the indices in between). Every other key is refused.
//! * Element types: `F32` as is; `F16` and `BF16` widened (exact: every value of either is
//!   an `f32`); `F64` only if every value is exactly an `f32` (else refused, naming the
//!   tensor and the element); any other type refused.
//! * Activations: from `--activation` (every hidden layer) and `--output` (the last
//!   layer) if given, else from the metadata key [`METADATA_KEY`], `microprop.sequential`:
//!   the modules' class names in module order, comma-separated, a parameter in
//!   parentheses (`Linear,ReLU,Linear,LeakyReLU(0.1),Linear,Softmax`). A flag overrides
//!   the metadata for the layers it covers. The classes ([`pytorch_activation`]): `ReLU`,
//!   `Tanh`, `Sigmoid`, `LeakyReLU(negative_slope)` (default 0.01), `ELU(alpha)` (default
//!   1), `GELU` and `GELU(tanh)`, `Identity`, and `Softmax` (`Softmax(-1)`/`Softmax(1)`,
//!   last layer only). A `Linear` with no activation module after it gets the identity.
//!   The metadata's `Linear` entries must sit at the tensors' indices.
//!
//! # Refusals
//! A bad file is a `model` error (exit 1) naming the key: a missing weight or bias, a
//! weight that is not 2-D, a bias whose length is not the weight's outputs, consecutive
//! layers whose sizes do not chain, a zero size, a non-finite value, an element type not
//! accepted, an unknown class or parameter in the metadata, no layers, more layers than
//! the model format holds ([`MAX_DEPTH`](crate::limits::MAX_DEPTH)). Bad flags (and a file
//! without metadata when a flag is missing) are `usage` errors (exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use microprop::format::{self, Extras};
use microprop::layer::{DynDense, DynLayer};
use microprop::{Activation, Libm};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde_json::json;

use crate::{
    cli::{act_flag, ImportArgs},
    ctx::{failure, usage, ErrorKind},
    limits,
    net::{self, HostNetwork},
    stats,
    train::check_output_file,
    Ctx, Output, Res,
};

/// The metadata key naming the `nn.Sequential`'s modules, in order.
pub const METADATA_KEY: &str = "microprop.sequential";

/// One `nn.Linear`: its module index, sizes and numbers (`w` row-major, `out × in`).
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    /// Its index in the `nn.Sequential`.
    pub index: usize,
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// Weights, `w[o · inputs + i]`.
    pub w: Vec<f32>,
    /// Biases.
    pub b: Vec<f32>,
}

/// The activation of a PyTorch module class as the metadata spells it (`ReLU`,
/// `LeakyReLU(0.2)`, …), or `None` for a class that is not an activation microprop has.
///
/// # Errors
/// A message naming the entry for a parameter that is not a finite number or does not fit
/// the class.
pub fn pytorch_activation(entry: &str) -> Result<Option<Activation>, String> {
    let entry = entry.trim();
    let (class, param) = match entry.split_once('(') {
        Some((c, rest)) => match rest.strip_suffix(')') {
            Some(p) => (c.trim(), Some(p.trim())),
            None => return Err(format!("`{entry}`: unclosed parenthesis")),
        },
        None => (entry, None),
    };
    let number = |p: &str| -> Result<f32, String> {
        // `negative_slope=0.1` as well as `0.1`.
        let v = p.rsplit('=').next().unwrap_or(p).trim();
        match v.parse::<f32>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(format!("`{entry}`: `{p}` is not a finite number")),
        }
    };
    let no_param = |act: Activation| -> Result<Option<Activation>, String> {
        match param {
            None | Some("") => Ok(Some(act)),
            Some(p) => Err(format!(
                "`{entry}`: {class} takes no parameter (found `{p}`)"
            )),
        }
    };
    match class {
        "ReLU" => no_param(Activation::Relu),
        "Tanh" => no_param(Activation::Tanh),
        "Sigmoid" => no_param(Activation::Sigmoid),
        "Identity" => no_param(Activation::Identity),
        "LeakyReLU" => Ok(Some(Activation::LeakyRelu(
            param.filter(|p| !p.is_empty()).map_or(Ok(0.01), number)?,
        ))),
        "ELU" => Ok(Some(Activation::Elu(
            param.filter(|p| !p.is_empty()).map_or(Ok(1.0), number)?,
        ))),
        "GELU" => match param.map(|p| {
            p.rsplit('=')
                .next()
                .unwrap_or(p)
                .trim()
                .trim_matches(['\'', '"'])
        }) {
            None | Some("") | Some("none") => Ok(Some(Activation::Gelu)),
            Some("tanh") => Ok(Some(Activation::GeluTanh)),
            Some(p) => Err(format!(
                "`{entry}`: GELU's approximation is `none` or `tanh`, not `{p}`"
            )),
        },
        "Softmax" => match param.map(|p| p.rsplit('=').next().unwrap_or(p).trim()) {
            None | Some("") | Some("-1") | Some("1") => Ok(Some(Activation::Softmax)),
            Some(p) => Err(format!(
                "`{entry}`: only a softmax over the features (dim -1 or 1) is a microprop \
                 output, not dim {p}"
            )),
        },
        _ => Ok(None),
    }
}

/// The activations the metadata gives each of `linears` (by module index): the module
/// right after each `Linear`, identity if none.
///
/// # Errors
/// A message naming the entry: an unknown class, a `Linear` where the tensors have none
/// (or none where they have one), two activations in a row, an activation before the
/// first `Linear`.
pub fn metadata_activations(seq: &str, linears: &[Linear]) -> Result<Vec<Activation>, String> {
    let entries: Vec<&str> = seq.split(',').map(str::trim).collect();
    let mut acts: Vec<Activation> = Vec::with_capacity(linears.len());
    let mut pending: Option<usize> = None; // a Linear whose activation is not yet seen
    let mut seen_act = false;
    for (i, &e) in entries.iter().enumerate() {
        let has_tensors = linears.iter().any(|l| l.index == i);
        if e == "Linear" {
            if !has_tensors {
                return Err(format!(
                    "{METADATA_KEY}: entry {i} is `Linear` but the file has no `{i}.weight`"
                ));
            }
            if pending.is_some() {
                acts.push(Activation::Identity);
            }
            pending = Some(i);
            seen_act = false;
            continue;
        }
        if has_tensors {
            return Err(format!(
                "{METADATA_KEY}: entry {i} is `{e}` but the file has `{i}.weight` (a Linear's)"
            ));
        }
        let Some(act) = pytorch_activation(e).map_err(|m| format!("{METADATA_KEY}: {m}"))? else {
            return Err(format!(
                "{METADATA_KEY}: entry {i}, `{e}`, is not a module microprop has (Linear, \
                 ReLU, Tanh, Sigmoid, LeakyReLU, ELU, GELU, Identity, Softmax)"
            ));
        };
        match pending.take() {
            Some(_) => {
                acts.push(act);
                seen_act = true;
            }
            None if seen_act => {
                return Err(format!(
                    "{METADATA_KEY}: entry {i}, `{e}`, follows another activation (microprop \
                     layers have one each)"
                ))
            }
            None => {
                return Err(format!(
                    "{METADATA_KEY}: entry {i}, `{e}`, comes before the first Linear"
                ))
            }
        }
    }
    if pending.is_some() {
        acts.push(Activation::Identity);
    }
    if acts.len() != linears.len() {
        let last = linears.last().map_or(0, |l| l.index);
        return Err(format!(
            "{METADATA_KEY}: {} entries name {} Linear modules, the file has {} (the last \
             `{last}.weight`)",
            entries.len(),
            acts.len(),
            linears.len()
        ));
    }
    Ok(acts)
}

/// A tensor's values as `f32` (exactly: see the module documentation).
fn values(key: &str, t: &TensorView<'_>) -> Result<Vec<f32>, String> {
    let data = t.data();
    let v: Vec<f32> = match t.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => {
            let mut out = Vec::with_capacity(data.len() / 8);
            for (i, c) in data.chunks_exact(8).enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                let x = f64::from_le_bytes(b);
                let y = x as f32;
                if x.is_finite() && f64::from(y) != x {
                    return Err(format!(
                        "`{key}`: F64 element {i} ({x:e}) is not exactly an f32 (convert the \
                         model to float32 first: model.float())"
                    ));
                }
                out.push(y);
            }
            out
        }
        other => {
            return Err(format!(
                "`{key}`: element type {other:?}; microprop imports F32, F16, BF16 (widened \
                 exactly) and F64 holding f32 values"
            ))
        }
    };
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(format!("`{key}`: element {i} is {} (not finite)", v[i]));
    }
    Ok(v)
}

/// The `nn.Linear` layers of a safetensors file, by module index, checked: every key is
/// `<index>.weight` or `<index>.bias`, each index has both, weights are 2-D and non-empty,
/// biases match them, consecutive layers chain, every value finite.
///
/// # Errors
/// A message naming the key.
pub fn linears(st: &SafeTensors<'_>) -> Result<Vec<Linear>, String> {
    #[derive(Default)]
    struct Pair<'a> {
        weight: Option<TensorView<'a>>,
        bias: Option<TensorView<'a>>,
    }
    let mut by_index: BTreeMap<usize, Pair<'_>> = BTreeMap::new();
    for (key, t) in st.iter() {
        let parsed = key.split_once('.').and_then(|(i, what)| {
            let ok = !i.is_empty() && i.bytes().all(|c| c.is_ascii_digit());
            i.parse::<usize>().ok().filter(|_| ok).map(|i| (i, what))
        });
        match parsed {
            Some((i, "weight")) => by_index.entry(i).or_default().weight = Some(t),
            Some((i, "bias")) => by_index.entry(i).or_default().bias = Some(t),
            _ => {
                return Err(format!(
                    "unexpected tensor `{key}`: an nn.Sequential of nn.Linear layers has only \
                     `<index>.weight` and `<index>.bias`"
                ))
            }
        }
    }
    if by_index.is_empty() {
        return Err("no `<index>.weight` tensors: the file holds no layers".into());
    }
    if by_index.len() > limits::MAX_DEPTH {
        return Err(format!(
            "{} Linear layers, but the model format holds at most {}",
            by_index.len(),
            limits::MAX_DEPTH
        ));
    }
    let mut out: Vec<Linear> = Vec::with_capacity(by_index.len());
    for (index, pair) in by_index {
        let (wk, bk) = (format!("{index}.weight"), format!("{index}.bias"));
        let Some(w) = pair.weight else {
            return Err(format!("`{bk}` has no `{wk}`"));
        };
        let Some(b) = pair.bias else {
            return Err(format!(
                "`{wk}` has no `{bk}` (nn.Linear(bias=False) is not supported: microprop's \
                 dense layers have biases)"
            ));
        };
        let &[outputs, inputs] = w.shape() else {
            return Err(format!(
                "`{wk}`: shape {:?}; a Linear weight is 2-D (out × in)",
                w.shape()
            ));
        };
        if outputs == 0 || inputs == 0 {
            return Err(format!("`{wk}`: shape {:?} has a zero size", w.shape()));
        }
        if b.shape() != [outputs] {
            return Err(format!(
                "`{bk}`: shape {:?}, but `{wk}` has {outputs} outputs (expected [{outputs}])",
                b.shape()
            ));
        }
        if let Some(prev) = out.last() {
            if prev.outputs != inputs {
                return Err(format!(
                    "`{wk}`: {inputs} inputs, but `{}.weight` has {} outputs (consecutive \
                     layers must chain)",
                    prev.index, prev.outputs
                ));
            }
        }
        out.push(Linear {
            index,
            inputs,
            outputs,
            w: values(&wk, &w)?,
            b: values(&bk, &b)?,
        });
    }
    Ok(out)
}

/// `microprop-sim import`.
pub fn run(a: &ImportArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    check_output_file("--out", &a.out)?;
    let src = a.safetensors.display().to_string();
    let model_err = |m: String| failure(ErrorKind::Model, format!("--safetensors {src}: {m}"));
    let len = std::fs::metadata(&a.safetensors)
        .map_err(|e| failure(ErrorKind::Io, format!("--safetensors {src}: {e}")))?
        .len();
    // The file is held whole, and the network and the model written are as large again.
    limits::check_bytes(
        "--safetensors",
        &format!("{src} read and converted"),
        len.saturating_mul(3),
    )?;
    let bytes = std::fs::read(&a.safetensors)
        .map_err(|e| failure(ErrorKind::Io, format!("--safetensors {src}: {e}")))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| model_err(format!("not a safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| model_err(format!("not a safetensors file: {e}")))?;
    let sequential = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY).cloned());
    let layers = linears(&st).map_err(model_err)?;
    let depth = layers.len();
    let from_meta = match &sequential {
        Some(seq) => Some(metadata_activations(seq, &layers).map_err(model_err)?),
        None => None,
    };
    let hidden_flag = a.activation.map(|h| h.activation());
    let output_flag = a.output.map(|o| o.activation());
    let mut acts = Vec::with_capacity(depth);
    let mut sources = Vec::with_capacity(depth);
    for (i, layer) in layers.iter().enumerate() {
        let last = i + 1 == depth;
        let flag = if last { output_flag } else { hidden_flag };
        let meta = from_meta.as_ref().and_then(|m| m.get(i).copied());
        let (act, source) = match (flag, meta) {
            (Some(f), _) => (f, "flag"),
            (None, Some(m)) => (m, "metadata"),
            (None, None) => {
                let which = if last { "--output" } else { "--activation" };
                return usage(format!(
                    "--safetensors {src}: no `{METADATA_KEY}` metadata names the activations: \
                     give {which} (and --activation for hidden layers, --output for the last)"
                ));
            }
        };
        if act == Activation::Softmax && !last {
            return Err(model_err(format!(
                "{METADATA_KEY}: Softmax after `{}.weight`, a hidden layer (only the last \
                 layer may have it)",
                layer.index
            )));
        }
        acts.push(act);
        sources.push(source);
    }
    let mut sizes = vec![layers[0].inputs];
    sizes.extend(layers.iter().map(|l| l.outputs));
    let dense: Vec<DynLayer<f32, crate::Heap>> = layers
        .iter()
        .zip(&acts)
        .map(|(l, &act)| DynDense::zeroed(l.inputs, l.outputs, act).map(DynLayer::from))
        .collect::<microprop::Result<_>>()
        .map_err(|e| model_err(e.to_string()))?;
    let mut net: HostNetwork<f32, Libm> =
        net::network(dense).map_err(|e| model_err(e.to_string()))?;
    let mut k = 0;
    net.visit_mut(|l| {
        if let Some(src) = layers.get(k) {
            l.w.copy_from_slice(&src.w);
            l.b.copy_from_slice(&src.b);
        }
        k += 1;
    });
    let params = layers.iter().map(|l| l.w.len() + l.b.len()).sum::<usize>();
    let mut buf = vec![0u8; format::max_len(4, depth, params, 0, None)];
    let n = format::save_network(&net, &Extras::none(), &mut buf)
        .map_err(|e| model_err(e.to_string()))?;
    buf.truncate(n);
    write(&a.out, &buf)?;
    let dtypes: Vec<String> = {
        let mut d: Vec<String> = st.iter().map(|(_, t)| format!("{:?}", t.dtype())).collect();
        d.sort();
        d.dedup();
        d
    };
    let names: Vec<String> = acts.iter().map(|&a| act_flag(a)).collect();
    let hash = stats::hex16(net.weights_hash());
    let json = json!({
        "safetensors": src,
        "out": a.out.display().to_string(),
        "layers": sizes,
        "indices": layers.iter().map(|l| l.index).collect::<Vec<_>>(),
        "activations": names,
        "activation_sources": sources,
        "metadata": sequential,
        "dtypes": dtypes,
        "params": params,
        "saved_bytes": n,
        "weights_hash": hash,
    });
    let text = format!(
        "{src}: {} Linear layers ({}), activations {} ({}), {params} parameters ({})\n\
         model saved: {} ({n} bytes), weights hash {hash}\n",
        depth,
        sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        names.join(","),
        sources.join(","),
        dtypes.join(","),
        a.out.display(),
    );
    Ok(Output { json, text })
}

fn write(path: &Path, bytes: &[u8]) -> Res<()> {
    std::fs::write(path, bytes)
        .map_err(|e| failure(ErrorKind::Io, format!("--out {}: {e}", path.display())))
}
