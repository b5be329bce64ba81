//! The training demo: data on the device, streaming mean subtraction, four nets.

use embedded_hal::{delay::DelayNs, digital::OutputPin};
use microprop::{
    data::Clusters,
    diagnostics,
    layer::{Fixed, Kind, Net, Zeroed},
    layers, mlp, train, Activation, Dataset, Init, Loss, Model, Network, Preprocess, Sgd,
    Standardizer, Trainer, Training,
};

use crate::{
    board::{Board, Cycles},
    event::{Event, NetId, Phase, Sink},
    number::{Fixed6, Percent, Sci},
    Error,
};

/// Training samples generated on the device.
pub const SAMPLES: usize = 200;

/// The ReLU net: 2-16-16-1, ReLU hidden layers, sigmoid output.
pub type ReluNet = mlp![f32; 2, 16, 16, 1];
/// The notes' "2-layer" all-2-wide sigmoid net.
pub type ShallowNet = mlp![f32; 2, 2, 2, 1];
/// The notes' "9-layer" all-2-wide sigmoid net (`mlp![f32; 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]`,
/// its eight 2-to-2 layers a [`Repeat`](microprop::layer::Repeat)).
pub type DeepNet = layers![f32; 2 => dense 2, 8 * (dense 2), dense 1];
/// The same net with a batch norm after every hidden dense layer (the dense layers then
/// have no activation; each batch norm applies the sigmoid). The nine blocks are a
/// [`Repeat`](microprop::layer::Repeat): one copy of a block's code, walked by a loop,
/// which is what lets it fit the M0's flash beside the other nets.
pub type DeepBatchNormNet = layers![f32; 2 => 9 * (dense 2, batch_norm), dense 1];
/// Rows of the batch-norm net's training buffers: its schedule's batch (batch norm
/// normalises over the whole batch, so the batch is one pass).
pub const BATCH_NORM_ROWS: usize = 4;

/// The loss of every net: the notes' MSE (`½ (a − y)²` on a sigmoid output). Chosen over
/// BCE on purpose: MSE keeps the output sigmoid's `σ'(z) ≤ 0.25` factor in the
/// back-propagated gradient, as in the notes' derivation, so the device shows the
/// vanishing gradients the notes predict; it is also the cost benchmark's loss.
pub const LOSS: Loss = Loss::Mse;

/// How one net is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Epochs over the data set.
    pub epochs: u16,
    /// SGD learning rate.
    pub lr: f32,
    /// Mini-batch size (1 = online).
    pub batch: u16,
}

/// The demo's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Seed of the one random generator (data, initial weights, shuffling).
    pub seed: u64,
    /// Standard deviation of each cluster around its centre ±(1, 1).
    pub spread: f32,
    /// The ReLU net's schedule.
    pub relu: Schedule,
    /// The two plain sigmoid nets' schedule.
    pub sigmoid: Schedule,
    /// The batch-norm net's schedule (its batch must be at most [`BATCH_NORM_ROWS`]).
    pub batch_norm: Schedule,
    /// Accuracy the ReLU net and the batch-norm net must reach, in tenths of a percent.
    pub bar_permille: u32,
}

impl Default for Config {
    /// Seed 42, spread 0.7; ReLU: 10 epochs, lr 0.1, batch 4; sigmoid: 20 epochs, lr 0.5,
    /// batch 4; batch norm: 20 epochs, lr 0.1, batch 4; bar 95 %.
    fn default() -> Self {
        Config {
            seed: 42,
            spread: 0.7,
            relu: Schedule {
                epochs: 10,
                lr: 0.1,
                batch: 4,
            },
            sigmoid: Schedule {
                epochs: 20,
                lr: 0.5,
                batch: 4,
            },
            batch_norm: Schedule {
                epochs: 20,
                lr: 0.1,
                batch: 4,
            },
            bar_permille: 950,
        }
    }
}

/// What the demo achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The ReLU net's final training accuracy.
    pub relu_accuracy: Percent,
    /// Whether it reached [`Config::bar_permille`].
    pub passed: bool,
    /// Final training accuracy of each net, in [`NetId::ALL`] order.
    pub accuracies: [Percent; NetId::ALL.len()],
    /// Weights hash of each trained net, in [`NetId::ALL`] order.
    pub hashes: [u64; NetId::ALL.len()],
}

