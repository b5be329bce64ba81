//! The fuzz harnesses, as plain functions: the `cargo fuzz` targets call them with
//! libFuzzer's inputs, and `tests/replay.rs` calls them with every file kept in `seeds/`
//! and `regressions/`, without libFuzzer. Each function panics only when a property of
//! the core is broken (a panic inside the core is such a break too).
//!
//! * [`model_load`]: arbitrary bytes as a model file and as a checkpoint flash image.
//! * [`train_step`]: arbitrary weights, data, labels and hyper-parameters, including NaN,
//!   ±∞, subnormals and huge values; a step must succeed or fail, and a failed step must
//!   leave weights and optimizer state bit-identical.
//! * [`config`]: the simulator's command line (`microprop-sim`'s clap parser and its value
//!   parsers: layer lists, rates, points) and the core's configuration checks
//!   (activations, initialisers, learning rates, batch sizes, losses, data shapes,
//!   preprocessing, checkpoint layouts, buffer sizes).

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use microprop::checkpoint::Checkpoints;
use microprop::format::{self, Extras, Targets};
use microprop::layer::{DynLayer, Family, Sequential};
use microprop::optim::{AdaGradConfig, AdamWConfig, RmsPropConfig};
use microprop::{mlp, train, Activation, Dataset, Init, Loss, Optimizer, Preprocess};
use microprop::{AdaGrad, Adam, AdamConfig, AdamW, MomentumConfig, Nesterov, RmsProp};
use microprop::{Model, Regularization, Sgd, Standardizer, Trainer};

/// The network the harnesses load and train.
pub type Net = mlp![f32; 2, 8, 2];
/// Its activations in the seed files.
pub const HIDDEN: Activation = Activation::LeakyRelu(0.1);
/// Output activation in the seed files.
pub const OUTPUT: Activation = Activation::Sigmoid;
const PARAMS: usize = Net::PARAMS;

/// Run-time layers on the heap (a model's layers built from its stored specs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vecs;

impl Family for Vecs {
    type Of<T: Clone + core::fmt::Debug + PartialEq> = Vec<T>;
    fn filled<T: Clone + core::fmt::Debug + PartialEq>(
        len: usize,
        value: T,
    ) -> microprop::Result<Vec<T>> {
        Ok(vec![value; len])
    }
    fn collect<T: Clone + core::fmt::Debug + PartialEq>(
        items: impl IntoIterator<Item = T>,
    ) -> microprop::Result<Vec<T>> {
        Ok(items.into_iter().collect())
    }
}
/// A model buffer with room for statistics and momentum state.
pub const MODEL_BUF: usize = format::network_len::<Net>(Some(PARAMS));

/// SGD with momentum: an optimizer with state, so that "state unchanged" means something.
#[derive(Clone, Debug, PartialEq)]
pub struct Momentum {
    /// Learning rate.
    pub lr: f32,
    /// Momentum.
    pub mu: f32,
    /// Velocity, one per parameter.
    pub v: [f32; PARAMS],
}

impl Momentum {
    /// One parameter's step: `(w, v)` after `v ← μ v + g`, `w ← w − η v`.
    fn next(&self, w: f32, g: f32, v: f32) -> (f32, f32) {
        let v = self.mu * v + g;
        (w - self.lr * v, v)
    }
}

impl Optimizer<f32> for Momentum {
    fn name(&self) -> &'static str {
        "momentum-test"
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) -> microprop::Result<()> {
        self.check_learning_rate(lr)?;
        self.lr = lr;
        Ok(())
    }
    fn state_len(&self) -> usize {
        PARAMS
    }
    fn state(&self) -> &[f32] {
        &self.v
    }
    fn state_mut(&mut self) -> &mut [f32] {
        &mut self.v
    }
    fn begin_step(&mut self, params: usize) -> microprop::Result<()> {
        if params == PARAMS {
            Ok(())
        } else {
            Err(microprop::Error::ShapeMismatch {
                expected: PARAMS,
                found: params,
            })
        }
    }
    fn update(&mut self, offset: usize, params: &mut [f32], grads: &[f32]) {
        let this = self.clone();
        let v = &mut self.v[offset..offset + params.len()];
        for ((w, g), v) in params.iter_mut().zip(grads).zip(v) {
            (*w, *v) = this.next(*w, *g, *v);
        }
    }
    fn accepts(&self, _params: usize, offset: usize, block: &[f32], grads: &[f32]) -> bool {
        let Some(v) = self.v.get(offset..offset + block.len()) else {
            return true;
        };
        block.iter().zip(grads).zip(v).all(|((&w, &g), &v)| {
            let (w, v) = self.next(w, g, v);
            w.is_finite() && v.is_finite()
        })
    }
}

