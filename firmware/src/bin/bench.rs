//! The activation-cost and training-step benchmark on an emulated core (QEMU with
//! `-icount shift=0`, where SysTick counts instructions). `cargo xtask bench-mcu` runs it
//! on the M4F, M3 and M0, converts ticks to instructions and adds each backend's error.
//!
//! Output, one defmt line per measurement (ticks of the SysTick counter):
//! * `act <activation> <backend> fwd <ticks> bwd <ticks> fill <ticks> n <elements>`
//! * `step <net> <backend> total <ticks> fwd <ticks> sample <ticks> n <steps>`
//! * `memory ...` and `stack ...`
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m as _;
use cortex_m_rt::entry;
use microprop::{
    layer::{Fixed, Grads, Net, Pass},
    train, Activation, Dataset, Libm, Math, Micromath, Model, Network,
};
use microprop_app::{
    bench::{self, StepNet, N1, N2, N3},
    Cycles,
};
use microprop_firmware::{counter::SysTickCounter, qemu, stack};

/// Passes over the sweep per activation.
const REPS: usize = 4;
/// Training steps timed per net (one pass over the step data).
const STEPS: usize = bench::STEP_SAMPLES;

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        qemu::exit(false)
    };
    let mut c = SysTickCounter::start(cp.SYST);
    defmt::info!("bench for {=str}", qemu::CORE);
    // Region 0: the markers' own cost, subtracted from every region.
    let mut k = 0;
    microprop_mark_start();
    microprop_mark_stop();
    region(&mut k, "calibration", "-");
    activations::<Libm>(&mut c);
    activations::<Micromath>(&mut c);
    let ok = steps::<Libm>(&mut c, &mut k).is_ok() && steps::<Micromath>(&mut c, &mut k).is_ok();
    defmt::info!(
        "memory N1 weights {=u32} training {=u32} trainer {=u32} optimizer {=u32}",
        N1::<Libm>::BYTES as u32,
        N1::<Libm>::TRAINING_BYTES as u32,
        core::mem::size_of::<microprop::Trainer>() as u32,
        core::mem::size_of::<microprop::Sgd<f32>>() as u32
    );
    let (used, size) = stack::high_water();
    defmt::info!("stack {=u32} of {=u32}", used, size);
    defmt::info!("bench done");
    qemu::exit(ok)
}

/// Start of a counted region for the exact instruction-count plugin
/// (`firmware/tools/icount`); a no-op otherwise.
#[no_mangle]
#[inline(never)]
pub extern "C" fn microprop_mark_start() {
    cortex_m::asm::nop();
}

/// End of a counted region (a different body, so the linker cannot merge the markers).
#[no_mangle]
#[inline(never)]
pub extern "C" fn microprop_mark_stop() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

/// Logs the plugin's region number for `label` (regions are numbered in order).
fn region(k: &mut u32, label: &str, backend: &str) {
    defmt::info!("region {=u32} {=str} {=str}", *k, label, backend);
    *k += 1;
}

#[inline(never)]
fn activations<M: Math<f32>>(c: &mut SysTickCounter) {
    let z = bench::sweep();
    let mut a = [0.0f32; bench::SWEEP];
    let mut g = [1.0f32; bench::SWEEP];
    for act in Activation::ALL {
        let act = black_box(act);
        let t0 = c.now();
        for _ in 0..REPS {
            act.apply::<f32, M>(black_box(&z), black_box(&mut a));
        }
        let t1 = c.now();
        for _ in 0..REPS {
            black_box(&mut g).fill(1.0);
            act.backward::<f32, M>(black_box(&z), black_box(&a), black_box(&mut g));
        }
        let t2 = c.now();
        for _ in 0..REPS {
            black_box(&mut g).fill(1.0);
        }
        let t3 = c.now();
        defmt::info!(
            "act {=str} {=str} fwd {=u32} bwd {=u32} fill {=u32} n {=u32}",
            act.name(),
            M::NAME,
            t1.wrapping_sub(t0),
            t2.wrapping_sub(t1),
            t3.wrapping_sub(t2),
            (REPS * bench::SWEEP) as u32
        );
    }
}

