//! The model format: a trained network as bytes, and back, without a heap.
//!
//! The bytes are one [postcard] message (a compact, documented serde format) followed by
//! its CRC-32 (ISO-HDLC, the zlib/Ethernet polynomial), written and checked by postcard's
//! `use-crc` flavour. Saving writes into a caller buffer; loading reads into an existing
//! network, so the firmware needs no allocator, only a buffer of [`max_len`] bytes.
//!
//! # Layout (format version 1)
//! Fields in order; `varint` is postcard's LEB128 (zig-zag for signed), a scalar is its
//! IEEE bits little-endian (4 bytes for `f32`, 8 for `f64`), `seq` is a varint length then
//! the items.
//!
//! | field | encoding |
//! |---|---|
//! | magic | 4 bytes `MPRP` ([`MAGIC`]) |
//! | format version | varint `u16` ([`VERSION`]) |
//! | scalar size | `u8`: 4 (`f32`) or 8 (`f64`) |
//! | inputs | varint `u32` |
//! | layers | `seq` of (outputs: varint `u32`, activation code: `u8` ([`Activation::code`]), α: scalar) |
//! | preprocessing | enum tag (varint): 0 = none; 1 = standardizer: mode `u8` (0 none, 1 mean, 2 standardize), count varint `u32`, `seq` of scalars `mean₀, var₀, mean₁, var₁, …`. Further tags can be added without a version bump: old readers reject them as malformed |
//! | whitening | option tag `u8`: 0 = none; 1 = 2-D PCA whitening ([`WhiteningStats`]): count varint `u32`, mean 2 × `f64`, covariance `σxx, σxy, σyy` 3 × `f64`, ε `f64` (always `f64`, as fitted) |
//! | weights | `seq` of scalars: layer by layer, first layer first; each layer's weights row by row (`w[o·inputs + i]`), then its biases |
//! | optimizer | option tag `u8`: 0 = none; 1 = name (`seq` of UTF-8 bytes), learning rate (scalar), state (`seq` of scalars, [`Optimizer::state`]) |
//! | progress | epoch varint `u32`, step varint `u32` ([`Progress`]) |
//! | CRC-32 | 4 bytes little-endian over every byte above |
//!
//! # Loading
//! Loading runs twice over the bytes: a check pass parses everything, verifies the CRC and
//! compares the stored shape with the target; only if all of that passes does a second
//! pass write the weights (and the optimizer state, preprocessing statistics and PCA
//! whitening, when asked). A failed load therefore leaves the target bit-identical.
//! Errors are checked in this order, and the first one found is returned: bad magic,
//! unsupported version, scalar size (only the two known sizes can be parsed), then the
//! CRC, then what differs (inputs, depth, a layer's width or activation, a missing
//! section, preprocessing dimension, optimizer name or state length, a non-finite value).
//!
//! ```
//! use microprop::{format, mlp, Activation, Init};
//! type Net = mlp![f32; 2, 4, 1];
//! let mut rng = microprop::rng(1);
//! let net = Net::new(Activation::Tanh, Activation::Sigmoid, Init::XavierUniform, 0.0, &mut rng)?;
//!
//! let mut buf = [0u8; format::network_len::<Net>(None, None)];
//! let n = format::save_network(&net, &format::Extras::none(), &mut buf)?;
//!
//! let mut copy = Net::zeroed(Activation::Tanh, Activation::Sigmoid)?;
//! format::load_network(&buf[..n], &mut copy, format::Targets::none())?;
//! assert_eq!(copy, net);
//! # Ok::<(), microprop::Error>(())
//! ```

use core::fmt;

use crc::{Crc, CRC_32_ISO_HDLC};
use postcard::de_flavors::{crc::CrcModifier, Slice};
use serde::de::{self, DeserializeSeed, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{self, SerializeSeq, SerializeTuple};
use serde::{Deserializer, Serialize, Serializer};

use crate::layer::{Fixed, Net};
use crate::whitening::{PcaWhitening, WhiteningStats};
use crate::{Activation, Error, FormatError, Math, Model, Network, Optimizer, Preprocess};
use crate::{Result, Scalar, Standardizer};

/// The first four bytes of every model.
pub const MAGIC: [u8; 4] = *b"MPRP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// The deepest network [`read_info`] describes layer by layer.
pub const MAX_DEPTH: usize = 32;
/// Optimizer name length that [`max_len`] budgets for.
pub const MAX_NAME: usize = 16;

static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// How far training had got when the model was saved (stored as is; for resuming).
///
/// [`Adam`](crate::Adam) and [`AdamW`](crate::AdamW) keep their step count outside
/// [`Optimizer::state`]: after loading, restore it with `set_steps(progress.step)` (the
/// checkpoint resume test shows the run then ends bit-identical to an uninterrupted one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Completed epochs.
    pub epoch: u32,
    /// Completed optimizer steps.
    pub step: u32,
}

/// Preprocessing statistics the format can store: implemented by [`Standardizer`]; a
/// run-time sized preprocessor (the host simulator's) can implement it too.
pub trait Statistics<S: Scalar> {
    /// Features (the network's inputs).
    fn dim(&self) -> usize;
    /// The transform.
    fn mode(&self) -> Preprocess;
    /// Samples the statistics were fitted on.
    fn count(&self) -> u32;
    /// Mean and population variance of feature `i` (`None` past the end).
    fn mean_variance(&self, i: usize) -> Option<(S, S)>;
    /// Replaces the statistics: `next` yields `dim()` (mean, variance) pairs in order.
    ///
    /// # Errors
    /// [`FormatError::Malformed`] if `next` runs out early.
    fn restore(
        &mut self,
        mode: Preprocess,
        count: u32,
        next: &mut dyn FnMut() -> Option<(S, S)>,
    ) -> Result<()>;
}

