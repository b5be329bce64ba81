//! The model format: a network as bytes, and back, without a heap.
//!
//! The bytes follow the layers: a fixed header, then each layer's [`Spec`] (kind, sizes,
//! hyper-parameters), then every layer's numbers as raw little-endian scalars, then the
//! training progress, the optimizer's whole state if saved, and a CRC-32 (ISO-HDLC, the
//! zlib/Ethernet polynomial). Saving writes into a caller buffer; loading reads into an
//! existing network, so a device needs no allocator, only a buffer of [`network_len`]
//! bytes. Any network that can be built can be saved and loaded — dense, batch-norm,
//! dropout, standardisation and whitening layers alike — with the same limits both ways:
//! saving refuses what loading would refuse (more than [`MAX_DEPTH`] layers, a non-finite
//! value or a negative variance, hyper-parameters [`Spec::validate`] rejects).
//!
//! # Layout (format version 2)
//! Integers are little-endian; a *scalar* is the IEEE bits of the network's scalar type
//! (4 bytes for `f32`, 8 for `f64`), or for [`Q16`](crate::Q16) its 32-bit integer (units
//! of 2⁻¹⁶, flags bit 1), little-endian. A file of one scalar loads only into a network of
//! that scalar ([`FormatError::ScalarType`] names Q16 as [`Q16_SCALAR_TAG`]); convert
//! between them with [`fixed::convert`](crate::fixed::convert).
//!
//! | field | bytes | content |
//! |---|---|---|
//! | magic | 4 | `MPRP` ([`MAGIC`]) |
//! | version | 1 | [`VERSION`] (= 2; version 1 wrote a one-byte varint here, so its files are told apart) |
//! | scalar size | 1 | 4 (`f32`) or 8 (`f64`) |
//! | flags | 1 | bit 0: optimizer state stored; bit 1: the scalars are Q16 (scalar size 4); other bits 0 |
//! | reserved | 1 | 0 |
//! | depth | 4 | layers, `1..=`[`MAX_DEPTH`] |
//! | length | 4 | bytes of the whole model, CRC included |
//! | specs | per layer | kind code `u8` ([`Kind::code`]), then the kind's fields (below) |
//! | values | per layer | its trainable parameters (`w`, then `b`), then its non-trainable state, as scalars ([`LayerRef`](crate::layer::LayerRef)'s `w`, `b`, `state`) |
//! | progress | 8 | epoch `u32`, step `u32` ([`Progress`]) |
//! | optimizer | if flagged | name length `u8` (≤ [`MAX_NAME`]), name (UTF-8), learning rate (scalar), steps `u32` ([`Optimizer::steps`]), state length `u32`, state (scalars, [`Optimizer::state`]) |
//! | CRC-32 | 4 | over every byte above |
//!
//! | kind (code) | spec fields | values |
//! |---|---|---|
//! | dense (0) | inputs `u32`, outputs `u32`, activation code `u8` ([`Activation::code`]), α (scalar) | weights row by row (`w[o·inputs + i]`), biases |
//! | batch norm (1) | width `u32`, activation code `u8`, α (scalar), momentum (scalar), ε (scalar) | γ, β, running mean, running variance |
//! | dropout (2) | width `u32`, `p` (scalar) | — |
//! | standardize (3) | width `u32`, mode `u8` (0 none, 1 mean, 2 standardize), count `u32` | mean, variance (per feature) |
//! | whiten (4) | count `u32`, mean 2 × `f64`, covariance `σxx, σxy, σyy` 3 × `f64`, ε `f64` | — (the fitted statistics are the spec, always `f64`) |
//!
//! # Loading
//! Loading is two passes over the bytes. The first checks everything: magic, version,
//! scalar size, length, CRC, depth, every spec (known kind, valid hyper-parameters,
//! layers that chain, softmax only on the last layer, a last layer with an activation, as
//! a [`Network`] requires), every value finite and every stored variance (batch norm's
//! running variance, a standardisation's variance) non-negative, then the target (scalar
//! type, depth, each layer's kind, width and activation, the optimizer's name and state
//! length). Only if
//! all of that passes does the second pass write: the hyper-parameters
//! ([`Seq::set_specs`](crate::layer::Seq::set_specs): batch norm's momentum and ε,
//! dropout's `p`, the preprocessing's mode, count and whitening statistics), every
//! layer's parameters and state, and the optimizer's learning rate, steps and state. A
//! failed load therefore leaves the target bit-identical. Errors come in that order; the
//! first found is returned.
//!
//! [`read_info`] makes the first pass's checks that need no target and describes the
//! model; [`read_header`] reads only the fixed header and computes the CRC beside the
//! stored one, to describe bytes that fail the checks.
//!
//! ```
//! use microprop::{format, mlp, Activation, Init};
//! type Net = mlp![f32; 2, 4, 1];
//! let mut rng = microprop::rng(1);
//! let net = Net::new(Activation::Tanh, Activation::Sigmoid, Init::XavierUniform, 0.0, &mut rng)?;
//!
//! let mut buf = [0u8; format::network_len::<Net>(None)];
//! let n = format::save_network(&net, &format::Extras::none(), &mut buf)?;
//!
//! let mut copy = Net::zeroed(Activation::Tanh, Activation::Sigmoid)?;
//! format::load_network(&buf[..n], &mut copy, format::Targets::none())?;
//! assert_eq!(copy, net);
//! # Ok::<(), microprop::Error>(())
//! ```

