//! The activation-cost and training-step benchmark: the protocol, and the program that
//! runs it ([`run`]). The firmware runs it under QEMU `-icount` with SysTick as the
//! counter and the exact-count plugin's markers as the [`Meter`]; the simulator
//! (`microprop-sim bench`) runs it with the host clock; the host computes each backend's
//! error on the very same inputs ([`max_error`]).
//!
//! * Activations: every [`Activation::ALL`] entry, forward ([`Activation::apply`]) and
//!   backward ([`Activation::backward`] with an upstream gradient of 1, i.e. `f'(z)`), over
//!   a [`SWEEP`]-point sweep of `[-8, 8]`, as one slice (the way a layer calls them).
//! * Training steps: the protocol of issue 11, that of the host's `cargo xtask bench-host`
//!   (`core/examples/train_steps.rs`, its host twin): [`SAMPLES`] two-cluster samples
//!   centred ±(1, 1) with σ = [`SIGMA`] per coordinate ([`step_data`], generator seed
//!   [`SEED`]), then Xavier-uniform initial weights from the same generator
//!   ([`step_net`]); online SGD (batch 1, η = 0.1) on ½(o − t)², sigmoid output, samples
//!   visited in order, from the fresh init. The full protocol is [`FULL_EPOCHS`] epochs =
//!   51,200 steps; the program times as many steps as it is given (`run_with_q16`; [`run`]:
//!   [`STEPS`]), in one counted region per net, so that the instructions per step are
//!   (Ir(steps) − Ir(0)) / steps, and logs the weights hash after them (the host twin's
//!   hash for the same steps: `cargo xtask bench-mcu` checks it). Nets: N1 = 2-16-1
//!   sigmoid, N2 = 2-32-32-1 sigmoid and ReLU, N3 = 2-(9×2)-1 sigmoid.
//! * Fixed point (feature `bench-q16`; `run_with_q16`, the firmware's benchmark): the same activations and
//!   the N1 and N2 ReLU steps in `Q16` (the same protocol: the samples and the initial
//!   weights are the `f32` ones rounded to Q16, η = 0.1 in Q16), under `FixedTable` and
//!   `FixedPoly`; their error against `f64` from `max_error_q16`.

use core::hint::black_box;

use microprop::{
    data::Clusters,
    layer::{Fixed, Grads, Net, Pass},
    mlp, train, Activation, Dataset, Init, Libm, Loss, Math, Micromath, Model, Network, Scalar,
    Sgd, Trainer, Training,
};
#[cfg(feature = "bench-q16")]
use microprop::{FixedPoly, FixedTable, Q16};

use crate::{
    board::Cycles,
    event::{BenchEvent, Sink},
    Error,
};

/// Points in the activation sweep.
pub const SWEEP: usize = 256;
/// The sweep's lower end.
pub const SWEEP_LO: f32 = -8.0;
/// The sweep's upper end.
pub const SWEEP_HI: f32 = 8.0;

/// Samples of the step protocol (one epoch).
pub const SAMPLES: usize = 512;
/// Standard deviation of each coordinate around its cluster centre.
pub const SIGMA: f32 = 0.7;
/// Seed of the protocol's generator: the samples, then the initial weights.
pub const SEED: u64 = 1;
/// Epochs of the full protocol (51,200 steps).
pub const FULL_EPOCHS: usize = 100;
/// Passes over the sweep per activation and direction.
pub const REPS: usize = 4;
/// Training steps [`run`] times per net (the short run of the smoke test and the
/// simulator).
pub const STEPS: usize = 64;
/// Forward passes and one-sample walks of each net's breakdown (after its steps).
pub const PARTS: usize = 64;

