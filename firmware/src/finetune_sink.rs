//! The fine-tuning program's events (`microprop_app::finetune::FinetuneEvent`) as defmt
//! log lines: every format string prints exactly the text of the event's `Display`
//! (`cargo xtask test-firmware` compares the decoded log with the host's, line for line).

use microprop_app::finetune::FinetuneEvent;
use microprop_app::{pass_str, Sink};

use crate::sink::DefmtSink;

impl Sink<FinetuneEvent> for DefmtSink {
    fn event(&mut self, event: &FinetuneEvent) {
        match *event {
            FinetuneEvent::Start { params, hash } => defmt::info!(
                "microprop finetune: iris 4-16-16-3, embedded model {=u16} params, weights hash {=u64:016x}",
                params,
                hash
            ),
            FinetuneEvent::Memory {
                weights,
                training,
                optimizer,
                data,
            } => defmt::info!(
                "memory: model {=u32} B, training buffers {=u32} B, optimizer state {=u32} B, data {=u32} B",
                weights,
                training,
                optimizer,
                data
            ),
            FinetuneEvent::Offset { offset: [a, b, c, d] } => defmt::info!(
                "sensor offset (cm): +{=u32}.{=u32:06} +{=u32}.{=u32:06} +{=u32}.{=u32:06} +{=u32}.{=u32:06}",
                a.int,
                a.frac,
                b.int,
                b.frac,
                c.int,
                c.frac,
                d.int,
                d.frac
            ),
            FinetuneEvent::Predict {
                point,
                class,
                bits: [y0, y1, y2],
            } => defmt::info!(
                "predict {=str} -> class {=u8} [{=u32:08x} {=u32:08x} {=u32:08x}]",
                point,
                class,
                y0,
                y1,
                y2
            ),
            FinetuneEvent::Before { host, train, test } => defmt::info!(
                "embedded model: host data {=u16}.{=u8}%, device train {=u16}.{=u8}%, device test {=u16}.{=u8}%",
                host.int,
                host.tenth,
                train.int,
                train.tenth,
                test.int,
                test.tenth
            ),
            FinetuneEvent::Epoch {
                run,
                epoch,
                loss,
                train,
                test,
            } => defmt::info!(
                "{=str} epoch {=u16}: loss {=u32}.{=u32:06} train {=u16}.{=u8}% test {=u16}.{=u8}%",
                run.name(),
                epoch,
                loss.int,
                loss.frac,
                train.int,
                train.tenth,
                test.int,
                test.tenth
            ),
            FinetuneEvent::Timing { run, ticks } => {
                defmt::info!("{=str} trained in {=u32} ticks", run.name(), ticks)
            }
            FinetuneEvent::Done {
                run,
                epochs,
                test,
                hash,
            } => defmt::info!(
                "{=str}: {=u16} epochs, device test {=u16}.{=u8}%, weights hash {=u64:016x}",
                run.name(),
                epochs,
                test.int,
                test.tenth,
                hash
            ),
            FinetuneEvent::Verdict {
                before,
                after,
                scratch,
                bar,
                pass,
            } => defmt::info!(
                "result: device test accuracy {=u16}.{=u8}% embedded, {=u16}.{=u8}% fine-tuned, {=u16}.{=u8}% from scratch (bar {=u16}.{=u8}%): {=str}",
                before.int,
                before.tenth,
                after.int,
                after.tenth,
                scratch.int,
                scratch.tenth,
                bar.int,
                bar.tenth,
                pass_str(pass)
            ),
        }
    }
}