use core::fmt;

use crc::{Crc, CRC_32_ISO_HDLC};

use crate::layer::{Fixed, Kind, Net, Spec};
use crate::{Activation, Error, FormatError, Math, Model, Network, Optimizer};
use crate::{Result, Scalar};

/// The first four bytes of every model.
pub const MAGIC: [u8; 4] = *b"MPRP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 2;
/// The deepest network the format holds: [`save_network`] refuses a deeper one, and
/// loading refuses bytes that claim more ([`FormatError::TooDeep`]).
pub const MAX_DEPTH: usize = 32;
/// The longest optimizer name stored (saving refuses a longer one).
pub const MAX_NAME: usize = 16;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 16;
/// Bytes of the widest layer spec, its kind code included (a whitening layer's).
pub const MAX_SPEC_LEN: usize = Spec::MAX_LEN;

const PROGRESS_LEN: usize = 8;
const CRC_LEN: usize = 4;
const FLAG_OPTIMIZER: u8 = 1;
/// Flags bit 1: the 4-byte scalars are [`Q16`](crate::Q16) bits, not `f32`.
const FLAG_Q16: u8 = 2;
/// The internal scalar code of a Q16 file: 4 bytes, tagged (`code & 0xFF` is the size).
const Q16_CODE: usize = 0x104;
/// How [`FormatError::ScalarType`] names Q16: `0x80 | 4`.
pub const Q16_SCALAR_TAG: u8 = 0x84;

/// The internal scalar code of `S`: its size, tagged for Q16.
fn code_of<S: Scalar>() -> usize {
    if S::NAME == "q16" {
        Q16_CODE
    } else {
        S::BYTES
    }
}

/// Bytes per scalar of an internal scalar code.
const fn bytes_of(code: usize) -> usize {
    code & 0xFF
}

/// A scalar code as [`FormatError::ScalarType`] reports it.
fn tag_of(code: usize) -> u8 {
    if code == Q16_CODE {
        Q16_SCALAR_TAG
    } else {
        code as u8
    }
}

static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// How far training had got when the model was saved (stored as is; for resuming).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Completed epochs.
    pub epoch: u32,
    /// Completed optimizer steps.
    pub step: u32,
}

/// What is saved besides the network (whose layers carry their own state, preprocessing
/// included).
#[derive(Clone, Copy, Default)]
pub struct Extras<'a, S> {
    /// Optimizer whose name, learning rate, step count and state to store (to resume
    /// training).
    pub optimizer: Option<&'a dyn Optimizer<S>>,
    /// Training progress to store.
    pub progress: Progress,
}

impl<S> Extras<'_, S> {
    /// The network only (progress zero).
    pub const fn none() -> Self {
        Extras {
            optimizer: None,
            progress: Progress { epoch: 0, step: 0 },
        }
    }
}

impl<S: Scalar> fmt::Debug for Extras<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("optimizer", &self.optimizer.map(|o| o.name()))
            .field("progress", &self.progress)
            .finish()
    }
}

/// What a load restores besides the network. An optimizer asked for here must be in the
/// bytes ([`FormatError::Missing`] otherwise); a stored optimizer not asked for is
/// skipped.
#[derive(Default)]
pub struct Targets<'a, S> {
    /// Receives the learning rate, step count and state; its name and state length must
    /// match the stored ones.
    pub optimizer: Option<&'a mut dyn Optimizer<S>>,
}

impl<S> Targets<'_, S> {
    /// The network only.
    pub const fn none() -> Self {
        Targets { optimizer: None }
    }

    /// The same targets, borrowed for one more load (to retry with other bytes).
    pub fn reborrow(&mut self) -> Targets<'_, S> {
        Targets {
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
    /// Whether optimizer state was stored.
    pub has_optimizer: bool,
}

/// Stored optimizer state, described.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerInfo<'a> {
    /// The optimizer's name ([`Optimizer::name`]).
    pub name: &'a str,
    /// The learning rate.
    pub learning_rate: f64,
    /// Steps taken ([`Optimizer::steps`]).
    pub steps: u32,
    /// Scalars of state.
    pub state_len: usize,
}