/// N1: 2-16-1, sigmoid, under maths backend `M`.
pub type N1<M = Libm> = mlp![f32, M; 2, 16, 1];
/// N2: 2-32-32-1 (sigmoid or ReLU hidden layers).
pub type N2<M = Libm> = mlp![f32, M; 2, 32, 32, 1];
/// N3: nine hidden layers of 2, sigmoid.
pub type N3<M = Libm> = mlp![f32, M; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
#[cfg(feature = "bench-q16")]
/// N1 in fixed point ([`Q16`]), under integer backend `M`.
pub type Q16N1<M = FixedTable> = mlp![Q16, M; 2, 16, 1];
#[cfg(feature = "bench-q16")]
/// N2 in fixed point ([`Q16`]), under integer backend `M`.
pub type Q16N2<M = FixedTable> = mlp![Q16, M; 2, 32, 32, 1];

/// The sweep: `SWEEP_LO + (SWEEP_HI − SWEEP_LO) · i / (SWEEP − 1)`, computed in `f64` and
/// rounded once.
pub fn sweep() -> [f32; SWEEP] {
    let mut z = [0.0f32; SWEEP];
    let span = f64::from(SWEEP_HI) - f64::from(SWEEP_LO);
    for (i, z) in z.iter_mut().enumerate() {
        *z = (f64::from(SWEEP_LO) + span * i as f64 / (SWEEP - 1) as f64) as f32;
    }
    z
}

/// The networks of the training-step benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepNet {
    /// 2-16-1 sigmoid.
    N1,
    /// 2-32-32-1 sigmoid.
    N2Sigmoid,
    /// 2-32-32-1 ReLU (sigmoid output).
    N2Relu,
    /// 2-(9×2)-1 sigmoid.
    N3,
}

impl StepNet {
    /// All four, in table order.
    pub const ALL: [StepNet; 4] = [
        StepNet::N1,
        StepNet::N2Sigmoid,
        StepNet::N2Relu,
        StepNet::N3,
    ];
    /// The name used in tables.
    pub const fn name(self) -> &'static str {
        match self {
            StepNet::N1 => "N1 2-16-1 sigmoid",
            StepNet::N2Sigmoid => "N2 2-32-32-1 sigmoid",
            StepNet::N2Relu => "N2 2-32-32-1 relu",
            StepNet::N3 => "N3 2-(9x2)-1 sigmoid",
        }
    }
    /// The hidden activation.
    pub const fn hidden(self) -> Activation {
        match self {
            StepNet::N2Relu => Activation::Relu,
            _ => Activation::Sigmoid,
        }
    }
    /// The instructions-per-step bar on the M4F with `Libm` (issue #4).
    pub const fn bar(self) -> u32 {
        match self {
            StepNet::N1 => 1_600,
            StepNet::N2Sigmoid => 16_000,
            StepNet::N2Relu => 12_000,
            StepNet::N3 => 1_800,
        }
    }
}

/// The protocol's samples (two clusters at ±(1, 1), σ = [`SIGMA`] per coordinate, from
/// `microprop::rng(SEED)`), as the host twin draws them; returns the generator after
/// them, from which [`step_net`] draws the initial weights.
///
/// # Errors
/// None in practice (the generator's arguments are valid).
pub fn step_data(
    x: &mut [[f32; 2]; SAMPLES],
    labels: &mut [u8; SAMPLES],
) -> microprop::Result<microprop::DefaultRng> {
    let mut rng = microprop::rng(SEED);
    // `Clusters::spread` is the RMS distance from the centre: σ · √2 in the plane.
    let clusters = Clusters::two(SIGMA * core::f32::consts::SQRT_2);
    clusters.generate(&mut rng, x, labels)?;
    Ok(rng)
}

/// Creates a net of the benchmark: Xavier-uniform weights drawn from `rng` (the
/// generator [`step_data`] returns), sigmoid output.
///
/// # Errors
/// None in practice.
pub fn step_net<T>(hidden: Activation, rng: &mut microprop::DefaultRng) -> microprop::Result<T>
where
    T: NewNet,
{
    T::create(hidden, Init::XavierUniform, rng)
}

/// Networks that [`step_net`] can create (every `mlp!` network, in any scalar).
pub trait NewNet: Sized {
    /// The network with its training buffers.
    type Training: Model;
    /// Creates the net.
    ///
    /// # Errors
    /// As `Network::new`.
    fn create(
        hidden: Activation,
        init: Init,
        rng: &mut microprop::DefaultRng,
    ) -> microprop::Result<Self>;
    /// Pairs it with its training buffers (`Network::into_training`).
    fn into_model(self) -> Self::Training;
}

impl<L, M> NewNet for Network<L, M>
where
    L: Net + Fixed<L::Scalar> + Default,
    M: Math<L::Scalar>,
{
    type Training = Training<L, M>;
    fn create(
        hidden: Activation,
        init: Init,
        rng: &mut microprop::DefaultRng,
    ) -> microprop::Result<Self> {
        Self::new(hidden.cast(), Activation::Sigmoid, init, 0.01, rng)
    }
    fn into_model(self) -> Training<L, M> {
        self.into_training()
    }
}

