//! The command line. Names are stable: scripts and tests depend on them.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use microprop::{Activation, Loss, Preprocess};

/// The help's closing text: exit codes and the `--json` error object (the contract of
/// [`ErrorKind`](crate::ErrorKind)).
pub const AFTER_HELP: &str = "\
Limits: a run's weights, gradients, optimizer state, buffers and data must fit the \
simulator's budget of 1 GiB, and a network built from --layers has at most 32 layers \
(the model format's limit); both are checked before any work, as usage errors.
Exit codes: 0 success; 2 usage error (a flag's value or a combination of flags refused \
before any work); 1 any other failure.
With --json a failure prints exactly one JSON object on stdout, \
{\"error\": {\"kind\": KIND, \"message\": TEXT}}, and the message on stderr. KIND is one of: \
usage (exit 2: the command line), io (a file or stdout could not be read or written), \
model (a model file or checkpoint is refused), compute (the core refused or failed a \
computation: a non-finite loss, an overflowing output), plot (a figure could not be \
drawn or written), check (the run finished but failed its check; the object also has \
the command's keys), internal (a bug).";

/// The microprop host simulator.
#[derive(Debug, Parser)]
#[command(name = "microprop-sim", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print exactly one JSON object on stdout and nothing else (on failure:
    /// `{"error": {"kind", "message"}}`, see below).
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the firmware's training application with simulated LED, delay and cycle counter.
    Demo(DemoArgs),
    /// Run the firmware's checkpoint-and-resume program on a RAM flash that can lose power.
    Resume(ResumeArgs),
    /// Run the firmware's learning-under-drift program: online learning with replay beside a frozen model, checkpointed.
    Drift(DriftArgs),
    /// Run the firmware's cost benchmark with the host clock (nanoseconds, and each backend's error).
    Bench(BenchArgs),
    /// Train a run-time shaped network on a toy data set or a CSV file (--data).
    Train(TrainArgs),
    /// Load a model file (`train --save`, or written by the device) and run it.
    Predict(PredictArgs),
    /// Convert a PyTorch nn.Sequential of Linear layers saved with safetensors into a model file.
    #[command(after_help = IMPORT_AFTER_HELP)]
    Import(ImportArgs),
    /// Describe a model file: layers, parameters, preprocessing, optimizer state, bytes to run and train, CRC.
    #[command(after_help = INSPECT_AFTER_HELP)]
    Inspect(InspectArgs),
    /// Write a model file as Rust source (a `static` of its compile-time type) and/or a C header.
    Export(crate::export::ExportArgs),
    /// Run the firmware's fine-tuning program: the embedded iris model, fine-tuned on the device's data.
    Finetune(crate::finetune::FinetuneArgs),
    /// Check every activation x loss gradient against five-point central finite differences (f64).
    Gradcheck(GradcheckArgs),
    /// Per-layer gradient norms at initialisation, by activation.
    Vanishing(VanishingArgs),
    /// Loss and gradient-norm surfaces of a 2-layer and a 9-layer all-2-wide sigmoid net.
    Landscape(LandscapeArgs),
    /// Same-sign updates: one neuron, two weights, all-positive vs zero-centred inputs.
    Zigzag(ZigzagArgs),
    /// Per-layer activation statistics for each initialiser (10-layer tanh and ReLU nets).
    Init(InitArgs),
    /// Fraction of dead ReLUs against the bias initialisation.
    DeadRelu(DeadReluArgs),
    /// Zero or constant initialisation: the hidden units stay identical (the symmetry is never broken).
    Symmetry(crate::symmetry::SymmetryArgs),
    /// Train against validation accuracy of a wide net on a small noisy set: none, L2, dropout, both.
    Overfit(crate::overfit::OverfitArgs),
    /// Batch norm: per-layer activation histograms of deep tanh/sigmoid nets with and without it.
    BnHist(crate::bn_hist::BnHistArgs),
    /// Babysitting checks: initial loss ln K, L2 raises it, a tiny subset overfits to 100 %.
    Babysit(crate::babysit::BabysitArgs),
    /// Random search over learning rate x L2 strength (log-uniform), coarse then fine.
    Search(crate::search::SearchArgs),
    /// Activation functions, their derivatives and their cost per maths backend.
    Activations(ActivationsArgs),
    /// The core's optimizers on a 2-D ravine: paths over the loss contours.
    Optimizers(crate::optimizers::OptimizersArgs),
    /// Learning rates too low, right and too high on a real net: loss curves over seeds, divergence flagged.
    LrSweep(crate::lr_sweep::LrSweepArgs),
    /// Learning-rate schedules (constant, step, exponential, cosine, warm-up + cosine): rates and loss curves.
    Schedules(crate::schedules::SchedulesArgs),
    /// Run every experiment into a directory with an index.html.
    Report(ReportArgs),
}

/// `--activation` of hidden layers: any activation of the core's table that is not
/// output-only, by its [name](Activation::name) (the usual α) or as `name:α`.
#[derive(Clone, Copy, PartialEq)]
pub struct HiddenAct(pub Activation);

/// `--output` activation: any activation of the core's table, by its
/// [name](Activation::name) (the usual α) or as `name:α` (the loss checks the pairing).
#[derive(Clone, Copy, PartialEq)]
pub struct OutputAct(pub Activation);

impl HiddenAct {
    /// The core activation.
    pub fn activation(self) -> Activation {
        self.0
    }
    /// The value parser of `--activation` (possible values from [`Activation::ALL`]).
    pub fn parser() -> ActParser {
        ActParser { hidden: true }
    }
}

impl OutputAct {
    /// The core activation.
    pub fn activation(self) -> Activation {
        self.0
    }
    /// The value parser of `--output` (possible values from [`Activation::ALL`]).
    pub fn parser() -> ActParser {
        ActParser { hidden: false }
    }
}

/// How the command line spells an activation: its name when α is the usual one (or it has
/// none), else `name:α`.
pub fn act_flag(act: Activation) -> String {
    if Activation::ALL.contains(&act) {
        act.name().to_string()
    } else {
        act.to_string()
    }
}

/// `Display` and `Debug` as the command line spells the value ([`act_flag`]).
macro_rules! act_display {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&act_flag(self.0))
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&act_flag(self.0))
            }
        }
    )*};
}
act_display!(HiddenAct, OutputAct);