/// Everything stored except the numbers: enough to build a matching network at run time
/// (each layer with [`DynLayer::from_spec`](crate::layer::DynLayer::from_spec), as the
/// host simulator's `predict --load` does). Everything has been checked (CRC, specs,
/// finite values).
#[derive(Clone, Debug, PartialEq)]
pub struct Info<'a> {
    /// Format version.
    pub version: u16,
    /// Bytes per scalar: 4 (`f32`) or 8 (`f64`).
    pub scalar_bytes: u8,
    /// Input features.
    pub inputs: usize,
    /// The layers' specs, first to last.
    pub layers: heapless::Vec<Spec, MAX_DEPTH>,
    /// Trainable parameters stored.
    pub params: usize,
    /// Non-trainable state scalars stored (running and fitted statistics).
    pub state: usize,
    /// Optimizer state, if stored.
    pub optimizer: Option<OptimizerInfo<'a>>,
    /// Training progress.
    pub progress: Progress,
    /// Bytes the model takes, CRC included.
    pub len: usize,
}

// ---------------------------------------------------------------------------------------
// Sizes.

/// Bytes of one layer's spec, kind code included, for scalars of `scalar_bytes`.
pub const fn spec_len(spec: &Spec, scalar_bytes: usize) -> usize {
    spec.encoded_len(scalar_bytes)
}

/// Bytes to reserve for one model: `depth` layers (each counted at [`MAX_SPEC_LEN`]),
/// `params` trainable parameters and `state` state scalars of `scalar_bytes` each, and
/// `optimizer_state` scalars of optimizer state if `Some` (its name counted as
/// [`MAX_NAME`] bytes). Exact but for those two budgets; saturates instead of overflowing.
pub const fn max_len(
    scalar_bytes: usize,
    depth: usize,
    params: usize,
    state: usize,
    optimizer_state: Option<usize>,
) -> usize {
    let specs = depth.saturating_mul(MAX_SPEC_LEN);
    let values = params.saturating_add(state).saturating_mul(scalar_bytes);
    let optimizer = match optimizer_state {
        Some(n) => {
            (1 + MAX_NAME + 4 + 4 + scalar_bytes).saturating_add(n.saturating_mul(scalar_bytes))
        }
        None => 0,
    };
    (HEADER_LEN + PROGRESS_LEN + CRC_LEN)
        .saturating_add(specs)
        .saturating_add(values)
        .saturating_add(optimizer)
}

/// [`max_len`] for the network type `N` (a compile-time [`Network`]), with
/// `optimizer_state` scalars of optimizer state if `Some`: the size of a static buffer
/// for it.
///
/// ```
/// use microprop::{format, mlp};
/// type Net = mlp![f32; 2, 16, 16, 1];
/// static BUF: [u8; format::network_len::<Net>(Some(0))] = [0; _];
/// assert!(BUF.len() > Net::PARAMS * 4);
/// ```
pub const fn network_len<N: NetworkType>(optimizer_state: Option<usize>) -> usize {
    max_len(
        N::SCALAR_BYTES,
        N::DEPTH,
        N::PARAMS,
        N::STATE,
        optimizer_state,
    )
}

/// The exact bytes [`save_model`] writes for `model`, with `optimizer_state` scalars of
/// optimizer state if `Some` (its name counted as [`MAX_NAME`] bytes): the size of a
/// run-time buffer.
pub fn model_len<T: Model + ?Sized>(model: &T, optimizer_state: Option<usize>) -> usize {
    let sb = <T::Scalar as Scalar>::BYTES;
    let mut specs = 0usize;
    model.specs(&mut |s| specs = specs.saturating_add(spec_len(&s, sb)));
    let mut values = 0usize;
    model.visit_layers(|l| values = values.saturating_add(l.w.len() + l.b.len() + l.state.len()));
    max_len(sb, 0, values, 0, optimizer_state).saturating_add(specs)
}

/// The sizes of a compile-time [`Network`] type, for [`network_len`].
pub trait NetworkType {
    /// Input features.
    const INPUTS: usize;
    /// Layers.
    const DEPTH: usize;
    /// Trainable parameters.
    const PARAMS: usize;
    /// Non-trainable state scalars.
    const STATE: usize;
    /// Bytes per scalar.
    const SCALAR_BYTES: usize;
}

impl<L: Net + Fixed<L::Scalar>, M> NetworkType for Network<L, M> {
    const INPUTS: usize = L::INPUTS;
    const DEPTH: usize = L::DEPTH;
    const PARAMS: usize = L::PARAMS;
    const STATE: usize = L::STATE;
    const SCALAR_BYTES: usize = <L::Scalar as Scalar>::BYTES;
}

// ---------------------------------------------------------------------------------------
// The public entry points.

/// Saves a network (every layer's spec, parameters and state) and `extras` into `buf`;
/// returns the bytes written.
///
/// # Errors
/// [`Error::Capacity`] if `buf` is too small (see [`network_len`]), a size exceeds `u32`
/// or the optimizer's name is longer than [`MAX_NAME`]; [`FormatError::TooDeep`] past
/// [`MAX_DEPTH`] layers; [`FormatError::InvalidSpec`] for hyper-parameters loading would
/// refuse; [`FormatError::NonFinite`] for a NaN or infinite value, a negative variance or
/// a learning rate that is not positive. Nothing is promised about `buf`'s contents after an error.
pub fn save_network<L: Net, M: Math<L::Scalar>>(
    net: &Network<L, M>,
    extras: &Extras<'_, L::Scalar>,
    buf: &mut [u8],
) -> Result<usize> {
    encode(&NetTarget(net), extras, buf)
}

