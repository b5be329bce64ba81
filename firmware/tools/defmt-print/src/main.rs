//! `defmt-print -e <elf>`: decodes the defmt frames arriving on stdin with the ELF's
//! string table and prints one line per frame, `LEVEL message`.
//!
//! A small in-tree replacement for `cargo install defmt-print` (which builds ~114 crates
//! in ~6 minutes); this builds the one `defmt-decoder` crate and its dependencies.

use std::io::{Read, Write};
use std::process::ExitCode;

use defmt_decoder::{DecodeError, Table};

fn main() -> ExitCode {
    match decode() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("defmt-print: {e}");
            ExitCode::FAILURE
        }
    }
}

fn decode() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let elf = match args.as_slice() {
        [flag, path] if flag == "-e" => path,
        _ => return Err("usage: defmt-print -e <elf>  (frames on stdin)".into()),
    };
    let bytes = std::fs::read(elf).map_err(|e| format!("cannot read {elf}: {e}"))?;
    let table = Table::parse(&bytes)
        .map_err(|e| format!("{elf}: {e}"))?
        .ok_or_else(|| format!("{elf} has no defmt data (was it linked with -Tdefmt.x?)"))?;
    let mut decoder = table.new_stream_decoder();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = stdin.read(&mut buf).map_err(|e| format!("stdin: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        decoder.received(buf.get(..n).unwrap_or_default());
        loop {
            match decoder.decode() {
                Ok(frame) => {
                    let level = frame
                        .level()
                        .map(|l| l.as_str().to_uppercase())
                        .unwrap_or_else(|| "PRINT".into());
                    writeln!(stdout, "{level:<5} {}", frame.display_message())
                        .map_err(|e| format!("stdout: {e}"))?;
                }
                Err(DecodeError::UnexpectedEof) => break,
                Err(DecodeError::Malformed) => {
                    if table.encoding().can_recover() {
                        eprintln!("defmt-print: malformed frame skipped");
                    } else {
                        return Err("malformed frame; cannot recover".into());
                    }
                }
            }
        }
        stdout.flush().map_err(|e| format!("stdout: {e}"))?;
    }
}
