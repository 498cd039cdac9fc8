#!/usr/bin/env bash
# Checks of Spec/reliability.md that need root and a tmpfs (Fixtures/hostile/CASE.md, the `hostile` case):
#   W5  a full disk: every writer exits 2 with "No space left on device", leaves no temporary file, and libhdf5
#       does not crash at exit (no SIGSEGV, exit 139);
#   W4  a device node as the output is refused and stays a device node (our own node, made with mknod: a broken
#       build must never be aimed at the system's /dev/null);
#   E1  a read-only file system gives the OS's reason.
# Usage (as root): scripts/hostile_root_checks.sh [path/to/lstm-format]   (default .build/debug/lstm-format)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-.build/debug/lstm-format}"
[ "$(id -u)" = 0 ] || { echo "needs root (mount, mknod)"; exit 64; }
[ -x "$bin" ] || { echo "no binary at $bin (swift build first)"; exit 64; }
ref=Fixtures/reference/seed_many_to_many
mnt="$(mktemp -d)"
failures=0
cleanup() { umount "$mnt" 2>/dev/null; rmdir "$mnt"; }
trap cleanup EXIT
check() {  # name, expected stderr fragment, command...
  local name="$1" want="$2"; shift 2
  local err; err="$("$@" 2>&1 >/dev/null)"; local rc=$?
  local lines; lines="$(printf '%s\n' "$err" | grep -c .)"
  if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [[ "$err" == *"$want"* ]]; then
    echo "ok    $name: $err"
  else
    echo "FAIL  $name: exit $rc, $lines line(s): $err"; failures=$((failures + 1))
  fi
}
no_leftovers() {
  local left; left="$(find "$mnt" -name '*.tmp' -o -name '*.weights.h5' | head -5)"
  if [ -z "$left" ]; then echo "ok    $1: no temporary files left"; else echo "FAIL  $1: left $left"; failures=$((failures + 1)); fi
}

mount -t tmpfs -o size=1m tmpfs "$mnt" || exit 2
"$bin" convert "$ref/model.h5" "$mnt/model.lstm" >/dev/null || exit 2
cp "$ref/x.npy" "$ref/t.npy" "$mnt/"
# Fill the file system to the last block.
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
full="No space left on device"
check "W5 .lstm" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/out.lstm"
check "W5 canonical .h5" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/out.h5"
check "W5 .weights.h5" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/out.weights.h5"
check "W5 .keras" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/out.keras"
check "W5 --to keras-h5" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/legacy.h5" --to keras-h5
check "W5 forward .npy" "$full" "$bin" forward "$mnt/model.lstm" --inputs "$mnt/x.npy" --output "$mnt/y.npy"
check "W5 gradients .npz" "$full" "$bin" gradients "$mnt/model.lstm" --inputs "$mnt/x.npy" --targets "$mnt/t.npy" --output "$mnt/g.npz"
no_leftovers "W5"
rm -f "$mnt/filler"
# One free page: writers get going and fail in the middle (libhdf5 with the file open: the SIGSEGV at exit).
avail_kb="$(df -k --output=avail "$mnt" | tail -1 | tr -d ' ')"
dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail_kb - 4)) 2>/dev/null
for out in mid.h5 mid.weights.h5 mid.keras; do  # (the model's .lstm fits in one page)
  check "W5 mid-write $out" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/$out"
done
check "W5 mid-write --to keras-h5" "$full" "$bin" convert "$mnt/model.lstm" "$mnt/mid-legacy.h5" --to keras-h5
no_leftovers "W5 mid-write"
rm -f "$mnt/filler"

mknod -m 666 "$mnt/null.lstm" c 1 3
check "W4 device node" "the output is a character device, not a regular file; refusing to replace it" \
  "$bin" convert "$mnt/model.lstm" "$mnt/null.lstm" --to lstm
if [ -c "$mnt/null.lstm" ]; then echo "ok    W4: still a character device"; else echo "FAIL  W4: replaced"; failures=$((failures + 1)); fi

mount -o remount,ro "$mnt"
check "E1 read-only file system" "Read-only file system" "$bin" convert "$mnt/model.lstm" "$mnt/again.lstm"

echo "$failures failure(s)"
[ "$failures" = 0 ]
