import { SyntheticSource, SyntheticVerifier } from './synthetic';
import type { FrameSource, FrameVerifier } from './source';
import { fbError } from '../core/errors';
import type { CaseSpec } from '../core/case';
import { frameSpec } from '../core/spec';

/** The frame sources a producer cycles through (one per size in the case). */
export function makeSources(spec: CaseSpec, producerId: number): FrameSource[] {
  if (spec.source === 'synthetic') {
    return spec.sizes.map(([w, h]) => new SyntheticSource(frameSpec(spec.format, w, h), producerId));
  }
  if (spec.source.startsWith('fixture:')) {
    const fx = require('./fixture-set') as {
      FixtureSource: new (dir: string, format: string, producerId: number) => FrameSource;
    };
    return [new fx.FixtureSource(spec.source.slice('fixture:'.length), spec.format, producerId)];
  }
  throw fbError('FB_ERR_USAGE', `unknown source '${spec.source}'`);
}

export function makeVerifier(spec: CaseSpec): FrameVerifier {
  const full = spec.verify === 'full';
  if (spec.source === 'chromium') {
    const live = require('./chromium-live') as { verifyLiveFrame(f: Uint8Array): string | null };
    return { verify: (frame) => live.verifyLiveFrame(frame) };
  }
  if (spec.source === 'synthetic') return new SyntheticVerifier(full);
  if (spec.source.startsWith('fixture:')) {
    const fx = require('./fixture-set') as {
      FixtureVerifier: new (dir: string, format: string, full: boolean) => FrameVerifier;
    };
    return new fx.FixtureVerifier(spec.source.slice('fixture:'.length), spec.format, full);
  }
  throw fbError('FB_ERR_USAGE', `unknown source '${spec.source}'`);
}