/// Saves a [`Model`] (a [`Training`](crate::Training), compile-time or run-time) and
/// `extras` into `buf`.
///
/// # Errors
/// As [`save_network`].
pub fn save_model<T: Model + ?Sized>(
    model: &T,
    extras: &Extras<'_, T::Scalar>,
    buf: &mut [u8],
) -> Result<usize> {
    encode(&ModelTarget(model), extras, buf)
}

/// Loads `bytes` into `net` (and `targets`). The network must have the stored scalar
/// type, depth, and each layer's kind, sizes and activation; the other hyper-parameters,
/// the parameters and the state are taken from the bytes. On error nothing is changed.
///
/// # Errors
/// [`Error::Format`] naming what is wrong (see the module documentation).
pub fn load_network<L: Net, M: Math<L::Scalar>>(
    bytes: &[u8],
    net: &mut Network<L, M>,
    targets: Targets<'_, L::Scalar>,
) -> Result<Loaded> {
    decode_into(bytes, &mut NetTarget(net), targets)
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
    decode_into(bytes, &mut ModelTarget(model), targets)
}

/// Describes stored bytes without loading them; everything but a target is checked.
///
/// # Errors
/// [`FormatError::BadMagic`], [`FormatError::UnsupportedVersion`],
/// [`FormatError::ScalarType`], [`FormatError::Truncated`], [`FormatError::Checksum`],
/// [`FormatError::TooDeep`], [`FormatError::UnknownKind`], [`FormatError::InvalidSpec`],
/// [`FormatError::Malformed`], [`FormatError::NonFinite`].
pub fn read_info(bytes: &[u8]) -> Result<Info<'_>> {
    let file = parse::<f64>(bytes)?;
    let mut layers = heapless::Vec::new();
    let mut r = Reader(file.specs);
    let (mut params, mut state) = (0usize, 0usize);
    for layer in 0..file.depth {
        let spec = read_spec(&mut r, file.width, layer)?;
        params = params.saturating_add(spec.params());
        state = state.saturating_add(spec.state());
        layers.push(spec).map_err(|_| FormatError::TooDeep {
            depth: file.depth,
            max: MAX_DEPTH,
        })?;
    }
    Ok(Info {
        version: VERSION,
        scalar_bytes: file.width as u8,
        inputs: layers.first().map_or(0, Spec::inputs),
        layers,
        params,
        state,
        optimizer: file.optimizer.map(|o| OptimizerInfo {
            name: o.name,
            learning_rate: o.lr,
            steps: o.steps,
            state_len: o.state.len() / bytes_of(file.width),
        }),
        progress: file.progress,
        len: file.len,
    })
}

/// A model's fixed header and its checksum, read without checking anything else: what can
/// still be said about bytes whose CRC is wrong (the host simulator's `inspect` reports
/// it). The fields are as stored; only [`read_info`] (or a load) vouches for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (always [`VERSION`]: another one is refused).
    pub version: u16,
    /// The stored scalar size in bytes (4 or 8 in a valid file; not checked here).
    pub scalar_bytes: u8,
    /// Whether the flags say optimizer state is stored (bit 0).
    pub has_optimizer: bool,
    /// The stored layer count (not checked against [`MAX_DEPTH`] here).
    pub depth: usize,
    /// The stored length: bytes of the model, CRC included (the slice holds at least as
    /// many).
    pub len: usize,
    /// The CRC-32 stored in the model's last four bytes.
    pub stored_crc: u32,
    /// The CRC-32 of the bytes before it.
    pub computed_crc: u32,
}

impl Header {
    /// Whether the stored CRC matches the contents.
    pub const fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }
}

/// Reads the fixed header of `bytes` and computes the checksum over the length it states,
/// without checking the CRC or anything past the header, so that corrupt bytes can be
/// described. Checked: the magic and the version (another version's layout is unknown),
/// that the stated length covers at least a header, progress and CRC, and that `bytes`
/// hold it. Use [`read_info`] for everything else.
///
/// # Errors
/// [`FormatError::BadMagic`], [`FormatError::UnsupportedVersion`],
/// [`FormatError::Truncated`] (fewer bytes than a header or than the stated length),
/// [`FormatError::Malformed`] (a stated length below the smallest model).
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    if bytes.iter().zip(&MAGIC).any(|(a, b)| a != b) {
        return Err(FormatError::BadMagic.into());
    }
    if let Some(&v) = bytes.get(4) {
        if u16::from(v) != VERSION {
            return Err(FormatError::UnsupportedVersion { found: v.into() }.into());
        }
    }
    let mut header = Reader(bytes.get(..HEADER_LEN).ok_or(FormatError::Truncated)?);
    let _magic: [u8; 4] = header.array()?;
    let (version, scalar_bytes, flags, _reserved) =
        (header.u8()?, header.u8()?, header.u8()?, header.u8()?);
    let depth = header.usize()?;
    let len = header.usize()?;
    if len < HEADER_LEN + PROGRESS_LEN + CRC_LEN {
        return Err(FormatError::Malformed.into());
    }
    let (body, crc) = bytes
        .get(..len)
        .ok_or(FormatError::Truncated)?
        .split_at(len - CRC_LEN);
    Ok(Header {
        version: version.into(),
        scalar_bytes,
        has_optimizer: flags & FLAG_OPTIMIZER != 0,
        depth,
        len,
        stored_crc: Reader(crc).u32()?,
        computed_crc: CRC32.checksum(body),
    })
}