impl<S: Scalar, const D: usize> Statistics<S> for Standardizer<S, D> {
    fn dim(&self) -> usize {
        D
    }
    fn mode(&self) -> Preprocess {
        Standardizer::mode(self)
    }
    fn count(&self) -> u32 {
        Standardizer::count(self)
    }
    fn mean_variance(&self, i: usize) -> Option<(S, S)> {
        Some((*self.mean().get(i)?, *self.variance().get(i)?))
    }
    fn restore(
        &mut self,
        mode: Preprocess,
        count: u32,
        next: &mut dyn FnMut() -> Option<(S, S)>,
    ) -> Result<()> {
        let mut mean = [S::ZERO; D];
        let mut var = [S::ZERO; D];
        for (m, v) in mean.iter_mut().zip(var.iter_mut()) {
            (*m, *v) = next().ok_or(FormatError::Malformed)?;
        }
        *self = Standardizer::from_stats(mode, count, mean, var);
        Ok(())
    }
}

/// What is saved besides the weights.
#[derive(Clone, Copy, Default)]
pub struct Extras<'a, S> {
    /// Preprocessing statistics to store.
    pub preprocess: Option<&'a dyn Statistics<S>>,
    /// PCA whitening to store.
    pub whitening: Option<&'a PcaWhitening>,
    /// Optimizer whose name, learning rate and state to store (to resume training).
    pub optimizer: Option<&'a dyn Optimizer<S>>,
    /// Training progress to store.
    pub progress: Progress,
}

impl<S> Extras<'_, S> {
    /// Weights only.
    pub const fn none() -> Self {
        Extras {
            preprocess: None,
            whitening: None,
            optimizer: None,
            progress: Progress { epoch: 0, step: 0 },
        }
    }
}

impl<S: Scalar> fmt::Debug for Extras<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("preprocess", &self.preprocess.is_some())
            .field("whitening", &self.whitening.is_some())
            .field("optimizer", &self.optimizer.map(|o| o.name()))
            .field("progress", &self.progress)
            .finish()
    }
}

/// What a load restores besides the weights. A section asked for here must be in the
/// bytes ([`FormatError::Missing`] otherwise); a stored section not asked for is skipped.
#[derive(Default)]
pub struct Targets<'a, S> {
    /// Receives the preprocessing statistics.
    pub preprocess: Option<&'a mut dyn Statistics<S>>,
    /// Receives the PCA whitening.
    pub whitening: Option<&'a mut PcaWhitening>,
    /// Receives the learning rate and state; its name must match the stored one.
    pub optimizer: Option<&'a mut dyn Optimizer<S>>,
}

impl<S> Targets<'_, S> {
    /// Weights only.
    pub const fn none() -> Self {
        Targets {
            preprocess: None,
            whitening: None,
            optimizer: None,
        }
    }

    /// The same targets, borrowed for one more load (to retry with other bytes).
    pub fn reborrow(&mut self) -> Targets<'_, S> {
        Targets {
            preprocess: match &mut self.preprocess {
                Some(p) => Some(&mut **p),
                None => None,
            },
            whitening: self.whitening.as_deref_mut(),
            optimizer: match &mut self.optimizer {
                Some(o) => Some(&mut **o),
                None => None,
            },
        }
    }
}

impl<S: Scalar> fmt::Debug for Targets<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Targets")
            .field("preprocess", &self.preprocess.is_some())
            .field("whitening", &self.whitening.is_some())
            .field("optimizer", &self.optimizer.as_ref().map(|o| o.name()))
            .finish()
    }
}

/// What a successful load found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Loaded {
    /// Bytes the model took, CRC included (the rest of the slice was not read).
    pub len: usize,
    /// The stored training progress.
    pub progress: Progress,
    /// Whether preprocessing statistics were stored.
    pub has_preprocess: bool,
    /// Whether PCA whitening was stored.
    pub has_whitening: bool,
    /// Whether optimizer state was stored.
    pub has_optimizer: bool,
}

/// One stored layer's signature.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerInfo {
    /// Neurons.
    pub outputs: usize,
    /// Activation (with its α, stored in the file's scalar type and widened to `f64`,
    /// exactly).
    pub activation: Activation<f64>,
}

/// Stored preprocessing, described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PreprocessInfo {
    /// The transform.
    pub mode: Preprocess,
    /// Samples the statistics were fitted on.
    pub count: u32,
    /// Features.
    pub dim: usize,
}

/// Stored optimizer state, described.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerInfo<'a> {
    /// The optimizer's name ([`Optimizer::name`]).
    pub name: &'a str,
    /// The learning rate.
    pub learning_rate: f64,
    /// Scalars of state.
    pub state_len: usize,
}

/// Everything stored except the numbers: enough to build a matching network at run time
/// (the host simulator's `predict --load`). The CRC has been checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Info<'a> {
    /// Format version.
    pub version: u16,
    /// Bytes per scalar: 4 (`f32`) or 8 (`f64`).
    pub scalar_bytes: u8,
    /// Input features.
    pub inputs: usize,
    /// The layers, first to last.
    pub layers: heapless::Vec<LayerInfo, MAX_DEPTH>,
    /// Weights and biases stored.
    pub params: usize,
    /// Preprocessing statistics, if stored.
    pub preprocess: Option<PreprocessInfo>,
    /// PCA whitening, if stored.
    pub whitening: Option<WhiteningStats>,
    /// Optimizer state, if stored.
    pub optimizer: Option<OptimizerInfo<'a>>,
    /// Training progress.
    pub progress: Progress,
    /// Bytes the model takes, CRC included.
    pub len: usize,
}