/// Flash in RAM: 4-byte words, 256-byte pages, NOR semantics (writes only clear bits).
#[derive(Clone, Debug)]
pub struct RamFlash(pub Vec<u8>);

impl ErrorType for RamFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let src = self
            .0
            .get(at..at.saturating_add(bytes.len()))
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 256;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if !from.is_multiple_of(256) || !to.is_multiple_of(256) || from > to {
            return Err(NorFlashErrorKind::NotAligned);
        }
        self.0
            .get_mut(from..to)
            .ok_or(NorFlashErrorKind::OutOfBounds)?
            .fill(0xff);
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        if !at.is_multiple_of(4) || !bytes.len().is_multiple_of(4) {
            return Err(NorFlashErrorKind::NotAligned);
        }
        let dst = self
            .0
            .get_mut(at..at.saturating_add(bytes.len()))
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d &= *s;
        }
        Ok(())
    }
}

/// Reads fuzz input: bytes, and f32 values biased towards the special ones.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }
    /// The next byte (0 once the input is used up).
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    /// The next `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// An f32: a tag byte picks NaN, ±∞, ±0, a subnormal, ±MAX, tiny or small values;
    /// otherwise the next four bytes are the bits.
    pub fn f32(&mut self) -> f32 {
        match self.u8() {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => 0.0,
            4 => -0.0,
            5 => f32::from_bits(1), // smallest subnormal
            6 => f32::MAX,
            7 => -f32::MAX,
            8 => f32::MIN_POSITIVE,
            9 => 1.0e30,
            t @ 10..=40 => (f32::from(t) - 25.0) * 0.125,
            _ => f32::from_bits(self.u32()),
        }
    }
    /// An activation from a code byte and an α.
    pub fn activation(&mut self) -> Option<Activation> {
        let code = self.u8() % 10;
        let alpha = self.f32();
        Activation::from_code(code, alpha)
    }
    /// The bytes left.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
}

fn weight_bytes(m: &impl Model<Scalar = f32>) -> Vec<u32> {
    let mut out = Vec::new();
    m.visit_layers(|l| out.extend(l.w.iter().chain(l.b).map(|x| x.to_bits())));
    out
}

fn state_bytes(o: &dyn Optimizer<f32>) -> Vec<u32> {
    let mut v: Vec<u32> = o.state().iter().map(|x| x.to_bits()).collect();
    v.push(o.learning_rate().to_bits());
    v
}