/// The step benchmark's trainer (MSE, batch 1) and optimizer (SGD, η = 0.1 in `S`).
///
/// # Errors
/// None in practice.
pub fn step_trainer<S: Scalar>() -> microprop::Result<(Trainer, Sgd<S>)> {
    Ok((Trainer::new(Loss::Mse, 1)?, Sgd::new(S::from_f64(0.1))?))
}

/// Runs `steps` training steps (batch 1), visiting the samples in order starting at
/// `start`. Never inlined, so that every caller times the same code.
///
/// # Errors
/// As [`Trainer::step`].
#[inline(never)]
pub fn run_steps<T: Model>(
    trainer: &mut Trainer,
    model: &mut T,
    opt: &mut Sgd<T::Scalar>,
    data: &Dataset<'_, T::Scalar>,
    start: usize,
    steps: usize,
) -> microprop::Result<()> {
    let n = data.len().max(1);
    // Dense layers draw nothing; the generator is there for the step's signature.
    let mut rng = microprop::rng(0);
    for s in 0..steps {
        let i = ((start + s) % n) as u16;
        trainer.step(model, opt, data, &[i], &mut rng)?;
    }
    Ok(())
}

/// The maximum absolute error of `act` under backend `M` in `f32`, forward and backward,
/// against the `f64` `Libm` computation, over the sweep. Returns `(forward, backward)`.
pub fn max_error<M: Math<f32>>(act: Activation) -> (f64, f64) {
    max_error_in::<f32, M>(act)
}

#[cfg(feature = "bench-q16")]
/// The maximum absolute error of `act` in [`Q16`] under the integer backend `M`, forward
/// and backward, against the `f64` `Libm` computation on the same inputs (the sweep
/// rounded to Q16, as [`run_with_q16`] times it). Returns `(forward, backward)`.
pub fn max_error_q16<M: Math<Q16>>(act: Activation) -> (f64, f64) {
    max_error_in::<Q16, M>(act)
}

/// [`max_error`] in the scalar `Sc`: the sweep converted to `Sc`, the reference in `f64`
/// on exactly those inputs.
fn max_error_in<Sc: Scalar, M: Math<Sc>>(act: Activation) -> (f64, f64) {
    let z = sweep().map(Sc::from_f32);
    let cast = act.cast::<Sc>();
    let mut a = [Sc::ZERO; SWEEP];
    let mut g = [Sc::ONE; SWEEP];
    cast.apply::<M>(&z, &mut a);
    cast.backward::<M>(&z, &a, &mut g);
    let z64 = z.map(Sc::to_f64);
    let mut a64 = [0.0f64; SWEEP];
    let mut g64 = [1.0f64; SWEEP];
    let reference = act.cast::<f64>();
    reference.apply::<Libm>(&z64, &mut a64);
    reference.backward::<Libm>(&z64, &a64, &mut g64);
    let err = |x: &[Sc], r: &[f64]| {
        x.iter()
            .zip(r)
            .fold(0.0f64, |m, (&x, &r)| m.max(libm::fabs(x.to_f64() - r)))
    };
    (err(&a, &a64), err(&g, &g64))
}

/// What the benchmark needs from the platform: a counter ([`Cycles`]; its ticks are what
/// the events report) and the two ends of each counted region, for an exact instruction
/// counter that triggers on code addresses (the firmware calls its marker functions,
/// which QEMU's plugin watches). Both ends default to nothing.
pub trait Meter: Cycles {
    /// Start of a counted region.
    fn region_start(&mut self) {}
    /// End of a counted region.
    fn region_stop(&mut self) {}
}

/// Runs the whole benchmark and logs it: the calibration region (the markers alone),
/// every activation under `Libm` then `Micromath` ([`REPS`] passes over the sweep each
/// way), the training steps of every [`StepNet`] under both backends ([`STEPS`] steps of
/// the protocol from the fresh init inside a counted region, then [`PARTS`] forward
/// passes and one-sample walks), N1's memory and [`BenchEvent::Done`].
///
/// # Errors
/// [`Error::Train`] if the core refuses a step (it does not on this protocol).
pub fn run<P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
) -> Result<(), Error> {
    run_float(meter, sink, false, STEPS)
}

