//! `drift`: the firmware's learning-under-drift program ([`microprop_app::drift`]) on the
//! host, on the same RAM-backed NOR flash as `resume` ([`RamFlash`]).
//!
//! It prints the program's lines (each event's `Display`: the firmware's log, line for
//! line, but for the firmware's `board:` and stack lines). `--cut-after-samples N` cuts
//! the power after N samples of the first boot, boots again on the same flash, and
//! compares the result with an uninterrupted run; `--flash FILE` makes one invocation one
//! boot on a file in the QEMU dump's format (`firmware/tools/power-cut-drift.sh`), so a
//! region dumped under QEMU resumes here and the other way round. `--replay` picks the
//! replay buffer's compile-time capacity among a few built in.

use microprop_app::drift::{self, payload_len, Config, DriftEvent, DriftStream, Outcome, Session};
use microprop_app::{Error as AppError, Sink};
use serde_json::json;

use crate::resume::RamFlash;
use crate::{
    cli::DriftArgs,
    ctx::{check_failed, fail, failure, print_line, usage, ErrorKind},
    stats::hex16,
    Ctx, Output, Res,
};

/// Collects (and in text mode prints) the program's lines.
struct Lines {
    print: bool,
    lines: Vec<String>,
    resumed_at: Option<u32>,
}

impl Sink<DriftEvent> for Lines {
    fn event(&mut self, e: &DriftEvent) {
        let line = e.to_string();
        if self.print {
            print_line(&line);
        }
        if let DriftEvent::Resumed { samples, .. } = *e {
            self.resumed_at = Some(samples);
        }
        self.lines.push(line);
    }
}

/// What one boot did.
struct Boot {
    lines: Vec<String>,
    resumed_at: Option<u32>,
    outcome: Option<Outcome>,
    memory: drift::Memory,
}

/// One boot with replay capacity `R`, the power failing after `cut` samples.
fn boot<const R: usize, const P: usize>(
    config: &Config,
    flash: &mut RamFlash,
    cut: Option<u32>,
    print: bool,
) -> Result<Boot, AppError> {
    flash.power_on();
    let mut sink = Lines {
        print,
        lines: Vec::new(),
        resumed_at: None,
    };
    let mut s = Session::<_, _, R, P>::start(config, config.stream(), &mut *flash, &mut sink)?;
    let mut outcome = None;
    loop {
        if cut.is_some_and(|c| s.samples_done() >= c) {
            break;
        }
        if !s.step(&mut sink)? {
            outcome = Some(s.finish(&mut sink)?);
            break;
        }
    }
    Ok(Boot {
        lines: sink.lines,
        resumed_at: sink.resumed_at,
        outcome,
        memory: Session::<RamFlash, DriftStream, R, P>::memory(),
    })
}

fn boot_with(
    replay: u32,
    config: &Config,
    flash: &mut RamFlash,
    cut: Option<u32>,
    print: bool,
) -> Res<Boot> {
    let r = match replay {
        8 => boot::<8, { payload_len(8) }>(config, flash, cut, print),
        16 => boot::<16, { payload_len(16) }>(config, flash, cut, print),
        32 => boot::<32, { payload_len(32) }>(config, flash, cut, print),
        64 => boot::<64, { payload_len(64) }>(config, flash, cut, print),
        n => return usage(format!("--replay {n}: one of 8, 16, 32, 64")),
    };
    r.or_else(|e| fail(ErrorKind::of_app(&e), format!("drift: {e}")))
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    json!({
        "samples": o.samples,
        "scored": o.scored,
        "online_correct": o.online_correct,
        "frozen_correct": o.frozen_correct,
        "online_permille": o.online.permille(),
        "frozen_permille": o.frozen.permille(),
        "margin_points": (f64::from(o.online.permille()) - f64::from(o.frozen.permille())) / 10.0,
        "replay_len": o.replay_len,
        "replay_seen": o.replay_seen,
        "online_hash": hex16(o.online_hash),
        "frozen_hash": hex16(o.frozen_hash),
    })
}

