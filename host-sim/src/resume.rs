//! `resume`: the firmware's checkpoint-and-resume program ([`microprop_app::resume`]) on
//! the host, against a RAM-backed NOR flash ([`RamFlash`]) that can lose power.
//!
//! A power cut either comes right after an epoch's checkpoint was committed
//! (`--cut-after-epoch N`) or at the K-th flash word written or erased
//! (`--cut-after-words K`, which may tear a checkpoint half-way). Without `--flash` the
//! flash lives in memory, so after a cut the simulator boots again on the same bytes and
//! the program resumes; with `--flash FILE` one invocation is one boot, the file is the
//! flash that survives (byte-compatible with the region QEMU's `pmemsave` dumps in
//! `firmware/tools/power-cut.sh`), and the next invocation resumes from it. When a boot
//! finishes training, its result is compared with an uninterrupted run on a fresh flash.

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use microprop_app::resume::{self, Config, Outcome, Session};
use microprop_app::{Error as AppError, ResumeEvent, Sink};
use serde_json::json;

use crate::{
    cli::ResumeArgs,
    ctx::{check_failed, fail, failure, print_line, usage, ErrorKind},
    stats::hex16,
    Ctx, Output, Res,
};

/// RAM with the NOR semantics and geometry of the firmware's flash region: erase sets
/// 0xFF in 1 KiB pages, a 4-byte write only clears bits. It can lose power after a given
/// number of word operations: the operation in progress stops before that word and every
/// later access fails with [`NorFlashErrorKind::Other`].
#[derive(Clone, Debug)]
pub struct RamFlash {
    bytes: Vec<u8>,
    /// Word operations (4-byte writes, 4-byte parts of an erase) left before the power
    /// fails; `None`: it never does.
    budget: Option<u64>,
    words: u64,
    cut: bool,
}

impl RamFlash {
    /// Bytes of the firmware's region (`firmware/src/flash.rs`).
    pub const LEN: usize = 16 * 1024;

    /// An erased flash of [`RamFlash::LEN`] bytes.
    pub fn erased() -> Self {
        RamFlash {
            bytes: vec![0xFF; Self::LEN],
            budget: None,
            words: 0,
            cut: false,
        }
    }

    /// A flash holding `bytes` (e.g. a QEMU dump of the firmware's region).
    ///
    /// # Errors
    /// If the length is not a positive multiple of the 1 KiB erase page.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(Self::ERASE_SIZE) {
            return Err(format!(
                "a flash image is a whole number of {}-byte pages, not {} bytes",
                Self::ERASE_SIZE,
                bytes.len()
            ));
        }
        Ok(RamFlash {
            bytes,
            ..Self::erased()
        })
    }

    /// The power fails at the `k`-th word operation from now (`k` ≥ 1: that word is not
    /// touched).
    pub fn cut_after_words(&mut self, k: u64) {
        self.budget = Some(k.saturating_sub(1));
    }

    /// Powers the flash back on (a reboot): accesses work again, no cut is pending, and
    /// the word count restarts.
    pub fn power_on(&mut self) {
        self.budget = None;
        self.words = 0;
        self.cut = false;
    }

    /// Whether the power has failed.
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// Word operations done since power-on.
    pub fn words(&self) -> u64 {
        self.words
    }

    /// The contents.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Spends one word operation; `Err` once the power is gone.
    fn word(&mut self) -> Result<(), NorFlashErrorKind> {
        if self.cut || self.budget == Some(0) {
            self.cut = true;
            return Err(NorFlashErrorKind::Other);
        }
        if let Some(b) = &mut self.budget {
            *b -= 1;
        }
        self.words += 1;
        Ok(())
    }

    fn range(&self, offset: u32, len: usize, align: usize) -> Result<usize, NorFlashErrorKind> {
        let at = offset as usize;
        if self.cut {
            return Err(NorFlashErrorKind::Other);
        }
        if !at.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(NorFlashErrorKind::NotAligned);
        }
        if at.saturating_add(len) > self.bytes.len() {
            return Err(NorFlashErrorKind::OutOfBounds);
        }
        Ok(at)
    }
}

