#!/usr/bin/env bash
# Cargo runner. QEMU images: picks the machine from the target directory in the
# ELF's path, pipes QEMU's semihosting output through the defmt decoder, and exits with
# QEMU's status (the firmware's semihosting exit code). The STM32F411 image (train-f411)
# is handed to `probe-rs run --chip STM32F411CEUx` (PROBE_RS_CHIP overrides the chip).
#
#   qemu-run.sh <elf>            (cargo run passes the ELF)
# Environment:
#   QEMU_MACHINE / QEMU_CPU   override the machine and cpu
#   QEMU_ICOUNT=0     run without -icount (default: -icount shift=0, so SysTick counts
#                     instructions and every tick figure is reproducible)
#   QEMU_EXTRA="..."  extra QEMU arguments (e.g. -plugin ...)
#   QEMU_TIMEOUT=600  seconds before the run is killed
#   DEFMT_PRINT=path  the decoder (default: the in-tree one, then defmt-print on PATH)
set -uo pipefail
elf="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# The real-board image goes to probe-rs, not QEMU: flash, reset, print the RTT defmt log.
case "$(basename "$elf")" in
  train-f411*)
    if ! command -v probe-rs >/dev/null; then
      echo "qemu-run.sh: $elf is for an STM32F411 board: install probe-rs (cargo install probe-rs-tools --locked) and attach a probe" >&2
      exit 2
    fi
    exec probe-rs run --chip "${PROBE_RS_CHIP:-STM32F411CEUx}" "$elf" ;;
esac
case "$elf" in
  *thumbv6m-none-eabi*)    machine=microbit;   cpu=cortex-m0 ;;
  *thumbv7m-none-eabi*)    machine=mps2-an385; cpu=cortex-m3 ;;
  *thumbv7em-none-eabihf*) machine=mps2-an386; cpu=cortex-m4 ;;
  *) echo "qemu-run.sh: cannot tell the target from $elf" >&2; exit 2 ;;
esac
# Override the machine (e.g. the ARMv6-M benchmark on mps2-an385, see memory/mps2-bench.x).
machine="${QEMU_MACHINE:-$machine}"
cpu="${QEMU_CPU:-$cpu}"
decoder="${DEFMT_PRINT:-}"
if [ -z "$decoder" ]; then
  if [ -x "$here/tools/defmt-print/target/release/defmt-print" ]; then
    decoder="$here/tools/defmt-print/target/release/defmt-print"
  elif command -v defmt-print >/dev/null; then
    decoder=defmt-print
  else
    echo "qemu-run.sh: no defmt decoder: run 'cargo xtask setup' (builds firmware/tools/defmt-print)" >&2
    exit 2
  fi
fi
icount=()
if [ "${QEMU_ICOUNT:-1}" = 1 ]; then icount=(-icount shift=0); fi
# shellcheck disable=SC2086
timeout "${QEMU_TIMEOUT:-600}" qemu-system-arm -machine "$machine" -cpu "$cpu" \
  "${icount[@]}" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native ${QEMU_EXTRA:-} -kernel "$elf" \
  | "$decoder" -e "$elf"
exit "${PIPESTATUS[0]}"