fn steps<M: Math<f32>>(c: &mut SysTickCounter, k: &mut u32) -> microprop::Result<()> {
    let mut x = [[0.0f32; 2]; bench::STEP_SAMPLES];
    let mut labels = [0u8; bench::STEP_SAMPLES];
    bench::step_data(&mut x, &mut labels)?;
    let data = Dataset::new(&x, &labels)?;
    for net in StepNet::ALL {
        match net {
            StepNet::N1 => step::<_, M>(c, k, net, N1::<M>::zeroed_like(), &data)?,
            StepNet::N2Sigmoid | StepNet::N2Relu => {
                step::<_, M>(c, k, net, N2::<M>::zeroed_like(), &data)?
            }
            StepNet::N3 => step::<_, M>(c, k, net, N3::<M>::zeroed_like(), &data)?,
        }
    }
    Ok(())
}

/// A type witness (no value is built here; `step` creates the net itself).
trait Witness: Sized {
    fn zeroed_like() -> core::marker::PhantomData<Self> {
        core::marker::PhantomData
    }
}
impl<L, M> Witness for Network<L, M> {}

#[inline(never)]
fn step<L, M>(
    c: &mut SysTickCounter,
    k: &mut u32,
    id: StepNet,
    _net: core::marker::PhantomData<Network<L, M>>,
    data: &Dataset<'_, f32>,
) -> microprop::Result<()>
where
    L: Net<Scalar = f32> + Fixed<f32> + Default,
    M: Math<f32>,
{
    let net: Network<L, M> = bench::step_net(id.hidden())?;
    let mut model = net.into_training();
    let (mut trainer, mut opt) = bench::step_trainer()?;
    // Warm-up step, then one timed pass over the data.
    bench::run_steps(&mut trainer, &mut model, &mut opt, data, 0, 1)?;
    let t0 = c.now();
    microprop_mark_start();
    bench::run_steps(&mut trainer, &mut model, &mut opt, data, 1, STEPS)?;
    microprop_mark_stop();
    let t1 = c.now();
    region(k, id.name(), M::NAME);
    forwards(&mut model, data)?;
    let t2 = c.now();
    samples(&trainer, &mut model, data)?;
    let t3 = c.now();
    model.zero_grads();
    defmt::info!(
        "step {=str} {=str} total {=u32} fwd {=u32} sample {=u32} n {=u32}",
        id.name(),
        M::NAME,
        t1.wrapping_sub(t0),
        t2.wrapping_sub(t1),
        t3.wrapping_sub(t2),
        STEPS as u32
    );
    Ok(())
}

/// `STEPS` training-mode forward passes.
#[inline(never)]
fn forwards<T: Model<Scalar = f32>>(
    model: &mut T,
    data: &Dataset<'_, f32>,
) -> microprop::Result<()> {
    for (x, _) in data.iter().take(STEPS) {
        model.forward(&mut Pass::probe(), black_box(x))?;
    }
    Ok(())
}

/// `STEPS` forward + loss + backward passes (gradients accumulate; no update).
#[inline(never)]
fn samples<T: Model<Scalar = f32>>(
    trainer: &microprop::Trainer,
    model: &mut T,
    data: &Dataset<'_, f32>,
) -> microprop::Result<()> {
    let (loss, mut pass) = (Some(trainer.loss()), Pass::probe());
    for i in 0..STEPS.min(data.len()) as u16 {
        let grads = Some(Grads::Accumulate);
        train::walk(
            model,
            loss,
            data,
            black_box(&[i]),
            &mut pass,
            grads,
            &mut |_| {},
        )?;
    }
    Ok(())
}
