//! `train`: a run-time shaped network trained with the core's trainer.

use std::path::Path;
use std::time::Instant;

use microprop::format::{self, Extras, Progress};
use microprop::layer::{
    BatchNormConfig, BatchNormSpec, DenseSpec, DropoutSpec, DynStandardize, DynWhiten, Spec,
    StandardizeSpec, WhitenSpec,
};
use microprop::{
    train as core_train, Activation, FixedTable, Init, Libm, Loss, Math, Micromath, Model,
    Momentum, MomentumConfig, Optimizer, PcaWhitening, Preprocess, Scalar, Sgd, Trainer, Q16,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::json;

use crate::{
    cli::{DatasetArg, InitArg, MathArg, OptimizerArg, PreprocessArg, ScalarArg, TrainArgs},
    ctx::{fail, failure, usage, ErrorKind},
    data::{self, Data, DatasetKind, Split},
    limits::{self, Footprint},
    net::{self, HostLayer, HostNet},
    optim::{self, AnyOptimizer},
    plot::{self, Figure},
    stats,
    table::{CsvReader, RowLimits},
    Ctx, Output, Res,
};

/// The result of a training run, for `train` and for the report.
#[derive(Clone, Debug)]
pub struct TrainResult {
    /// Final accuracy on the training rows (all rows without `--val-fraction`).
    pub accuracy: f64,
    /// Final mean loss on the training rows.
    pub final_loss: f64,
    /// Mean loss over the data after each epoch.
    pub loss_per_epoch: Vec<f64>,
    /// Accuracy after each epoch.
    pub accuracy_per_epoch: Vec<f64>,
    /// First epoch (1-based) with accuracy ≥ 95 %.
    pub epochs_to_95: Option<u32>,
    /// Parameters.
    pub params: usize,
    /// Weight bytes.
    pub bytes: usize,
    /// Training buffer bytes.
    pub training_bytes: usize,
    /// Per-layer gradient norms before training.
    pub grad_norms_init: Vec<f64>,
    /// Per-layer gradient norms after training.
    pub grad_norms_final: Vec<f64>,
    /// FNV-1a of the trained weights.
    pub weights_hash: u64,
    /// Wall time per optimizer step.
    pub ns_per_step: f64,
    /// Optimizer steps.
    pub steps: u32,
    /// Bytes of the model file written by `--save`.
    pub saved_bytes: Option<usize>,
    /// The trained network's outputs (evaluation mode) for each `--point`.
    pub predictions: Vec<Vec<f32>>,
    /// Features per sample.
    pub features: usize,
    /// Classes (the generated data set's; for `--data` the largest label + 1).
    pub classes: usize,
    /// `--data`'s label column.
    pub label_column: Option<String>,
    /// Rows trained on (all but the held-out ones).
    pub train_samples: usize,
    /// The held-out rows' indices in the data (0-based, ascending; for `--data` the file's
    /// data rows in order, line = index + 2); empty without `--val-fraction`.
    pub val_rows: Vec<usize>,
    /// The held-out rows' results (`None` without `--val-fraction`).
    pub val: Option<Validation>,
    /// Failures that look like success ([`health_warnings`]); empty for a healthy run.
    pub warnings: Vec<Warning>,
}

/// A trained network that looks trained but is not ([`health_warnings`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    /// `constant_output`, `all_units_dead` or `no_better_than_constant`.
    pub kind: &'static str,
    /// What was measured, in a sentence.
    pub message: String,
}

/// The largest spread (max − min over the training rows) of any output below which the
/// output counts as constant, relative to `max(1, max |output|)`.
pub const CONSTANT_EPS: f64 = 1e-4;

/// The mean training loss of the best input-blind prediction: always the class
/// frequencies `ȳ` (per output, over the targets [`Loss::target`] makes of `labels`).
/// MSE `½ Σ_k (mean(y_k²) − ȳ_k²)`, binary cross-entropy `Σ_k H(ȳ_k)`, cross-entropy
/// `−Σ_k ȳ_k ln ȳ_k` (nats; the losses the core reports).
pub fn constant_loss(loss: Loss, labels: &[u8], outputs: usize) -> f64 {
    let n = labels.len().max(1) as f64;
    let k = outputs.max(1);
    let mut mean = vec![0.0f64; k];
    let mut sq = vec![0.0f64; k];
    let mut y = vec![0.0f32; k];
    for &l in labels {
        y.fill(0.0);
        if Loss::target(usize::from(l), &mut y).is_err() {
            continue;
        }
        for ((m, q), &v) in mean.iter_mut().zip(&mut sq).zip(&y) {
            *m += f64::from(v) / n;
            *q += f64::from(v) * f64::from(v) / n;
        }
    }
    let xlnx = |p: f64| if p > 0.0 { p * p.ln() } else { 0.0 };
    match loss {
        Loss::Mse => 0.5 * mean.iter().zip(&sq).map(|(m, q)| q - m * m).sum::<f64>(),
        Loss::BinaryCrossEntropy => -mean.iter().map(|&p| xlnx(p) + xlnx(1.0 - p)).sum::<f64>(),
        _ => -mean.iter().map(|&p| xlnx(p)).sum::<f64>(),
    }
}