/// Runs the demo: generates the data, fits and subtracts the mean sample by sample, trains
/// the four nets (logging every epoch), logs the two deep nets' per-layer gradient norms
/// before and after training, the weights hashes and the verdict, then blinks the LED
/// three times.
///
/// # Errors
/// [`Error::Train`] if the core library refuses a step; [`Error::Led`] if the LED does.
pub fn run<P: OutputPin, D: DelayNs, C: Cycles, S: Sink + ?Sized>(
    config: &Config,
    board: &mut Board<P, D, C>,
    sink: &mut S,
) -> Result<Outcome, Error> {
    let mut rng = microprop::rng(config.seed);
    let mut x = [[0.0f32; 2]; SAMPLES];
    let mut labels = [0u8; SAMPLES];
    Clusters::two(config.spread).generate(&mut rng, &mut x, &mut labels)?;
    sink.event(&Event::Start {
        seed: config.seed,
        samples: SAMPLES as u16,
    });

    // Zero-centre the inputs: the mean is fitted one sample at a time, as a sensor would
    // deliver them, then subtracted.
    let mut centre = Standardizer::<f32, 2>::new(Preprocess::Mean);
    for sample in &x {
        centre.update(sample)?;
    }
    for (feature, &mean) in centre.mean().iter().enumerate() {
        sink.event(&Event::Mean {
            feature: feature as u8,
            mean: Sci::new(f64::from(mean)),
        });
    }
    centre.apply_all::<microprop::Libm>(&mut x);
    let data = Dataset::new(&x, &labels)?;
    let mut order = [0u16; SAMPLES];
    train::fill_order(&mut order)?;

    let mut ctx = Ctx {
        data: &data,
        order: &mut order,
        rng: &mut rng,
        board,
        sink,
    };
    let sigmoid = |id, watch_gradients, schedule| Plan {
        id,
        hidden: Activation::Sigmoid,
        bias: 0.0,
        schedule,
        watch_gradients,
    };
    let relu = Plan {
        id: NetId::Relu,
        hidden: Activation::Relu,
        bias: 0.01,
        schedule: config.relu,
        watch_gradients: false,
    };
    let relu = train_net::<<ReluNet as Chain>::L, 1, _, _, _, _>(&relu, &mut ctx)?;
    let shallow = sigmoid(NetId::Shallow, false, config.sigmoid);
    let shallow = train_net::<<ShallowNet as Chain>::L, 1, _, _, _, _>(&shallow, &mut ctx)?;
    let deep = sigmoid(NetId::Deep, true, config.sigmoid);
    let deep = train_net::<<DeepNet as Chain>::L, 1, _, _, _, _>(&deep, &mut ctx)?;
    let bn = {
        let bn = sigmoid(NetId::DeepBatchNorm, true, config.batch_norm);
        train_net::<<DeepBatchNormNet as Chain>::L, BATCH_NORM_ROWS, _, _, _, _>(&bn, &mut ctx)?
    };
    let Ctx { board, sink, .. } = ctx;

    let (accuracies, hashes) = (
        [relu.0, shallow.0, deep.0, bn.0],
        [relu.1, shallow.1, deep.1, bn.1],
    );
    for (net, hash) in NetId::ALL.into_iter().zip(hashes) {
        sink.event(&Event::Hash { net, hash });
    }
    let bar = Percent::from_permille(config.bar_permille);
    let normalised = {
        let pass = bn.0.permille() >= config.bar_permille;
        sink.event(&Event::BatchNorm {
            without: deep.0,
            with: bn.0,
            bar,
            pass,
        });
        pass
    };
    let relu_passed = relu.0.permille() >= config.bar_permille;
    sink.event(&Event::Verdict {
        acc: relu.0,
        bar,
        pass: relu_passed,
    });
    let passed = relu_passed && normalised;
    board.blink(3, 100)?;
    Ok(Outcome {
        relu_accuracy: relu.0,
        passed,
        accuracies,
        hashes,
    })
}

/// What every net's training shares: the data, the order, the generator, the board and
/// the sink.
struct Ctx<'a, P, D, C, S: ?Sized> {
    data: &'a Dataset<'a, f32>,
    order: &'a mut [u16],
    rng: &'a mut microprop::DefaultRng,
    board: &'a mut Board<P, D, C>,
    sink: &'a mut S,
}

/// How one net is made and trained.
struct Plan {
    id: NetId,
    hidden: Activation,
    bias: f32,
    schedule: Schedule,
    watch_gradients: bool,
}

/// Names the layers of a network type.
trait Chain {
    type L;
}

impl<L, M> Chain for Network<L, M> {
    type L = L;
}