/// Arbitrary bytes as a model (into a network, a training model, an `f64` network, and
/// as `read_info`), then as a checkpoint region's flash image.
pub fn model_load(data: &[u8]) {
    // Into a network with every target, pre-filled so a partial write would show.
    let mut net = Net::zeroed(HIDDEN, OUTPUT).expect("valid activations");
    net.visit_mut(|l| {
        l.w.fill(0.5);
        l.b.fill(-0.25);
    });
    let before = net.clone();
    let mut opt = Momentum {
        lr: 0.5,
        mu: 0.9,
        v: [0.125; PARAMS],
    };
    let opt_before = opt.clone();
    let targets = Targets {
        optimizer: Some(&mut opt),
    };
    match format::load_network(data, &mut net, targets) {
        Err(_) => {
            assert_eq!(net, before, "a refused load changed the network");
            assert_eq!(
                state_bytes(&opt),
                state_bytes(&opt_before),
                "a refused load changed the optimizer"
            );
        }
        Ok(loaded) => {
            assert!(loaded.len <= data.len());
            let mut w = Vec::new();
            net.visit(|l| w.extend(l.w.iter().chain(l.b.iter()).copied()));
            assert!(
                w.iter().all(|x| x.is_finite()),
                "loaded a non-finite weight"
            );
            // Saving what was loaded and loading that again gives the same thing.
            let mut buf = [0u8; MODEL_BUF];
            let extras = Extras {
                optimizer: Some(&opt),
                progress: loaded.progress,
            };
            let n = format::save_network(&net, &extras, &mut buf).expect("fits");
            let mut again = Net::zeroed(HIDDEN, OUTPUT).expect("valid activations");
            format::load_network(&buf[..n], &mut again, Targets::none()).expect("reloads");
            assert_eq!(again, net);
        }
    }
    // Into a training model, weights only.
    let mut model = Net::zeroed(HIDDEN, OUTPUT)
        .expect("valid activations")
        .into_training();
    let h = model.weights_hash();
    if format::load_model(data, &mut model, Targets::none()).is_err() {
        assert_eq!(model.weights_hash(), h);
    }
    // Into an f64 network of the same shape.
    let mut wide =
        <mlp![f64; 2, 8, 2]>::zeroed(HIDDEN.cast(), OUTPUT.cast()).expect("valid activations");
    let wide_before = wide.clone();
    if format::load_network(data, &mut wide, Targets::none()).is_err() {
        assert_eq!(wide, wide_before);
    }
    if let Ok(info) = format::read_info(data) {
        assert!(info.len <= data.len() && !info.layers.is_empty());
        // Whatever the specs describe builds as run-time layers, and the bytes load into
        // them (a network if its last layer can feed a loss), as `predict --load` does.
        let layers: Vec<DynLayer<f32, Vecs>> = info
            .layers
            .iter()
            .map(|s| DynLayer::from_spec(s).expect("read_info validated the specs"))
            .collect();
        let seq = Sequential::new(layers).expect("read_info checked the chain");
        let mut dynamic = microprop::Network::<_, microprop::Libm>::from_layers(seq)
            .expect("read_info checked what a network requires");
        if info.scalar_bytes == 4 {
            format::load_network(data, &mut dynamic, Targets::none())
                .expect("a model loads into the network its specs describe");
        }
    }

    // As a flash image of a checkpoint region: the scan and load never panic, never
    // load a non-finite model, and a new checkpoint can always be written and read back.
    let mut image = vec![0xffu8; 2048];
    let n = data.len().min(image.len());
    image[..n].copy_from_slice(&data[..n]);
    let slot = Checkpoints::<RamFlash>::slot_len_for(MODEL_BUF) as u32;
    let mut cp = Checkpoints::new(RamFlash(image), 0, 2048, slot).expect("layout");
    let mut model = Net::zeroed(HIDDEN, OUTPUT)
        .expect("valid activations")
        .into_training();
    let mut buf = [0u8; MODEL_BUF];
    let h = model.weights_hash();
    match cp.load(&mut model, Targets::none(), &mut buf) {
        Ok(Some(_)) => {
            let mut ok = true;
            model.visit_layers(|l| {
                ok &= l.w.iter().chain(l.b).all(|x| x.is_finite());
            });
            assert!(ok, "loaded a non-finite checkpoint");
        }
        Ok(None) | Err(_) => assert_eq!(model.weights_hash(), h),
    }
    model.visit_layers_mut(|l| l.b.fill(0.75));
    let rec = cp
        .save(&model, &Extras::none(), &mut buf)
        .expect("a corrupt region never stops a new checkpoint");
    let mut back = Net::zeroed(HIDDEN, OUTPUT)
        .expect("valid activations")
        .into_training();
    let (got, _) = cp
        .load(&mut back, Targets::none(), &mut buf)
        .expect("loads")
        .expect("found");
    assert_eq!(got, rec);
    assert_eq!(back.weights_hash(), model.weights_hash());
}

