import { defineConfig } from 'framebench';

/**
 * framebench defaults: `bench run` with no options runs this matrix (every transport that
 * can run here x realtime and saturate x I420 and RGBA at 1080p) in under two minutes on a
 * 2-core machine. Command-line options override any of these; edits here take effect at the
 * next `bench run` (this file is type-checked and compiled on load).
 */
export default defineConfig({
  transports: ['all'],
  scenarios: ['realtime', 'saturate'],
  formats: ['i420', 'rgba'],
  resolution: '1080p',
  fps: 30,
  durationS: 2,
  warmupS: 0.5,
  producers: 4,
  verify: 'sample',
  source: 'synthetic',
  out: 'reports/latest',
  copyAccounting: true,
  policy: 'block',
  transportOptions: {
    // Chromium splits a large message into WebSocket frames of at most 131,000 B (0 = one frame)
    ws: { fragmentBytes: 131000 },
    'ws-nomask': { fragmentBytes: 131000 },
    // ring size in bytes: room for a few 4K RGBA frames
    shm: { ringBytes: 64 * 1024 * 1024 },
    'shm-copy': { ringBytes: 64 * 1024 * 1024 },
  },
});