/// Parses an activation flag through the core's [`FromStr`](std::str::FromStr) for
/// [`Activation`]; lists the core's names as the possible values. Hidden layers refuse
/// output-only activations (softmax).
#[derive(Clone, Copy, Debug)]
pub struct ActParser {
    hidden: bool,
}

impl ActParser {
    fn accepts(self, act: Activation) -> bool {
        !(self.hidden && act.is_output_only())
    }
}

impl clap::builder::TypedValueParser for ActParser {
    type Value = Activation;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Activation, clap::Error> {
        let text = value.to_string_lossy();
        let why = match text.parse::<Activation>() {
            Ok(act) if self.accepts(act) => return Ok(act),
            Ok(_) => "is only valid on the output layer".to_string(),
            Err(e) => e.to_string(),
        };
        let names: Vec<&str> = Activation::ALL
            .into_iter()
            .filter(|&a| self.accepts(a))
            .map(|a| a.name())
            .collect();
        let flag = arg.map_or_else(|| "the activation".to_string(), |a| a.to_string());
        let mut cmd = cmd.clone();
        Err(cmd.error(
            clap::error::ErrorKind::InvalidValue,
            format!(
                "invalid value '{text}' for '{flag}': {why} [possible values: {}; `name:α` sets α]",
                names.join(", ")
            ),
        ))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Activation::ALL
                .into_iter()
                .filter(|&a| self.accepts(a))
                .map(|a| clap::builder::PossibleValue::new(a.name()).help(a.about())),
        ))
    }
}

/// `--loss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// ½ Σ (a − y)².
    Mse,
    /// Binary cross-entropy on logits.
    Bce,
    /// Softmax cross-entropy.
    Ce,
}

impl LossArg {
    /// The core loss.
    pub fn loss(self) -> Loss {
        match self {
            LossArg::Mse => Loss::Mse,
            LossArg::Bce => Loss::BinaryCrossEntropy,
            LossArg::Ce => Loss::CrossEntropy,
        }
    }
}

