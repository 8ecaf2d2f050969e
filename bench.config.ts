import { defineConfig } from 'framebench';

/**
 * framebench defaults: `bench run` with no options runs this matrix (ws, unix, tcp and shm x
 * realtime and saturate x I420 and RGBA at 1080p, in 5 interleaved rounds) in about four
 * minutes on a 2-core machine; `--transport all` adds every other transport that can run here.
 * Command-line options override any of these; edits here take effect at the next `bench run`
 * (this file is type-checked and compiled on load).
 */
export default defineConfig({
  transports: ['ws', 'unix', 'tcp', 'shm'],
  scenarios: ['realtime', 'saturate'],
  formats: ['i420', 'rgba'],
  resolution: '1080p',
  fps: 30,
  // each case gets one window of durationS per round; figures are medians over the rounds
  durationS: 1.2,
  rounds: 5,
  warmupS: 0.4,
  // ...and until the processes stop faulting in fresh memory, at most 3 s (measure/steady.ts)
  warmupMaxS: 3,
  // the case's processes keep the memory they free: no re-faulting that differs from process to
  // process ('default': glibc as it comes; harness/malloc-env.ts)
  malloc: 'steady',
  producers: 4,
  // the consumer reads every payload byte against the header's checksum (docs/checksum.md)
  verify: 'checksum',
  source: 'synthetic',
  out: 'reports/latest',
  copyAccounting: true,
  policy: 'block',
  transportOptions: {
    // Chromium splits a large message into WebSocket frames of at most 131,000 B (0 = one frame)
    ws: { fragmentBytes: 131000 },
    'ws-nomask': { fragmentBytes: 131000 },
    // shm, shm-copy, shm-c, shm-node-c: each producer's region holds 6 frames unless ringBytes (bytes,
    // split between the producers) is set here; a bigger ring costs more per frame on some VMs
    // (docs/ring.md, "How big a ring")
  },
  // What the per-frame figures cost at fleet scale (bench run prints it last; index.html leads with it).
  cost: {
    // AWS EC2 c7i.large on-demand, us-east-1, Linux: $0.08925/h for 2 vCPUs = $0.044625 per vCPU-hour.
    // Use your own price (region, reserved or spot) here.
    vcpuHourUsd: 0.08925 / 2,
    // the incident's scale: about 1 TB/s of raw video across the fleet
    fleetBytesPerSecond: 1e12,
    fps: 30,
    format: 'i420',
    width: 1920,
    height: 1080,
    baseline: 'ws',
  },
  // bench gate: a short fixed matrix, repeated; see docs/gate.md.
  gate: {
    transports: ['all'],
    scenario: 'realtime',
    format: 'i420',
    resolution: '1080p',
    fps: 30,
    durationS: 1.5,
    warmupS: 0.5,
    repeats: 4,
    threshold: 0.1,
    passesTolerance: 0.25,
    // re-measure what failed; fail only on regressions seen twice
    confirm: true,
    // bench gate --against REF: both trees in the same paired rounds, in saturate (docs/gate.md)
    againstRounds: 10,
    againstScenario: 'saturate',
    // measured as bench run measures: the allocator settled, warm-up until faulting stops
    malloc: 'steady',
    warmupMaxS: 3,
  },
});