impl ErrorType for RamFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, out: &mut [u8]) -> Result<(), NorFlashErrorKind> {
        let at = self.range(offset, out.len(), 1)?;
        out.copy_from_slice(&self.bytes[at..at + out.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 1024;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), NorFlashErrorKind> {
        let len = to.checked_sub(from).ok_or(NorFlashErrorKind::OutOfBounds)? as usize;
        let at = self.range(from, len, Self::ERASE_SIZE)?;
        for w in (at..at + len).step_by(4) {
            self.word()?;
            self.bytes[w..w + 4].fill(0xFF);
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), NorFlashErrorKind> {
        let at = self.range(offset, data.len(), Self::WRITE_SIZE)?;
        for (i, c) in data.chunks_exact(4).enumerate() {
            self.word()?;
            for (b, &d) in self.bytes[at + 4 * i..at + 4 * i + 4].iter_mut().zip(c) {
                *b &= d;
            }
        }
        Ok(())
    }
}

/// Where the power fails in the first boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Right after epoch `n`'s checkpoint was committed (if this boot trains epoch `n`).
    AfterEpoch(u32),
    /// At the `k`-th flash word written or erased in this boot.
    AtWord(u64),
}

/// What happened in one boot.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    /// The program's log lines (each event's `Display`, as the firmware prints them).
    pub lines: Vec<String>,
    /// The checkpoint it resumed from, if any.
    pub resumed_from: Option<u32>,
    /// Epochs in the newest checkpoint it loaded or committed.
    pub committed: u32,
    /// Where its power failed.
    pub cut: Option<Cut>,
    /// Flash words written or erased.
    pub words: u64,
    /// The result, if it trained to the end.
    pub outcome: Option<Outcome>,
}

/// Collects (and in text mode prints) the program's lines.
struct Lines<'a> {
    print: bool,
    boot: &'a mut Boot,
}

impl Sink<ResumeEvent> for Lines<'_> {
    fn event(&mut self, e: &ResumeEvent) {
        let line = e.to_string();
        if self.print {
            print_line(&line);
        }
        match *e {
            ResumeEvent::Resumed { seq, epoch, .. } => {
                self.boot.resumed_from = Some(seq);
                self.boot.committed = epoch;
            }
            ResumeEvent::Checkpoint { epoch, .. } => self.boot.committed = epoch,
            _ => {}
        }
        self.boot.lines.push(line);
    }
}

/// One boot of the program on `flash`, with the power failing at `cut`.
///
/// # Errors
/// A failure of the program other than the power cut.
pub fn boot(config: &Config, flash: &mut RamFlash, cut: Option<Cut>, print: bool) -> Res<Boot> {
    flash.power_on();
    if let Some(Cut::AtWord(k)) = cut {
        flash.cut_after_words(k);
    }
    let mut out = Boot::default();
    let mut sink = Lines {
        print,
        boot: &mut out,
    };
    let result = (|| -> Result<Option<Outcome>, AppError> {
        let mut session = Session::start(config, &mut *flash, &mut sink)?;
        while !session.is_done() {
            session.epoch(&mut sink)?;
            if cut == Some(Cut::AfterEpoch(session.epochs_done())) {
                return Ok(None);
            }
        }
        session.finish(&mut sink).map(Some)
    })();
    out.words = flash.words();
    match result {
        Ok(Some(outcome)) => out.outcome = Some(outcome),
        Ok(None) => out.cut = cut,
        Err(_) if flash.is_cut() => out.cut = cut,
        Err(e) => return fail(ErrorKind::of_app(&e), format!("resume: {e}")),
    }
    Ok(out)
}

fn say(print: bool, line: &str) {
    if print {
        print_line(&format!("sim: {line}"));
    }
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    json!({
        "epochs": o.epochs,
        "steps": o.steps,
        "accuracy_permille": o.accuracy.permille(),
        "weights_hash": hex16(o.hash),
    })
}