/// `--init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InitArg {
    /// All zero.
    Zeros,
    /// N(0, S²) with S = --init-scale (default 0.01).
    Normal,
    /// Xavier normal, times --init-scale (default 1).
    Xavier,
    /// He normal, times --init-scale (default 1).
    He,
}

/// `--optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Plain SGD.
    Sgd,
    /// SGD with momentum.
    Momentum,
    /// Nesterov momentum.
    Nesterov,
    /// AdaGrad.
    Adagrad,
    /// RMSProp.
    Rmsprop,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// `--dataset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetArg {
    /// Gaussian clusters (two at ±(1,1); K on a circle).
    Clusters,
    /// XOR quadrants.
    Xor,
    /// Interleaved spirals, one arm per class (two by default; `--classes K` for K arms,
    /// the lecture's 3-class spiral with 3).
    Spirals,
}

/// `--preprocess`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PreprocessArg {
    /// Raw inputs.
    None,
    /// Subtract the mean.
    Mean,
    /// Subtract the mean, divide by the standard deviation.
    Standardize,
    /// 2-D PCA whitening: decorrelate the features and scale them to unit variance (2 features only).
    Whiten,
}

impl PreprocessArg {
    /// The core's standardisation mode, for the values a `Standardize` layer fits
    /// (`None` for raw inputs and for whitening, which is a `Whiten` layer).
    pub fn standardize(self) -> Option<Preprocess> {
        match self {
            PreprocessArg::None | PreprocessArg::Whiten => None,
            PreprocessArg::Mean => Some(Preprocess::Mean),
            PreprocessArg::Standardize => Some(Preprocess::Standardize),
        }
    }
}

/// `train --scalar`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScalarArg {
    /// 32-bit float (the default; every flag).
    F32,
    /// 64-bit float.
    F64,
    /// Q16.16 fixed point (`microprop::Q16`, integer maths).
    Q16,
}

/// `--math`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MathArg {
    /// libm (accurate).
    Libm,
    /// micromath (fast approximations).
    Micromath,
    /// fast: a table-driven `exp` within 2 ulp, libm for the rest (`microprop::Fast`).
    Fast,
}

fn positive_f32(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be finite and > 0"))
    }
}

fn non_negative_f32(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be finite and >= 0"))
    }
}

fn finite_f32(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{s}` must be finite"))
    }
}

/// Layer sizes, input first (`--layers 2,16,16,1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizes(pub Vec<usize>);

fn layer_list(s: &str) -> Result<Sizes, String> {
    let sizes: Vec<usize> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|e| format!("`{p}` is not a layer size: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if sizes.len() < 2 {
        return Err("give at least an input and an output size, e.g. 2,16,16,1".into());
    }
    if sizes.iter().any(|&n| n == 0 || n > 4096) {
        return Err("layer sizes must be between 1 and 4096".into());
    }
    Ok(Sizes(sizes))
}

/// `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file.
    #[arg(long)]
    pub load: PathBuf,
    /// An input to run (repeatable): its features, comma-separated (`--point 0.5,-1`).
    #[arg(long = "point", value_parser = point, allow_hyphen_values = true)]
    pub points: Vec<Point>,
    /// Maths backend.
    #[arg(long, value_enum, default_value_t = MathArg::Libm)]
    pub math: MathArg,
}

