//! The app's events as defmt log lines. Every format string prints exactly the text of
//! the event's `Display` (`cargo xtask test` compares the decoded device log with the
//! host's): numbers arrive as integers, see `microprop_app::number`.

use microprop_app::{pass_str, Event, Sink};

/// Logs every event at level `info`.
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
            Event::Verdict { acc, pass } => defmt::info!(
                "result: relu-2-16-16-1 accuracy {=u16}.{=u8}% (bar 95.0%): {=str}",
                acc.int,
                acc.tenth,
                pass_str(pass)
            ),
        }
    }
}
