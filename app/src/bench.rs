//! The activation-cost and training-step benchmark protocol, shared by the benchmark
//! firmware (which times it) and the host (which computes each backend's error on the
//! very same inputs).
//!
//! * Activations: every [`Activation::ALL`] entry, forward ([`Activation::apply`]) and
//!   backward ([`Activation::backward`] with an upstream gradient of 1, i.e. `f'(z)`), over
//!   a [`SWEEP`]-point sweep of `[-8, 8]`, as one slice (the way a layer calls them).
//! * Training steps: batch 1 (online), SGD (η = 0.1), MSE, sigmoid output, on
//!   [`STEP_SAMPLES`] two-cluster samples visited in order: N1 = 2-16-1 sigmoid,
//!   N2 = 2-32-32-1 sigmoid and ReLU, N3 = 2-(9×2)-1 sigmoid.

use microprop::{
    data::Clusters, mlp, Activation, Dataset, Init, Libm, Loss, Math, Model, Sgd, Trainer,
};

/// Points in the activation sweep.
pub const SWEEP: usize = 256;
/// The sweep's lower end.
pub const SWEEP_LO: f32 = -8.0;
/// The sweep's upper end.
pub const SWEEP_HI: f32 = 8.0;

/// Samples the training-step benchmark cycles through.
pub const STEP_SAMPLES: usize = 64;

/// N1: 2-16-1, sigmoid, under maths backend `M`.
pub type N1<M = Libm> = mlp![f32, M; 2, 16, 1];
/// N2: 2-32-32-1 (sigmoid or ReLU hidden layers).
pub type N2<M = Libm> = mlp![f32, M; 2, 32, 32, 1];
/// N3: nine hidden layers of 2, sigmoid.
pub type N3<M = Libm> = mlp![f32, M; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];

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

/// Two-cluster samples for the step benchmark (seed 7, spread 0.7).
///
/// # Errors
/// None in practice (the generator's arguments are valid).
pub fn step_data(
    x: &mut [[f32; 2]; STEP_SAMPLES],
    labels: &mut [u8; STEP_SAMPLES],
) -> microprop::Result<()> {
    let mut rng = microprop::rng(7);
    Clusters::two(0.7).generate(&mut rng, x, labels)
}

/// Creates a net of the benchmark (He init for ReLU, Xavier for sigmoid; seed 11).
///
/// # Errors
/// None in practice.
pub fn step_net<T>(hidden: Activation) -> microprop::Result<T>
where
    T: NewNet,
{
    let init = if hidden == Activation::Relu {
        Init::HeNormal
    } else {
        Init::XavierNormal
    };
    T::create(hidden, init, &mut microprop::rng(11))
}

/// Networks that [`step_net`] can create (every `mlp!` network).
pub trait NewNet: Sized {
    /// Creates the net.
    ///
    /// # Errors
    /// As `Network::new`.
    fn create(
        hidden: Activation,
        init: Init,
        rng: &mut microprop::DefaultRng,
    ) -> microprop::Result<Self>;
}

impl<L, M> NewNet for microprop::Network<L, M>
where
    L: microprop::layer::Net<Scalar = f32> + Default,
    M: Math<f32>,
{
    fn create(
        hidden: Activation,
        init: Init,
        rng: &mut microprop::DefaultRng,
    ) -> microprop::Result<Self> {
        Self::new(hidden, Activation::Sigmoid, init, 0.01, rng)
    }
}

/// The step benchmark's trainer (MSE, batch 1) and optimizer (SGD, η = 0.1).
///
/// # Errors
/// None in practice.
pub fn step_trainer() -> microprop::Result<(Trainer, Sgd<f32>)> {
    Ok((Trainer::new(Loss::Mse, 1)?, Sgd::new(0.1)?))
}

/// Runs `steps` training steps (batch 1), visiting the samples in order starting at
/// `start`. Never inlined, so that every caller times the same code.
///
/// # Errors
/// As [`Trainer::step`].
#[inline(never)]
pub fn run_steps<T: Model<Scalar = f32>>(
    trainer: &mut Trainer,
    model: &mut T,
    opt: &mut Sgd<f32>,
    data: &Dataset<'_, f32>,
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
    let z = sweep();
    let mut a = [0.0f32; SWEEP];
    let mut g = [1.0f32; SWEEP];
    act.apply::<f32, M>(&z, &mut a);
    act.backward::<f32, M>(&z, &a, &mut g);
    let mut z64 = [0.0f64; SWEEP];
    for (z64, &z) in z64.iter_mut().zip(&z) {
        *z64 = f64::from(z);
    }
    let mut a64 = [0.0f64; SWEEP];
    let mut g64 = [1.0f64; SWEEP];
    act.apply::<f64, Libm>(&z64, &mut a64);
    act.backward::<f64, Libm>(&z64, &a64, &mut g64);
    let err = |x: &[f32], r: &[f64]| {
        x.iter()
            .zip(r)
            .fold(0.0f64, |m, (&x, &r)| m.max(libm::fabs(f64::from(x) - r)))
    };
    (err(&a, &a64), err(&g, &g64))
}
