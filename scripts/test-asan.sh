#!/usr/bin/env bash
# Builds the shared-memory addon with AddressSanitizer (and the native ring peers, native/c, with
# ASan + UBSan) into a separate directory (the normal native/build is untouched) and runs the
# hostile-writer, fuzz, ring, peer-death, sealed-memory, flood and C-peer tests against them, with
# libasan preloaded into node (node itself is not instrumented; leak detection is off for it).
#   npm run test:asan
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/fb-asan-XXXXXX")"
# the hostile-producer test drops a child to another uid (nobody): it must reach the ASan addon
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

libasan="$(gcc -print-file-name=libasan.so)"
if [[ ! -e "$libasan" || "$libasan" == "libasan.so" ]]; then
  echo "test-asan: libasan.so not found (install gcc's libasan, e.g. apt-get install libasan8)" >&2
  exit 1
fi

mkdir -p "$work/native"
cp -r "$root/native/binding.gyp" "$root/native/src" "$root/native/c" "$work/native/"
(cd "$root" && NODE_PATH="$root/node_modules" node scripts/build-native.js --directory "$work/native" -- -Dfb_asan=1 >"$work/build.log" 2>&1) || {
  cat "$work/build.log" >&2
  exit 1
}
addon="$work/native/build/Release/framebench_shm.node"
if ! nm -D "$addon" | grep __asan_ >/dev/null; then
  echo "test-asan: $addon is not instrumented" >&2
  exit 1
fi
echo "test-asan: instrumented addon $addon"

cd "$root"
FRAMEBENCH_SHM_ADDON="$addon" \
FRAMEBENCH_RING_PEERS="$work/native/build/Release" \
LD_PRELOAD="$libasan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:handle_segv=0:allow_user_segv_handler=1" \
  npx vitest run test/shm-hostile.test.ts test/shm-fuzz.test.ts test/shm-ring.test.ts test/shm-layout.test.ts test/shm-peer.test.ts test/shm-sealed.test.ts test/shm-flood.test.ts test/checksum.test.ts test/ring-c.test.ts test/ring-c-hostile.test.ts test/ring-c-fuzz.test.ts test/shm-waiter.test.ts "$@"
