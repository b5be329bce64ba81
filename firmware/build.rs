//! Puts the right `memory.x` (the budget the link enforces) on each binary's linker search
//! path: per target, per binary (the benchmark images get memory/mps2-bench.x; the
//! M0 demo must fit 64 KiB), and the STM32F411's with feature `f411`.

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let f411 = env::var_os("CARGO_FEATURE_F411").is_some();
    let mcu = if target.starts_with("thumbv6m") {
        "m0"
    } else if target.starts_with("thumbv7m") {
        "m3"
    } else {
        "m4f"
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let bins: [(&str, &str); 8] = [
        ("train", memory(mcu, false)),
        ("finetune", memory(mcu, false)),
        ("resume", memory(mcu, false)),
        ("drift", memory(mcu, false)),
        ("bench", memory(mcu, true)),
        // The minimal trainer: 16 KiB of flash (and a RAM ceiling) on the M0.
        (
            "tiny",
            if mcu == "m0" {
                "memory/tiny-m0.x"
            } else {
                memory(mcu, false)
            },
        ),
        // Its fixed-point variant: the demo's memory (it does not fit 16 KiB yet: see
        // `cargo xtask size`).
        ("tiny-q16", memory(mcu, false)),
        ("train-f411", "memory/stm32f411.x"),
    ];
    for (bin, file) in bins {
        if bin == "train-f411" && !f411 {
            continue;
        }
        let dir = out.join(bin);
        if let Err(e) = fs::create_dir_all(&dir).and_then(|()| fs::copy(file, dir.join("memory.x")))
        {
            println!("cargo::error=cannot copy {file}: {e}");
            return;
        }
        // `-L` and the directory as two arguments: flip-link only follows that form when it
        // looks for the RAM region in memory.x.
        println!("cargo:rustc-link-arg-bin={bin}=-L");
        println!("cargo:rustc-link-arg-bin={bin}={}", dir.display());
        println!("cargo:rerun-if-changed={file}");
    }
    // Which core the image is for (QEMU machine, LED, clock).
    println!("cargo::rustc-check-cfg=cfg(mcu, values(\"m0\", \"m3\", \"m4f\"))");
    println!("cargo:rustc-cfg=mcu=\"{mcu}\"");
    println!("cargo:rerun-if-changed=build.rs");
}

fn memory(mcu: &str, bench: bool) -> &'static str {
    match (mcu, bench) {
        (_, true) => "memory/mps2-bench.x",
        ("m0", false) => "memory/microbit-m0.x",
        ("m3", false) => "memory/mps2-m3.x",
        _ => "memory/mps2-m4f.x",
    }
}