// ---------------------------------------------------------------------------------------
// What is saved from and loaded into: a network or a model, through the layer protocol.

/// Receives one layer's `w`, `b` and `state`.
type Values<'f, S> = dyn FnMut(&[S], &[S], &[S]) + 'f;
/// Receives one layer's `w`, `b` and `state`, mutably.
type ValuesMut<'f, S> = dyn FnMut(&mut [S], &mut [S], &mut [S]) + 'f;

trait Source<S> {
    fn depth(&self) -> usize;
    fn specs(&self, f: &mut dyn FnMut(Spec));
    /// Every layer's `w`, `b` and `state`, first to last.
    fn values(&self, f: &mut Values<'_, S>);
}

trait Sink<S>: Source<S> {
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()>;
    fn values_mut(&mut self, f: &mut ValuesMut<'_, S>);
}

struct NetTarget<N>(N);
struct ModelTarget<T>(T);

impl<L: Net, M: Math<L::Scalar>, N: core::ops::Deref<Target = Network<L, M>>> Source<L::Scalar>
    for NetTarget<N>
{
    fn depth(&self) -> usize {
        crate::layer::Seq::depth(self.0.layers())
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        self.0.specs(f);
    }
    fn values(&self, f: &mut Values<'_, L::Scalar>) {
        self.0.visit(|l| f(l.w, l.b, l.state));
    }
}

impl<L: Net, M: Math<L::Scalar>> Sink<L::Scalar> for NetTarget<&mut Network<L, M>> {
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        self.0.set_specs(next)
    }
    fn values_mut(&mut self, f: &mut ValuesMut<'_, L::Scalar>) {
        self.0.visit_mut(|l| f(l.w, l.b, l.state));
    }
}

impl<T: Model + ?Sized, R: core::ops::Deref<Target = T>> Source<T::Scalar> for ModelTarget<R> {
    fn depth(&self) -> usize {
        self.0.depth()
    }
    fn specs(&self, f: &mut dyn FnMut(Spec)) {
        self.0.specs(f);
    }
    fn values(&self, f: &mut Values<'_, T::Scalar>) {
        self.0.visit_layers(|l| f(l.w, l.b, l.state));
    }
}

impl<T: Model + ?Sized> Sink<T::Scalar> for ModelTarget<&mut T> {
    fn set_specs(&mut self, next: &mut dyn FnMut() -> Option<Spec>) -> Result<()> {
        self.0.set_specs(next)
    }
    fn values_mut(&mut self, f: &mut ValuesMut<'_, T::Scalar>) {
        self.0.visit_layers_mut(|l| f(l.w, l.b, l.state));
    }
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// Writes into a buffer; remembers (instead of failing at once) that it ran out.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    full: bool,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        let end = self.pos.saturating_add(b.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.copy_from_slice(b),
            None => self.full = true,
        }
        self.pos = end;
    }
    pub(crate) fn u8(&mut self, x: u8) {
        self.bytes(&[x]);
    }
    pub(crate) fn u32(&mut self, x: u32) {
        self.bytes(&x.to_le_bytes());
    }
    pub(crate) fn f64(&mut self, x: f64) {
        self.bytes(&x.to_le_bytes());
    }
    pub(crate) fn scalar<S: Scalar>(&mut self, x: S) {
        let bits = x.to_bits_u64().to_le_bytes();
        self.bytes(bits.get(..S::BYTES).unwrap_or(&bits));
    }
    /// An activation: its code, then α in the file's scalar type.
    pub(crate) fn activation<S: Scalar>(&mut self, act: Activation<f64>) {
        self.u8(act.code());
        self.scalar(S::from_f64(act.alpha()));
    }
}

/// A size as the file's `u32` ([`Error::Capacity`] past it).
pub(crate) fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Capacity)
}

