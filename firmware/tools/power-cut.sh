#!/usr/bin/env bash
# Power-cut test of the checkpoint scheme under QEMU (issue #6).
#
#   tools/power-cut.sh [TRIALS]        (from firmware/, after `cargo build --release --bin resume`)
#
# 1. Runs the `resume` firmware uninterrupted on the M4F (mps2-an386) and notes its final
#    weights hash.
# 2. For each trial: starts it on an empty flash region, waits a random time within the
#    uninterrupted run's duration, then through QMP stops the CPU wherever it is (maybe in
#    the middle of erasing or writing a checkpoint), saves the 16 KiB region at
#    0x0030_0000 with `pmemsave` and quits: the power cut. The next run starts
#    with those bytes (`-device loader,...,force-raw=on`), must say it resumed from a
#    checkpoint at least as new as the last one logged before the cut, and must end with
#    the uninterrupted run's weights hash. Every third trial cuts the resumed run again.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
elf="$here/target/thumbv7em-none-eabihf/release/resume"
decoder="${DEFMT_PRINT:-}"
if [ -z "$decoder" ]; then
  if [ -x "$here/tools/defmt-print/target/release/defmt-print" ]; then
    decoder="$here/tools/defmt-print/target/release/defmt-print"
  else
    decoder=defmt-print
  fi
fi
trials="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
region=$((0x300000))
qemu=(qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -icount shift=0 -nographic
      -monitor none -serial none -semihosting-config enable=on,target=native)

# run LOG [FLASH]: runs to the end.
run() {
  local log="$1" flash="${2:-}" extra=()
  if [ -n "$flash" ]; then extra=(-device "loader,file=$flash,addr=$region,force-raw=on"); fi
  timeout 120 "${qemu[@]}" "${extra[@]}" -kernel "$elf" | "$decoder" -e "$elf" > "$log" 2>&1
}

# cut LOG OUT_FLASH MILLIS [IN_FLASH]: runs for MILLIS ms of wall time, then cuts the
# power. Fails (status 1) if the run ended before the cut.
cut() {
  local log="$1" out="$2" ms="$3" flash="${4:-}" extra=() port
  port=$((20000 + RANDOM % 20000))
  rm -f "$out"
  if [ -n "$flash" ]; then extra=(-device "loader,file=$flash,addr=$region,force-raw=on"); fi
  ( timeout 120 "${qemu[@]}" "${extra[@]}" -qmp "tcp:127.0.0.1:$port,server=on,wait=off" \
      -kernel "$elf" | "$decoder" -e "$elf" > "$log" 2>&1 ) &
  local pid=$!
  sleep "$(printf '0.%03d' "$ms")"
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"stop"}' \
      "{\"execute\":\"pmemsave\",\"arguments\":{\"val\":$region,\"size\":16384,\"filename\":\"$out\"}}" \
      '{"execute":"quit"}' >&3
    cat <&3 > "$log.qmp" 2>/dev/null || true
    exec 3>&-
  fi
  wait "$pid" || true
  [ -s "$out" ] && ! grep -q "done:" "$log"
}

last_checkpoint() { { grep -o "checkpoint seq [0-9]*" "$1" || true; } | tail -1 | awk '{print $3}'; }
resumed_seq() { { grep -o "resumed from checkpoint seq [0-9]*" "$1" || true; } | awk '{print $5}'; }
final_hash() { { grep -o "weights hash [0-9a-f]*" "$1" || true; } | awk '{print $3}'; }

run "$work/full.log"
want="$(final_hash "$work/full.log")"
[ -n "$want" ] || { echo "power-cut: the uninterrupted run did not finish"; cat "$work/full.log"; exit 1; }
echo "uninterrupted: weights hash $want"

t=0
tries=0
while [ "$t" -lt "$trials" ]; do
  tries=$((tries + 1))
  [ "$tries" -le $((trials * 5)) ] || { echo "power-cut: could not cut part-way"; exit 1; }
  # Cut somewhere in the first 900 ms (the whole run takes about a second here).
  cut "$work/cut.log" "$work/flash.bin" $((RANDOM % 900)) || continue
  t=$((t + 1))
  seen="$(last_checkpoint "$work/cut.log")"
  seen="${seen:-0}"
  image="$work/flash.bin"
  if [ $((t % 3)) = 0 ] && cut "$work/cut-b.log" "$work/flash-b.bin" $((RANDOM % 500)) "$image"; then
    # The resumed run was cut too.
    r="$(resumed_seq "$work/cut-b.log")"
    # A cut before the second run logged where it resumed leaves nothing to compare here
    # (the final run below still must end with the uninterrupted hash).
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
  got="$(final_hash "$work/resume.log")"
  if [ "${r:-0}" -lt "$seen" ] || [ "$got" != "$want" ]; then
    echo "trial $t: FAILED (last checkpoint logged before the cut: $seen, resumed from: '$r', hash '$got', want $want)"
    tail -5 "$work/resume.log"
    exit 1
  fi
  echo "trial $t: cut after checkpoint $seen was logged; resumed from checkpoint ${r:-none (no complete checkpoint yet)}; final hash $got (same)"
done
echo "power-cut: $trials trials passed"
