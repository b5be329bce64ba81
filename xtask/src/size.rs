//! `cargo xtask size [--bless]`: flash (text + data) and static RAM (data + bss) of every
//! firmware image, compared with the snapshot `firmware/sizes.txt`; `--bless` rewrites
//! the snapshot.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use crate::firmware::{self, Image};
use crate::util::{llvm_tool, output, Snapshot};

/// The size snapshot kept in the repository.
fn snapshot_path() -> PathBuf {
    firmware::dir().join("sizes.txt")
}

/// `cargo xtask size [--bless]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mode = Snapshot::from_args("size", args)?;
    let llvm_size = llvm_tool("llvm-size")?;
    let old = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    let mut table = String::from("# binary target profile flash_bytes static_ram_bytes\n");
    println!(
        "{:<11} {:<22} {:<8} {:>10} {:>10} {:>12}",
        "binary", "target", "profile", "flash B", "static RAM", "vs snapshot"
    );
    for img in Image::all() {
        img.build()?;
        let out = output(Command::new(&llvm_size).arg(img.elf()))?;
        let nums: Vec<u64> = out
            .lines()
            .nth(1)
            .ok_or("llvm-size printed no sizes")?
            .split_whitespace()
            .take(3)
            .map(|n| n.parse::<u64>().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let [text, data, bss] = nums[..] else {
            return Err(format!("cannot parse llvm-size output: {out}"));
        };
        let (flash, ram) = (text + data, data + bss);
        let key = format!("{} {} {}", img.bin, img.target, img.profile.name());
        let before = old.lines().find_map(|l| {
            let rest = l.strip_prefix(&key)?;
            rest.split_whitespace().next()?.parse::<i64>().ok()
        });
        let delta = before.map_or("new".to_string(), |b| format!("{:+}", flash as i64 - b));
        println!(
            "{:<11} {:<22} {:<8} {:>10} {:>10} {:>12}",
            img.bin,
            img.target,
            img.profile.name(),
            flash,
            ram,
            delta
        );
        let _ = writeln!(table, "{key} {flash} {ram}");
    }
    if mode == Snapshot::Bless {
        std::fs::write(snapshot_path(), table).map_err(|e| e.to_string())?;
        println!("wrote {}", snapshot_path().display());
    }
    println!("(static RAM excludes the stack; the demo logs its measured stack high-water mark)");
    Ok(())
}