fn encode<S: Scalar>(src: &dyn Source<S>, extras: &Extras<'_, S>, buf: &mut [u8]) -> Result<usize> {
    let depth = src.depth();
    if depth > MAX_DEPTH {
        return Err(FormatError::TooDeep {
            depth,
            max: MAX_DEPTH,
        }
        .into());
    }
    let mut w = Writer {
        buf,
        pos: 0,
        full: false,
    };
    w.bytes(&MAGIC);
    w.u8(VERSION as u8);
    w.u8(S::BYTES as u8);
    w.u8(if extras.optimizer.is_some() {
        FLAG_OPTIMIZER
    } else {
        0
    } | if code_of::<S>() == Q16_CODE {
        FLAG_Q16
    } else {
        0
    });
    w.u8(0);
    w.u32(count(depth)?);
    w.u32(0); // the length, filled in below
    let mut res: Result<()> = Ok(());
    let mut expected = 0usize;
    let mut layer = 0;
    // Layers whose state ends in variances (which must not be negative).
    let mut variances = 0u64;
    src.specs(&mut |spec| {
        if has_variances(&spec) {
            variances |= bit(layer);
        }
        if res.is_ok() {
            res = if validate_at(&spec, code_of::<S>()).is_err() {
                Err(FormatError::InvalidSpec { layer }.into())
            } else {
                spec.write::<S>(&mut w)
            };
            expected = expected.saturating_add(spec.params().saturating_add(spec.state()));
        }
        layer += 1;
    });
    res?;
    let mut written = 0usize;
    let mut finite = true;
    let mut layer = 0usize;
    src.values(&mut |a, b, c| {
        for &x in a.iter().chain(b).chain(c) {
            finite &= x.is_finite();
            w.scalar(x);
            written += 1;
        }
        if variances & bit(layer) != 0 {
            finite &= c
                .get(c.len() / 2..)
                .unwrap_or(&[])
                .iter()
                .all(|&v| v >= S::ZERO);
        }
        layer += 1;
    });
    if written != expected {
        return Err(Error::ShapeMismatch {
            expected,
            found: written,
        });
    }
    if !finite {
        return Err(FormatError::NonFinite.into());
    }
    w.u32(extras.progress.epoch);
    w.u32(extras.progress.step);
    if let Some(opt) = extras.optimizer {
        let name = opt.name().as_bytes();
        if name.len() > MAX_NAME {
            return Err(Error::Capacity);
        }
        let lr = opt.learning_rate();
        if !(lr.is_finite() && lr > S::ZERO && S::all_finite(opt.state())) {
            return Err(FormatError::NonFinite.into());
        }
        w.u8(name.len() as u8);
        w.bytes(name);
        w.scalar(lr);
        w.u32(opt.steps());
        w.u32(count(opt.state().len())?);
        opt.state().iter().for_each(|&x| w.scalar(x));
    }
    let len = w.pos.saturating_add(CRC_LEN);
    let total = count(len)?;
    if w.full || len > w.buf.len() {
        return Err(Error::Capacity);
    }
    if let Some(dst) = w.buf.get_mut(12..16) {
        dst.copy_from_slice(&total.to_le_bytes());
    }
    let crc = CRC32.checksum(w.buf.get(..w.pos).unwrap_or(&[]));
    w.u32(crc);
    Ok(len)
}

/// Layer `layer`'s bit in a mask of at most 64 layers ([`MAX_DEPTH`] is below).
fn bit(layer: usize) -> u64 {
    u32::try_from(layer)
        .ok()
        .and_then(|l| 1u64.checked_shl(l))
        .unwrap_or(0)
}

/// Whether a layer's state is means then variances (batch norm's running statistics, a
/// standardisation's fitted ones): the variances must not be negative.
fn has_variances(spec: &Spec) -> bool {
    spec.variances()
}

/// Whether every stored variance (the second half of such a layer's state) is `≥ 0`.
fn variances_ok(specs: &[u8], values: &[u8], width: usize) -> Result<bool> {
    let mut r = Reader(specs);
    let mut v = Reader(values);
    let mut layer = 0;
    while !r.0.is_empty() {
        let spec = read_spec(&mut r, width, layer)?;
        v.take(spec.params().saturating_mul(bytes_of(width)))?;
        let state = v.take(spec.state().saturating_mul(bytes_of(width)))?;
        if has_variances(&spec) {
            let mut var = Reader(state.get(state.len() / 2..).unwrap_or(&[]));
            while !var.0.is_empty() {
                if var.scalar(width)? < 0.0 {
                    return Ok(false);
                }
            }
        }
        layer += 1;
    }
    Ok(true)
}

/// [`Spec::validate`] in the scalar type of `width` bytes.
fn validate_at(spec: &Spec, width: usize) -> Result<()> {
    if width == 4 {
        spec.validate::<f32>()
    } else if width == Q16_CODE {
        spec.validate::<crate::Q16>()
    } else {
        spec.validate::<f64>()
    }
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// Reads from the checked body; running out means the fields disagree with the lengths.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(FormatError::Malformed.into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u32()?).map_err(|_| FormatError::Malformed.into())
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    pub(crate) fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// A scalar of `width` bytes (or Q16 bits), widened; a saturated Q16 value reads as ∞.
    pub(crate) fn scalar(&mut self, width: usize) -> Result<f64> {
        if width == 4 {
            self.f32().map(f64::from)
        } else if width == Q16_CODE {
            let q = crate::Q16::from_bits(i32::from_le_bytes(self.array()?));
            Ok(if q.is_saturated() {
                f64::INFINITY
            } else {
                q.to_f64()
            })
        } else {
            self.f64()
        }
    }
    /// An activation: its code, then α of `width` bytes.
    pub(crate) fn activation(&mut self, width: usize) -> Result<Activation<f64>> {
        let code = self.u8()?;
        let alpha = self.scalar(width)?;
        Activation::from_code(code, alpha).ok_or_else(|| FormatError::Malformed.into())
    }
}