/// `import`'s closing help text: what it reads and refuses.
pub const IMPORT_AFTER_HELP: &str = "\
Reads tensors <index>.weight (out x in) and <index>.bias of each nn.Linear, in module \
order (indices need not be consecutive); F32 as is, F16 and BF16 widened exactly, F64 \
only if every value is an f32. Activations: --activation (hidden layers) and --output \
(the last layer) override the metadata key microprop.sequential, the module classes in \
order, comma-separated (Linear,ReLU,Linear,LeakyReLU(0.1),Linear,Softmax; also Tanh, \
Sigmoid, ELU(alpha), GELU, GELU(tanh), Identity); a Linear with no activation after it \
gets identity. Without that metadata both flags are needed (a usage error otherwise).
Errors: a bad file (a missing weight or bias, a weight that is not 2-D, sizes that do not \
chain, a non-finite value, an unknown class in the metadata, no layers, more than 32) is \
a model error (exit 1) naming the key.
JSON (--json): safetensors, out, layers (sizes, input first), indices (the Linear \
modules' indices), activations, activation_sources (flag or metadata, per layer), \
metadata (the microprop.sequential value or null), dtypes, params, saved_bytes, \
weights_hash.";

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The PyTorch nn.Sequential, saved with safetensors (`safetensors.torch.save_file`).
    #[arg(long, value_name = "FILE")]
    pub safetensors: PathBuf,
    /// The model file to write (microprop's format, no optimizer state).
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Activation of every hidden layer (overrides the file's metadata).
    #[arg(long, value_parser = HiddenAct::parser().map(HiddenAct))]
    pub activation: Option<HiddenAct>,
    /// Activation of the last layer (overrides the file's metadata).
    #[arg(long, value_parser = OutputAct::parser().map(OutputAct))]
    pub output: Option<OutputAct>,
}

/// `inspect`'s closing help text: its JSON keys and its errors.
pub const INSPECT_AFTER_HELP: &str = "\
JSON (--json, one object): file, file_bytes (the file's size), model_bytes (the length \
the header states, CRC included), format_version, scalar_bytes, depth, has_optimizer \
(the header's flag), crc {status: ok|mismatch, stored, computed} (CRC-32 as integers); \
when every check passes also inputs, outputs, layers[] {kind, inputs, outputs, \
activation (its --activation/--output spelling, null for kinds without one), params, \
state; batch-norm: momentum, eps; dropout: p}, params, state, preprocess (null, or \
{kind: standardize, mode, count, mean[], variance[], std[]} or {kind: whiten, count, \
mean[2], covariance[3], eps}), optimizer (null, or {name, learning_rate, steps, \
state_len}), progress {epoch, step}, bytes {run {weights, buffers, total}, train {batch, \
rows, weights, buffers, by_optimizer {sgd, momentum, nesterov, adagrad, rmsprop, adam, \
adamw}}} (null for f64 models).
Errors: a file that is not a model (bad magic, another format version, truncated) is a \
model error (exit 1). A CRC mismatch, or a spec or value the format's checks refuse, is a \
model error too (exit 1) whose JSON object still has the header's keys (file ... crc) \
beside \"error\".";

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file.
    pub file: PathBuf,
    /// The mini-batch the training bytes assume (as `train --batch`: a network with batch
    /// norm holds buffers for a whole batch, any other one row).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub batch: u32,
}

/// One input for `predict --point`.
#[derive(Clone, Debug, PartialEq)]
pub struct Point(pub Vec<f32>);

