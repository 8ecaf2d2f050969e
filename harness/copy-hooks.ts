import type { ProcessHooks } from './coordinator';

interface CopyCountModule {
  copyCountUnavailableReason(): string | null;
  CopyCountPage: { create(): { env(): Record<string, string>; unlink(): void } };
}

/**
 * Process hooks that load the copy-accounting interposer (LD_PRELOAD) into every
 * producer and consumer, each with its own counter page in /dev/shm, removed after
 * the case. When the interposer is unavailable, says why and measures without it.
 */
export function copyAccountingHooks(enabled: boolean): { hooks: ProcessHooks | null; note: string | null } {
  if (!enabled) return { hooks: null, note: null };
  let cc: CopyCountModule;
  try {
    cc = require('../measure/copycount') as CopyCountModule;
  } catch (e) {
    return { hooks: null, note: `copy accounting off: ${(e as Error).message.split('\n')[0]}` };
  }
  const reason = cc.copyCountUnavailableReason();
  if (reason) return { hooks: null, note: `copy accounting off: ${reason} (run npm run build:native)` };
  return {
    note: null,
    hooks: {
      envFor() {
        const page = cc.CopyCountPage.create();
        return { env: page.env(), cleanup: () => page.unlink() };
      },
    },
  };
}
