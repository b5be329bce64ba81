//! The minimal trainer's events (`microprop_app::tiny::TinyEvent`) as defmt log lines, and
//! its closing lines (stack high-water mark, RAM used) and exit: shared by the `tiny` and
//! `tiny-q16` images. Every format string prints exactly the text of the event's `Display`
//! (`cargo xtask test-firmware` compares the decoded log with the host's, line for line).

use microprop_app::tiny::{Outcome, TinyEvent};
use microprop_app::{pass_str, Sink};

use crate::sink::DefmtSink;
use crate::{qemu, stack};

impl Sink<TinyEvent> for DefmtSink {
    fn event(&mut self, event: &TinyEvent) {
        match *event {
            TinyEvent::Start {
                seed,
                params,
                bytes,
            } => defmt::info!(
                "microprop tiny: N1 2-16-1 sigmoid, online SGD, seed {=u64}, {=u16} params, {=u32} B model+training buffers",
                seed,
                params,
                bytes
            ),
            #[cfg(feature = "tiny-q16")]
            TinyEvent::StartQ16 {
                seed,
                params,
                bytes,
            } => defmt::info!(
                "microprop tiny: N1 2-16-1 sigmoid in Q16.16 (q16-table), online SGD, seed {=u64}, {=u16} params, {=u32} B model+training buffers",
                seed,
                params,
                bytes
            ),
            TinyEvent::Epoch { epoch, loss, acc } => defmt::info!(
                "epoch {=u16}: loss {=u32}.{=u32:06} held-out acc {=u16}.{=u8}%",
                epoch,
                loss.int,
                loss.frac,
                acc.int,
                acc.tenth
            ),
            TinyEvent::Hash { hash } => defmt::info!("weights hash n1 {=u64:016x}", hash),
            TinyEvent::Verdict { acc, bar, pass } => defmt::info!(
                "result: n1 accuracy {=u16}.{=u8}% (bar {=u16}.{=u8}%): {=str}",
                acc.int,
                acc.tenth,
                bar.int,
                bar.tenth,
                pass_str(pass)
            ),
        }
    }
}

extern "C" {
    static __sdata: u32;
    static __euninit: u32;
}

/// Bytes of static data (`.data`, `.bss`, `.uninit`), from cortex-m-rt's linker symbols.
fn static_ram() -> u32 {
    // Only the symbols' addresses are taken (safe); nothing is read through them.
    let (start, end) = (
        core::ptr::addr_of!(__sdata) as usize,
        core::ptr::addr_of!(__euninit) as usize,
    );
    end.saturating_sub(start) as u32
}

/// Logs the stack high-water mark and the RAM used (static data + stack), then exits
/// QEMU with the run's verdict.
pub fn finish(result: Result<Outcome, microprop_app::Error>) -> ! {
    let (used, size) = stack::high_water();
    defmt::info!("stack high-water mark: {=u32} of {=u32} B", used, size);
    let statics = static_ram();
    defmt::info!(
        "RAM used: {=u32} B ({=u32} B static + {=u32} B stack)",
        statics + used,
        statics,
        used
    );
    match result {
        Ok(outcome) => qemu::exit(outcome.passed),
        Err(e) => {
            defmt::error!("the tiny program stopped: {}", e);
            qemu::exit(false)
        }
    }
}