/// After training: the failures that look like a finished run. `constant_output`: every
/// output varies by less than [`CONSTANT_EPS`] over the training rows (the net ignores its
/// input); `all_units_dead`: no hidden unit passes a gradient for any training row (every
/// ReLU off: nothing can recover); `no_better_than_constant`: the final training loss is
/// not below [`constant_loss`] (always predicting the class frequencies).
///
/// # Errors
/// Forward-pass errors.
pub fn health_warnings<M: Math<f32>>(
    net: &mut HostNet<f32, M>,
    loss: Loss,
    train: &Data,
    final_loss: f64,
) -> Res<Vec<Warning>> {
    let mut warnings = Vec::new();
    let (mut lo, mut hi) = (Vec::<f64>::new(), Vec::<f64>::new());
    for row in train.rows() {
        let a = net::predict(net.network(), row)?;
        if lo.is_empty() {
            lo = vec![f64::INFINITY; a.len()];
            hi = vec![f64::NEG_INFINITY; a.len()];
        }
        for ((l, h), &v) in lo.iter_mut().zip(&mut hi).zip(&a) {
            *l = l.min(f64::from(v));
            *h = h.max(f64::from(v));
        }
    }
    let spread = lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max);
    let scale = lo.iter().chain(&hi).map(|v| v.abs()).fold(1.0, f64::max);
    if train.len() > 1 && spread.is_finite() && spread < CONSTANT_EPS * scale {
        warnings.push(Warning {
            kind: "constant_output",
            message: format!(
                "the network gives the same output [{}] for every training sample (spread \
                 {spread:.1e}): it ignores its input",
                lo.iter()
                    .map(|v| format!("{v:.4}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let view = train.view()?;
    let units = stats::unit_states::<_, M>(net, &view, &mut Vec::new())?;
    if units.units > 0 && units.dead == units.units {
        warnings.push(Warning {
            kind: "all_units_dead",
            message: format!(
                "all {} hidden units are dead (zero gradient for every training sample): \
                 no hidden weight can change any more (a lower --lr may avoid this)",
                units.units
            ),
        });
    }
    let outputs = lo.len();
    let c = constant_loss(loss, &train.labels, outputs);
    if final_loss.is_finite() && final_loss >= c * (1.0 - 1e-3) {
        warnings.push(Warning {
            kind: "no_better_than_constant",
            message: format!(
                "the final training loss {final_loss:.5} is not below {c:.5}, the loss of \
                 always predicting the class frequencies: the network learned nothing"
            ),
        });
    }
    Ok(warnings)
}

/// The network on the rows `--val-fraction` held out (evaluation mode).
#[derive(Clone, Debug)]
pub struct Validation {
    /// Accuracy after training.
    pub accuracy: f64,
    /// Mean loss after training.
    pub loss: f64,
    /// Mean loss after each epoch.
    pub loss_per_epoch: Vec<f64>,
    /// Accuracy after each epoch.
    pub accuracy_per_epoch: Vec<f64>,
}

/// ε under the square root of a `--preprocess whiten` layer's eigenvalues.
pub const WHITEN_EPS: f64 = 1e-5;

/// The fitted first layer `--preprocess` asks for, fitted on `train` (the training rows;
/// `None` for raw inputs): a `Standardize` layer of the data's width (mean, standardize)
/// or a `Whiten` layer (whiten: the core's whitening is 2-D).
///
/// # Errors
/// Non-finite inputs; no samples; whitening data without exactly 2 features, too few
/// samples or degenerate.
pub fn preprocessing_layer(arg: PreprocessArg, train: &Data) -> Res<Option<HostLayer<f32>>> {
    if arg == PreprocessArg::Whiten {
        if train.features != 2 {
            return usage(format!(
                "--preprocess whiten: the core's whitening layer is 2-D, the data has {} \
                 features (use --preprocess standardize)",
                train.features
            ));
        }
        let xs: Vec<[f32; 2]> = train.rows().map(|r| [r[0], r[1]]).collect();
        let pca = match PcaWhitening::fit(WHITEN_EPS, &xs) {
            Ok(pca) => pca,
            Err(e) => return usage(format!("--preprocess whiten: {e}")),
        };
        return Ok(Some(DynWhiten::from(pca).into()));
    }
    let Some(mode) = arg.standardize() else {
        return Ok(None);
    };
    let layer = DynStandardize::fit(mode, &train.view()?)?;
    Ok(Some(layer.into()))
}

/// The initialiser `--init` and `--init-scale` select.
pub fn init_of(init: InitArg, scale: Option<f32>) -> (Init, f32) {
    match init {
        InitArg::Zeros => (Init::Zeros, 1.0),
        InitArg::Normal => (Init::Normal(scale.unwrap_or(0.01)), 1.0),
        InitArg::Xavier => (Init::XavierNormal, scale.unwrap_or(1.0)),
        InitArg::He => (Init::HeNormal, scale.unwrap_or(1.0)),
    }
}

/// Inputs of every generated data set (`--dataset`): two features.
pub const FEATURES: usize = 2;

/// The most rows a run trains on (the trainer's shuffling index is 16-bit).
pub const MAX_ROWS: usize = u16::MAX as usize + 1;

/// Checks a file that a run writes at its end (`--save`) before any work: its directory
/// exists and it is not itself a directory.
///
/// # Errors
/// A usage error naming `flag` and the path.
pub fn check_output_file(flag: &str, path: &Path) -> Res<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() || path.file_name().is_none() {
        return usage(format!(
            "{flag} {}: is a directory, not a file",
            path.display()
        ));
    }
    if !dir.is_dir() {
        return usage(format!(
            "{flag} {}: no such directory {}",
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// The layers `--layers`, `--preprocess`, `--batch-norm` and `--dropout` make, as specs
/// (the preprocessing layer's fitted values left at their defaults): what the run builds,
/// before it is built.
pub fn specs(a: &TrainArgs) -> Vec<Spec> {
    let sizes = &a.layers.0;
    let mut specs = Vec::with_capacity(3 * sizes.len() + 1);
    match a.preprocess {
        PreprocessArg::None => {}
        PreprocessArg::Whiten => specs.push(Spec::Whiten(WhitenSpec {
            stats: microprop::whitening::WhiteningStats::default(),
        })),
        PreprocessArg::Mean | PreprocessArg::Standardize => {
            specs.push(Spec::Standardize(StandardizeSpec {
                width: sizes.first().copied().unwrap_or(FEATURES),
                mode: a.preprocess.standardize().unwrap_or(Preprocess::None),
                count: a.samples,
            }));
        }
    }
    let hidden = a.activation.activation();
    let dense = limits::dense_specs(sizes, hidden, a.output.activation());
    let last = dense.len().saturating_sub(1);
    for (i, d) in dense.into_iter().enumerate() {
        let width = d.outputs();
        if i == last {
            specs.push(d);
            break;
        }
        if a.batch_norm {
            specs.push(Spec::Dense(DenseSpec {
                inputs: d.inputs(),
                outputs: width,
                activation: Activation::Identity,
            }));
            specs.push(Spec::BatchNorm(BatchNormSpec {
                width,
                activation: hidden.cast(),
                config: BatchNormConfig::default(),
            }));
        } else {
            specs.push(d);
        }
        if let Some(p) = a.dropout {
            specs.push(Spec::Dropout(DropoutSpec { width, p }));
        }
    }
    specs
}

/// What a run on a generated data set holds in memory, from the flags alone
/// ([`plan_for`] with its 2 features and `--samples` rows).
pub fn plan(a: &TrainArgs) -> Footprint {
    plan_for(a, FEATURES, a.samples as usize)
}

/// Bytes per row of data: the inputs and label, the shuffling index, and with
/// `--val-fraction` the split's copy.
fn row_bytes(a: &TrainArgs, features: usize) -> u64 {
    let row = features as u64 * 4 + 1;
    let copy = if a.val_fraction > 0.0 { row } else { 0 };
    row + 2 + copy
}

/// What the run holds in memory on `rows` rows of `features` features: the network of
/// [`specs`] with buffers for one batch (batch norm) or one row, the optimizer's state,
/// the data (and its split), and the model file `--save` writes.
pub fn plan_for(a: &TrainArgs, features: usize, rows: usize) -> Footprint {
    let specs = specs(a);
    let capacity = if a.batch_norm { a.batch as usize } else { 1 };
    let slots = match a.optimizer {
        OptimizerArg::Sgd => 0,
        OptimizerArg::Momentum
        | OptimizerArg::Nesterov
        | OptimizerArg::Adagrad
        | OptimizerArg::Rmsprop => 1,
        OptimizerArg::Adam | OptimizerArg::Adamw => 2,
    };
    let f = Footprint::of(&specs, capacity).with_optimizer(slots);
    let data = (rows as u64).saturating_mul(row_bytes(a, features));
    let file = if a.save.is_some() {
        f.weight_bytes + f.optimizer_bytes + (specs.len() * format::MAX_SPEC_LEN) as u64
    } else {
        0
    };
    f.plus(data + file)
}

/// The data as the messages name them: `--data FILE` or `the clusters data`.
fn source(a: &TrainArgs) -> String {
    match &a.data {
        Some(p) => format!("--data {}", p.display()),
        None => format!("the {} data", dataset_name(a.dataset)),
    }
}

fn dataset_name(d: DatasetArg) -> String {
    format!("{d:?}").to_lowercase()
}

/// The `--layers` message when the input layer does not take the data's features.
fn check_inputs(a: &TrainArgs, features: usize, columns: &str) -> Res<()> {
    let inputs = a.layers.0.first().copied().unwrap_or(0);
    if inputs == features {
        return Ok(());
    }
    usage(format!(
        "--layers {}: the input layer has {inputs} unit(s) but {} has {features} \
         features{columns}; start the list with {features}",
        sizes_str(&a.layers.0),
        source(a),
    ))
}

/// Checks every flag, alone and in combination, before any work (the values clap cannot
/// check alone), for `rows` rows of `features` features and, for `--data`, the file's
/// `classes`; returns the data's classes.
fn validate(
    a: &TrainArgs,
    features: usize,
    rows: usize,
    file_classes: Option<usize>,
) -> Res<usize> {
    check_inputs(a, features, "")?;
    for p in &a.points {
        if p.0.len() != features {
            return usage(format!(
                "--point {:?}: the network takes {features} inputs (the features of {}), \
                 not {}",
                p.0,
                source(a),
                p.0.len()
            ));
        }
    }
    // The rate as the run's optimizer takes it, in f32 (and AdamW's η·λ ≤ 1).
    optim::new::<Libm>(a.optimizer, a.lr, 0)?;
    if let Some(p) = &a.plot {
        plot::check_path("--plot", p)?;
        if features != 2 {
            return usage(format!(
                "--plot draws the decision boundary over 2 features, but {} has {features}",
                source(a)
            ));
        }
    }
    if a.preprocess == PreprocessArg::Whiten && features != 2 {
        return usage(format!(
            "--preprocess whiten: the core's whitening layer is 2-D, but {} has {features} \
             features (use --preprocess standardize)",
            source(a)
        ));
    }
    if let Some(p) = &a.save {
        check_output_file("--save", p)?;
    }
    limits::check_depth(&layer_flags(a, false), &specs(a))?;
    plan_for(a, features, rows).check(&layer_flags(a, true))?;
    let outputs = *a.layers.0.last().unwrap_or(&1);
    if let Some(classes) = file_classes {
        // Every label was checked against the outputs as it was read.
        if classes > outputs.max(2) {
            return usage(format!(
                "--layers: the output layer has {outputs} unit(s) but {} has {classes} \
                 classes (labels 0 to {})",
                source(a),
                classes - 1
            ));
        }
    }
    let classes = match (file_classes, a.dataset) {
        (Some(classes), _) => classes,
        (None, DatasetArg::Clusters | DatasetArg::Spirals) => a.classes as usize,
        _ if a.classes != 2 => {
            return usage(format!(
                "--classes {}: the {:?} data set has 2 classes",
                a.classes, a.dataset
            ))
        }
        _ => 2,
    };
    // A file's classes need not all have an output (a one-unit net takes labels 0 and 1).
    let ok = outputs == classes
        || (outputs == 1 && classes <= 2)
        || (file_classes.is_some() && outputs >= classes);
    if !ok {
        return usage(format!(
            "--layers: the output layer has {outputs} unit(s) but the data has {classes} classes \
             (use 1 output for 2 classes, or one per class)"
        ));
    }
    if let Err(e) = a.loss.loss().check(a.output.activation(), outputs) {
        return usage(
            format!(
                "--loss {:?} does not fit --output {:?} with {outputs} output(s): {e}",
                a.loss, a.output
            )
            .to_lowercase(),
        );
    }
    if a.output.activation() == microprop::Activation::Softmax && outputs < 2 {
        return usage("--output softmax needs at least 2 outputs");
    }
    if a.data.is_none() && a.dataset == DatasetArg::Xor && a.spread.is_some_and(|s| s >= 1.0) {
        return usage("--spread: the XOR margin must be below 1");
    }
    if a.batch_norm && a.batch < 2 {
        return usage(format!(
            "--batch-norm normalises over a batch: --batch {} must be at least 2",
            a.batch
        ));
    }
    Ok(classes)
}

/// Checks that batch norm never meets a batch of one row among `train_rows` training rows.
fn check_batches(a: &TrainArgs, train_rows: usize) -> Res<()> {
    if a.batch_norm && train_rows % a.batch as usize == 1 {
        let choose = if a.data.is_some() {
            "--val-fraction or --batch"
        } else {
            "--samples, --val-fraction or --batch"
        };
        return usage(format!(
            "--batch-norm: {train_rows} samples in batches of {} leave a last batch of 1, \
             which batch norm cannot normalise (choose {choose} so that it is at least 2)",
            a.batch
        ));
    }
    Ok(())
}

/// Reads `--data`: the header first (the input layer must take its features, the run's
/// network must fit the budget), then the rows, at most as many as the trainer indexes
/// and the budget holds, each label one the output layer takes.
///
/// # Errors
/// `io` if the file cannot be read; usage errors for everything [`CsvReader`] refuses
/// and a feature count that is not `--layers`' first entry.
fn read_data(a: &TrainArgs, path: &Path) -> Res<crate::table::Table> {
    // The file is read whole (the `csv` crate's line numbers are off after blank lines
    // and CRLF, so the lines are counted in its bytes): it counts in the budget while
    // the rows are parsed. A file that cannot be read is `CsvReader::open`'s io error.
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let inputs = a.layers.0.first().copied().unwrap_or(0);
    let base = plan_for(a, inputs, 0).plus(len);
    base.check(&format!(
        "--data {} ({}) with {}",
        path.display(),
        limits::bytes_str(len),
        layer_flags(a, true)
    ))?;
    let reader = CsvReader::open(path, a.target.as_deref())?;
    let features = reader.features();
    let columns = format!(" (every column but the label `{}`)", reader.label());
    check_inputs(a, features, &columns)?;
    let budget_rows =
        limits::MAX_BYTES.saturating_sub(base.total_bytes()) / row_bytes(a, features).max(1);
    let (max_rows, rows_why) = if budget_rows < MAX_ROWS as u64 {
        (
            budget_rows as usize,
            format!(
                "more would pass the simulator's memory budget of {} with {}",
                limits::BUDGET,
                layer_flags(a, true)
            ),
        )
    } else {
        (
            MAX_ROWS,
            format!("the trainer indexes at most {MAX_ROWS} samples"),
        )
    };
    let outputs = *a.layers.0.last().unwrap_or(&1);
    let max_label = if outputs == 1 {
        1
    } else {
        u8::try_from(outputs - 1).unwrap_or(u8::MAX)
    };
    let label_why = format!(
        "--layers {}: the output layer's {outputs} unit(s) take labels 0 to {max_label}",
        sizes_str(&a.layers.0)
    );
    reader.read(&RowLimits {
        max_rows,
        rows_why,
        max_label,
        label_why,
    })
}

/// `microprop-sim train`.
pub fn run(a: &TrainArgs, ctx: &Ctx) -> Res<Output> {
    let (res, data, grid) = match (a.scalar, a.math) {
        (ScalarArg::F32, MathArg::Libm) => train_with::<Libm>(a, ctx)?,
        (ScalarArg::F32, MathArg::Micromath) => train_with::<Micromath>(a, ctx)?,
        (ScalarArg::F32, MathArg::Fast) => train_with::<microprop::Fast>(a, ctx)?,
        (ScalarArg::F64, _) => train_scalar::<f64, Libm>(a, ctx)?,
        (ScalarArg::Q16, _) => train_scalar::<Q16, FixedTable>(a, ctx)?,
    };
    if let (Some(path), Some(grid)) = (&a.plot, grid) {
        let fig = Boundary {
            title: format!(
                "{} {} ({}): accuracy {:.1} %",
                a.layers
                    .0
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join("-"),
                format!("{:?}", a.activation).to_lowercase(),
                match &a.data {
                    Some(p) => p
                        .file_name()
                        .map_or_else(|| p.display().to_string(), |f| f.to_string_lossy().into()),
                    None => dataset_name(a.dataset),
                },
                res.accuracy * 100.0
            ),
            data: &data,
            grid,
        };
        plot::save(&fig, path)?;
    }
    let json = json!({
        "accuracy": res.accuracy,
        "final_loss": res.final_loss,
        "loss_per_epoch": res.loss_per_epoch,
        "epochs_to_95": res.epochs_to_95,
        "params": res.params,
        "bytes": res.bytes,
        "training_bytes": res.training_bytes,
        "grad_norms_init": res.grad_norms_init,
        "grad_norms_final": res.grad_norms_final,
        "weights_hash": stats::hex16(res.weights_hash),
        "ns_per_step": res.ns_per_step,
        "steps": res.steps,
        "saved": a.save.as_ref().map(|p| p.display().to_string()),
        "plot": a.plot.as_ref().map(|p| p.display().to_string()),
        "saved_bytes": res.saved_bytes,
        "batch_norm": a.batch_norm,
        "dropout": a.dropout,
        "l2": a.l2,
        "predictions": a.points.iter().zip(&res.predictions)
            .map(|(p, y)| json!({ "x": p.0, "y": y }))
            .collect::<Vec<_>>(),
        "data": a.data.as_ref().map(|p| p.display().to_string()),
        "offset": a.offset.map_or([0.0, 0.0], |o| o.0),
        "label_column": res.label_column,
        "features": res.features,
        "classes": res.classes,
        "train_samples": res.train_samples,
        "val_samples": res.val_rows.len(),
        "val_rows": res.val.as_ref().map(|_| &res.val_rows),
        "val_accuracy": res.val.as_ref().map(|v| v.accuracy),
        "val_loss": res.val.as_ref().map(|v| v.loss),
        "val_loss_per_epoch": res.val.as_ref().map(|v| &v.loss_per_epoch),
        "val_accuracy_per_epoch": res.val.as_ref().map(|v| &v.accuracy_per_epoch),
        "warnings": res.warnings.iter()
            .map(|w| json!({ "kind": w.kind, "message": w.message }))
            .collect::<Vec<_>>(),
    });
    if !ctx.json {
        for w in &res.warnings {
            eprintln!("warning: {} ({})", w.message, w.kind);
        }
    }
    let mut text = format!(
        "{}: {} samples ({} features, {} classes{}), {} trained on, {} held out\n",
        source(a),
        res.train_samples + res.val_rows.len(),
        res.features,
        res.classes,
        res.label_column
            .as_ref()
            .map_or(String::new(), |c| format!(", label column `{c}`")),
        res.train_samples,
        res.val_rows.len(),
    );
    for (i, (l, acc)) in res
        .loss_per_epoch
        .iter()
        .zip(&res.accuracy_per_epoch)
        .enumerate()
    {
        let e = i + 1;
        let n = res.loss_per_epoch.len();
        if n <= 20 || e == 1 || e % (n / 10).max(1) == 0 || e == n {
            text += &format!("epoch {e:>5}  loss {l:.5}  accuracy {:.1} %", acc * 100.0);
            if let Some(v) = &res.val {
                text += &format!(
                    "  val loss {:.5}  val accuracy {:.1} %",
                    v.loss_per_epoch[i],
                    v.accuracy_per_epoch[i] * 100.0
                );
            }
            text += "\n";
        }
    }
    text += &format!(
        "accuracy {:.1} %{}, final loss {:.5}, epochs to 95 %: {}\n\
         params {}, weights {} bytes (+{} training bytes), {:.0} ns/step over {} steps\n\
         grad norms at init  {:?}\ngrad norms at end   {:?}\nweights hash {}\n",
        res.accuracy * 100.0,
        if res.val.is_some() {
            " (training rows)"
        } else {
            ""
        },
        res.final_loss,
        res.epochs_to_95
            .map_or("never".to_string(), |e| e.to_string()),
        res.params,
        res.bytes,
        res.training_bytes,
        res.ns_per_step,
        res.steps,
        short(&res.grad_norms_init),
        short(&res.grad_norms_final),
        stats::hex16(res.weights_hash),
    );
    if let Some(v) = &res.val {
        text += &format!(
            "validation ({} held-out samples): accuracy {:.1} %, loss {:.5}\n",
            res.val_rows.len(),
            v.accuracy * 100.0,
            v.loss
        );
    }
    if let Some(p) = &a.plot {
        text += &format!("decision boundary: {}\n", p.display());
    }
    if let (Some(p), Some(n)) = (&a.save, res.saved_bytes) {
        text += &format!("model saved: {} ({n} bytes)\n", p.display());
    }
    for (p, y) in a.points.iter().zip(&res.predictions) {
        text += &format!("{:?} -> {:?}\n", p.0, y);
    }
    Ok(Output { json, text })
}

/// The flags that shape the network (and, with `optimizer`, its memory), as a message
/// names them: `--layers with --batch-norm, …`.
fn layer_flags(a: &TrainArgs, optimizer: bool) -> String {
    let mut extras = Vec::new();
    if a.preprocess != PreprocessArg::None {
        extras.push(format!("--preprocess {:?}", a.preprocess).to_lowercase());
    }
    if a.batch_norm {
        extras.push("--batch-norm".to_string());
    }
    if a.dropout.is_some() {
        extras.push("--dropout".to_string());
    }
    if optimizer && a.optimizer != OptimizerArg::Sgd {
        extras.push(format!("--optimizer {:?}", a.optimizer).to_lowercase());
    }
    if extras.is_empty() {
        "--layers".to_string()
    } else {
        format!("--layers with {}", extras.join(", "))
    }
}

/// `2-16-16-1`... as `--layers` spells it: `2,16,16,1`.
fn sizes_str(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn short(v: &[f64]) -> Vec<String> {
    v.iter().map(|x| format!("{x:.2e}")).collect()
}

/// On a grid over the data, for plots: the class-1 probability (one output), else the
/// arg-max class (0 or 1 for two classes: the ends of the probability ramp;
/// [`background_color`] colours each).
pub type Grid = (Vec<f64>, Vec<f64>, Vec<Vec<f64>>);

/// Points per axis of the decision-boundary grid (`GRID²` forward passes).
pub const GRID: usize = 120;

/// Trains per the flags with maths backend `M`; returns the result, the data (every row,
/// as generated or read: the network's first layer preprocesses it) and, when `--plot`
/// asks for the
/// figure, the prediction grid over it (`GRID × GRID` forward passes: for a wide net far
/// more than the training, so never computed for nothing).
///
/// # Errors
/// Usage errors for bad flag combinations; training errors.
pub fn train_with<M: Math<f32>>(
    a: &TrainArgs,
    ctx: &Ctx,
) -> Res<(TrainResult, Data, Option<Grid>)> {
    let mut rng = microprop::rng(a.seed);
    let (data, label_column) = match &a.data {
        Some(path) => {
            let table = read_data(a, path)?;
            let d = &table.data;
            validate(a, d.features, d.len(), Some(d.classes))?;
            (table.data, Some(table.label))
        }
        None => {
            let classes = validate(a, FEATURES, a.samples as usize, None)?;
            let kind = DatasetKind::from(a.dataset);
            let spread = a.spread.unwrap_or_else(|| kind.default_spread());
            let mut data = Data::generate(kind, a.samples as usize, classes, spread, &mut rng)?;
            if !data.is_finite() {
                return usage(format!(
                    "--spread {spread:e}: the {} data overflows f32",
                    dataset_name(a.dataset)
                ));
            }
            if let Some(off) = a.offset {
                data.shift(off.0);
                if !data.is_finite() {
                    return usage(format!(
                        "--offset {},{}: the shifted {} data overflows f32",
                        off.0[0],
                        off.0[1],
                        dataset_name(a.dataset)
                    ));
                }
            }
            (data, None)
        }
    };
    // The held-out rows (their own random stream: `rng` is untouched).
    let split: Option<Split> = if a.val_fraction > 0.0 {
        Some(data::split(&data, a.val_fraction, a.seed)?)
    } else {
        None
    };
    let train = split.as_ref().map_or(&data, |s| &s.train);
    check_batches(a, train.len())?;
    let first = preprocessing_layer(a.preprocess, train)?;
    let (init, mult) = init_of(a.init, a.init_scale);
    let extras = net::Extras {
        batch_norm: a.batch_norm,
        dropout: a.dropout,
    };
    let mut layers = net::layers_with::<f32>(
        &a.layers.0,
        a.activation.activation(),
        a.output.activation(),
        extras,
    )?;
    if let Some(first) = first {
        layers.insert(0, first);
    }
    // Batch norm normalises over the whole batch: the buffers hold one; otherwise the
    // batch is accumulated a row at a time.
    let capacity = if a.batch_norm { a.batch as usize } else { 1 };
    let mut net = net::build::<f32, M>(layers, init, a.bias_init, capacity, &mut rng)?;
    if mult != 1.0 {
        net.visit_layers_mut(|l| {
            if l.kind == microprop::layer::Kind::Dense {
                l.w.iter_mut().for_each(|w| *w *= mult);
            }
        });
    }
    if !net::weights_finite(&net) {
        return usage(format!(
            "--init-scale {}: the initial weights overflow f32",
            a.init_scale.unwrap_or(mult)
        ));
    }
    let loss: Loss = a.loss.loss();
    let view = train.view()?;
    let val_view = split.as_ref().map(|s| s.val.view()).transpose()?;
    let grad_norms_init = stats::grad_norms(&mut net, loss, &view)?;
    let mut opt = optim::new::<M>(a.optimizer, a.lr, net.params())?;
    let mut trainer = Trainer::new(loss, a.batch as usize)?
        .with_regularization(microprop::Regularization::new(f64::from(a.l2), None)?);
    let mut order = vec![0u16; train.len()];
    core_train::fill_order(&mut order)?;
    let pb = ctx.progress(u64::from(a.epochs), "train");
    let mut loss_per_epoch = Vec::new();
    let mut accuracy_per_epoch = Vec::new();
    let mut epochs_to_95 = None;
    let (mut val_loss_per_epoch, mut val_accuracy_per_epoch) = (Vec::new(), Vec::new());
    let mut train_ns = 0u128;
    for e in 1..=a.epochs {
        let t = Instant::now();
        trainer
            .epoch(&mut net, &mut opt, &view, &mut order, &mut rng)
            .map_err(|err| failure(ErrorKind::of_core(&err), format!("epoch {e}: {err}")))?;
        train_ns += t.elapsed().as_nanos();
        let m = core_train::evaluate(&mut net, loss, &view)?;
        loss_per_epoch.push(f64::from(m.loss));
        accuracy_per_epoch.push(f64::from(m.accuracy));
        if epochs_to_95.is_none() && m.accuracy >= 0.95 {
            epochs_to_95 = Some(e);
        }
        if let Some(v) = &val_view {
            let m = core_train::evaluate(&mut net, loss, v)?;
            val_loss_per_epoch.push(f64::from(m.loss));
            val_accuracy_per_epoch.push(f64::from(m.accuracy));
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let m = core_train::evaluate(&mut net, loss, &view)?;
    let val = match &val_view {
        Some(v) => {
            let m = core_train::evaluate(&mut net, loss, v)?;
            Some(Validation {
                accuracy: f64::from(m.accuracy),
                loss: f64::from(m.loss),
                loss_per_epoch: val_loss_per_epoch,
                accuracy_per_epoch: val_accuracy_per_epoch,
            })
        }
        None => None,
    };
    let grad_norms_final = stats::grad_norms(&mut net, loss, &view)?;
    let warnings = health_warnings(&mut net, loss, train, f64::from(m.loss))?;
    let steps = trainer.steps();
    let saved_bytes = match &a.save {
        Some(path) => Some(save_model(path, &net, &opt, trainer.epochs(), steps)?),
        None => None,
    };
    let predictions = a
        .points
        .iter()
        .map(|p| net::predict(net.network(), &p.0))
        .collect::<microprop::Result<Vec<_>>>()?;
    let grid = match a.plot {
        Some(_) => Some(predict_grid(&net, &data, loss, GRID)?),
        None => None,
    };
    let res = TrainResult {
        accuracy: f64::from(m.accuracy),
        final_loss: f64::from(m.loss),
        loss_per_epoch,
        accuracy_per_epoch,
        epochs_to_95,
        params: net.params(),
        bytes: net::weight_bytes(net.network()),
        training_bytes: net::training_bytes(&net),
        grad_norms_init,
        grad_norms_final,
        weights_hash: net.weights_hash(),
        ns_per_step: train_ns as f64 / f64::from(steps.max(1)),
        steps,
        saved_bytes,
        predictions,
        features: data.features,
        classes: data.classes,
        label_column,
        train_samples: train.len(),
        val_rows: split
            .as_ref()
            .map(|s| s.val_rows.clone())
            .unwrap_or_default(),
        val,
        warnings,
    };
    Ok((res, data, grid))
}

/// One epoch of [`train_scalar`] with its optimizer bound in.
type EpochFn<'a, S, M> = dyn FnMut(&mut HostNet<S, M>, &mut [u16], &mut microprop::DefaultRng) -> microprop::Result<()>
    + 'a;

/// `train --scalar f64|q16`: the same run as [`train_with`] (the same data, split, seed,
/// initial weights drawn the same way and rounded to `S`, trainer and epochs) in the
/// scalar `S`, for dense layers trained by SGD or momentum; the flags it does not take
/// are usage errors. Health warnings are not computed (empty).
///
/// # Errors
/// Usage errors for flags outside that subset; training errors.
pub fn train_scalar<S: Scalar, M: Math<S>>(
    a: &TrainArgs,
    ctx: &Ctx,
) -> Res<(TrainResult, Data, Option<Grid>)> {
    let scalar = S::NAME;
    let unsupported = [
        (a.batch_norm, "--batch-norm"),
        (a.dropout.is_some(), "--dropout"),
        (a.preprocess != PreprocessArg::None, "--preprocess"),
        (a.l2 != 0.0, "--l2"),
        (a.val_fraction > 0.0, "--val-fraction"),
        (a.plot.is_some(), "--plot"),
        (a.save.is_some(), "--save"),
        (
            !matches!(a.math, MathArg::Libm),
            "--math (f64 uses libm, q16 the integer table backend)",
        ),
        (
            !matches!(a.optimizer, OptimizerArg::Sgd | OptimizerArg::Momentum),
            "--optimizer other than sgd or momentum",
        ),
    ];
    if let Some((_, flag)) = unsupported.iter().find(|(on, _)| *on) {
        return usage(format!(
            "--scalar {scalar}: {flag} is not supported (f32 only; {scalar} trains dense layers with sgd or momentum)"
        ));
    }
    let mut rng = microprop::rng(a.seed);
    let (data, label_column) = match &a.data {
        Some(path) => {
            let table = read_data(a, path)?;
            let d = &table.data;
            validate(a, d.features, d.len(), Some(d.classes))?;
            (table.data, Some(table.label))
        }
        None => {
            let classes = validate(a, FEATURES, a.samples as usize, None)?;
            let kind = DatasetKind::from(a.dataset);
            let spread = a.spread.unwrap_or_else(|| kind.default_spread());
            let mut data = Data::generate(kind, a.samples as usize, classes, spread, &mut rng)?;
            if let Some(off) = a.offset {
                data.shift(off.0);
            }
            (data, None)
        }
    };
    let xs: Vec<S> = data.x.iter().map(|&v| S::from_f32(v)).collect();
    if !xs.iter().all(|v| v.is_finite()) {
        return usage(format!(
            "--scalar {scalar}: the data does not fit ({scalar} holds |x| < {})",
            S::MAX
        ));
    }
    check_batches(a, data.len())?;
    let (init, mult) = init_of(a.init, a.init_scale);
    let layers = net::layers_with::<S>(
        &a.layers.0,
        a.activation.activation().cast(),
        a.output.activation().cast(),
        net::Extras {
            batch_norm: false,
            dropout: None,
        },
    )?;
    let mut net = net::build::<S, M>(layers, init, a.bias_init, 1, &mut rng)?;
    if mult != 1.0 {
        let m = S::from_f32(mult);
        net.visit_layers_mut(|l| l.w.iter_mut().for_each(|w| *w *= m));
    }
    if !net::weights_finite(&net) {
        return usage(format!(
            "--init-scale: the initial weights overflow {scalar}"
        ));
    }
    let loss: Loss = a.loss.loss();
    let view = microprop::Dataset::from_flat(&xs, &data.labels, data.features)?;
    let grad_norms_init = stats::grad_norms(&mut net, loss, &view)?;
    let lr = S::from_f32(a.lr);
    let mut trainer = Trainer::new(loss, a.batch as usize)?;
    let mut order = vec![0u16; data.len()];
    core_train::fill_order(&mut order)?;
    let pb = ctx.progress(u64::from(a.epochs), "train");
    let (mut loss_per_epoch, mut accuracy_per_epoch) = (Vec::new(), Vec::new());
    let mut epochs_to_95 = None;
    let mut train_ns = 0u128;
    let params = net.params();
    let mut run = |opt: &mut EpochFn<'_, S, M>| -> Res<()> {
        for e in 1..=a.epochs {
            let t = Instant::now();
            opt(&mut net, &mut order, &mut rng)
                .map_err(|err| failure(ErrorKind::of_core(&err), format!("epoch {e}: {err}")))?;
            train_ns += t.elapsed().as_nanos();
            let m = core_train::evaluate(&mut net, loss, &view)?;
            loss_per_epoch.push(m.loss.to_f64());
            accuracy_per_epoch.push(m.accuracy.to_f64());
            if epochs_to_95.is_none() && m.accuracy.to_f64() >= 0.95 {
                epochs_to_95 = Some(e);
            }
            pb.inc(1);
        }
        Ok(())
    };
    if a.optimizer == OptimizerArg::Momentum {
        let mut opt = Momentum::new(
            MomentumConfig {
                lr,
                ..MomentumConfig::default()
            },
            vec![S::ZERO; params],
        )?;
        run(&mut |n, o, r| trainer.epoch(n, &mut opt, &view, o, r).map(|_| ()))?;
    } else {
        let mut opt = Sgd::new(lr)?;
        run(&mut |n, o, r| trainer.epoch(n, &mut opt, &view, o, r).map(|_| ()))?;
    }
    pb.finish_and_clear();
    let m = core_train::evaluate(&mut net, loss, &view)?;
    let grad_norms_final = stats::grad_norms(&mut net, loss, &view)?;
    let steps = trainer.steps();
    let predictions = a
        .points
        .iter()
        .map(|p| {
            let x: Vec<S> = p.0.iter().map(|&v| S::from_f32(v)).collect();
            net::predict(net.network(), &x).map(|y| y.iter().map(|v| v.to_f64() as f32).collect())
        })
        .collect::<microprop::Result<Vec<_>>>()?;
    let res = TrainResult {
        accuracy: m.accuracy.to_f64(),
        final_loss: m.loss.to_f64(),
        loss_per_epoch,
        accuracy_per_epoch,
        epochs_to_95,
        params: net.params(),
        bytes: net::weight_bytes(net.network()),
        training_bytes: net::training_bytes(&net),
        grad_norms_init,
        grad_norms_final,
        weights_hash: net.weights_hash(),
        ns_per_step: train_ns as f64 / f64::from(steps.max(1)),
        steps,
        saved_bytes: None,
        predictions,
        features: data.features,
        classes: data.classes,
        label_column,
        train_samples: data.len(),
        val_rows: Vec::new(),
        val: None,
        warnings: Vec::new(),
    };
    Ok((res, data, None))
}

/// Writes the trained network (every layer, its preprocessing included, with its
/// parameters and state) and its optimizer's state to `path` in microprop's model
/// format; returns the bytes written.
fn save_model<M: Math<f32>>(
    path: &Path,
    net: &HostNet<f32, M>,
    opt: &AnyOptimizer<M>,
    epoch: u32,
    step: u32,
) -> Res<usize> {
    let mut buf = vec![0u8; format::model_len(net, Some(opt.state().len()))];
    let extras = Extras {
        optimizer: Some(opt),
        progress: Progress { epoch, step },
    };
    let n = format::save_model(net, &extras, &mut buf)?;
    buf.truncate(n);
    std::fs::write(path, &buf)
        .map_err(|e| failure(ErrorKind::Io, format!("--save {}: {e}", path.display())))?;
    Ok(n)
}

/// The network's class score on an `n × n` grid over the data's bounding box: the output
/// for one unit, the predicted class (0 or 1) for two classes, else the predicted class
/// (see [`Grid`]).
fn predict_grid<M: Math<f32>>(
    net: &HostNet<f32, M>,
    data: &Data,
    loss: Loss,
    n: usize,
) -> Res<Grid> {
    let ([x0, x1], [y0, y1]) = data.bounds();
    let xs: Vec<f64> = (0..n)
        .map(|i| x0 + (x1 - x0) * i as f64 / (n - 1) as f64)
        .collect();
    let ys: Vec<f64> = (0..n)
        .map(|i| y0 + (y1 - y0) * i as f64 / (n - 1) as f64)
        .collect();
    let act = net
        .output_activation()
        .unwrap_or(microprop::Activation::Identity);
    let mut values = Vec::with_capacity(n);
    for &y in &ys {
        let mut row = Vec::with_capacity(n);
        for &x in &xs {
            // Inference (eval mode, no buffers). Where the class reads `z` (one identity
            // output under BCE), `z` is the output itself.
            let a = net::predict(net.network(), &[x as f32, y as f32])?;
            let v = if a.len() == 1 {
                if loss == Loss::BinaryCrossEntropy && act == microprop::Activation::Identity {
                    1.0 / (1.0 + (-f64::from(a[0])).exp())
                } else {
                    f64::from(a[0])
                }
            } else {
                // The class itself (for two classes 0 or 1, the ends of the ramp).
                loss.predicted_class(act, &a, &a) as f64
            };
            row.push(v);
        }
        values.push(row);
    }
    Ok((xs, ys, values))
}

/// The colour of class `class`'s points in a decision-boundary figure of `classes`
/// classes: blue and red for two, else [`plot::series_color`] (which repeats after 8).
pub fn point_color(classes: usize, class: usize) -> RGBColor {
    match (classes <= 2, class) {
        (true, 0) => RGBColor(20, 60, 200),
        (true, _) => RGBColor(200, 20, 20),
        (false, k) => plot::series_color(k),
    }
}

/// The background colour of a grid cell of value `v` ([`Grid`]) in a figure of `classes`
/// classes. Two classes: a ramp over the class-1 probability from pale blue (class 0's
/// points are blue) through pale green-grey at ½ to pale red (class 1's are red). More:
/// the pale colour ([`plot::pale`]) of the predicted class's points ([`point_color`]),
/// `v` being that class.
pub fn background_color(classes: usize, v: f64) -> RGBColor {
    if classes <= 2 {
        let p = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.5
        };
        RGBColor(
            (150.0 + 105.0 * p) as u8,
            (170.0 + 40.0 * (1.0 - (2.0 * p - 1.0).abs())) as u8,
            (255.0 - 105.0 * p) as u8,
        )
    } else {
        let k = if v.is_finite() && v >= 0.0 {
            v.round() as usize
        } else {
            0
        };
        plot::pale(point_color(classes, k))
    }
}

/// The decision-boundary figure.
struct Boundary<'a> {
    title: String,
    data: &'a Data,
    grid: Grid,
}

impl Figure for Boundary<'_> {
    fn size(&self) -> (u32, u32) {
        (820, 640)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res<()>
    where
        DB::ErrorType: 'static,
    {
        let (xs, ys, v) = &self.grid;
        let (x0, x1) = (xs[0], xs[xs.len() - 1]);
        let (y0, y1) = (ys[0], ys[ys.len() - 1]);
        let dx = (x1 - x0) / (xs.len() - 1) as f64;
        let dy = (y1 - y0) / (ys.len() - 1) as f64;
        let classes = self.data.classes.max(2);
        let (main, side) = root.split_horizontally(720);
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x0 (feature 0, as given)")
            .y_desc("x1 (feature 1, as given)")
            .x_label_formatter(&|v| plot::tick(*v))
            .y_label_formatter(&|v| plot::tick(*v))
            .label_style(("sans-serif", 13))
            .draw()?;
        // Background: each cell in the pale colour of its class's points.
        chart.draw_series(ys.iter().enumerate().flat_map(|(iy, &y)| {
            xs.iter().enumerate().map(move |(ix, &x)| {
                let c = background_color(classes, v[iy][ix]);
                Rectangle::new(
                    [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                    c.filled(),
                )
            })
        }))?;
        for k in 0..classes {
            let c = point_color(classes, k);
            chart.draw_series(
                self.data
                    .rows()
                    .zip(&self.data.labels)
                    .filter(|(_, &l)| usize::from(l) == k)
                    .map(|(p, _)| {
                        Circle::new(
                            (f64::from(p[0]), f64::from(p[1])),
                            3,
                            ShapeStyle::from(c).filled(),
                        )
                    }),
            )?;
        }
        // The key, beside the plot: the background's colour bar, then the points' colours.
        let (_, h) = side.dim_in_pixel();
        let key_h = 30 + 18 * classes.min(12) as u32;
        let (bar, key) = side.split_vertically(h.saturating_sub(key_h));
        if classes <= 2 {
            plot::colour_bar(
                &bar,
                "P(class 1)",
                &|t| background_color(2, t),
                &[0.0, 0.25, 0.5, 0.75, 1.0].map(|t| (t, plot::tick(t))),
            )?;
        } else {
            let ticks: Vec<(f64, String)> = (0..classes)
                .map(|k| ((k as f64 + 0.5) / classes as f64, k.to_string()))
                .collect();
            plot::colour_bar(
                &bar,
                "predicted class",
                &|t| background_color(classes, (t * classes as f64 - 0.5).round()),
                &ticks,
            )?;
        }
        key.draw(&Text::new("points:", (2, 4), ("sans-serif", 12)))?;
        for k in 0..classes.min(12) {
            let y = 24 + 18 * k as i32;
            key.draw(&Circle::new(
                (10, y + 6),
                4,
                point_color(classes, k).filled(),
            ))?;
            key.draw(&Text::new(
                format!("class {k}"),
                (20, y),
                ("sans-serif", 12),
            ))?;
        }
        Ok(())
    }
}

/// Saves a decision boundary for an already trained run (the report uses this).
pub fn save_boundary(a: &TrainArgs, path: &Path, ctx: &Ctx) -> Res<TrainResult> {
    let mut a = a.clone();
    a.plot = Some(path.to_path_buf());
    let (res, data, grid) = match a.math {
        MathArg::Libm => train_with::<Libm>(&a, ctx)?,
        MathArg::Micromath => train_with::<Micromath>(&a, ctx)?,
        MathArg::Fast => train_with::<microprop::Fast>(&a, ctx)?,
    };
    let Some(grid) = grid else {
        return fail(ErrorKind::Internal, "train: --plot computed no grid");
    };
    let fig = Boundary {
        title: format!(
            "{}: accuracy {:.1} %",
            a.layers
                .0
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            res.accuracy * 100.0
        ),
        data: &data,
        grid,
    };
    plot::save(&fig, path)?;
    Ok(res)
}