#[cfg(feature = "bench-q16")]
/// [`run`] timing `steps` steps of the protocol per net (the full protocol:
/// [`FULL_EPOCHS`] × [`SAMPLES`]), then the fixed-point rows before
/// [`BenchEvent::Done`]: every activation in [`Q16`] under [`FixedTable`] then
/// [`FixedPoly`], and the N1 and N2 ReLU steps under both (counted regions numbered after
/// the float ones). The firmware's benchmark.
///
/// # Errors
/// As [`run`].
pub fn run_with_q16<P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
    steps: usize,
) -> Result<(), Error> {
    run_float(meter, sink, true, steps)
}

/// [`run`] with `steps` steps per net, and the fixed-point rows when `q16`.
fn run_float<P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
    q16: bool,
    steps: usize,
) -> Result<(), Error> {
    // Region 0: the markers' own cost, subtracted from every region.
    meter.region_start();
    meter.region_stop();
    sink.event(&BenchEvent::Calibration);
    activations::<f32, Libm, _, _>(meter, sink);
    activations::<f32, Micromath, _, _>(meter, sink);
    let mut region = 1;
    let n = steps;
    steps_f32::<Libm, _, _>(meter, sink, &mut region, n)?;
    steps_f32::<Micromath, _, _>(meter, sink, &mut region, n)?;
    #[cfg(not(feature = "bench-q16"))]
    let _ = q16;
    #[cfg(feature = "bench-q16")]
    if q16 {
        activations::<Q16, FixedTable, _, _>(meter, sink);
        activations::<Q16, FixedPoly, _, _>(meter, sink);
        steps_q16::<FixedTable, _, _>(meter, sink, &mut region, n)?;
        steps_q16::<FixedPoly, _, _>(meter, sink, &mut region, n)?;
    }
    sink.event(&BenchEvent::Memory {
        weights: N1::<Libm>::BYTES as u32,
        training: N1::<Libm>::TRAINING_BYTES as u32,
        trainer: core::mem::size_of::<Trainer>() as u32,
        optimizer: core::mem::size_of::<Sgd<f32>>() as u32,
    });
    sink.event(&BenchEvent::Done);
    Ok(())
}

/// Times every activation in the scalar `Sc` (on [`sweep`] converted to it: `f32` as it
/// is, [`Q16`] rounded to nearest) under backend `M`, forward and backward.
#[inline(never)]
fn activations<Sc: Scalar, M: Math<Sc>, P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
) {
    let z = sweep().map(Sc::from_f32);
    let mut a = [Sc::ZERO; SWEEP];
    let mut g = [Sc::ONE; SWEEP];
    for act in Activation::ALL {
        let act = black_box(act);
        let cast = act.cast::<Sc>();
        let t0 = meter.now();
        for _ in 0..REPS {
            cast.apply::<M>(black_box(&z), black_box(&mut a));
        }
        let t1 = meter.now();
        for _ in 0..REPS {
            black_box(&mut g).fill(Sc::ONE);
            cast.backward::<M>(black_box(&z), black_box(&a), black_box(&mut g));
        }
        let t2 = meter.now();
        for _ in 0..REPS {
            black_box(&mut g).fill(Sc::ONE);
        }
        let t3 = meter.now();
        sink.event(&BenchEvent::Activation {
            act,
            backend: M::NAME,
            fwd: t1.wrapping_sub(t0),
            bwd: t2.wrapping_sub(t1),
            fill: t3.wrapping_sub(t2),
            n: (REPS * SWEEP) as u32,
        });
    }
}

#[cfg(feature = "bench-q16")]
/// Times the N1 and N2 ReLU steps in [`Q16`] under backend `M` (the `f32` samples and
/// the generator after them as in [`steps_f32`], the samples rounded to Q16).
fn steps_q16<M: Math<Q16>, P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
    region: &mut u32,
    steps: usize,
) -> Result<(), Error> {
    let mut x = [[0.0f32; 2]; SAMPLES];
    let mut labels = [0u8; SAMPLES];
    let rng = step_data(&mut x, &mut labels)?;
    let mut xq = [[Q16::ZERO; 2]; SAMPLES];
    for (q, x) in xq.iter_mut().zip(&x) {
        *q = [Q16::from_f32(x[0]), Q16::from_f32(x[1])];
    }
    let data = Dataset::new(&xq, &labels)?;
    let ids = [StepNet::N1, StepNet::N2Relu];
    step::<Q16N1<M>, M, _, _>(meter, sink, region, ids[0], &data, &rng, steps)?;
    step::<Q16N2<M>, M, _, _>(meter, sink, region, ids[1], &data, &rng, steps)
}