impl Default for Info<'_> {
    fn default() -> Self {
        Info {
            version: 0,
            scalar_bytes: 0,
            inputs: 0,
            layers: heapless::Vec::new(),
            params: 0,
            preprocess: None,
            whitening: None,
            optimizer: None,
            progress: Progress::default(),
            len: 0,
        }
    }
}

/// Bytes to reserve for one model: an upper bound, exact except for varints (counted at
/// their widest) and the optimizer name (counted as [`MAX_NAME`] bytes).
///
/// `depth` layers, `params` weights and biases of `scalar_bytes` each, preprocessing
/// statistics for `preprocess_dim` features if `Some`, `optimizer_state` scalars of state
/// if `Some`; room for PCA whitening is always counted (54 bytes).
pub const fn max_len(
    scalar_bytes: usize,
    depth: usize,
    params: usize,
    preprocess_dim: Option<usize>,
    optimizer_state: Option<usize>,
) -> usize {
    const LEN: usize = 10; // a usize varint at its widest
    const U32: usize = 5; // a u32 varint at its widest
                          // Saturating throughout: an absurd size gives `usize::MAX`, never an overflow.
    const fn add(a: usize, b: usize) -> usize {
        a.saturating_add(b)
    }
    const fn mul(a: usize, b: usize) -> usize {
        a.saturating_mul(b)
    }
    let header = MAGIC.len() + 3 + 1 + U32;
    let layers = add(LEN, mul(depth, add(U32 + 1, scalar_bytes)));
    let preprocess = match preprocess_dim {
        Some(d) => add(2 + U32 + LEN, mul(mul(2, d), scalar_bytes)),
        None => 1,
    };
    let whitening = 1 + U32 + 6 * 8;
    let weights = add(LEN, mul(params, scalar_bytes));
    let optimizer = match optimizer_state {
        Some(n) => add(1 + LEN + MAX_NAME + LEN, mul(add(n, 1), scalar_bytes)),
        None => 1,
    };
    add(
        add(add(header, layers), add(preprocess, weights)),
        add(optimizer, 2 * U32 + 4 + whitening),
    )
}

/// [`max_len`] for the network type `N` (a [`Network`]), with preprocessing statistics
/// of `N::INPUTS` features if `preprocess` and `optimizer_state` scalars of optimizer state
/// if `Some`: the size of a static buffer for it.
///
/// ```
/// use microprop::{format, mlp};
/// type Net = mlp![f32; 2, 16, 16, 1];
/// static BUF: [u8; format::network_len::<Net>(Some(()), Some(0))] = [0; _];
/// assert!(BUF.len() > Net::PARAMS * 4);
/// ```
pub const fn network_len<N: NetworkType>(
    preprocess: Option<()>,
    optimizer_state: Option<usize>,
) -> usize {
    let dim = match preprocess {
        Some(()) => Some(N::INPUTS),
        None => None,
    };
    max_len(N::SCALAR_BYTES, N::DEPTH, N::PARAMS, dim, optimizer_state)
}

/// The sizes of a [`Network`] type, for [`network_len`].
pub trait NetworkType {
    /// Input features.
    const INPUTS: usize;
    /// Dense layers.
    const DEPTH: usize;
    /// Weights and biases.
    const PARAMS: usize;
    /// Bytes per scalar.
    const SCALAR_BYTES: usize;
}

impl<L: Net + Fixed<L::Scalar>, M> NetworkType for Network<L, M> {
    const INPUTS: usize = L::INPUTS;
    const DEPTH: usize = L::DEPTH;
    const PARAMS: usize = L::PARAMS;
    const SCALAR_BYTES: usize = <L::Scalar as Scalar>::BYTES;
}

/// Saves a network's weights (and `extras`) into `buf`; returns the bytes written.
///
/// # Errors
/// [`Error::Capacity`] if `buf` is too small (see [`network_len`]) or a count exceeds
/// `u32`.
pub fn save_network<L: Net, M: Math<L::Scalar>>(
    net: &Network<L, M>,
    extras: &Extras<'_, L::Scalar>,
    buf: &mut [u8],
) -> Result<usize> {
    encode(&NetSource(net), extras, buf)
}

/// Saves a [`Model`]'s weights (and `extras`) into `buf`: a
/// [`Training`](crate::Training), or the host simulator's run-time network.
///
/// # Errors
/// As [`save_network`].
pub fn save_model<T: Model + ?Sized>(
    model: &T,
    extras: &Extras<'_, T::Scalar>,
    buf: &mut [u8],
) -> Result<usize> {
    encode(&ModelSource(model), extras, buf)
}

/// Loads `bytes` into `net` (and `targets`). The network must have the stored shape and
/// activations. On error nothing is changed.
///
/// # Errors
/// [`Error::Format`] naming what differs (see the module documentation).
pub fn load_network<L: Net, M: Math<L::Scalar>>(
    bytes: &[u8],
    net: &mut Network<L, M>,
    targets: Targets<'_, L::Scalar>,
) -> Result<Loaded> {
    decode_into(bytes, &mut NetSink(net), targets)
}

/// Loads `bytes` into a [`Model`] (and `targets`). On error nothing is changed.
///
/// # Errors
/// As [`load_network`].
pub fn load_model<T: Model + ?Sized>(
    bytes: &[u8],
    model: &mut T,
    targets: Targets<'_, T::Scalar>,
) -> Result<Loaded> {
    decode_into(bytes, &mut ModelSink(model), targets)
}