/// `microprop-sim drift`.
pub fn run(a: &DriftArgs, ctx: &Ctx) -> Res<Output> {
    let d = Config::default();
    let config = Config {
        seed: a.seed.unwrap_or(d.seed),
        samples: a.samples.unwrap_or(d.samples),
        half_turns: a.half_turns.unwrap_or(d.half_turns),
        replay_steps: a.replay_steps.unwrap_or(d.replay_steps),
        ..d
    };
    if !(config.half_turns.is_finite() && (0.0..=100.0).contains(&config.half_turns)) {
        return usage(format!("--half-turns {}: 0 to 100", config.half_turns));
    }
    if config.samples < config.warmup {
        return usage(format!(
            "--samples {}: at least the warm-up ({})",
            config.samples, config.warmup
        ));
    }
    if let Some(c) = a.cut_after_samples.filter(|&c| c >= config.samples) {
        return usage(format!(
            "--cut-after-samples {c}: the run has {} samples",
            config.samples
        ));
    }
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
    let mut boots = vec![boot_with(
        a.replay,
        &config,
        &mut flash,
        a.cut_after_samples,
        print,
    )?];
    if boots[0].outcome.is_none() && a.flash.is_none() {
        if print {
            print_line(&format!(
                "sim: power cut after {} samples; boot 2 on the same flash",
                a.cut_after_samples.unwrap_or(0)
            ));
        }
        boots.push(boot_with(a.replay, &config, &mut flash, None, print)?);
    }
    if let Some(p) = &a.flash {
        std::fs::write(p, flash.bytes())
            .map_err(|e| failure(ErrorKind::Io, format!("--flash {}: {e}", p.display())))?;
        if print {
            print_line(&format!("sim: flash saved to {}", p.display()));
        }
    }
    let last = boots.last().and_then(|b| b.outcome);
    let resumed = boots.iter().any(|b| b.resumed_at.is_some()) || boots.len() > 1;
    let reference = match (last, resumed) {
        (Some(_), true) => {
            boot_with(a.replay, &config, &mut RamFlash::erased(), None, false)?.outcome
        }
        _ => None,
    };
    let same = last.zip(reference).map(|(l, r)| l == r);
    if let (Some(r), true) = (&reference, print) {
        print_line(&format!(
            "sim: uninterrupted run on a fresh flash: weights hash online {}: {}",
            hex16(r.online_hash),
            if same == Some(true) {
                "the same"
            } else {
                "DIFFERENT"
            }
        ));
    }
    let m = boots[0].memory;
    let json = json!({
        "config": {
            "seed": config.seed, "samples": config.samples, "half_turns": config.half_turns,
            "spread": config.spread, "lr": config.lr, "warmup": config.warmup,
            "replay_steps": config.replay_steps, "window": config.window,
            "checkpoint_every": config.checkpoint_every, "replay_capacity": a.replay,
        },
        "memory_bytes": {
            "model": m.model, "frozen": m.frozen, "optimizer": m.optimizer,
            "replay": m.replay, "checkpoint_buffer": m.buffer, "slot": m.slot,
        },
        "flash": { "bytes": flash.bytes().len(), "from": from },
        "boots": boots.iter().map(|b| json!({
            "lines": b.lines,
            "resumed_at_sample": b.resumed_at,
            "done": b.outcome.as_ref().map(outcome_json),
        })).collect::<Vec<_>>(),
        "outcome": last.as_ref().map(outcome_json),
        "uninterrupted": reference.as_ref().map(outcome_json),
        "same_as_uninterrupted": same,
    });
    let output = Output {
        json,
        text: String::new(),
    };
    if same == Some(false) {
        return check_failed(
            "drift: the resumed run ended differently from the uninterrupted one",
            output,
        );
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_run_resumes_to_the_same_figures() {
        let config = Config {
            samples: 600,
            ..Config::default()
        };
        let mut flash = RamFlash::erased();
        let first = boot_with(32, &config, &mut flash, Some(420), false).unwrap();
        assert!(first.outcome.is_none());
        let second = boot_with(32, &config, &mut flash, None, false).unwrap();
        assert_eq!(second.resumed_at, Some(250));
        let fresh = boot_with(32, &config, &mut RamFlash::erased(), None, false).unwrap();
        assert_eq!(second.outcome, fresh.outcome);
    }

    #[test]
    fn a_cut_at_any_flash_word_resumes_to_the_same_figures() {
        // The power fails at the k-th word written or erased: inside a seal, an erase, a
        // header, a payload or a commit marker of one of the three checkpoints (every
        // 13th word of all the run's word operations).
        let config = Config {
            samples: 1000,
            ..Config::default()
        };
        let mut clean = RamFlash::erased();
        let fresh = boot_with(32, &config, &mut clean, None, false)
            .unwrap()
            .outcome
            .unwrap();
        let total = clean.words();
        let mut torn = 0;
        for k in (1..=total).step_by(13) {
            let mut flash = RamFlash::erased();
            flash.cut_after_words(k);
            let mut sink = Lines {
                print: false,
                lines: Vec::new(),
                resumed_at: None,
            };
            let cut = (|| -> Result<(), AppError> {
                let mut s =
                    drift::DefaultSession::start(&config, config.stream(), &mut flash, &mut sink)?;
                while s.step(&mut sink)? {}
                Ok(())
            })();
            assert!(cut.is_err() && flash.is_cut(), "k {k}: {cut:?}");
            torn += 1;
            let again = boot_with(32, &config, &mut flash, None, false).unwrap();
            assert_eq!(again.outcome, Some(fresh), "k {k}");
        }
        assert!(torn > 50, "{torn} cuts in {total} words");
    }
}
