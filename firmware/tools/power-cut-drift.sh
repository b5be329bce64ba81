#!/usr/bin/env bash
# Power-cut test of the drift program (issue 15) under QEMU, on any emulated core.
#
#   tools/power-cut-drift.sh CORE [TRIALS]   (from firmware/, after `cargo build --release
#                                            --target T --features drift --bin drift`)
#   CORE: m4f (mps2-an386), m3 (mps2-an385) or m0 (microbit)
#
# 1. Runs the `drift` firmware uninterrupted and notes its `result:` and `done:` lines
#    (the prequential figures and both weights hashes) and its wall time.
# 2. For each trial: boots it on an erased flash region, waits a random time within that
#    wall time, then through QMP stops the CPU wherever it is (maybe in the middle of
#    erasing or writing a checkpoint), saves the 16 KiB region with `pmemsave` (mps2:
#    flash-RAM at 0x0030_0000; micro:bit: `memsave` of the nRF51's flash at 0x0003_C000,
#    written through its NVMC) and quits: the power cut. The next boot starts with those
#    bytes (`-device loader,...,force-raw=on`, on the M0 with `cpu-num=0`), must resume from a checkpoint at least as new
#    as the last one logged before the cut, and must end with the uninterrupted run's
#    `result:` and `done:` lines. Every second trial cuts the resumed run again.
set -euo pipefail
core="${1:?usage: power-cut-drift.sh m4f|m3|m0 [TRIALS]}"
trials="${2:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
case "$core" in
  m4f) target=thumbv7em-none-eabihf; machine=mps2-an386; cpu=cortex-m4; region=$((0x300000)) ;;
  m3)  target=thumbv7m-none-eabi;    machine=mps2-an385; cpu=cortex-m3; region=$((0x300000)) ;;
  m0)  target=thumbv6m-none-eabi;    machine=microbit;   cpu=cortex-m0; region=$((0x3C000)) ;;
  *) echo "power-cut-drift: unknown core '$core' (m4f, m3, m0)"; exit 2 ;;
esac
elf="$here/target/$target/release/drift"
[ -f "$elf" ] || { echo "power-cut-drift: build $elf first"; exit 2; }
# The micro:bit's flash is in the nRF51 SoC's own address space, not QEMU's system memory
# (where pmemsave reads and a plain loader writes): save it through the CPU's view
# (memsave; an M-profile core has no MMU, so its addresses are physical) and load it
# through the CPU's address space (loader cpu-num=0). A loader given a CPU also sets its
# PC to the load address, so a second one sets it back to the reset handler (after a
# CPU reset, which loads the stack pointer from the vector table).
save=pmemsave; save_arg=''; load_arg=''; after=()
if [ "$core" = m0 ]; then
  reset="$(nm "$elf" | awk '$3 == "Reset" {print $1}')"
  [ -n "$reset" ] || { echo "power-cut-drift: no Reset symbol in $elf"; exit 2; }
  save=memsave; save_arg=',"cpu-index":0'; load_arg=',cpu-num=0'
  after=(-device "loader,addr=0x$reset,cpu-num=0")
fi
decoder="${DEFMT_PRINT:-}"
if [ -z "$decoder" ]; then
  if [ -x "$here/tools/defmt-print/target/release/defmt-print" ]; then
    decoder="$here/tools/defmt-print/target/release/defmt-print"
  else
    decoder=defmt-print
  fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
qemu=(qemu-system-arm -machine "$machine" -cpu "$cpu" -icount shift=0 -nographic
      -monitor none -serial none -semihosting-config enable=on,target=native)

# run LOG [FLASH]: runs to the end.
run() {
  local log="$1" flash="${2:-}" extra=()
  if [ -n "$flash" ]; then extra=(-device "loader,file=$flash,addr=$region,force-raw=on$load_arg" "${after[@]}"); fi
  timeout 120 "${qemu[@]}" "${extra[@]}" -kernel "$elf" | "$decoder" -e "$elf" > "$log" 2>&1
}