/// Describes stored bytes without loading them (the CRC is checked).
///
/// # Errors
/// [`FormatError::BadMagic`], [`FormatError::UnsupportedVersion`],
/// [`FormatError::Checksum`], [`FormatError::Malformed`]; [`Error::Capacity`] past
/// [`MAX_DEPTH`] layers.
pub fn read_info(bytes: &[u8]) -> Result<Info<'_>> {
    let mut dec: Decoder<'_, '_, '_, f64> = Decoder::new(None, Targets::none());
    let len = run(bytes, &mut dec)?;
    if let Some(e) = dec.mismatch {
        return Err(e);
    }
    dec.info.len = len;
    Ok(dec.info)
}

// ---------------------------------------------------------------------------------------
// Reading and writing networks generically.

/// One layer's weights, read-only, as the format stores them.
#[derive(Clone, Copy, Debug)]
pub struct LayerWeights<'a, S> {
    /// Neurons.
    pub outputs: usize,
    /// Activation.
    pub activation: Activation<S>,
    /// Weights, row-major (`w[o · inputs + i]`).
    pub w: &'a [S],
    /// Biases.
    pub b: &'a [S],
}

trait Source<S> {
    fn inputs(&self) -> usize;
    fn layers(&self, f: &mut dyn FnMut(LayerWeights<'_, S>));
}

/// Write access for loading.
trait Sink<S>: Source<S> {
    fn weights_mut(&mut self, f: &mut dyn FnMut(&mut [S], &mut [S]));
}

struct NetSource<'a, L, M>(&'a Network<L, M>);
struct NetSink<'a, L, M>(&'a mut Network<L, M>);
struct ModelSource<'a, T: ?Sized>(&'a T);
struct ModelSink<'a, T: ?Sized>(&'a mut T);

/// A layer as the format (version 1) stores it: dense layers only.
fn weights_of<S: Scalar>(l: crate::layer::LayerRef<'_, S>) -> LayerWeights<'_, S> {
    LayerWeights {
        outputs: l.outputs,
        activation: l.activation.unwrap_or(Activation::Identity),
        w: l.w,
        b: l.b,
    }
}

impl<L: Net, M: Math<L::Scalar>> Source<L::Scalar> for NetSource<'_, L, M> {
    fn inputs(&self) -> usize {
        self.0.layers().inputs()
    }
    fn layers(&self, f: &mut dyn FnMut(LayerWeights<'_, L::Scalar>)) {
        self.0.visit(|l| f(weights_of(l)));
    }
}

impl<L: Net, M: Math<L::Scalar>> Source<L::Scalar> for NetSink<'_, L, M> {
    fn inputs(&self) -> usize {
        self.0.layers().inputs()
    }
    fn layers(&self, f: &mut dyn FnMut(LayerWeights<'_, L::Scalar>)) {
        self.0.visit(|l| f(weights_of(l)));
    }
}

impl<L: Net, M: Math<L::Scalar>> Sink<L::Scalar> for NetSink<'_, L, M> {
    fn weights_mut(&mut self, f: &mut dyn FnMut(&mut [L::Scalar], &mut [L::Scalar])) {
        self.0.visit_mut(|l| f(l.w, l.b));
    }
}

impl<T: Model + ?Sized> Source<T::Scalar> for ModelSource<'_, T> {
    fn inputs(&self) -> usize {
        self.0.inputs()
    }
    fn layers(&self, f: &mut dyn FnMut(LayerWeights<'_, T::Scalar>)) {
        self.0.visit_layers(|l| f(weights_of(l)));
    }
}

impl<T: Model + ?Sized> Source<T::Scalar> for ModelSink<'_, T> {
    fn inputs(&self) -> usize {
        self.0.inputs()
    }
    fn layers(&self, f: &mut dyn FnMut(LayerWeights<'_, T::Scalar>)) {
        self.0.visit_layers(|l| f(weights_of(l)));
    }
}

impl<T: Model + ?Sized> Sink<T::Scalar> for ModelSink<'_, T> {
    fn weights_mut(&mut self, f: &mut dyn FnMut(&mut [T::Scalar], &mut [T::Scalar])) {
        self.0.visit_layers_mut(|l| f(l.w, l.b));
    }
}

// ---------------------------------------------------------------------------------------
// Encoding.

fn encode<S: Scalar>(src: &dyn Source<S>, extras: &Extras<'_, S>, buf: &mut [u8]) -> Result<usize> {
    let enc = Encoder { src, extras };
    match postcard::to_slice_crc32(&enc, buf, CRC32.digest()) {
        Ok(out) => Ok(out.len()),
        Err(_) => Err(Error::Capacity),
    }
}

/// A scalar as the format stores it: the IEEE bits of an `f32` or `f64`.
struct Wire<S>(S);

impl<S: Scalar> Serialize for Wire<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let bits = self.0.to_bits_u64();
        if S::BYTES == 4 {
            s.serialize_f32(f32::from_bits(bits as u32))
        } else {
            s.serialize_f64(f64::from_bits(bits))
        }
    }
}

fn count<E: ser::Error>(n: usize) -> core::result::Result<u32, E> {
    u32::try_from(n).map_err(|_| E::custom("count exceeds u32"))
}

struct Encoder<'a, S> {
    src: &'a dyn Source<S>,
    extras: &'a Extras<'a, S>,
}