/// Makes the net with training buffers for batches of `B` rows (He init, sigmoid output)
/// and trains it for its schedule; with `watch_gradients`, logs its dense layers'
/// gradient norms before and after (the vanishing gradients of the deep sigmoid net).
/// Returns the final accuracy and weights hash. The model is built in place, in this
/// frame, and each net's frame is gone before the next one's: only one model is ever on
/// the stack.
#[inline(never)]
fn train_net<L, const B: usize, P, D, C, S>(
    plan: &Plan,
    ctx: &mut Ctx<'_, P, D, C, S>,
) -> Result<(Percent, u64), Error>
where
    L: Net<Scalar = f32> + Fixed<f32> + Zeroed<f32, B> + Default,
    C: Cycles,
    S: Sink + ?Sized,
{
    let bytes = Network::<L>::bytes_to_train(0, B);
    let mut model = fresh::<L, B>();
    let net = model.network_mut();
    net.set_activations(plan.hidden, Activation::Sigmoid)?;
    net.init(Init::HeNormal, plan.bias, ctx.rng)?;
    if plan.watch_gradients {
        grad_norms(plan.id, Phase::Init, &mut model, ctx.data, ctx.sink)?;
    }
    let result = fit(plan.id, &mut model, bytes, plan.schedule, ctx)?;
    if plan.watch_gradients {
        grad_norms(plan.id, Phase::Trained, &mut model, ctx.data, ctx.sink)?;
    }
    Ok(result)
}

/// A zeroed model, returned into the caller's slot. Its buffers and every dense layer are
/// constants stored straight into the slot ([`Zeroed`], `Dense::default`); what
/// temporaries remain (a batch norm's defaults are computed, not constants) live in this
/// frame, which is gone before training starts (inlined, they would stay in `train_net`'s
/// frame under every call it makes).
#[inline(never)]
fn fresh<L, const B: usize>() -> Training<L, microprop::Libm, B>
where
    L: Net<Scalar = f32> + Fixed<f32> + Zeroed<f32, B> + Default,
{
    Training::default()
}

/// Trains one net for its schedule, logging every epoch and the time taken. Returns the
/// final accuracy and weights hash.
#[inline(never)]
fn fit<T, P, D, C, S>(
    net: NetId,
    model: &mut T,
    bytes: usize,
    schedule: Schedule,
    ctx: &mut Ctx<'_, P, D, C, S>,
) -> Result<(Percent, u64), Error>
where
    T: Model<Scalar = f32>,
    C: Cycles,
    S: Sink + ?Sized,
{
    let Ctx {
        data,
        order,
        rng,
        board,
        sink,
    } = ctx;
    sink.event(&Event::Begin {
        net,
        params: model.params() as u16,
        bytes: bytes as u32,
        epochs: schedule.epochs,
        lr: Fixed6::new(schedule.lr),
        batch: schedule.batch,
    });
    let mut opt = Sgd::new(schedule.lr)?;
    let mut trainer = Trainer::new(LOSS, usize::from(schedule.batch))?;
    let mut acc = Percent::of(0, 1);
    let mut ticks = 0u32;
    for epoch in 1..=schedule.epochs {
        let t0 = board.cycles.now();
        trainer.epoch(model, &mut opt, data, order, *rng)?;
        ticks = ticks.wrapping_add(board.cycles.now().wrapping_sub(t0));
        let m = train::evaluate(model, LOSS, data)?;
        let correct = libm::roundf(m.accuracy * data.len() as f32) as u32;
        acc = Percent::of(correct, data.len() as u32);
        sink.event(&Event::Epoch {
            net,
            epoch,
            loss: Fixed6::new(m.loss),
            acc,
        });
    }
    sink.event(&Event::Timing { net, ticks });
    Ok((acc, model.weights_hash()))
}

/// Logs the per-layer norm of the mean gradient over the whole data set.
#[inline(never)]
fn grad_norms<T: Model<Scalar = f32>, S: Sink + ?Sized>(
    net: NetId,
    phase: Phase,
    model: &mut T,
    data: &Dataset<'_, f32>,
    sink: &mut S,
) -> Result<(), Error> {
    diagnostics::accumulate_gradients(model, LOSS, data)?;
    let mut norms = [0.0f64; 32];
    let n = diagnostics::grad_norms(model, 1.0, &mut norms);
    // Which of the trainable layers (those `grad_norms` reports, in order) are dense.
    let mut dense = [false; 32];
    let mut slots = dense.iter_mut();
    model.visit_layers(|l| {
        if l.gw.is_empty() && l.gb.is_empty() {
            return;
        }
        if let Some(d) = slots.next() {
            *d = l.kind == Kind::Dense;
        }
    });
    model.zero_grads();
    // Dense layers only, numbered among themselves: the plain and the batch-norm deep
    // nets' lines compare layer by layer.
    let dense_norms = norms.iter().zip(dense).take(n).filter(|(_, d)| *d);
    for (layer, (&norm, _)) in dense_norms.enumerate() {
        sink.event(&Event::GradNorm {
            net,
            phase,
            layer: (layer + 1) as u8,
            norm: Sci::new(norm),
        });
    }
    Ok(())
}