fn read_spec(r: &mut Reader<'_>, width: usize, layer: usize) -> Result<Spec> {
    let code = r.u8()?;
    let kind = Kind::from_code(code).ok_or(FormatError::UnknownKind { layer, code })?;
    Spec::read(kind, r, width)
}

/// The sections of checked bytes.
struct File<'a> {
    width: usize,
    depth: usize,
    len: usize,
    specs: &'a [u8],
    values: &'a [u8],
    progress: Progress,
    optimizer: Option<StoredOptimizer<'a>>,
}

struct StoredOptimizer<'a> {
    name: &'a str,
    lr: f64,
    steps: u32,
    state: &'a [u8],
}

fn all_finite(bytes: &[u8], width: usize) -> bool {
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        match r.scalar(width) {
            Ok(x) if x.is_finite() => {}
            _ => return false,
        }
    }
    true
}

/// The first pass's checks that need no target. `S` only names the expected scalar size
/// in [`FormatError::ScalarType`] for an unknown one.
fn parse<S: Scalar>(bytes: &[u8]) -> Result<File<'_>> {
    if bytes.iter().zip(&MAGIC).any(|(a, b)| a != b) {
        return Err(FormatError::BadMagic.into());
    }
    if let Some(&v) = bytes.get(4) {
        if u16::from(v) != VERSION {
            return Err(FormatError::UnsupportedVersion { found: v.into() }.into());
        }
    }
    if let Some(&width) = bytes.get(5) {
        if width != 4 && width != 8 {
            return Err(FormatError::ScalarType {
                expected: tag_of(code_of::<S>()),
                found: width,
            }
            .into());
        }
    }
    let mut header = Reader(bytes.get(..HEADER_LEN).ok_or(FormatError::Truncated)?);
    let _magic: [u8; 4] = header.array()?;
    let (_version, width, flags, reserved) =
        (header.u8()?, header.u8()?, header.u8()?, header.u8()?);
    let width = if flags & FLAG_Q16 != 0 && width == 4 {
        Q16_CODE
    } else {
        usize::from(width)
    };
    let depth = header.usize()?;
    let len = header.usize()?;
    if len < HEADER_LEN + PROGRESS_LEN + CRC_LEN {
        return Err(FormatError::Malformed.into());
    }
    let (body, crc) = bytes
        .get(..len)
        .ok_or(FormatError::Truncated)?
        .split_at(len - CRC_LEN);
    let stored = Reader(crc).u32()?;
    if CRC32.checksum(body) != stored {
        return Err(FormatError::Checksum.into());
    }
    if reserved != 0
        || flags & !(FLAG_OPTIMIZER | FLAG_Q16) != 0
        || (flags & FLAG_Q16 != 0 && width != Q16_CODE)
        || depth == 0
    {
        return Err(FormatError::Malformed.into());
    }
    if depth > MAX_DEPTH {
        return Err(FormatError::TooDeep {
            depth,
            max: MAX_DEPTH,
        }
        .into());
    }
    let mut r = Reader(body.get(HEADER_LEN..).unwrap_or(&[]));
    let start = r.0;
    let mut values = 0usize;
    let mut prev: Option<usize> = None;
    for layer in 0..depth {
        let spec = read_spec(&mut r, width, layer)?;
        // What a network refuses too: softmax only on the last layer, and a last layer
        // with an activation (the loss needs it).
        let last = layer + 1 == depth;
        let softmax = spec.activation() == Some(Activation::Softmax);
        if validate_at(&spec, width).is_err()
            || (softmax && !last)
            || (last && spec.activation().is_none())
        {
            return Err(FormatError::InvalidSpec { layer }.into());
        }
        if prev.is_some_and(|p| p != spec.inputs()) {
            return Err(FormatError::Malformed.into());
        }
        prev = Some(spec.outputs());
        values = values
            .checked_add(spec.params())
            .and_then(|v| v.checked_add(spec.state()))
            .ok_or(FormatError::Malformed)?;
    }
    let specs = start.get(..start.len() - r.0.len()).unwrap_or(&[]);
    let values = r.take(
        values
            .checked_mul(bytes_of(width))
            .ok_or(FormatError::Malformed)?,
    )?;
    if !all_finite(values, width) || !variances_ok(specs, values, width)? {
        return Err(FormatError::NonFinite.into());
    }
    let progress = Progress {
        epoch: r.u32()?,
        step: r.u32()?,
    };
    let optimizer = if flags & FLAG_OPTIMIZER != 0 {
        let n = usize::from(r.u8()?);
        if n > MAX_NAME {
            return Err(FormatError::Malformed.into());
        }
        let name = core::str::from_utf8(r.take(n)?).map_err(|_| FormatError::Malformed)?;
        let lr = r.scalar(width)?;
        let steps = r.u32()?;
        let n = r.usize()?;
        let state = r.take(
            n.checked_mul(bytes_of(width))
                .ok_or(FormatError::Malformed)?,
        )?;
        if !(lr.is_finite() && lr > 0.0 && all_finite(state, width)) {
            return Err(FormatError::NonFinite.into());
        }
        Some(StoredOptimizer {
            name,
            lr,
            steps,
            state,
        })
    } else {
        None
    };
    if !r.0.is_empty() {
        return Err(FormatError::Malformed.into());
    }
    Ok(File {
        width,
        depth,
        len,
        specs,
        values,
        progress,
        optimizer,
    })
}