fn point(s: &str) -> Result<Point, String> {
    s.split(',')
        .map(|p| finite_f32(p.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(Point)
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed (default: the firmware's, 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not sleep in the simulated delay (the LED blinks are still counted).
    #[arg(long)]
    pub no_delay: bool,
    /// Clock of the simulated cycle counter, in MHz.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub clock_mhz: u32,
}

/// `resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The power fails right after epoch N's checkpoint is committed (in the first boot).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          conflicts_with = "cut_after_words")]
    pub cut_after_epoch: Option<u32>,
    /// The power fails at the K-th flash word written or erased in the first boot (it may
    /// tear a checkpoint half-way).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub cut_after_words: Option<u64>,
    /// The flash as a file: read at boot if it exists (e.g. a QEMU dump of the firmware's
    /// region), written back at the end. One invocation is then one boot; without it the
    /// flash is in memory and a cut is followed by a second boot.
    #[arg(long, value_name = "FILE")]
    pub flash: Option<PathBuf>,
    /// Seed (default: the firmware's, 6). Resuming needs the seed that wrote the checkpoint.
    #[arg(long, default_value_t = 6)]
    pub seed: u64,
    /// Epochs in all (default: the firmware's, 150).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub epochs: u32,
}

/// `drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Seed (default: the firmware's, 7). Resuming needs the settings that wrote the checkpoint.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Samples in the run (default 2000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub samples: Option<u32>,
    /// Half-turns of the clusters over the run (default 1; 0: no drift).
    #[arg(long, value_name = "X")]
    pub half_turns: Option<f32>,
    /// Replay steps after each new sample's step (default 1).
    #[arg(long, value_name = "N")]
    pub replay_steps: Option<u8>,
    /// Replay buffer capacity in samples: 8, 16, 32 (the firmware's) or 64.
    #[arg(long, default_value_t = 32)]
    pub replay: u32,
    /// The power fails after N samples of the first boot; a second boot resumes.
    #[arg(long, value_name = "N")]
    pub cut_after_samples: Option<u32>,
    /// The flash as a file (the QEMU dump's format): read at boot if it exists, written
    /// back at the end; one invocation is one boot.
    #[arg(long, value_name = "FILE")]
    pub flash: Option<PathBuf>,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Runs of the whole benchmark; the fastest time of each part is kept.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
}

/// `train`.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// Layer sizes, input first: 2,16,16,1. The input is the data's features (2 for the
    /// generated data sets; the feature columns of --data); the output one unit per class
    /// (or 1 for two classes); each size 1 to 4096. Limits, checked before any work: at most 32 layers in all (batch norm,
    /// dropout and preprocessing layers count; the model format's limit, so that every
    /// net trained can be saved and loaded), and the run's weights, gradients, optimizer
    /// state, buffers and data within the simulator's budget of 1 GiB.
    #[arg(long, value_parser = layer_list, default_value = "2,16,16,1")]
    pub layers: Sizes,
    /// Hidden activation.
    #[arg(long, value_parser = HiddenAct::parser().map(HiddenAct),
          default_value_t = HiddenAct(Activation::Relu))]
    pub activation: HiddenAct,
    /// Output activation.
    #[arg(long, value_parser = OutputAct::parser().map(OutputAct),
          default_value_t = OutputAct(Activation::Sigmoid))]
    pub output: OutputAct,
    /// Loss.
    #[arg(long, value_enum, default_value_t = LossArg::Mse)]
    pub loss: LossArg,
    /// Weight initialiser.
    #[arg(long, value_enum, default_value_t = InitArg::He)]
    pub init: InitArg,
    /// σ for `normal` (default 0.01); a multiplier for `xavier`/`he` (default 1).
    #[arg(long, value_parser = non_negative_f32, allow_hyphen_values = true)]
    pub init_scale: Option<f32>,
    /// Every bias starts at this value.
    #[arg(long, value_parser = finite_f32, default_value_t = 0.0, allow_hyphen_values = true)]
    pub bias_init: f32,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    pub optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, allow_hyphen_values = true, value_parser = positive_f32, default_value_t = 0.1)]
    pub lr: f32,
    /// Epochs.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub epochs: u32,
    /// Mini-batch size.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub batch: u32,
    /// Seed for data, initialisation and shuffling, and (through a stream of its own) the
    /// --val-fraction split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Generated data set (2 features; not with --data).
    #[arg(long, value_enum, default_value_t = DatasetArg::Clusters)]
    pub dataset: DatasetArg,
    /// Train on the rows of a CSV file instead of a generated data set: a header row
    /// naming the columns, then one row per sample; every column but the label a numeric
    /// feature, the label column (the last unless --target) an integer class label from 0
    /// to 255 (`2` or `2.0`; classes: the largest label + 1, not every class need appear;
    /// every label must be one the output layer takes: below its unit count, or 0/1 for
    /// one unit). The first --layers entry must be the feature count. At most 65536 rows. A missing,
    /// non-numeric or non-finite value, a bad label or a short row is a usage error
    /// naming the line and the column. Not with --dataset, --samples, --spread or
    /// --classes.
    #[arg(long, value_name = "FILE.csv",
          conflicts_with_all = ["dataset", "samples", "spread", "classes"])]
    pub data: Option<PathBuf>,
    /// The label column of --data: a header name, or a 0-based column index (a header
    /// name matching the text wins). Default: the last column.
    #[arg(long, value_name = "COLUMN", requires = "data")]
    pub target: Option<String>,
    /// Hold out this fraction F (0 <= F < 1) of the rows for validation, stratified
    /// (round(F × n) of each class's n rows, drawn by a random stream of --seed's own that
    /// takes nothing from the training's: the same seed holds out the same rows, and the
    /// initial weights are those of the same seed without a split). Training,
    /// --preprocess's fit and `accuracy` use the training rows only; `val_accuracy` and
    /// `val_loss` (and per epoch) are the held-out rows', `val_rows` their indices. With
    /// --dataset, --samples counts both sides. Each side needs a row. At 0 (the default)
    /// nothing is held out: `val_samples` is 0 and the other `val_*` keys are null.
    #[arg(long, value_name = "F", value_parser = fraction, default_value_t = 0.0)]
    pub val_fraction: f64,
    /// Classes: clusters (on a circle) and spirals (one arm each); xor has 2; not with
    /// --data.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub classes: u32,
    /// Samples of the generated data set, held-out ones included (not with --data).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub samples: u32,
    /// Cluster spread (std), spiral noise, or XOR margin (not with --data).
    #[arg(long, value_parser = non_negative_f32, allow_hyphen_values = true)]
    pub spread: Option<f32>,
    /// Shift every generated sample by (X, Y) (`--offset 5,5`; default 0,0): the data is
    /// no longer zero-centred, which is what `--preprocess mean` undoes. Not with --data
    /// (shift the file's columns instead).
    #[arg(long, value_name = "X,Y", value_parser = offset, allow_hyphen_values = true,
          conflicts_with = "data")]
    pub offset: Option<Offset>,
    /// Input preprocessing: fitted on the training rows only (not the --val-fraction
    /// ones) and made the network's first layer (a `Standardize` layer of any width, or
    /// a `Whiten` layer: 2 features only), so a saved model applies it too.
    #[arg(long, value_enum, default_value_t = PreprocessArg::None)]
    pub preprocess: PreprocessArg,
    /// Batch norm after every hidden dense layer (its activation applied after the
    /// normalisation; batches of at least 2 samples).
    #[arg(long)]
    pub batch_norm: bool,
    /// Inverted dropout with drop probability P after every hidden layer (training only).
    #[arg(long, value_name = "P", value_parser = probability)]
    pub dropout: Option<f64>,
    /// L2 strength λ: every step's mean gradient gets `λ w` for every dense weight (the
    /// loss `+ ½ λ Σ w²`; biases and batch norm's γ, β are not penalised); 0 = off.
    #[arg(long, value_name = "LAMBDA", value_parser = non_negative_f32, default_value_t = 0.0)]
    pub l2: f32,
    /// Maths backend.
    #[arg(long, value_enum, default_value_t = MathArg::Libm)]
    pub math: MathArg,
    /// The scalar the network computes in: f32, f64, or q16 (Q16.16 fixed point, with
    /// the integer table backend; --math is then ignored). f64 and q16 train dense layers
    /// with SGD or momentum, without --batch-norm, --dropout, --preprocess, --l2,
    /// --val-fraction, --plot or --save (usage error otherwise); the JSON keys are the same.
    #[arg(long, value_enum, default_value_t = ScalarArg::F32)]
    pub scalar: ScalarArg,
    /// Save the trained model: every layer (preprocessing included) with its parameters
    /// and state, and the optimizer's state (microprop's model format; `predict --load`
    /// and the firmware read it).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// After training, run the trained network in evaluation mode on this input, one
    /// value per feature (repeatable; `--point 0.5,-1`): the JSON's `predictions`, as
    /// `predict` reports them.
    #[arg(long = "point", value_parser = point, allow_hyphen_values = true)]
    pub points: Vec<Point>,
    /// Draw the decision boundary over the data into this file (2 features only; its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `train --offset X,Y`: added to every generated sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Offset(pub [f32; 2]);

