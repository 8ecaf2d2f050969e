#!/usr/bin/env bash
# The CPU-per-frame regression gate as CI runs it (.ci/run calls this script):
#  1. this commit against the previous one (HEAD~1), both built and measured here in the same
#     paired rounds (bench gate --against): catches a regression above the threshold (10%); on the
#     default matrix's transports (ws, unix, tcp, shm; FRAMEBENCH_GATE_AB_TRANSPORTS=all for every one),
#     10 paired rounds in saturate (docs/gate.md);
#  2. this commit against the committed baseline (bench/baseline.json, its wider noise bound):
#     catches regressions under the threshold creeping in commit by commit. Refresh it with
#     `node bin/bench.js gate --update` and say why in the commit message.
# A shallow clone is deepened by one commit first. A commit that changes the methodology version
# cannot be compared with its parent (the A/B says so): then only the baseline gate decides.
# Exit: 1 when either gate found a regression, else 2 when either could not measure, else 0.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then
  if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
    echo "ci-gate: shallow clone: fetching one more commit"
    git fetch --quiet --deepen=1 || true
  fi
fi

ab=0
if git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then
  out=$(mktemp)
  node bin/bench.js gate --against HEAD~1 --transport "${FRAMEBENCH_GATE_AB_TRANSPORTS:-ws,unix,tcp,shm}" --out reports/gate-ab 2> >(tee "$out" >&2) || ab=$?
  wait
  if [ "$ab" -eq 2 ] && grep -q FB_ERR_METHODOLOGY_MISMATCH "$out"; then
    echo "ci-gate: HEAD~1 measures under another methodology version; only the baseline gate decides"
    ab=0
  fi
  rm -f "$out"
else
  echo "ci-gate: no previous commit to compare with (first commit, or nothing to deepen from): A/B gate skipped"
fi

base=0
node bin/bench.js gate --out reports/gate || base=$?

if [ "$ab" -eq 1 ] || [ "$base" -eq 1 ]; then exit 1; fi
if [ "$ab" -ne 0 ] || [ "$base" -ne 0 ]; then exit 2; fi
exit 0