/// Times the training steps of every net under backend `M`: each from the generator
/// [`step_data`] returns (as each host-twin run starts from it).
fn steps_f32<M: Math<f32>, P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
    region: &mut u32,
    steps: usize,
) -> Result<(), Error> {
    let mut x = [[0.0f32; 2]; SAMPLES];
    let mut labels = [0u8; SAMPLES];
    let rng = step_data(&mut x, &mut labels)?;
    let data = Dataset::new(&x, &labels)?;
    for net in StepNet::ALL {
        let (d, r) = (&data, &rng);
        match net {
            StepNet::N1 => step::<N1<M>, M, _, _>(meter, sink, region, net, d, r, steps)?,
            StepNet::N2Sigmoid | StepNet::N2Relu => {
                step::<N2<M>, M, _, _>(meter, sink, region, net, d, r, steps)?
            }
            StepNet::N3 => step::<N3<M>, M, _, _>(meter, sink, region, net, d, r, steps)?,
        }
    }
    Ok(())
}

/// Creates net `id` as an `N` from a copy of `rng`, then times `steps` steps from the
/// fresh init (one counted region), [`PARTS`] forward passes and [`PARTS`] one-sample
/// walks.
#[inline(never)]
fn step<N: NewNet, M: Math<Sc<N>>, P: Meter, S: Sink<BenchEvent> + ?Sized>(
    meter: &mut P,
    sink: &mut S,
    region: &mut u32,
    id: StepNet,
    data: &Dataset<'_, Sc<N>>,
    rng: &microprop::DefaultRng,
    steps: usize,
) -> Result<(), Error> {
    let net: N = step_net(id.hidden(), &mut rng.clone())?;
    let mut model = net.into_model();
    let (mut trainer, mut opt) = step_trainer()?;
    let t0 = meter.now();
    meter.region_start();
    run_steps(&mut trainer, &mut model, &mut opt, data, 0, steps)?;
    meter.region_stop();
    let t1 = meter.now();
    let hash = model.weights_hash();
    forwards(&mut model, data)?;
    let t2 = meter.now();
    samples(&trainer, &mut model, data)?;
    let t3 = meter.now();
    model.zero_grads();
    // Logged outside the timed spans (the firmware's log call costs instructions too).
    sink.event(&BenchEvent::Region {
        index: *region,
        net: id,
        backend: M::NAME,
    });
    *region += 1;
    sink.event(&BenchEvent::Step {
        net: id,
        backend: M::NAME,
        total: t1.wrapping_sub(t0),
        steps: steps as u32,
        fwd: t2.wrapping_sub(t1),
        sample: t3.wrapping_sub(t2),
        n: PARTS as u32,
        hash,
    });
    Ok(())
}

/// The scalar of a [`NewNet`]'s model.
type Sc<N> = <<N as NewNet>::Training as Model>::Scalar;

/// [`PARTS`] training-mode forward passes.
#[inline(never)]
fn forwards<T: Model>(model: &mut T, data: &Dataset<'_, T::Scalar>) -> Result<(), Error> {
    for (x, _) in data.iter().take(PARTS) {
        model.forward(&mut Pass::probe(), black_box(x))?;
    }
    Ok(())
}

/// [`PARTS`] forward + loss + backward passes (gradients accumulate; no update).
#[inline(never)]
fn samples<T: Model>(
    trainer: &Trainer,
    model: &mut T,
    data: &Dataset<'_, T::Scalar>,
) -> Result<(), Error> {
    let (loss, mut pass) = (Some(trainer.loss()), Pass::probe());
    for i in 0..PARTS.min(data.len()) as u16 {
        let grads = Some(Grads::Accumulate);
        train::walk(model, loss, data, black_box(&[i]), &mut pass, grads)?;
    }
    Ok(())
}