# cut LOG OUT_FLASH MILLIS [IN_FLASH]: runs for MILLIS ms of wall time, then cuts the
# power. Fails (status 1) if the run ended before the cut.
cut() {
  local log="$1" out="$2" ms="$3" flash="${4:-}" extra=() port
  port=$((20000 + RANDOM % 20000))
  rm -f "$out"
  if [ -n "$flash" ]; then extra=(-device "loader,file=$flash,addr=$region,force-raw=on$load_arg" "${after[@]}"); fi
  ( timeout 120 "${qemu[@]}" "${extra[@]}" -qmp "tcp:127.0.0.1:$port,server=on,wait=off" \
      -kernel "$elf" | "$decoder" -e "$elf" > "$log" 2>&1 ) &
  local pid=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"stop"}' \
      "{\"execute\":\"$save\",\"arguments\":{\"val\":$region,\"size\":16384,\"filename\":\"$out\"$save_arg}}" \
      '{"execute":"quit"}' >&3
    cat <&3 > "$log.qmp" 2>/dev/null || true
    exec 3>&-
  fi
  wait "$pid" || true
  [ -s "$out" ] && ! grep -q "done:" "$log"
}

last_checkpoint() { { grep -o "checkpoint seq [0-9]*" "$1" || true; } | tail -1 | awk '{print $3}'; }
resumed_seq() { { grep -o "resumed from checkpoint seq [0-9]*" "$1" || true; } | awk '{print $5}'; }
ending() { { grep -o "result: .*\|done: .*" "$1" || true; } | tr '\n' '|'; }

t0=$(date +%s%N)
run "$work/full.log"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
want="$(ending "$work/full.log")"
grep -q "done:" "$work/full.log" || { echo "power-cut-drift: the uninterrupted run did not finish"; cat "$work/full.log"; exit 1; }
echo "power-cut-drift $core: uninterrupted run ${ms} ms: $(grep -o 'done: .*' "$work/full.log")"
# Cut within the first 90 % of the run (the boot before the first sample included).
span=$(( ms * 9 / 10 > 20 ? ms * 9 / 10 : 20 ))

t=0
tries=0
while [ "$t" -lt "$trials" ]; do
  tries=$((tries + 1))
  [ "$tries" -le $((trials * 6)) ] || { echo "power-cut-drift: could not cut part-way"; exit 1; }
  cut "$work/cut.log" "$work/flash.bin" $((10 + RANDOM % span)) || continue
  t=$((t + 1))
  seen="$(last_checkpoint "$work/cut.log")"
  seen="${seen:-0}"
  image="$work/flash.bin"
  if [ $((t % 2)) = 0 ] && cut "$work/cut-b.log" "$work/flash-b.bin" $((10 + RANDOM % span)) "$image"; then
    r="$(resumed_seq "$work/cut-b.log")"
    if [ -n "$r" ] && [ "$r" -lt "$seen" ]; then
      echo "trial $t: second run resumed from '$r', cut after checkpoint $seen"; exit 1
    fi
    s2="$(last_checkpoint "$work/cut-b.log")"
    echo "trial $t: first cut after checkpoint $seen, second run resumed from ${r:-none} and was cut after checkpoint ${s2:-none}"
    seen="${s2:-$seen}"
    image="$work/flash-b.bin"
  fi
  run "$work/resume.log" "$image"
  r="$(resumed_seq "$work/resume.log")"
  got="$(ending "$work/resume.log")"
  if [ "${r:-0}" -lt "$seen" ] || [ "$got" != "$want" ]; then
    echo "trial $t: FAILED (last checkpoint logged before the cut: $seen, resumed from: '$r')"
    echo "  got:  $got"
    echo "  want: $want"
    tail -5 "$work/resume.log"
    exit 1
  fi
  echo "trial $t: cut after checkpoint $seen was logged; resumed from checkpoint ${r:-none (no complete checkpoint yet)}; same result and hashes"
done
echo "power-cut-drift $core: $trials trials passed"