impl<S: Scalar> Serialize for Encoder<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut t = s.serialize_tuple(10)?;
        t.serialize_element(&MAGIC)?;
        t.serialize_element(&VERSION)?;
        t.serialize_element(&(S::BYTES as u8))?;
        t.serialize_element(&count::<Z::Error>(self.src.inputs())?)?;
        t.serialize_element(&LayersOut(self.src))?;
        t.serialize_element(&PreprocessOut(self.extras.preprocess))?;
        t.serialize_element(&self.extras.whitening.map(|w| {
            let st = w.stats();
            (st.count, st.mean, st.cov, st.eps)
        }))?;
        t.serialize_element(&WeightsOut(self.src))?;
        t.serialize_element(&self.extras.optimizer.map(OptimizerOut))?;
        t.serialize_element(&(self.extras.progress.epoch, self.extras.progress.step))?;
        t.end()
    }
}

struct LayersOut<'a, S>(&'a dyn Source<S>);

impl<S: Scalar> Serialize for LayersOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut depth = 0;
        self.0.layers(&mut |_| depth += 1);
        let mut seq = s.serialize_seq(Some(depth))?;
        let mut res = Ok(());
        self.0.layers(&mut |l| {
            if res.is_ok() {
                let act = l.activation;
                res = count::<Z::Error>(l.outputs)
                    .and_then(|o| seq.serialize_element(&(o, act.code(), Wire(act.alpha()))));
            }
        });
        res?;
        seq.end()
    }
}

struct WeightsOut<'a, S>(&'a dyn Source<S>);

impl<S: Scalar> Serialize for WeightsOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut params = 0;
        self.0.layers(&mut |l| params += l.w.len() + l.b.len());
        let mut seq = s.serialize_seq(Some(params))?;
        let mut res = Ok(());
        self.0.layers(&mut |l| {
            for &x in l.w.iter().chain(l.b) {
                if res.is_ok() {
                    res = seq.serialize_element(&Wire(x));
                }
            }
        });
        res?;
        seq.end()
    }
}

fn mode_code(mode: Preprocess) -> u8 {
    match mode {
        Preprocess::None => 0,
        Preprocess::Mean => 1,
        Preprocess::Standardize => 2,
    }
}

fn mode_from_code(code: u8) -> Option<Preprocess> {
    match code {
        0 => Some(Preprocess::None),
        1 => Some(Preprocess::Mean),
        2 => Some(Preprocess::Standardize),
        _ => None,
    }
}

const PREPROCESS: &str = "Preprocessing";
const PREPROCESS_VARIANTS: &[&str] = &["None", "Standardizer"];

struct PreprocessOut<'a, S>(Option<&'a dyn Statistics<S>>);

impl<S: Scalar> Serialize for PreprocessOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        match self.0 {
            None => s.serialize_unit_variant(PREPROCESS, 0, "None"),
            Some(stats) => {
                s.serialize_newtype_variant(PREPROCESS, 1, "Standardizer", &StatsOut(stats))
            }
        }
    }
}

struct StatsOut<'a, S>(&'a dyn Statistics<S>);

impl<S: Scalar> Serialize for StatsOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&mode_code(self.0.mode()))?;
        t.serialize_element(&self.0.count())?;
        t.serialize_element(&PairsOut(self.0))?;
        t.end()
    }
}

struct PairsOut<'a, S>(&'a dyn Statistics<S>);

impl<S: Scalar> Serialize for PairsOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let dim = self.0.dim();
        let mut seq = s.serialize_seq(Some(2 * dim))?;
        for i in 0..dim {
            let (m, v) = self
                .0
                .mean_variance(i)
                .ok_or_else(|| <Z::Error as ser::Error>::custom("statistics shorter than dim"))?;
            seq.serialize_element(&Wire(m))?;
            seq.serialize_element(&Wire(v))?;
        }
        seq.end()
    }
}

struct OptimizerOut<'a, S>(&'a dyn Optimizer<S>);

impl<S: Scalar> Serialize for OptimizerOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(self.0.name())?;
        t.serialize_element(&Wire(self.0.learning_rate()))?;
        t.serialize_element(&ScalarsOut(self.0.state()))?;
        t.end()
    }
}

struct ScalarsOut<'a, S>(&'a [S]);

impl<S: Scalar> Serialize for ScalarsOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> core::result::Result<Z::Ok, Z::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in self.0 {
            seq.serialize_element(&Wire(x))?;
        }
        seq.end()
    }
}

// ---------------------------------------------------------------------------------------
// Decoding.

fn decode_into<S: Scalar>(
    bytes: &[u8],
    sink: &mut dyn Sink<S>,
    targets: Targets<'_, S>,
) -> Result<Loaded> {
    let mut dec = Decoder::new(Some(sink), targets);
    let len = run(bytes, &mut dec)?;
    if let Some(e) = dec.mismatch {
        return Err(e);
    }
    // Everything checked: the same bytes again, this time writing.
    dec.write = true;
    run(bytes, &mut dec)?;
    if let Some(e) = dec.mismatch {
        return Err(e);
    }
    Ok(Loaded {
        len,
        progress: dec.info.progress,
        has_preprocess: dec.info.preprocess.is_some(),
        has_whitening: dec.info.whitening.is_some(),
        has_optimizer: dec.info.optimizer.is_some(),
    })
}

