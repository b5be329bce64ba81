//! The app's events as defmt log lines. Every format string prints exactly the text of
//! the event's `Display` (`cargo xtask test` compares the decoded demo log with the
//! host's, `host-sim/tests/sim_parity.rs` the resume program's): numbers arrive as
//! integers, see `microprop_app::number`.

use microprop_app::{pass_str, BenchEvent, Event, NetId, ResumeEvent, Sink};

/// Logs every event at level `info` (a checkpoint that does not fit: `warn`).
#[derive(Clone, Copy, Debug, Default)]
pub struct DefmtSink;

impl Sink for DefmtSink {
    fn event(&mut self, event: &Event) {
        match *event {
            Event::Start { seed, samples } => defmt::info!(
                "microprop demo: seed {=u64}, {=u16} two-cluster samples",
                seed,
                samples
            ),
            Event::Mean { feature, mean } => defmt::info!(
                "input mean x{=u8} = {=str}{=u8}.{=u16:03}e{=i16} (streamed, subtracted)",
                feature,
                mean.sign(),
                mean.lead,
                mean.frac,
                mean.exp
            ),
            Event::Begin {
                net,
                params,
                bytes,
                epochs,
                lr,
                batch,
            } => defmt::info!(
                "train {=str}: {=u16} params, {=u32} B weights+training buffers, {=u16} epochs, lr {=u32}.{=u32:06}, batch {=u16}",
                net.name(),
                params,
                bytes,
                epochs,
                lr.int,
                lr.frac,
                batch
            ),
            Event::Epoch {
                net,
                epoch,
                loss,
                acc,
            } => defmt::info!(
                "{=str} epoch {=u16}: loss {=u32}.{=u32:06} acc {=u16}.{=u8}%",
                net.name(),
                epoch,
                loss.int,
                loss.frac,
                acc.int,
                acc.tenth
            ),
            Event::GradNorm {
                net,
                phase,
                layer,
                norm,
            } => defmt::info!(
                "{=str} grad-norm {=str} layer {=u8}: {=str}{=u8}.{=u16:03}e{=i16}",
                net.name(),
                phase.name(),
                layer,
                norm.sign(),
                norm.lead,
                norm.frac,
                norm.exp
            ),
            Event::Timing { net, ticks } => {
                defmt::info!("{=str} trained in {=u32} ticks", net.name(), ticks)
            }
            Event::Hash { net, hash } => {
                defmt::info!("weights hash {=str} {=u64:016x}", net.name(), hash)
            }
            Event::BatchNorm {
                without,
                with,
                bar,
                pass,
            } => defmt::info!(
                "batch norm: {=str} {=u16}.{=u8}% without, {=str} {=u16}.{=u8}% with (bar {=u16}.{=u8}%): {=str}",
                NetId::Deep.name(),
                without.int,
                without.tenth,
                NetId::DeepBatchNorm.name(),
                with.int,
                with.tenth,
                bar.int,
                bar.tenth,
                pass_str(pass)
            ),
            Event::Verdict { acc, bar, pass } => defmt::info!(
                "result: relu-2-16-16-1 accuracy {=u16}.{=u8}% (bar {=u16}.{=u8}%): {=str}",
                acc.int,
                acc.tenth,
                bar.int,
                bar.tenth,
                pass_str(pass)
            ),
        }
    }
}

impl Sink<ResumeEvent> for DefmtSink {
    fn event(&mut self, event: &ResumeEvent) {
        match *event {
            ResumeEvent::Resumed { seq, epoch, step } => defmt::info!(
                "resumed from checkpoint seq {=u32} (epoch {=u32}, step {=u32})",
                seq,
                epoch,
                step
            ),
            ResumeEvent::Fresh => defmt::info!("no checkpoint: training from the start"),
            ResumeEvent::Mismatch { error } => defmt::warn!(
                "checkpoint does not fit this network ({}): from the start",
                error
            ),
            ResumeEvent::Checkpoint {
                epoch,
                loss,
                seq,
                slot,
            } => defmt::info!(
                "epoch {=u32} loss {=u32}.{=u32:06}: checkpoint seq {=u32} in slot {=u32}",
                epoch,
                loss.int,
                loss.frac,
                seq,
                slot
            ),
            ResumeEvent::Done {
                epochs,
                steps,
                acc,
                hash,
            } => defmt::info!(
                "done: {=u32} epochs, {=u32} steps, accuracy {=u16}.{=u8}%, weights hash {=u64:016x}",
                epochs,
                steps,
                acc.int,
                acc.tenth,
                hash
            ),
        }
    }
}

impl Sink<BenchEvent> for DefmtSink {
    fn event(&mut self, event: &BenchEvent) {
        match *event {
            BenchEvent::Calibration => defmt::info!("region 0 calibration -"),
            BenchEvent::Region {
                index,
                net,
                backend,
            } => defmt::info!("region {=u32} {=str} {=str}", index, net.name(), backend),
            BenchEvent::Activation {
                act,
                backend,
                fwd,
                bwd,
                fill,
                n,
            } => defmt::info!(
                "act {=str} {=str} fwd {=u32} bwd {=u32} fill {=u32} n {=u32}",
                act.name(),
                backend,
                fwd,
                bwd,
                fill,
                n
            ),
            BenchEvent::Step {
                net,
                backend,
                total,
                steps,
                fwd,
                sample,
                n,
                hash,
            } => defmt::info!(
                "step {=str} {=str} total {=u32} steps {=u32} fwd {=u32} sample {=u32} n {=u32} hash {=u64:016x}",
                net.name(),
                backend,
                total,
                steps,
                fwd,
                sample,
                n,
                hash
            ),
            BenchEvent::Memory {
                weights,
                training,
                trainer,
                optimizer,
            } => defmt::info!(
                "memory N1 weights {=u32} training {=u32} trainer {=u32} optimizer {=u32}",
                weights,
                training,
                trainer,
                optimizer
            ),
            BenchEvent::Done => defmt::info!("bench done"),
        }
    }
}