fn offset(s: &str) -> Result<Offset, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [x, y] = parts.as_slice() else {
        return Err(format!("`{s}` is not two numbers X,Y (e.g. 5,5)"));
    };
    Ok(Offset([finite_f32(x.trim())?, finite_f32(y.trim())?]))
}

/// A held-out fraction: a number in `[0, 1)`.
fn fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if f.is_finite() && (0.0..1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{s} is not a fraction in [0, 1)"))
    }
}

/// A drop probability: a number in `[0, 1)`.
fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if p.is_finite() && (0.0..1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability in [0, 1)"))
    }
}

/// `gradcheck`.
#[derive(Debug, Args)]
pub struct GradcheckArgs {
    /// Finite-difference step (also tried at 0.1× and 10×).
    #[arg(long, default_value_t = 1e-4, value_parser = clap::value_parser!(f64))]
    pub step: f64,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Plot file for the V-curve (relative error against step size, f32 and f64).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `vanishing`.
#[derive(Debug, Args)]
pub struct VanishingArgs {
    /// Hidden layers.
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub depth: u32,
    /// Width of every hidden layer.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub width: u32,
    /// Activations to compare.
    #[arg(
        long,
        value_parser = HiddenAct::parser().map(HiddenAct),
        value_delimiter = ',',
        default_value = "sigmoid,tanh,relu"
    )]
    pub activation: Vec<HiddenAct>,
    /// Initialiser (default: He for the ReLU family, Xavier otherwise), as `train`'s.
    #[arg(long, value_enum)]
    pub init: Option<InitArg>,
    /// σ for `normal` (default 0.01); a multiplier of the weights for `xavier`/`he`
    /// (default 1), as `train`'s; `zeros` takes none.
    #[arg(long, value_parser = non_negative_f32, allow_hyphen_values = true)]
    pub init_scale: Option<f32>,
    /// Samples of the two-cluster data the gradients are averaged over.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub samples: u32,
    /// First seed (`grad_norms` and `first_over_last` are this seed's).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seeds `seed, seed + 1, …`: the spread (min, median, max) over them.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub seeds: u32,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `landscape`.