/// One pass: parse, check the CRC; returns the bytes used. A fatal error (magic, version,
/// scalar size) comes first, then parse and CRC errors; mismatches are left in `dec`.
fn run<'de, S: Scalar>(bytes: &'de [u8], dec: &mut Decoder<'_, '_, 'de, S>) -> Result<usize> {
    dec.fatal = None;
    dec.mismatch = None;
    dec.info = Info::default();
    let flavor = CrcModifier::new(Slice::new(bytes), CRC32.digest());
    let mut de = postcard::Deserializer::from_flavor(flavor);
    let parsed = (&mut *dec).deserialize(&mut de);
    if let Some(e) = dec.fatal {
        return Err(e.into());
    }
    parsed.map_err(postcard_error)?;
    let rest = de.finalize().map_err(postcard_error)?;
    Ok(bytes.len().saturating_sub(rest.len()))
}

fn postcard_error(e: postcard::Error) -> Error {
    match e {
        postcard::Error::DeserializeBadCrc => FormatError::Checksum.into(),
        _ => FormatError::Malformed.into(),
    }
}

struct Decoder<'s, 't, 'de, S> {
    sink: Option<&'s mut dyn Sink<S>>,
    targets: Targets<'t, S>,
    /// Second pass: write into the sink and targets.
    write: bool,
    /// Stops parsing (bad magic, version, scalar size).
    fatal: Option<FormatError>,
    /// The first difference from the target (parsing goes on to check the CRC).
    mismatch: Option<Error>,
    /// Scalar width in the bytes.
    width: u8,
    info: Info<'de>,
}

impl<'s, 't, 'de, S: Scalar> Decoder<'s, 't, 'de, S> {
    fn new(sink: Option<&'s mut dyn Sink<S>>, targets: Targets<'t, S>) -> Self {
        Decoder {
            sink,
            targets,
            write: false,
            fatal: None,
            mismatch: None,
            width: 0,
            info: Info::default(),
        }
    }

    fn differs(&mut self, e: impl Into<Error>) {
        if self.mismatch.is_none() {
            self.mismatch = Some(e.into());
        }
    }

    fn stop<E: de::Error>(&mut self, e: FormatError) -> E {
        self.fatal = Some(e);
        E::custom("fatal")
    }

    /// Whether values are written to the target (second pass and the right scalar).
    fn writes(&self) -> bool {
        self.write && self.mismatch.is_none() && usize::from(self.width) == S::BYTES
    }

    /// Checks (first pass) or restores (second pass) the PCA whitening.
    fn whitening(&mut self, stored: Option<(u32, [f64; 2], [f64; 3], f64)>) {
        let Some((count, mean, cov, eps)) = stored else {
            if self.targets.whitening.is_some() {
                self.differs(FormatError::Missing("whitening statistics"));
            }
            return;
        };
        let stats = WhiteningStats {
            count,
            mean,
            cov,
            eps,
        };
        self.info.whitening = Some(stats);
        match PcaWhitening::from_stats(stats) {
            Ok(w) => {
                if self.writes() {
                    if let Some(t) = self.targets.whitening.as_deref_mut() {
                        *t = w;
                    }
                }
            }
            Err(_) => self.differs(FormatError::NonFinite),
        }
    }

    fn check_shape(&mut self) {
        let Some(sink) = self.sink.as_deref() else {
            return;
        };
        let mut mismatch: Option<FormatError> = None;
        if usize::from(self.info.scalar_bytes) != S::BYTES {
            mismatch = Some(FormatError::ScalarType {
                expected: S::BYTES as u8,
                found: self.info.scalar_bytes,
            });
        }
        if mismatch.is_none() && sink.inputs() != self.info.inputs {
            mismatch = Some(FormatError::Inputs {
                expected: sink.inputs(),
                found: self.info.inputs,
            });
        }
        let stored = &self.info.layers;
        let mut depth = 0;
        sink.layers(&mut |_| depth += 1);
        if mismatch.is_none() && depth != stored.len() {
            mismatch = Some(FormatError::Depth {
                expected: depth,
                found: stored.len(),
            });
        }
        let mut index = 0;
        sink.layers(&mut |l| {
            let (outputs, act) = (l.outputs, l.activation);
            if mismatch.is_none() {
                match stored.get(index) {
                    Some(l) if l.outputs != outputs => {
                        mismatch = Some(FormatError::LayerWidth {
                            layer: index,
                            expected: outputs,
                            found: l.outputs,
                        });
                    }
                    Some(l) if l.activation != act.cast::<f64>() => {
                        mismatch = Some(FormatError::Activation {
                            layer: index,
                            expected: act.code(),
                            found: l.activation.code(),
                        });
                    }
                    _ => {}
                }
            }
            index += 1;
        });
        if let Some(m) = mismatch {
            self.differs(m);
        }
    }
}

impl<'de, S: Scalar> DeserializeSeed<'de> for &mut Decoder<'_, '_, 'de, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_tuple(10, Top(self))
    }
}

fn next<'de, A: SeqAccess<'de>, T: de::Deserialize<'de>>(
    seq: &mut A,
) -> core::result::Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::custom("missing field"))
}

fn next_seed<'de, A: SeqAccess<'de>, T: DeserializeSeed<'de>>(
    seq: &mut A,
    seed: T,
) -> core::result::Result<T::Value, A::Error> {
    seq.next_element_seed(seed)?
        .ok_or_else(|| de::Error::custom("missing field"))
}

struct Top<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

