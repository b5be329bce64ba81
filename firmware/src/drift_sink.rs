//! The drift program's events (`microprop_app::drift::DriftEvent`) as defmt log lines:
//! every format string prints exactly the text of the event's `Display` (`cargo xtask
//! test-firmware` compares the decoded log with the host's, line for line).

use microprop_app::drift::DriftEvent;
use microprop_app::Sink;

use crate::sink::DefmtSink;

impl Sink<DriftEvent> for DefmtSink {
    fn event(&mut self, event: &DriftEvent) {
        match *event {
            DriftEvent::Start {
                seed,
                samples,
                turn_milli,
                spread_milli,
                lr_milli,
                warmup,
                capacity,
                steps,
                every,
            } => defmt::info!(
                "drift: seed {=u64}, {=u32} samples, {=u32}.{=u32:03} half-turns, spread {=u32}.{=u32:03}, lr {=u32}.{=u32:03}, warm-up {=u32}, replay {=u32} x {=u8}, checkpoint every {=u32}",
                seed,
                samples,
                turn_milli / 1000,
                turn_milli % 1000,
                spread_milli / 1000,
                spread_milli % 1000,
                lr_milli / 1000,
                lr_milli % 1000,
                warmup,
                capacity,
                steps,
                every
            ),
            DriftEvent::Memory(m) => defmt::info!(
                "memory: model {=u32} B, frozen {=u32} B, optimizer {=u32} B, replay {=u32} samples {=u32} B, checkpoint buffer {=u32} B, slot {=u32} B",
                m.model,
                m.frozen,
                m.optimizer,
                m.replay_capacity,
                m.replay,
                m.buffer,
                m.slot
            ),
            DriftEvent::Fresh => defmt::info!("no checkpoint: from the start"),
            DriftEvent::Resumed { seq, samples } => defmt::info!(
                "resumed from checkpoint seq {=u32} at sample {=u32}",
                seq,
                samples
            ),
            DriftEvent::Mismatch { error } => {
                defmt::warn!("checkpoint does not fit ({}): from the start", error)
            }
            DriftEvent::Frozen { samples } => defmt::info!("frozen after {=u32} samples", samples),
            DriftEvent::Window {
                first,
                last,
                online,
                frozen,
            } => defmt::info!(
                "samples {=u32}-{=u32}: online {=u16}.{=u8}% frozen {=u16}.{=u8}%",
                first,
                last,
                online.int,
                online.tenth,
                frozen.int,
                frozen.tenth
            ),
            DriftEvent::Checkpoint { samples, seq, slot } => defmt::info!(
                "checkpoint seq {=u32} in slot {=u32} at sample {=u32}",
                seq,
                slot,
                samples
            ),
            DriftEvent::Result {
                scored,
                online,
                frozen,
                len,
                seen,
            } => defmt::info!(
                "result: online {=u16}.{=u8}% frozen {=u16}.{=u8}% over {=u32} samples after warm-up, replay {=u32} of {=u32} seen",
                online.int,
                online.tenth,
                frozen.int,
                frozen.tenth,
                scored,
                len,
                seen
            ),
            DriftEvent::Done {
                samples,
                online,
                frozen,
            } => defmt::info!(
                "done: {=u32} samples, weights hash online {=u64:016x} frozen {=u64:016x}",
                samples,
                online,
                frozen
            ),
        }
    }
}