#[derive(Debug, Args, Clone)]
pub struct LandscapeArgs {
    /// Grid points per axis.
    #[arg(long, default_value_t = 81, value_parser = clap::value_parser!(u32).range(3..=1001))]
    pub grid: u32,
    /// Sweep each weight over [-range, range].
    #[arg(long, default_value_t = 10.0, value_parser = positive_f32, allow_hyphen_values = true)]
    pub range: f32,
    /// Training epochs for both nets.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub epochs: u32,
    /// Learning rate.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f32, allow_hyphen_values = true)]
    pub lr: f32,
    /// Cluster spread (RMS distance of a point from its centre ±(1, 1)).
    #[arg(long, default_value_t = 1.0, value_parser = non_negative_f32, allow_hyphen_values = true)]
    pub spread: f32,
    /// Initial weights are drawn from N(0, S²) (large enough that a 9-deep, 2-wide
    /// sigmoid net can train at all).
    #[arg(long, default_value_t = 4.0, value_parser = positive_f32, allow_hyphen_values = true)]
    pub init_scale: f32,
    /// Seed.
    #[arg(long, default_value_t = 3)]
    pub seed: u64,
    /// Seeds tried (`seed`, `seed + 1`, …) until a net reaches 90 % accuracy; every attempt
    /// is reported, and a net that never does is measured and reported as not trained.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub attempts: u64,
    /// Centre of the swept window `X,Y` (`w[0][0]`, `w[1][0]`): the window is
    /// [X − range, X + range] × [Y − range, Y + range].
    #[arg(long, value_parser = point_f64, allow_hyphen_values = true, default_value = "0,0")]
    pub center: (f64, f64),
    /// Also sweep a zoomed window around the 9-layer net's gradient peak (a third row of
    /// panels), fine enough to resolve a band thinner than the main grid's step.
    #[arg(long)]
    pub zoom: bool,
    /// Plot file; its extension is replaced: both `.png` and `.svg` are written.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `X,Y`: two finite numbers.
fn point_f64(s: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [x, y] = parts[..] else {
        return Err(format!(
            "`{s}` is not X,Y (two numbers separated by a comma)"
        ));
    };
    let num = |t: &str| -> Result<f64, String> {
        let v: f64 = t
            .trim()
            .parse()
            .map_err(|e| format!("`{t}` is not a number: {e}"))?;
        if v.is_finite() && v.abs() < 1e6 {
            Ok(v)
        } else {
            Err(format!("`{t}` must be finite and below 1e6 in magnitude"))
        }
    };
    Ok((num(x)?, num(y)?))
}

/// `zigzag`.
#[derive(Debug, Args)]
pub struct ZigzagArgs {
    /// Normalised learning rate: each path steps by lr / mean ‖x‖² of its inputs.
    #[arg(long, default_value_t = 0.1, value_parser = positive_f32, allow_hyphen_values = true)]
    pub lr: f32,
    /// Most steps per path.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_steps: u32,
    /// Distance to the optimum that counts as arrived.
    #[arg(long, default_value_t = 0.05, value_parser = positive_f32, allow_hyphen_values = true)]
    pub tolerance: f32,
    /// Seed.
    #[arg(long, default_value_t = 5)]
    pub seed: u64,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Width of every layer.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub width: u32,
    /// Layers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub layers: u32,
    /// Input samples (standard normal). Every layer's activations for every sample are
    /// kept: width × layers × samples × 8 bytes, with the net, within the simulator's
    /// budget of 1 GiB.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub samples: u32,
    /// Seed.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    /// Plot file (std per layer; histograms go to `<stem>-tanh` and `<stem>-relu`; its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `dead-relu`.
#[derive(Debug, Args)]
pub struct DeadReluArgs {
    /// Bias initialisations to compare.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true,
          default_value = "-0.5,-0.2,-0.1,-0.01,0,0.01,0.1,0.2,0.5", value_parser = finite_f32)]
    pub bias: Vec<f32>,
    /// Layer sizes (hidden layers of --activation, sigmoid output), input first (2
    /// features). At most 32 layers, and each net's weights, gradients and buffers within the simulator's
    /// budget of 1 GiB.
    #[arg(long, value_parser = layer_list, default_value = "2,32,32,1")]
    pub layers: Sizes,
    /// Training epochs after initialisation.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub epochs: u32,
    /// Learning rates (one, or a comma-separated sweep; each > 0 and usable by SGD in
    /// f32). Large rates kill ReLUs.
    #[arg(long, value_delimiter = ',', default_value = "0.5", value_parser = positive_f32,
          allow_hyphen_values = true)]
    pub lr: Vec<f32>,
    /// Hidden activations to compare (the core's names, e.g. relu,leaky-relu,elu; not
    /// softmax).
    #[arg(
        long,
        value_parser = HiddenAct::parser().map(HiddenAct),
        value_delimiter = ',',
        default_value = "relu"
    )]
    pub activation: Vec<HiddenAct>,
    /// Seeds per activation × learning rate × bias (mean, std, min and max are reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub seeds: u32,
    /// Plot file (its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `activations`.