impl<'de, S: Scalar> Visitor<'de> for Top<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a microprop model")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        let dec = self.0;
        let magic: [u8; 4] = next(&mut seq)?;
        if magic != MAGIC {
            return Err(dec.stop(FormatError::BadMagic));
        }
        let version: u16 = next(&mut seq)?;
        dec.info.version = version;
        if version != VERSION {
            return Err(dec.stop(FormatError::UnsupportedVersion { found: version }));
        }
        let width: u8 = next(&mut seq)?;
        if width != 4 && width != 8 {
            return Err(dec.stop(FormatError::ScalarType {
                expected: S::BYTES as u8,
                found: width,
            }));
        }
        dec.width = width;
        dec.info.scalar_bytes = width;
        let inputs: u32 = next(&mut seq)?;
        dec.info.inputs = inputs as usize;
        next_seed(&mut seq, LayersIn(&mut *dec))?;
        dec.check_shape();
        next_seed(&mut seq, PreprocessIn(&mut *dec))?;
        type Stored = Option<(u32, [f64; 2], [f64; 3], f64)>;
        let stored: Stored = next(&mut seq)?;
        dec.whitening(stored);
        next_seed(&mut seq, WeightsIn(&mut *dec))?;
        next_seed(&mut seq, OptionIn(&mut *dec))?;
        let (epoch, step): (u32, u32) = next(&mut seq)?;
        dec.info.progress = Progress { epoch, step };
        Ok(())
    }
}

macro_rules! seq_seed {
    ($name:ident, $what:literal, |$dec:ident, $seq:ident| $body:block) => {
        struct $name<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

        impl<'de, S: Scalar> DeserializeSeed<'de> for $name<'_, '_, '_, 'de, S> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
                d.deserialize_seq(self)
            }
        }

        impl<'de, S: Scalar> Visitor<'de> for $name<'_, '_, '_, 'de, S> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($what)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut $seq: A,
            ) -> core::result::Result<(), A::Error> {
                let $dec = self.0;
                $body
            }
        }
    };
}

seq_seed!(LayersIn, "layer signatures", |dec, seq| {
    let mut prev = dec.info.inputs;
    let mut params = 0usize;
    while let Some((outputs, code, alpha)) = seq.next_element_seed(LayerSig(dec.width))? {
        let outputs = outputs as usize;
        let activation = match Activation::from_code(code, alpha) {
            Some(a) if a.is_valid() => a,
            _ => return Err(de::Error::custom("bad activation")),
        };
        params = prev
            .checked_mul(outputs)
            .and_then(|w| w.checked_add(outputs))
            .and_then(|n| n.checked_add(params))
            .ok_or_else(|| de::Error::custom("too many parameters"))?;
        prev = outputs;
        if dec
            .info
            .layers
            .push(LayerInfo {
                outputs,
                activation,
            })
            .is_err()
        {
            dec.differs(Error::Capacity);
        }
    }
    if dec.info.layers.is_empty() || dec.info.inputs == 0 || prev == 0 {
        return Err(de::Error::custom("empty network"));
    }
    dec.info.params = params;
    Ok(())
});

seq_seed!(WeightsIn, "weights", |dec, seq| {
    let width = dec.width;
    let mut found = 0usize;
    let mut finite = true;
    let mut err: Option<A::Error> = None;
    if dec.writes() {
        if let Some(sink) = dec.sink.as_deref_mut() {
            sink.weights_mut(&mut |w, b| {
                for x in w.iter_mut().chain(b.iter_mut()) {
                    if err.is_some() {
                        return;
                    }
                    match dec_scalar(width, &mut seq) {
                        Ok(Some(v)) => {
                            *x = v;
                            found += 1;
                        }
                        Ok(None) => err = Some(de::Error::custom("too few weights")),
                        Err(e) => err = Some(e),
                    }
                }
            });
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    // The check pass (and anything left over): count and check every value.
    while let Some(ok) = dec_finite(width, &mut seq)? {
        finite &= ok;
        found += 1;
    }
    if found != dec.info.params {
        return Err(de::Error::custom("weight count differs from the layers"));
    }
    if !finite {
        dec.differs(FormatError::NonFinite);
    }
    Ok(())
});

struct PreprocessIn<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

impl<'de, S: Scalar> DeserializeSeed<'de> for PreprocessIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_enum(PREPROCESS, PREPROCESS_VARIANTS, self)
    }
}

impl<'de, S: Scalar> Visitor<'de> for PreprocessIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("preprocessing statistics")
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> core::result::Result<(), A::Error> {
        let (tag, variant): (u32, _) = data.variant()?;
        match tag {
            0 => {
                variant.unit_variant()?;
                if self.0.targets.preprocess.is_some() {
                    self.0
                        .differs(FormatError::Missing("preprocessing statistics"));
                }
                Ok(())
            }
            1 => variant.tuple_variant(3, StatsIn(self.0)),
            _ => Err(de::Error::custom("unknown preprocessing")),
        }
    }
}

struct StatsIn<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

impl<'de, S: Scalar> Visitor<'de> for StatsIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standardizer statistics")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        let dec = self.0;
        let code: u8 = next(&mut seq)?;
        let mode = mode_from_code(code).ok_or_else(|| de::Error::custom("bad mode"))?;
        let count: u32 = next(&mut seq)?;
        next_seed(&mut seq, PairsIn { dec, mode, count })
    }
}

struct PairsIn<'a, 's, 't, 'de, S> {
    dec: &'a mut Decoder<'s, 't, 'de, S>,
    mode: Preprocess,
    count: u32,
}

