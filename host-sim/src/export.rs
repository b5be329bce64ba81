//! `export`: a model file as source code, so firmware embeds the trained network with no
//! file system and no load at boot.
//!
//! * `--rust OUT.rs`: a Rust file with the network's compile-time type (`pub type Net`, a
//!   tuple chain of the core's layers with their sizes as const generics, the `Libm`
//!   backend) and a `pub static NET: Net` built by the core's `const fn` constructors
//!   (`Network::from_layers_const`, `Dense::from_parts`, `Standardize::from_stats`). The
//!   firmware calls `NET.predict(&x)` directly, or copies it into a `Training`
//!   (`*training.network_mut() = NET.clone()`) to fine-tune it.
//! * `--c OUT.h`: a C header with the same numbers as `static const float` arrays
//!   (row-major, the layout in its comments), the sizes and each layer's activation as
//!   macros, include guards, and a `static inline` forward function that computes in the
//!   core's order (the dense layers' four partial sums included), so with the same `expf`
//!   and no contraction into fused multiply-adds its outputs are the core's bit for bit.
//!
//! Both files name what produced them (the command, the source file as given, its length
//! and CRC-32, its weights hash) and nothing that changes from run to run, so exporting
//! the same file again gives identical bytes. Numbers are written as the shortest decimal
//! that reads back as the same `f32` (Rust's `{:?}`), which both compilers round exactly.
//!
//! Exported layer kinds: dense and standardize (any mode), the layers of a
//! `train --preprocess mean|standardize` model. Batch norm, dropout and whitening layers
//! are refused naming the kind (as are, for the C header, the GELUs, which it has no
//! reference for), never written as a wrong file.

use std::fmt::Write as _;
use std::path::Path;

use microprop::format::{self, Info, Targets};
use microprop::layer::{DynLayer, Kind, Spec};
use microprop::{Activation, Libm, Preprocess};
use serde_json::json;

use crate::{
    ctx::{failure, usage, ErrorKind},
    net::{self, HostNetwork},
    stats, Ctx, Output, Res,
};

/// `export`'s flags (at least one of `--rust` and `--c`).
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The model file (microprop's format: `train --save`, or written by a device).
    #[arg(long)]
    pub load: std::path::PathBuf,
    /// Write a Rust source file: the network's compile-time type `Net` and a `static NET`.
    #[arg(long, value_name = "OUT.rs")]
    pub rust: Option<std::path::PathBuf>,
    /// Write a C header: `static const float` arrays, sizes, activations and a
    /// `static inline` forward function (its name from the header's file stem).
    #[arg(long, value_name = "OUT.h")]
    pub c: Option<std::path::PathBuf>,
}

/// One exported layer: its kind with its numbers (`f32`, as in the file).
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// `x' = (x − mean) · scale`.
    Standardize {
        /// The transform.
        mode: Preprocess,
        /// Samples the statistics were fitted on.
        count: u32,
        /// Per-feature mean.
        mean: Vec<f32>,
        /// Per-feature population variance.
        variance: Vec<f32>,
    },
    /// `a = f(W x + b)`.
    Dense {
        /// Inputs.
        inputs: usize,
        /// Neurons.
        outputs: usize,
        /// Row-major weights, `w[o · inputs + i]`.
        w: Vec<f32>,
        /// Biases.
        b: Vec<f32>,
        /// The activation.
        act: Activation,
    },
}

/// A model file read for export.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Input features.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// The layers, first to last.
    pub layers: Vec<Layer>,
    /// Bytes of the model, CRC included.
    pub len: usize,
    /// The file's CRC-32 (its last four bytes).
    pub crc: u32,
    /// `Network::weights_hash` of the loaded network.
    pub hash: u64,
    /// Training progress stored in the file.
    pub progress: format::Progress,
}

/// Why a model cannot be exported.
fn refuse(file: &str, what: String) -> Box<dyn std::error::Error + Send + Sync> {
    failure(ErrorKind::Model, format!("--load {file}: {what}"))
}