/// `microprop-sim resume`.
pub fn run(a: &ResumeArgs, ctx: &Ctx) -> Res<Output> {
    if let Some(n) = a.cut_after_epoch.filter(|&n| n > a.epochs) {
        return usage(format!(
            "--cut-after-epoch {n}: the run has {} epochs (--epochs)",
            a.epochs
        ));
    }
    let config = Config {
        seed: a.seed,
        epochs: a.epochs,
        ..Config::default()
    };
    // clap refuses both at once.
    let cut = a
        .cut_after_epoch
        .map(Cut::AfterEpoch)
        .or(a.cut_after_words.map(Cut::AtWord));
    let print = !ctx.json;
    let (mut flash, from) = match &a.flash {
        Some(p) if p.exists() => {
            let bytes = std::fs::read(p)
                .map_err(|e| failure(ErrorKind::Io, format!("--flash {}: {e}", p.display())))?;
            let flash = RamFlash::from_bytes(bytes)
                .or_else(|e| usage(format!("--flash {}: {e}", p.display())))?;
            (flash, format!("the flash in {}", p.display()))
        }
        _ => (RamFlash::erased(), "an erased flash".to_string()),
    };
    let slot = resume::slot_len::<RamFlash>();
    say(
        print,
        &format!(
            "boot 1 on {from} ({} B: {} checkpoint slots of {slot} B)",
            flash.capacity(),
            flash.capacity() / slot
        ),
    );
    let mut boots = vec![boot(&config, &mut flash, cut, print)?];
    match boots[0].cut {
        Some(Cut::AfterEpoch(n)) => say(print, &format!("power cut after epoch {n}")),
        Some(Cut::AtWord(k)) => say(
            print,
            &format!(
                "power cut at flash word {k}, while checkpointing epoch {}",
                boots[0].committed + 1
            ),
        ),
        None if cut.is_some() => say(print, "no power cut: the boot finished first"),
        None => {}
    }
    if boots[0].cut.is_some() && a.flash.is_none() {
        say(print, "boot 2 on the same flash");
        boots.push(boot(&config, &mut flash, None, print)?);
    }
    if let Some(p) = &a.flash {
        std::fs::write(p, flash.bytes())
            .map_err(|e| failure(ErrorKind::Io, format!("--flash {}: {e}", p.display())))?;
        say(print, &format!("flash saved to {}", p.display()));
    }
    let last = boots.last().and_then(|b| b.outcome);
    let reference = match last {
        Some(_) => Some(
            resume::run(&config, RamFlash::erased(), &mut Quiet).map_err(|e| {
                failure(
                    ErrorKind::of_app(&e),
                    format!("resume (uninterrupted run): {e}"),
                )
            })?,
        ),
        None => None,
    };
    let same = last.zip(reference).map(|(l, r)| l == r);
    if let Some(r) = &reference {
        say(
            print,
            &format!(
                "uninterrupted run on a fresh flash: weights hash {}: {}",
                hex16(r.hash),
                if same == Some(true) {
                    "the same"
                } else {
                    "DIFFERENT"
                }
            ),
        );
    }
    let json = json!({
        "config": {
            "seed": config.seed, "epochs": config.epochs, "spread": config.spread,
            "lr": config.lr, "batch": config.batch,
        },
        "flash": { "bytes": flash.capacity(), "slot_bytes": slot, "from": from },
        "boots": boots.iter().map(|b| json!({
            "lines": b.lines,
            "resumed_from_seq": b.resumed_from,
            "cut": b.cut.map(|c| match c {
                Cut::AfterEpoch(n) => json!({ "after_epoch": n }),
                Cut::AtWord(k) => json!({ "at_word": k }),
            }),
            "epochs_committed": b.committed,
            "flash_words": b.words,
            "done": b.outcome.as_ref().map(outcome_json),
        })).collect::<Vec<_>>(),
        "uninterrupted": reference.as_ref().map(outcome_json),
        "same_as_uninterrupted": same,
    });
    let output = Output {
        json,
        text: String::new(),
    };
    if same == Some(false) {
        return check_failed(
            "resume: the resumed run ended differently from the uninterrupted one",
            output,
        );
    }
    Ok(output)
}

/// Drops the events (the uninterrupted reference run).
struct Quiet;

impl Sink<ResumeEvent> for Quiet {
    fn event(&mut self, _: &ResumeEvent) {}
}
