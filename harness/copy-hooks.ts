import { getTransport } from '../transports/registry';
import type { ProcessHooks } from './coordinator';

/** In the consumer's environment: the copy-count page its transport's server process counts into. */
export const SERVER_PAGE_ENV = 'FRAMEBENCH_COPYCOUNT_SERVER';

interface CopyCountModule {
  copyCountUnavailableReason(): string | null;
  CopyCountPage: { create(): { path: string; env(): Record<string, string>; unlink(): void } };
}

/**
 * Process hooks that load the copy-accounting interposer (LD_PRELOAD) into every
 * producer and consumer, each with its own counter page in /dev/shm, removed after
 * the case. A transport's server process (redis) gets a page of its own too, so its
 * copies are its own side and never land in the consumer's counts. When the interposer is unavailable, says why and measures without it.
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
      envFor(label, spec) {
        const page = cc.CopyCountPage.create();
        // a transport's server (redis), started by the consumer, counts into a page of its own
        if (label !== 'consumer' || !getTransport(spec.transport).capabilities.needsServer) {
          return { env: page.env(), cleanup: () => page.unlink() };
        }
        const server = cc.CopyCountPage.create();
        return {
          env: { ...page.env(), [SERVER_PAGE_ENV]: server.path },
          cleanup: () => {
            page.unlink();
            server.unlink();
          },
        };
      },
    },
  };
}