/// Reads and checks `bytes` (a model file called `file` in messages) for export.
///
/// # Errors
/// `model` for bytes the core refuses and for layer kinds export does not write; usage
/// for an `f64` model.
pub fn read(bytes: &[u8], file: &str) -> Res<Model> {
    let info: Info<'_> = format::read_info(bytes).map_err(|e| refuse(file, e.to_string()))?;
    if info.scalar_bytes != 4 {
        return usage(format!(
            "--load {file}: the model computes in f64; export writes f32 models"
        ));
    }
    for (i, spec) in info.layers.iter().enumerate() {
        match spec.kind() {
            Kind::Dense | Kind::Standardize => {}
            kind => {
                return Err(refuse(
                    file,
                    format!(
                        "layer {i} is a {} layer: export writes dense and standardize layers \
                         only (a model of `train` without --batch-norm, --dropout or \
                         --preprocess whiten)",
                        kind.name()
                    ),
                ))
            }
        }
    }
    let layers = info
        .layers
        .iter()
        .map(DynLayer::from_spec)
        .collect::<microprop::Result<Vec<_>>>()
        .map_err(|e| refuse(file, e.to_string()))?;
    let mut net: HostNetwork<f32, Libm> =
        net::network(layers).map_err(|e| refuse(file, e.to_string()))?;
    let loaded = format::load_network(bytes, &mut net, Targets::none())
        .map_err(|e| refuse(file, e.to_string()))?;
    let mut values: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = Vec::new();
    net.visit(|l| values.push((l.w.to_vec(), l.b.to_vec(), l.state.to_vec())));
    let mut out = Vec::new();
    for (spec, (w, b, state)) in info.layers.iter().zip(values) {
        out.push(match *spec {
            Spec::Dense(d) => Layer::Dense {
                inputs: d.inputs,
                outputs: d.outputs,
                w,
                b,
                act: d.activation.cast(),
            },
            Spec::Standardize(s) => {
                let (mean, variance) = state.split_at_checked(s.width).ok_or_else(|| {
                    refuse(file, "a standardize layer without its statistics".into())
                })?;
                Layer::Standardize {
                    mode: s.mode,
                    count: s.count,
                    mean: mean.to_vec(),
                    variance: variance.to_vec(),
                }
            }
            _ => return Err(refuse(file, "unexpected layer kind".into())),
        });
    }
    let crc_bytes = bytes
        .get(loaded.len.saturating_sub(4)..loaded.len)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| refuse(file, "no CRC".into()))?;
    Ok(Model {
        inputs: info.inputs,
        outputs: info.layers.last().map_or(0, Spec::outputs),
        layers: out,
        len: loaded.len,
        crc: u32::from_le_bytes(crc_bytes),
        hash: net.weights_hash(),
        progress: loaded.progress,
    })
}

/// `{:?}` of an `f32`: the shortest decimal that reads back as the same value, always
/// with a `.` or an exponent (a float literal in Rust and, with `f`, in C).
fn lit(x: f32) -> String {
    format!("{x:?}")
}

