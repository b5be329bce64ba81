//! `microprop-sim resume`: the firmware's checkpoint-and-resume program on a RAM flash
//! that loses power. A run cut after an epoch, or half-way through writing a checkpoint,
//! resumes from the newest complete checkpoint and ends with the uninterrupted run's
//! weights; a flash holding garbage or another network's checkpoint starts afresh.

mod common;

use common::{json, scratch, sim};
use microprop::checkpoint::Checkpoints;
use microprop::format::{self, Extras};
use microprop::{mlp, Activation, Init};
use microprop_app::{resume, ResumeEvent, Sink};
use microprop_sim::resume::{boot, Cut, RamFlash};

fn lines(boot: &serde_json::Value) -> Vec<String> {
    boot["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().expect("line").to_string())
        .collect()
}

/// A short run (the firmware trains 150 epochs; 30 keep the tests quick).
const EPOCHS: &str = "30";

#[test]
fn a_cut_after_an_epoch_resumes_there_and_ends_as_the_uninterrupted_run() {
    let whole = json(&["resume", "--epochs", EPOCHS]);
    let boots = whole["boots"].as_array().unwrap();
    assert_eq!(boots.len(), 1);
    let log = lines(&boots[0]);
    assert_eq!(log[0], "no checkpoint: training from the start");
    assert_eq!(log.len(), 30 + 2);
    assert!(log[30].starts_with("epoch 30 loss 0."), "{}", log[30]);
    assert!(log[31].starts_with("done: 30 epochs, 480 steps, accuracy "));

    let v = json(&["resume", "--epochs", EPOCHS, "--cut-after-epoch", "12"]);
    let boots = v["boots"].as_array().unwrap();
    assert_eq!(boots.len(), 2, "a cut is followed by a second boot: {v}");
    assert_eq!(boots[0]["cut"]["after_epoch"], 12);
    assert_eq!(boots[0]["done"], serde_json::Value::Null);
    let first = lines(&boots[0]);
    assert!(first.last().unwrap().starts_with("epoch 12 loss 0.00"));
    assert_eq!(boots[1]["resumed_from_seq"], 12);
    let second = lines(&boots[1]);
    assert_eq!(
        second[0],
        "resumed from checkpoint seq 12 (epoch 12, step 192)"
    );
    // Boot 1 + boot 2 print exactly the uninterrupted run's epoch lines.
    let replayed: Vec<&String> = first.iter().chain(&second[1..]).collect();
    let reference: Vec<&String> = log.iter().collect();
    assert_eq!(replayed, reference);
    assert_eq!(boots[1]["done"], whole["boots"][0]["done"]);
    assert_eq!(v["same_as_uninterrupted"], true);
    assert_eq!(v["uninterrupted"], whole["boots"][0]["done"]);
}

#[test]
fn a_cut_inside_a_checkpoint_resumes_from_the_one_before() {
    // Each checkpoint erases a 5 KiB slot (1,280 words) and writes ~1,050 words; word
    // 10,000 falls inside the fifth checkpoint.
    let v = json(&["resume", "--epochs", EPOCHS, "--cut-after-words", "10000"]);
    let boots = v["boots"].as_array().unwrap();
    assert_eq!(boots[0]["cut"]["at_word"], 10000);
    assert_eq!(boots[0]["flash_words"], 9999);
    let committed = boots[0]["epochs_committed"].as_u64().unwrap();
    assert!((1..30).contains(&committed), "{v}");
    // The torn record is ignored: boot 2 resumes from the last committed one.
    assert_eq!(boots[1]["resumed_from_seq"].as_u64(), Some(committed));
    assert_eq!(v["same_as_uninterrupted"], true);
}

#[test]
fn every_cut_point_of_one_checkpoint_resumes_bit_identically() {
    // Through the library: two epochs committed, then the power fails at every 61st word
    // of the third checkpoint (its slot's erase, then its writes), at its last word (the
    // commit marker) and at the first word after it.
    let config = resume::Config {
        epochs: 4,
        ..resume::Config::default()
    };
    let reference = resume::run(&config, RamFlash::erased(), &mut Ignore).unwrap();
    let mut flash = RamFlash::erased();
    let first = boot(&config, &mut flash, Some(Cut::AfterEpoch(2)), false).unwrap();
    assert_eq!(first.committed, 2);
    let third = boot(&config, &mut flash.clone(), Some(Cut::AfterEpoch(3)), false).unwrap();
    let w = third.words;
    assert!(
        w > 5120 / 4,
        "a checkpoint erases its 5 KiB slot first: {w} words"
    );
    let mut cuts = 0;
    for k in (1..=w).step_by(61).chain([w, w + 1]) {
        let mut f = flash.clone();
        let cut = boot(&config, &mut f, Some(Cut::AtWord(k)), false).unwrap();
        assert_eq!(cut.cut, Some(Cut::AtWord(k)));
        assert_eq!(
            cut.committed,
            if k <= w { 2 } else { 3 },
            "cut at word {k} of {w}"
        );
        let resumed = boot(&config, &mut f, None, false).unwrap();
        assert_eq!(resumed.resumed_from, Some(cut.committed), "cut at word {k}");
        assert_eq!(resumed.outcome, Some(reference), "cut at word {k}");
        cuts += 1;
    }
    assert!(cuts > 30, "{cuts} cut points");
}

#[test]
fn the_flash_file_carries_a_cut_run_to_the_next_invocation() {
    let dir = scratch("sim-resume-flash");
    let file = dir.join("flash.bin");
    let f = file.to_str().unwrap();
    let cut = json(&[
        "resume",
        "--epochs",
        EPOCHS,
        "--cut-after-epoch",
        "7",
        "--flash",
        f,
    ]);
    // With a file, one invocation is one boot.
    assert_eq!(cut["boots"].as_array().unwrap().len(), 1);
    assert_eq!(cut["uninterrupted"], serde_json::Value::Null);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 16 * 1024);
    let next = json(&["resume", "--epochs", EPOCHS, "--flash", f]);
    assert_eq!(next["boots"][0]["resumed_from_seq"], 7);
    assert_eq!(next["same_as_uninterrupted"], true);
    // The file now holds the finished run: a third boot trains nothing more.
    let again = json(&["resume", "--epochs", EPOCHS, "--flash", f]);
    assert_eq!(again["boots"][0]["resumed_from_seq"], 30);
    assert_eq!(again["boots"][0]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(again["same_as_uninterrupted"], true);
    // Text mode says what the simulator did, apart from the program's lines.
    std::fs::remove_file(&file).unwrap();
    let out = sim(&[
        "resume",
        "--epochs",
        "3",
        "--cut-after-epoch",
        "2",
        "--flash",
        f,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("sim: boot 1 on an erased flash"), "{text}");
    assert!(text.contains("sim: power cut after epoch 2\n"), "{text}");
    assert!(text.contains("epoch 2 loss "), "{text}");
}

#[test]
fn a_flash_image_of_the_wrong_size_is_a_usage_error() {
    let dir = scratch("sim-resume-bad");
    let file = dir.join("short.bin");
    std::fs::write(&file, [0u8; 1000]).unwrap();
    let out = sim(&["resume", "--flash", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1024-byte pages"));
}

struct Ignore;
impl Sink<ResumeEvent> for Ignore {
    fn event(&mut self, _: &ResumeEvent) {}
}

#[derive(Default)]
struct Record(Vec<ResumeEvent>);
impl Sink<ResumeEvent> for Record {
    fn event(&mut self, e: &ResumeEvent) {
        self.0.push(*e);
    }
}

#[test]
fn garbage_or_another_networks_checkpoint_starts_afresh() {
    let config = resume::Config {
        epochs: 3,
        ..resume::Config::default()
    };
    let reference = resume::run(&config, RamFlash::erased(), &mut Ignore).unwrap();

    // Garbage never loads.
    let noise: Vec<u8> = (0..RamFlash::LEN as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut log = Record::default();
    let got = resume::run(&config, RamFlash::from_bytes(noise).unwrap(), &mut log).unwrap();
    assert_eq!(log.0[0], ResumeEvent::Fresh);
    assert_eq!(got, reference);

    // A valid checkpoint of a 2-4-1 net does not fit the 2-16-16-1 net.
    type Other = mlp![f32; 2, 4, 1];
    let net = Other::new(
        Activation::Tanh,
        Activation::Sigmoid,
        Init::XavierUniform,
        0.0,
        &mut microprop::rng(1),
    )
    .unwrap();
    let mut flash = RamFlash::erased();
    {
        let slot = resume::slot_len::<RamFlash>() as u32;
        let mut cp = Checkpoints::new(&mut flash, 0, RamFlash::LEN as u32, slot).unwrap();
        let mut buf = [0u8; format::network_len::<Other>(None)];
        cp.save(&net.into_training(), &Extras::none(), &mut buf)
            .unwrap();
    }
    let mut log = Record::default();
    let got = resume::run(&config, &mut flash, &mut log).unwrap();
    let ResumeEvent::Mismatch { error } = log.0[0] else {
        panic!("expected a mismatch, got {:?}", log.0[0]);
    };
    assert!(matches!(error, microprop::Error::Format(_)), "{error:?}");
    assert!(log.0[0]
        .to_string()
        .starts_with("checkpoint does not fit this network (Format("));
    assert_eq!(got, reference);
}