impl<'de, S: Scalar> DeserializeSeed<'de> for PairsIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Scalar> Visitor<'de> for PairsIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mean and variance pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        let dec = self.dec;
        let width = dec.width;
        let mut found = 0usize;
        let mut err: Option<A::Error> = None;
        if dec.writes() {
            if let Some(target) = dec.targets.preprocess.as_deref_mut() {
                let mut read = || -> Option<S> {
                    match dec_scalar(width, &mut seq) {
                        Ok(v) => {
                            found += usize::from(v.is_some());
                            v
                        }
                        Err(e) => {
                            err = Some(e);
                            None
                        }
                    }
                };
                let restored =
                    target.restore(self.mode, self.count, &mut || Some((read()?, read()?)));
                if let Some(e) = err {
                    return Err(e);
                }
                if let Err(e) = restored {
                    dec.differs(e);
                }
            }
        }
        let mut finite = true;
        while let Some(ok) = dec_finite(width, &mut seq)? {
            finite &= ok;
            found += 1;
        }
        if !found.is_multiple_of(2) {
            return Err(de::Error::custom("odd number of statistics"));
        }
        let dim = found / 2;
        dec.info.preprocess = Some(PreprocessInfo {
            mode: self.mode,
            count: self.count,
            dim,
        });
        if let Some(target) = dec.targets.preprocess.as_deref() {
            if target.dim() != dim {
                dec.differs(FormatError::Preprocessing {
                    expected: target.dim(),
                    found: dim,
                });
            }
        }
        if !finite {
            dec.differs(FormatError::NonFinite);
        }
        Ok(())
    }
}

struct OptionIn<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

impl<'de, S: Scalar> DeserializeSeed<'de> for OptionIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: Scalar> Visitor<'de> for OptionIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("optional optimizer state")
    }
    fn visit_none<E: de::Error>(self) -> core::result::Result<(), E> {
        if self.0.targets.optimizer.is_some() {
            self.0.differs(FormatError::Missing("optimizer state"));
        }
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_tuple(3, OptimizerIn(self.0))
    }
}

struct OptimizerIn<'a, 's, 't, 'de, S>(&'a mut Decoder<'s, 't, 'de, S>);

impl<'de, S: Scalar> Visitor<'de> for OptimizerIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("optimizer state")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        let dec = self.0;
        let name: &'de str = next(&mut seq)?;
        let lr = if dec.width == 4 {
            f64::from(next::<_, f32>(&mut seq)?)
        } else {
            next::<_, f64>(&mut seq)?
        };
        if !dec.write {
            if let Some(opt) = dec.targets.optimizer.as_deref() {
                if opt.name() != name {
                    dec.differs(FormatError::Optimizer);
                }
            }
            if !(lr.is_finite() && lr > 0.0) {
                dec.differs(FormatError::NonFinite);
            }
        }
        if dec.writes() {
            if let Some(opt) = dec.targets.optimizer.as_deref_mut() {
                opt.set_learning_rate(S::from_f64(lr));
            }
        }
        next_seed(&mut seq, StateIn { dec, name, lr })
    }
}

struct StateIn<'a, 's, 't, 'de, S> {
    dec: &'a mut Decoder<'s, 't, 'de, S>,
    name: &'de str,
    lr: f64,
}

impl<'de, S: Scalar> DeserializeSeed<'de> for StateIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> core::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: Scalar> Visitor<'de> for StateIn<'_, '_, '_, 'de, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("optimizer state scalars")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        let dec = self.dec;
        let mut found = 0usize;
        if dec.writes() {
            if let Some(opt) = dec.targets.optimizer.as_deref_mut() {
                for x in opt.state_mut() {
                    *x = dec_scalar(dec.width, &mut seq)?
                        .ok_or_else(|| de::Error::custom("too little state"))?;
                    found += 1;
                }
            }
        }
        let mut finite = true;
        while let Some(ok) = dec_finite(dec.width, &mut seq)? {
            finite &= ok;
            found += 1;
        }
        dec.info.optimizer = Some(OptimizerInfo {
            name: self.name,
            learning_rate: self.lr,
            state_len: found,
        });
        if let Some(opt) = dec.targets.optimizer.as_deref() {
            let expected = opt.state().len();
            if expected != found {
                dec.differs(FormatError::OptimizerState { expected, found });
            }
        }
        if !finite {
            dec.differs(FormatError::NonFinite);
        }
        Ok(())
    }
}

/// One stored layer signature: outputs, activation code and α in the file's scalar (of
/// this many bytes), α widened to `f64` (exactly).
struct LayerSig(u8);

impl<'de> DeserializeSeed<'de> for LayerSig {
    type Value = (u32, u8, f64);
    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> core::result::Result<Self::Value, D::Error> {
        d.deserialize_tuple(3, self)
    }
}

impl<'de> Visitor<'de> for LayerSig {
    type Value = (u32, u8, f64);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a layer signature")
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> core::result::Result<Self::Value, A::Error> {
        let outputs: u32 = next(&mut seq)?;
        let code: u8 = next(&mut seq)?;
        let alpha = dec_scalar::<f64, A>(self.0, &mut seq)?
            .ok_or_else(|| de::Error::custom("missing field"))?;
        Ok((outputs, code, alpha))
    }
}

fn dec_scalar<'de, S: Scalar, A: SeqAccess<'de>>(
    width: u8,
    seq: &mut A,
) -> core::result::Result<Option<S>, A::Error> {
    Ok(if width == 4 {
        seq.next_element::<f32>()?
            .map(|v| S::from_f64(f64::from(v)))
    } else {
        seq.next_element::<f64>()?.map(S::from_f64)
    })
}

fn dec_finite<'de, A: SeqAccess<'de>>(
    width: u8,
    seq: &mut A,
) -> core::result::Result<Option<bool>, A::Error> {
    Ok(if width == 4 {
        seq.next_element::<f32>()?.map(f32::is_finite)
    } else {
        seq.next_element::<f64>()?.map(f64::is_finite)
    })
}
