//! The resume program's lines: the words `firmware/tools/power-cut.sh` greps for.

use microprop_app::number::{Fixed6, Percent};
use microprop_app::ResumeEvent;

#[test]
fn lines_keep_the_words_power_cut_sh_reads() {
    let resumed = ResumeEvent::Resumed {
        seq: 40,
        epoch: 40,
        step: 640,
    };
    // `grep -o "resumed from checkpoint seq [0-9]*" | awk '{print $5}'`
    assert_eq!(
        resumed.to_string(),
        "resumed from checkpoint seq 40 (epoch 40, step 640)"
    );
    let checkpoint = ResumeEvent::Checkpoint {
        epoch: 41,
        loss: Fixed6::new(0.000_051),
        seq: 41,
        slot: 1,
    };
    // `grep -o "checkpoint seq [0-9]*" | awk '{print $3}'`
    assert_eq!(
        checkpoint.to_string(),
        "epoch 41 loss 0.000051: checkpoint seq 41 in slot 1"
    );
    let done = ResumeEvent::Done {
        epochs: 150,
        steps: 2400,
        acc: Percent::of(128, 128),
        hash: 0x30cc_ead3_7081_48a1,
    };
    // `grep -q "done:"`, `grep -o "weights hash [0-9a-f]*" | awk '{print $3}'`
    assert_eq!(
        done.to_string(),
        "done: 150 epochs, 2400 steps, accuracy 100.0%, weights hash 30ccead3708148a1"
    );
    assert_eq!(
        ResumeEvent::Fresh.to_string(),
        "no checkpoint: training from the start"
    );
}