/// Arbitrary weights, data, labels, loss, batch and learning rate: every step succeeds
/// or fails, and a failed step changes neither the weights nor the optimizer state.
pub fn train_step(data: &[u8]) {
    let mut r = Input::new(data);
    let (Some(hidden), Some(output)) = (r.activation(), r.activation()) else {
        return;
    };
    let Ok(mut net) = Net::zeroed(hidden, output) else {
        return;
    };
    net.visit_mut(|l| {
        for w in l.w.iter_mut().chain(l.b.iter_mut()) {
            *w = r.f32();
        }
    });
    let mut x = [[0.0f32; 2]; 8];
    let mut labels = [0u8; 8];
    for (x, label) in x.iter_mut().zip(labels.iter_mut()) {
        *x = [r.f32(), r.f32()];
        *label = r.u8() % 3;
    }
    let n = 1 + usize::from(r.u8() % 8);
    let Ok(dataset) = Dataset::new(&x[..n], &labels[..n]) else {
        return;
    };
    let loss = [Loss::Mse, Loss::BinaryCrossEntropy, Loss::CrossEntropy][usize::from(r.u8() % 3)];
    let batch = usize::from(r.u8() % 5);
    let Ok(mut trainer) = Trainer::new(loss, batch) else {
        assert_eq!(batch, 0);
        return;
    };
    if r.u8().is_multiple_of(4) {
        let l2 = f64::from(r.f32());
        let clip = if r.u8().is_multiple_of(2) {
            None
        } else {
            Some(f64::from(r.f32()))
        };
        if let Ok(reg) = Regularization::new(l2, clip) {
            trainer = trainer.with_regularization(reg);
        }
    }
    let mut model = net.into_training();
    let mut opt = AnyOpt::new(&mut r);
    // Dropout masks would be drawn from it (the harness's dense net draws nothing).
    let mut rng = microprop::rng(0);
    for _ in 0..4 {
        let k = 1 + usize::from(r.u8()) % 4;
        let idx: Vec<u16> = (0..k).map(|_| u16::from(r.u8() % 10)).collect();
        let (w0, s0) = (weight_bytes(&model), opt.fingerprint());
        let refused = match &mut opt {
            AnyOpt::Test(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::Sgd(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::Momentum(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::Nesterov(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::AdaGrad(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::RmsProp(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::Adam(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
            AnyOpt::AdamW(o) => trainer.step(&mut model, o, &dataset, &idx, &mut rng),
        }
        .is_err();
        if !refused {
            let finite = |bits: &[u32]| bits.iter().all(|&b| f32::from_bits(b).is_finite());
            assert!(
                finite(&weight_bytes(&model)),
                "an accepted step left a non-finite weight"
            );
            assert!(
                opt.dyn_ref().state().iter().all(|v| v.is_finite()),
                "an accepted step left a non-finite optimizer value"
            );
        }
        if refused {
            assert_eq!(
                weight_bytes(&model),
                w0,
                "a refused step changed the weights"
            );
            assert_eq!(
                opt.fingerprint(),
                s0,
                "a refused step changed the optimizer state"
            );
        }
    }
    let _ = train::evaluate(&mut model, loss, &dataset);
    let net = model.into_network();
    let _ = net.predict(&[r.f32(), r.f32()]);
}

type State = [f32; 2 * PARAMS];

/// Every optimizer of the core (state buffers sized for [`Net`]) and the test momentum.
enum AnyOpt {
    Test(Momentum),
    Sgd(Sgd<f32>),
    Momentum(microprop::Momentum<f32, [f32; PARAMS]>),
    Nesterov(Nesterov<f32, [f32; PARAMS]>),
    AdaGrad(AdaGrad<f32, [f32; PARAMS]>),
    RmsProp(RmsProp<f32, [f32; PARAMS]>),
    Adam(Adam<f32, State>),
    AdamW(AdamW<f32, State>),
}

impl AnyOpt {
    /// An optimizer with fuzzed hyper-parameters (the test momentum, with a fuzzed
    /// initial state, when the core refuses them).
    fn new(r: &mut Input) -> AnyOpt {
        let (lr, a, b) = (r.f32(), r.f32(), r.f32());
        let eps = r.f32();
        let made = match r.u8() % 8 {
            1 => Sgd::new(lr).map(AnyOpt::Sgd),
            2 => microprop::Momentum::new(MomentumConfig { lr, momentum: a }, [0.0; PARAMS])
                .map(AnyOpt::Momentum),
            3 => Nesterov::new(MomentumConfig { lr, momentum: a }, [0.0; PARAMS])
                .map(AnyOpt::Nesterov),
            4 => AdaGrad::new(AdaGradConfig { lr, eps }, [0.0; PARAMS]).map(AnyOpt::AdaGrad),
            5 => RmsProp::new(RmsPropConfig { lr, decay: a, eps }, [0.0; PARAMS])
                .map(AnyOpt::RmsProp),
            6 => Adam::new(
                AdamConfig {
                    lr,
                    beta1: a,
                    beta2: b,
                    eps,
                },
                [0.0; 2 * PARAMS],
            )
            .map(AnyOpt::Adam),
            7 => AdamW::new(
                AdamWConfig {
                    adam: AdamConfig {
                        lr,
                        beta1: a,
                        beta2: b,
                        eps,
                    },
                    weight_decay: r.f32(),
                },
                [0.0; 2 * PARAMS],
            )
            .map(AnyOpt::AdamW),
            _ => Err(microprop::Error::EmptyData),
        };
        made.unwrap_or_else(|_| {
            let mut m = Momentum {
                lr,
                mu: a,
                v: [0.0; PARAMS],
            };
            for v in m.v.iter_mut().take(usize::from(r.u8())) {
                *v = r.f32();
            }
            AnyOpt::Test(m)
        })
    }

    fn dyn_ref(&self) -> &dyn Optimizer<f32> {
        match self {
            AnyOpt::Test(o) => o,
            AnyOpt::Sgd(o) => o,
            AnyOpt::Momentum(o) => o,
            AnyOpt::Nesterov(o) => o,
            AnyOpt::AdaGrad(o) => o,
            AnyOpt::RmsProp(o) => o,
            AnyOpt::Adam(o) => o,
            AnyOpt::AdamW(o) => o,
        }
    }

    /// State, learning rate and (Adam, AdamW) step count, as bits.
    fn fingerprint(&self) -> Vec<u32> {
        let mut v = state_bytes(self.dyn_ref());
        match self {
            AnyOpt::Adam(o) => v.push(o.steps()),
            AnyOpt::AdamW(o) => v.push(o.steps()),
            _ => {}
        }
        v
    }
}

/// The core's configuration checks with arbitrary values: each accepts or refuses, and
/// what it accepts works.
pub fn config(data: &[u8]) {
    // The simulator's command line: the first bytes up to a 0xFF, split at NULs, are the
    // arguments (parsing only; nothing runs).
    let (cli, rest) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    #[cfg(feature = "sim")]
    {
        let args = std::iter::once("microprop-sim".to_string()).chain(
            cli.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned()),
        );
        let _ = <microprop_sim::cli::Cli as clap::Parser>::try_parse_from(args);
    }
    #[cfg(not(feature = "sim"))]
    let _ = cli;
    let mut r = Input::new(rest);
    // Activations and initialisers.
    if let (Some(h), Some(o)) = (r.activation(), r.activation()) {
        if let Ok(mut net) = Net::zeroed(h, o) {
            let init = match r.u8() % 9 {
                0 => Init::Zeros,
                1 => Init::Constant(r.f32()),
                2 => Init::Uniform(r.f32()),
                3 => Init::Normal(r.f32()),
                4 => Init::XavierUniform,
                5 => Init::XavierNormal,
                6 => Init::HeUniform,
                7 => Init::HeNormal,
                _ => Init::Normal(0.01),
            };
            let bias = r.f32();
            let mut rng = microprop::rng(u64::from(r.u32()));
            if net.init(init, bias, &mut rng).is_ok() {
                let _ = net.predict(&[r.f32(), r.f32()]);
            }
            for loss in [Loss::Mse, Loss::BinaryCrossEntropy, Loss::CrossEntropy] {
                let _ = loss.check(o, usize::from(r.u8()));
            }
        }
    }
    // Learning rate and batch size.
    let lr = r.f32();
    if Sgd::new(lr).is_ok() {
        assert!(lr.is_finite() && lr > 0.0, "accepted learning rate {lr}");
    }
    let _ = Trainer::new(Loss::Mse, usize::from(r.u8()));
    // Data shapes.
    let xs: Vec<f32> = (0..usize::from(r.u8() % 32)).map(|_| r.f32()).collect();
    let labels: Vec<u8> = (0..usize::from(r.u8() % 16)).map(|_| r.u8()).collect();
    let dim = usize::from(r.u8() % 5);
    if let Ok(d) = Dataset::from_flat(&xs, &labels, dim) {
        assert_eq!(d.iter().count(), labels.len());
        for i in 0..20 {
            let _ = d.get(i);
        }
        let _ = d.head(usize::from(r.u8()));
    }
    let mut order = vec![0u16; usize::from(r.u8()) * 300];
    let _ = train::fill_order(&mut order);
    // Preprocessing statistics, as a loaded model would restore them.
    let mode =
        [Preprocess::None, Preprocess::Mean, Preprocess::Standardize][usize::from(r.u8() % 3)];
    let s =
        Standardizer::<f32, 2>::from_stats(mode, r.u32(), [r.f32(), r.f32()], [r.f32(), r.f32()]);
    let mut x = [r.f32(), r.f32()];
    s.apply::<microprop::Libm>(&mut x);
    let _ = Standardizer::<f32, 2>::fit(mode, &[[r.f32(), r.f32()], [r.f32(), r.f32()]]);
    // Buffer sizes never overflow.
    let big = |r: &mut Input| r.u32() as usize * usize::from(r.u8());
    let _ = format::max_len(
        big(&mut r),
        big(&mut r),
        big(&mut r),
        big(&mut r),
        Some(big(&mut r)),
    );
    let _ = Checkpoints::<RamFlash>::slot_len_for(big(&mut r));
    // Checkpoint layouts: refused or working.
    let start = r.u32() % 8192;
    let len = r.u32() % 8192;
    let slot = r.u32() % 4096;
    if let Ok(mut cp) = Checkpoints::new(RamFlash(vec![0xff; 4096]), start, len, slot) {
        let payload: Vec<u8> = (0..cp.capacity()).map(|i| i as u8).collect();
        let rec = cp
            .write(&payload)
            .expect("an accepted layout takes a full payload");
        let mut out = vec![0u8; payload.len() + 4];
        assert_eq!(cp.read_record(rec, &mut out).expect("reads"), &payload[..]);
        assert_eq!(cp.newest().expect("scans"), Some(rec));
    }
    let _ = r.rest();
}