fn list(xs: &[f32], suffix: &str) -> String {
    xs.iter()
        .map(|&x| format!("{}{suffix}", lit(x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Rust expression of an activation.
fn rust_activation(act: Activation) -> String {
    let variant = match act {
        Activation::Identity => "Identity",
        Activation::Sigmoid => "Sigmoid",
        Activation::Tanh => "Tanh",
        Activation::Relu => "Relu",
        Activation::LeakyRelu(_) => "LeakyRelu",
        Activation::Elu(_) => "Elu",
        Activation::Gelu => "Gelu",
        Activation::GeluTanh => "GeluTanh",
        Activation::Softmax => "Softmax",
    };
    if act.has_alpha() {
        format!("microprop::Activation::{variant}({})", lit(act.alpha()))
    } else {
        format!("microprop::Activation::{variant}")
    }
}

fn mode_rust(mode: Preprocess) -> &'static str {
    match mode {
        Preprocess::None => "microprop::Preprocess::None",
        Preprocess::Mean => "microprop::Preprocess::Mean",
        Preprocess::Standardize => "microprop::Preprocess::Standardize",
    }
}

/// One line per layer, for the headers of both files.
fn describe(m: &Model) -> Vec<String> {
    m.layers
        .iter()
        .enumerate()
        .map(|(i, l)| match l {
            Layer::Standardize {
                mode, count, mean, ..
            } => format!(
                "layer {i}: standardize, {} features, mode {}, fitted on {count} samples",
                mean.len(),
                mode.name()
            ),
            Layer::Dense {
                inputs,
                outputs,
                act,
                ..
            } => format!("layer {i}: dense {inputs} -> {outputs}, {act}"),
        })
        .collect()
}

/// The `layers!` spelling of the model's type.
fn layers_macro(m: &Model) -> String {
    let parts: Vec<String> = m
        .layers
        .iter()
        .map(|l| match l {
            Layer::Standardize { .. } => "standardize".to_string(),
            Layer::Dense { outputs, .. } => format!("dense {outputs}"),
        })
        .collect();
    format!("layers![f32; {} => {}]", m.inputs, parts.join(", "))
}

fn provenance(m: &Model, source: &str, command: &str) -> Vec<String> {
    let mut lines = vec![
        "Generated by microprop-sim export: do not edit; regenerate with".to_string(),
        format!("    {command}"),
        format!(
            "Source: {source} ({} bytes, CRC-32 0x{:08x}, format version {}, epoch {}, step {}),",
            m.len,
            m.crc,
            format::VERSION,
            m.progress.epoch,
            m.progress.step
        ),
        format!(
            "weights hash {} (Network::weights_hash; the loaded file's and this network's).",
            stats::hex16(m.hash)
        ),
    ];
    lines.extend(describe(m));
    lines
}

/// The Rust source: `pub type Net` and `pub static NET: Net`.
pub fn rust(m: &Model, source: &str, command: &str) -> String {
    let mut s = String::new();
    for l in provenance(m, source, command) {
        let _ = writeln!(s, "{}", format!("// {l}").trim_end());
    }
    let _ = writeln!(
        s,
        "//\n// `NET.predict(&x)` runs it (evaluation mode); `*training.network_mut() = NET.clone()`\n\
         // copies it into a `microprop::Training` to fine-tune. Same type as\n\
         // `microprop::{}`; the numbers are the file's, exactly.\n",
        layers_macro(m)
    );
    // The type: a tuple chain.
    let mut ty = String::new();
    for l in &m.layers {
        match l {
            Layer::Standardize { mean, .. } => {
                let _ = write!(ty, "(microprop::layer::Standardize<f32, {}>, ", mean.len());
            }
            Layer::Dense {
                inputs, outputs, ..
            } => {
                let _ = write!(ty, "(microprop::layer::Dense<f32, {inputs}, {outputs}>, ");
            }
        }
    }
    ty.push_str("()");
    ty.push_str(&")".repeat(m.layers.len()));
    let _ = writeln!(
        s,
        "/// The network's compile-time type ({} inputs, {} outputs).\n#[rustfmt::skip]\n\
         pub type Net = microprop::Network<{ty}, microprop::Libm>;\n",
        m.inputs, m.outputs
    );
    let _ = writeln!(
        s,
        "/// The trained network, from the model file named above.\n#[rustfmt::skip]\n\
         #[allow(clippy::approx_constant, clippy::excessive_precision)]\n\
         pub static NET: Net = microprop::Network::from_layers_const("
    );
    for (i, l) in m.layers.iter().enumerate() {
        let indent = "    ";
        let _ = writeln!(s, "{indent}// layer {i}");
        match l {
            Layer::Standardize {
                mode,
                count,
                mean,
                variance,
            } => {
                let _ = writeln!(
                    s,
                    "{indent}(microprop::layer::Standardize::from_stats(\n{indent}    {},\n{indent}    {count},\n\
                     {indent}    [{}],\n{indent}    [{}],\n{indent}),",
                    mode_rust(*mode),
                    list(mean, ""),
                    list(variance, "")
                );
            }
            Layer::Dense {
                inputs, w, b, act, ..
            } => {
                let _ = writeln!(
                    s,
                    "{indent}(microprop::layer::Dense::from_parts(\n{indent}    ["
                );
                for row in w.chunks((*inputs).max(1)) {
                    let _ = writeln!(s, "{indent}        [{}],", list(row, ""));
                }
                let _ = writeln!(
                    s,
                    "{indent}    ],\n{indent}    [{}],\n{indent}    {},\n{indent}),",
                    list(b, ""),
                    rust_activation(*act)
                );
            }
        }
    }
    let _ = writeln!(s, "    (){});", ")".repeat(m.layers.len()));
    s
}

/// The C macro prefix of a header called `path`: its file stem, upper case, every other
/// character `_` (`iris-model.h` → `IRIS_MODEL`).
pub fn c_prefix(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut p: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert_str(0, "MP_");
    }
    p
}

/// The activation's C code (the core's `Activation::code`), or why the header has none.
fn c_activation(act: Activation) -> Result<(u8, &'static str), String> {
    match act {
        Activation::Identity
        | Activation::Sigmoid
        | Activation::Tanh
        | Activation::Relu
        | Activation::LeakyRelu(_)
        | Activation::Elu(_)
        | Activation::Softmax => Ok((act.code(), act.name())),
        other => Err(format!(
            "the C header has no reference implementation of the {} activation \
             (identity, sigmoid, tanh, relu, leaky-relu, elu and softmax only); --rust exports it",
            other.name()
        )),
    }
}

/// The C header (the maths functions it calls are ports of the core's, so its outputs are
/// the core's bit for bit).
///
/// # Errors
/// A message naming an activation the header cannot compute.
pub fn c_header(m: &Model, source: &str, command: &str, prefix: &str) -> Result<String, String> {
    let p = prefix;
    let f = prefix.to_ascii_lowercase();
    let mut s = String::from("/*\n");
    for l in provenance(m, source, command) {
        let _ = writeln!(s, "{}", format!(" * {l}").trim_end());
    }
    let _ = write!(
        s,
        " *
 * {f}_predict(x, y) runs the network: x[{p}_INPUTS] in, y[{p}_OUTPUTS] out. It computes in
 * microprop's order (each dense neuron: four partial sums over blocks of four inputs,
 * added as (s0 + s2) + (s1 + s3), then the remaining inputs in order, then the bias
 * added to the sum) and with the core's exponential ({f}_expf below), so with IEEE
 * single precision (FLT_EVAL_METHOD 0) and no contraction into fused multiply-adds
 * (-ffp-contract=off; ISO C modes default to it) the outputs are the core's bit for bit.
 * Define {p}_EXPF, {p}_EXPM1F or {p}_TANHF (e.g. to expf) before including it to use the
 * C library's functions instead: faster on some cores, the outputs may then differ from
 * the core's in the last bits.
 * Layout: a dense layer's weights are row-major, W[o][i] connects input i to neuron o;
 * a standardize layer applies x' = (x - MEAN) * SCALE per feature, SCALE being
 * 1/sqrt(variance) (1 where that root is at most FLT_EPSILON, and for the mean-only and
 * identity modes), computed here with the core's arithmetic.
 */
#ifndef {p}_H
#define {p}_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define {p}_INPUTS {}
#define {p}_OUTPUTS {}
#define {p}_LAYERS {}
/* Activation codes: microprop's (Activation::code). */
#define {p}_ACT_IDENTITY 0
#define {p}_ACT_SIGMOID 1
#define {p}_ACT_TANH 2
#define {p}_ACT_RELU 3
#define {p}_ACT_LEAKY_RELU 4
#define {p}_ACT_ELU 5
#define {p}_ACT_SOFTMAX 8

",
        m.inputs,
        m.outputs,
        m.layers.len()
    );
    let mut widest = m.inputs;
    for (i, l) in m.layers.iter().enumerate() {
        match l {
            Layer::Standardize {
                mode,
                mean,
                variance,
                ..
            } => {
                let scale: Vec<f32> = variance
                    .iter()
                    .map(|&v| {
                        if *mode != Preprocess::Standardize {
                            return 1.0;
                        }
                        // The core's `Standardize` transform, with the Libm backend.
                        let sd = <Libm as microprop::Math<f32>>::sqrt(v);
                        if sd > f32::EPSILON {
                            1.0 / sd
                        } else {
                            1.0
                        }
                    })
                    .collect();
                let zero = vec![0.0f32; mean.len()];
                let mean = if *mode == Preprocess::None {
                    &zero
                } else {
                    mean
                };
                let _ = write!(
                    s,
                    "/* Layer {i}: standardize ({}), {n} features. */\n#define {p}_L{i}_WIDTH {n}\n\
                     static const float {p}_L{i}_MEAN[{n}] = {{{}}};\n\
                     static const float {p}_L{i}_SCALE[{n}] = {{{}}};\n\n",
                    mode.name(),
                    list(mean, "f"),
                    list(&scale, "f"),
                    n = mean.len()
                );
            }
            Layer::Dense {
                inputs,
                outputs,
                w,
                b,
                act,
            } => {
                let (code, name) = c_activation(*act)?;
                widest = widest.max(*outputs);
                let _ = writeln!(
                    s,
                    "/* Layer {i}: dense {inputs} -> {outputs}, {name}. */\n#define {p}_L{i}_IN {inputs}\n\
                     #define {p}_L{i}_OUT {outputs}\n#define {p}_L{i}_ACT {code}\n\
                     #define {p}_L{i}_ALPHA {}f\nstatic const float {p}_L{i}_W[{outputs}][{inputs}] = {{",
                    lit(if act.has_alpha() { act.alpha() } else { 0.0 })
                );
                for row in w.chunks((*inputs).max(1)) {
                    let _ = writeln!(s, "    {{{}}},", list(row, "f"));
                }
                let _ = writeln!(
                    s,
                    "}};\nstatic const float {p}_L{i}_B[{outputs}] = {{{}}};\n",
                    list(b, "f")
                );
            }
        }
    }
    let _ = write!(
        s,
        "/* Widest layer output: the forward pass's two scratch rows. */
#define {p}_WIDEST {widest}

/* e^x exactly as microprop computes it (Rust's libm expf, the FreeBSD algorithm, and its
 * scalbnf), so softmax and sigmoid match the core bit for bit. */
static inline float {f}_scalbnf(float x, int n) {{
    uint32_t bits;
    float scale;
    if (n > 127) {{
        x *= 0x1p127f;
        n -= 127;
        if (n > 127) {{
            x *= 0x1p127f;
            n -= 127;
            if (n > 127) n = 127;
        }}
    }} else if (n < -126) {{
        x *= 0x1p-102f;
        n += 102;
        if (n < -126) {{
            x *= 0x1p-102f;
            n += 102;
            if (n < -126) n = -126;
        }}
    }}
    bits = (uint32_t)(127 + n) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return x * scale;
}}

static inline float {f}_expf(float x) {{
    static const float half[2] = {{0.5f, -0.5f}};
    uint32_t hx;
    int sign, k;
    float hi, lo, xx, c, y;
    memcpy(&hx, &x, sizeof hx);
    sign = (int)(hx >> 31);
    hx &= 0x7fffffffu;
    if (hx >= 0x42aeac50u) {{
        if (hx > 0x7f800000u) return x;
        if (hx >= 0x42b17218u && !sign) return x * 0x1p127f;
        if (sign && hx >= 0x42cff1b5u) return 0.0f;
    }}
    if (hx > 0x3eb17218u) {{
        if (hx > 0x3f851592u) {{
            k = (int)(1.4426950216e+00f * x + half[sign]);
        }} else {{
            k = 1 - sign - sign;
        }}
        hi = x - (float)k * 6.9314575195e-01f;
        lo = (float)k * 1.4286067653e-06f;
        x = hi - lo;
    }} else if (hx > 0x39000000u) {{
        k = 0;
        hi = x;
        lo = 0.0f;
    }} else {{
        return 1.0f + x;
    }}
    xx = x * x;
    c = x - xx * (1.6666625440e-1f + xx * -2.7667332906e-3f);
    y = 1.0f + (x * c / (2.0f - c) - lo + hi);
    return k == 0 ? y : {f}_scalbnf(y, k);
}}

/* e^x - 1 and tanh exactly as microprop computes them (Rust's libm expm1f and tanhf). */
static inline float {f}_expm1f(float x) {{
    uint32_t hx, bits;
    int sign, k;
    float hi, lo, c = 0.0f, hfx, hxs, r1, t, e, y, twopk, uf;
    memcpy(&hx, &x, sizeof hx);
    sign = (int)(hx >> 31);
    hx &= 0x7fffffffu;
    if (hx >= 0x4195b844u) {{
        if (hx > 0x7f800000u) return x;
        if (sign) return -1.0f;
        if (hx > 0x42b17217u) return x * 0x1p127f;
    }}
    if (hx > 0x3eb17218u) {{
        if (hx < 0x3f851592u) {{
            if (!sign) {{
                hi = x - 6.9313812256e-01f;
                lo = 9.0580006145e-06f;
                k = 1;
            }} else {{
                hi = x + 6.9313812256e-01f;
                lo = -9.0580006145e-06f;
                k = -1;
            }}
        }} else {{
            k = (int)(1.4426950216e+00f * x + (sign ? -0.5f : 0.5f));
            t = (float)k;
            hi = x - t * 6.9313812256e-01f;
            lo = t * 9.0580006145e-06f;
        }}
        x = hi - lo;
        c = (hi - x) - lo;
    }} else if (hx < 0x33000000u) {{
        return x;
    }} else {{
        k = 0;
    }}
    hfx = 0.5f * x;
    hxs = x * hfx;
    r1 = 1.0f + hxs * (-3.3333212137e-2f + hxs * 1.5807170421e-3f);
    t = 3.0f - r1 * hfx;
    e = hxs * ((r1 - t) / (6.0f - x * t));
    if (k == 0) return x - (x * e - hxs);
    e = x * (e - c) - c;
    e -= hxs;
    if (k == -1) return 0.5f * (x - e) - 0.5f;
    if (k == 1) {{
        if (x < -0.25f) return -2.0f * (e - (x + 0.5f));
        return 1.0f + 2.0f * (x - e);
    }}
    bits = (uint32_t)(0x7f + k) << 23;
    memcpy(&twopk, &bits, sizeof twopk);
    if (k < 0 || k > 56) {{
        y = x - e + 1.0f;
        if (k == 128) {{
            y = y * 2.0f * 0x1p127f;
        }} else {{
            y = y * twopk;
        }}
        return y - 1.0f;
    }}
    bits = (uint32_t)(0x7f - k) << 23;
    memcpy(&uf, &bits, sizeof uf);
    if (k < 23) return (x - e + (1.0f - uf)) * twopk;
    return (x - (e + uf) + 1.0f) * twopk;
}}

static inline float {f}_tanhf(float x) {{
    uint32_t ix;
    int sign;
    float t, tt;
    memcpy(&ix, &x, sizeof ix);
    sign = (int)(ix >> 31);
    ix &= 0x7fffffffu;
    memcpy(&x, &ix, sizeof x);
    if (ix > 0x3f0c9f54u) {{
        if (ix > 0x41200000u) {{
            tt = 1.0f + 0.0f / x;
        }} else {{
            t = {f}_expm1f(2.0f * x);
            tt = 1.0f - 2.0f / (t + 2.0f);
        }}
    }} else if (ix > 0x3e82c578u) {{
        t = {f}_expm1f(2.0f * x);
        tt = t / (t + 2.0f);
    }} else if (ix >= 0x00800000u) {{
        t = {f}_expm1f(-2.0f * x);
        tt = -t / (t + 2.0f);
    }} else {{
        tt = x;
    }}
    return sign ? -tt : tt;
}}

#ifndef {p}_EXPF
#define {p}_EXPF {f}_expf
#endif
#ifndef {p}_EXPM1F
#define {p}_EXPM1F {f}_expm1f
#endif
#ifndef {p}_TANHF
#define {p}_TANHF {f}_tanhf
#endif

/* A neuron's sum: microprop's kernel::dot. */
static inline float {f}_dot(const float *w, const float *x, int n) {{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, sum;
    int i = 0;
    for (; i + 4 <= n; i += 4) {{
        s0 = s0 + w[i] * x[i];
        s1 = s1 + w[i + 1] * x[i + 1];
        s2 = s2 + w[i + 2] * x[i + 2];
        s3 = s3 + w[i + 3] * x[i + 3];
    }}
    sum = (s0 + s2) + (s1 + s3);
    for (; i < n; i++) {{
        sum += w[i] * x[i];
    }}
    return sum;
}}

/* a = f(z) over a layer: microprop's Activation::apply. */
static inline void {f}_activate(int act, float alpha, float *a, int n) {{
    int i;
    if (act == {p}_ACT_SOFTMAX) {{
        float max = -3.40282347e+38f, sum = 0.0f, inv;
        for (i = 0; i < n; i++) {{
            if (a[i] > max) max = a[i];
        }}
        for (i = 0; i < n; i++) {{
            a[i] = {p}_EXPF(a[i] - max);
            sum += a[i];
        }}
        inv = 1.0f / sum;
        for (i = 0; i < n; i++) a[i] *= inv;
        return;
    }}
    for (i = 0; i < n; i++) {{
        float z = a[i];
        switch (act) {{
        case {p}_ACT_SIGMOID: {{
            float e = {p}_EXPF(-fabsf(z));
            float r = 1.0f / (1.0f + e);
            a[i] = z >= 0.0f ? r : e * r;
            break;
        }}
        case {p}_ACT_TANH: a[i] = {p}_TANHF(z); break;
        case {p}_ACT_ELU: a[i] = z > 0.0f ? z : alpha * {p}_EXPM1F(z); break;
        case {p}_ACT_RELU: a[i] = z > 0.0f ? z : 0.0f; break;
        case {p}_ACT_LEAKY_RELU: a[i] = z > 0.0f ? z : alpha * z; break;
        default: break; /* identity */
        }}
    }}
}}

/* out = f(W x + b). */
static inline void {f}_dense(const float *w, const float *b, int in, int out, int act,
                             float alpha, const float *x, float *y) {{
    int o;
    for (o = 0; o < out; o++) y[o] = b[o] + {f}_dot(w + o * in, x, in);
    {f}_activate(act, alpha, y, out);
}}

/* Runs the network on x[{p}_INPUTS] into y[{p}_OUTPUTS] (evaluation mode). */
static inline void {f}_predict(const float *x, float *y) {{
    float buf[2][{p}_WIDEST];
    const float *in = x;
    float *out;
    int i;
"
    );
    let last = m.layers.len().saturating_sub(1);
    for (k, l) in m.layers.iter().enumerate() {
        let dst = if k == last {
            "y".to_string()
        } else {
            format!("buf[{}]", k % 2)
        };
        let _ = writeln!(s, "    out = {dst};");
        match l {
            Layer::Standardize { .. } => {
                let _ = writeln!(
                    s,
                    "    for (i = 0; i < {p}_L{k}_WIDTH; i++) out[i] = (in[i] - {p}_L{k}_MEAN[i]) * {p}_L{k}_SCALE[i];"
                );
            }
            Layer::Dense { .. } => {
                let _ = writeln!(
                    s,
                    "    {f}_dense(&{p}_L{k}_W[0][0], {p}_L{k}_B, {p}_L{k}_IN, {p}_L{k}_OUT, {p}_L{k}_ACT, {p}_L{k}_ALPHA, in, out);"
                );
            }
        }
        let _ = writeln!(s, "    in = out;");
    }
    let _ = write!(s, "    (void)in;\n    (void)i;\n}}\n\n#endif /* {p}_H */\n");
    Ok(s)
}

/// `microprop-sim export`.
pub fn run(a: &ExportArgs, ctx: &Ctx) -> Res<Output> {
    let _ = ctx;
    if a.rust.is_none() && a.c.is_none() {
        return usage("export: give --rust OUT.rs, --c OUT.h or both");
    }
    let file = a.load.display().to_string();
    let bytes = std::fs::read(&a.load)
        .map_err(|e| failure(ErrorKind::Io, format!("--load {file}: {e}")))?;
    let model = read(&bytes, &file)?;
    let mut command = format!("microprop-sim export --load {file}");
    if let Some(r) = &a.rust {
        let _ = write!(command, " --rust {}", r.display());
    }
    if let Some(c) = &a.c {
        let _ = write!(command, " --c {}", c.display());
    }
    // Everything is rendered before anything is written.
    let rust = a.rust.as_ref().map(|_| rust(&model, &file, &command));
    let header = match &a.c {
        Some(path) => {
            Some(c_header(&model, &file, &command, &c_prefix(path)).map_err(|e| refuse(&file, e))?)
        }
        None => None,
    };
    let mut text = String::new();
    let mut written = Vec::new();
    for (path, body) in [(&a.rust, rust), (&a.c, header)] {
        if let (Some(path), Some(body)) = (path, body) {
            std::fs::write(path, &body)
                .map_err(|e| failure(ErrorKind::Io, format!("{}: {e}", path.display())))?;
            let _ = writeln!(text, "wrote {} ({} bytes)", path.display(), body.len());
            written.push(json!({ "path": path.display().to_string(), "bytes": body.len() }));
        }
    }
    let _ = writeln!(
        text,
        "{file}: {} bytes, CRC-32 0x{:08x}, {}, weights hash {}",
        model.len,
        model.crc,
        layers_macro(&model),
        stats::hex16(model.hash)
    );
    let json = json!({
        "file": file,
        "bytes": model.len,
        "crc32": format!("{:08x}", model.crc),
        "type": layers_macro(&model),
        "weights_hash": stats::hex16(model.hash),
        "written": written,
    });
    Ok(Output { json, text })
}