#[derive(Debug, Args)]
pub struct ActivationsArgs {
    /// Directory holding the microcontroller cost table of `cargo xtask bench-mcu`.
    #[arg(long)]
    pub mcu: Option<PathBuf>,
    /// Elements per timing run.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub elements: u32,
    /// Timing repetitions (the fastest is kept).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub reps: u32,
    /// Plot file (functions; costs go to `<stem>-cost`, MCU to `<stem>-mcu`; its extension picks the format: png, svg, jpg, jpeg or bmp).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Directory of the microcontroller cost table (default: `target/bench-mcu` if present).
    #[arg(long)]
    pub mcu: Option<PathBuf>,
    /// Smaller grids and fewer epochs (for tests).
    #[arg(long)]
    pub quick: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The limits the help states are the ones the checks apply.
    #[test]
    fn the_help_states_the_limits_in_force() {
        assert_eq!(crate::limits::BUDGET, "1 GiB");
        assert_eq!(crate::limits::MAX_DEPTH, 32);
        let mut cmd = Cli::command();
        let top = cmd.render_long_help().to_string();
        assert!(top.contains("budget of 1 GiB") && top.contains("at most 32 layers"));
        for sub in ["train", "dead-relu"] {
            let help = cmd
                .find_subcommand_mut(sub)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(
                help.contains("1 GiB") && help.contains("32 layers"),
                "{sub}: {help}"
            );
        }
        // Every error kind is in the help.
        for kind in crate::ErrorKind::ALL {
            assert!(AFTER_HELP.contains(&format!("{kind} (")), "{kind}");
        }
    }
}
