//! `cargo xtask size [--bless] [--breakdown] [--top N] [--only BIN]`: flash (text + data)
//! and static RAM (data + bss) of every firmware image, compared with the snapshot
//! `firmware/sizes.txt`; `--bless` rewrites the snapshot. `--breakdown` adds, for each
//! image, where its flash goes: the sections (vector table, code, read-only data,
//! initialised data), the code by crate and its `--top` (default 12) largest functions,
//! from the ELF's symbols ([`crate::symbols`], `cargo bloat`-style; the images are
//! `no_std` ELFs, which `cargo bloat` reads no better). `--only BIN` measures only the
//! images of that binary (`train`, `tiny`, ...; not with `--bless`, which rewrites the
//! whole snapshot).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::firmware::{self, Image};
use crate::symbols::{by_crate, largest, symbols};
use crate::util::{llvm_tool, output};

/// The size snapshot kept in the repository.
fn snapshot_path() -> PathBuf {
    firmware::dir().join("sizes.txt")
}

/// The command's options.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Options {
    bless: bool,
    breakdown: bool,
    top: usize,
    only: Option<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            bless: false,
            breakdown: false,
            top: 12,
            only: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--bless" => o.bless = true,
                "--breakdown" => o.breakdown = true,
                "--top" => {
                    o.top = it
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("size: --top needs a number of functions")?;
                }
                "--only" => {
                    o.only = Some(it.next().ok_or("size: --only needs a binary name")?.clone());
                }
                other => {
                    return Err(format!(
                        "size: unknown argument `{other}` (--bless, --breakdown, --top N, \
                         --only BIN)"
                    ))
                }
            }
        }
        if o.bless && o.only.is_some() {
            return Err("size: --bless rewrites the whole snapshot; drop --only".into());
        }
        Ok(o)
    }
}

/// `cargo xtask size`.
pub fn run(args: &[String]) -> Result<(), String> {
    let opts = Options::parse(args)?;
    let llvm_size = llvm_tool("llvm-size")?;
    let old = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    let mut table = String::from("# binary target profile flash_bytes static_ram_bytes\n");
    let images: Vec<Image> = Image::all()
        .into_iter()
        .filter(|img| opts.only.as_deref().is_none_or(|b| b == img.bin))
        .collect();
    if images.is_empty() {
        return Err(format!(
            "size: no image of binary `{}`",
            opts.only.unwrap_or_default()
        ));
    }
    println!(
        "{:<11} {:<22} {:<8} {:>10} {:>10} {:>12}",
        "binary", "target", "profile", "flash B", "static RAM", "vs snapshot"
    );
    let mut breakdowns = String::new();
    for img in images {
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
        if opts.breakdown {
            breakdowns.push_str(&breakdown(&llvm_size, &img.elf(), &key, flash, opts.top)?);
        }
    }
    if opts.bless {
        std::fs::write(snapshot_path(), table).map_err(|e| e.to_string())?;
        println!("wrote {}", snapshot_path().display());
    }
    println!("(static RAM excludes the stack; the demo logs its measured stack high-water mark)");
    print!("{breakdowns}");
    Ok(())
}

/// Where `elf`'s `flash` bytes go: its allocated flash sections, its code by crate and
/// its `top` largest functions.
fn breakdown(
    llvm_size: &Path,
    elf: &Path,
    key: &str,
    flash: u64,
    top: usize,
) -> Result<String, String> {
    let sections = flash_sections(&output(Command::new(llvm_size).arg("-A").arg(elf))?);
    let syms = symbols(elf)?;
    let code: u64 = syms.iter().map(|s| s.size).sum();
    let pct = |b: u64| 100.0 * b as f64 / flash.max(1) as f64;
    let mut s = format!("\n{key}: {flash} B of flash =");
    for (i, (name, bytes)) in sections.iter().enumerate() {
        let _ = write!(s, "{} {name} {bytes}", if i == 0 { "" } else { " +" });
    }
    let _ = writeln!(
        s,
        "\n  code by crate ({code} B in {} functions; % of flash):",
        syms.len()
    );
    for (krate, bytes) in by_crate(&syms) {
        let _ = writeln!(s, "  {bytes:>8} {:>5.1}%  {krate}", pct(bytes));
    }
    let _ = writeln!(s, "  largest functions:");
    for f in largest(&syms, top) {
        let name: String = f.name.chars().take(110).collect();
        let _ = writeln!(s, "  {:>8} {:>5.1}%  {name}", f.size, pct(f.size));
    }
    Ok(s)
}

/// The sections of `llvm-size -A` output that take flash (vector table, code, read-only
/// and initialised data, veneers), with their sizes; empty ones left out.
fn flash_sections(sysv: &str) -> Vec<(String, u64)> {
    const FLASH: [&str; 5] = [".vector_table", ".text", ".rodata", ".data", ".gnu.sgstubs"];
    sysv.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name, size) = (f.next()?, f.next()?.parse::<u64>().ok()?);
            (FLASH.contains(&name) && size > 0).then(|| (name.to_string(), size))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_and_refuse_what_they_cannot_do() {
        let o =
            Options::parse(&args(&["--breakdown", "--top", "5", "--only", "tiny"])).expect("valid");
        assert!(o.breakdown && !o.bless);
        assert_eq!((o.top, o.only.as_deref()), (5, Some("tiny")));
        assert!(Options::parse(&args(&["--bless", "--only", "tiny"])).is_err());
        assert!(Options::parse(&args(&["--top"])).is_err());
        assert!(Options::parse(&args(&["--top", "x"])).is_err());
        let e = Options::parse(&args(&["--frobnicate"])).expect_err("unknown");
        assert!(e.contains("--frobnicate"), "{e}");
    }

    #[test]
    fn flash_sections_are_the_allocated_non_empty_ones() {
        let sysv = "tiny  :\nsection size addr\n.vector_table 192 0\n.text 15040 192\n\
                    .rodata 852 15232\n.data 0 536887272\n.bss 712 536887272\n\
                    .defmt 18 0\n.debug_info 195406 0\nTotal 300000\n";
        assert_eq!(
            flash_sections(sysv),
            vec![
                (".vector_table".to_string(), 192),
                (".text".to_string(), 15040),
                (".rodata".to_string(), 852)
            ]
        );
    }
}