/// How a stored layer differs from the target's, if it does.
fn layer_differs(layer: usize, target: &Spec, stored: &Spec) -> Option<FormatError> {
    if target.kind() != stored.kind() {
        return Some(FormatError::LayerKind {
            layer,
            expected: target.kind().code(),
            found: stored.kind().code(),
        });
    }
    if layer == 0 && target.inputs() != stored.inputs() {
        return Some(FormatError::Inputs {
            expected: target.inputs(),
            found: stored.inputs(),
        });
    }
    if target.outputs() != stored.outputs() {
        return Some(FormatError::LayerWidth {
            layer,
            expected: target.outputs(),
            found: stored.outputs(),
        });
    }
    match (target.activation(), stored.activation()) {
        (Some(t), Some(s)) if t != s => Some(FormatError::Activation {
            layer,
            expected: t.code(),
            found: s.code(),
        }),
        _ => None,
    }
}

/// The first pass's checks against the target.
fn check<S: Scalar>(file: &File<'_>, sink: &dyn Sink<S>, targets: &Targets<'_, S>) -> Result<()> {
    if file.width != code_of::<S>() {
        return Err(FormatError::ScalarType {
            expected: tag_of(code_of::<S>()),
            found: tag_of(file.width),
        }
        .into());
    }
    if sink.depth() != file.depth {
        return Err(FormatError::Depth {
            expected: sink.depth(),
            found: file.depth,
        }
        .into());
    }
    let mut r = Reader(file.specs);
    let mut layer = 0;
    let mut res: Result<()> = Ok(());
    let mut expected = 0usize;
    sink.specs(&mut |target| {
        if res.is_ok() {
            res = read_spec(&mut r, file.width, layer).and_then(|stored| {
                expected = expected.saturating_add(stored.params() + stored.state());
                layer_differs(layer, &target, &stored).map_or(Ok(()), |e| Err(e.into()))
            });
        }
        layer += 1;
    });
    res?;
    let mut found = 0usize;
    sink.values(&mut |a, b, c| found += a.len() + b.len() + c.len());
    if found != expected {
        return Err(Error::ShapeMismatch { expected, found });
    }
    if let Some(opt) = targets.optimizer.as_deref() {
        let Some(stored) = &file.optimizer else {
            return Err(FormatError::Missing("optimizer state").into());
        };
        if opt.name() != stored.name {
            return Err(FormatError::Optimizer.into());
        }
        if opt.check_learning_rate(S::from_f64(stored.lr)).is_err() {
            return Err(FormatError::NonFinite.into());
        }
        let found = stored.state.len() / bytes_of(file.width);
        if opt.state().len() != found {
            return Err(FormatError::OptimizerState {
                expected: opt.state().len(),
                found,
            }
            .into());
        }
    }
    Ok(())
}

fn decode_into<S: Scalar>(
    bytes: &[u8],
    sink: &mut dyn Sink<S>,
    targets: Targets<'_, S>,
) -> Result<Loaded> {
    let file = parse::<S>(bytes)?;
    check(&file, sink, &targets)?;
    // Everything checked: now write.
    let width = file.width;
    let mut r = Reader(file.specs);
    let mut layer = 0;
    sink.set_specs(&mut || {
        let spec = read_spec(&mut r, width, layer).ok();
        layer += 1;
        spec
    })?;
    let mut r = Reader(file.values);
    sink.values_mut(&mut |a, b, c| {
        for x in a.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
            if let Ok(v) = r.scalar(width) {
                *x = S::from_f64(v);
            }
        }
    });
    if let (Some(opt), Some(stored)) = (targets.optimizer, &file.optimizer) {
        // Checked by `check`: cannot be refused here.
        opt.set_learning_rate(S::from_f64(stored.lr))?;
        opt.set_steps(stored.steps);
        let mut r = Reader(stored.state);
        for x in opt.state_mut() {
            if let Ok(v) = r.scalar(width) {
                *x = S::from_f64(v);
            }
        }
    }
    Ok(Loaded {
        len: file.len,
        progress: file.progress,
        has_optimizer: file.optimizer.is_some(),
    })
}
