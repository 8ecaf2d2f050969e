/**
 * framebench public API. Types first, then values.
 */
export type { BenchConfig } from './harness/config';
export type { RunResult, CaseResult, Calibration, HostInfo } from './harness/result';
export type { Transport, Sender, Receiver, Loan, TransportCapabilities, ReceiverOptions, SenderOptions, FrameHandler } from './transports/types';
export type { FrameSource, FrameVerifier } from './fixtures/source';
export type { Scenario } from './scenarios';
export type { ErrorCode } from './harness/errors';

export { defineConfig, loadConfig, BUILTIN_CONFIG } from './harness/config';
export { resolveSettings, runBench, planCases } from './harness/runner';
export { getTransport, transportNames } from './transports/registry';
export { SCENARIOS } from './scenarios';
export { FbError, ERROR_CODES } from './harness/errors';
export { RESULT_SCHEMA } from './harness/result';
export { renderTerminal } from './reporters/terminal';

// Reports, cost model, regression gate
export type { CostModelConfig, CostSummary } from './reporters/cost';
export type { GateSettings, GateBaseline, GateOutcome } from './harness/gate';
export { renderMarkdown } from './reporters/markdown';
export { renderHtml } from './reporters/html';
export { computeCost, DEFAULT_COST_MODEL } from './reporters/cost';
export { compareToBaseline, collectMetrics, DEFAULT_GATE } from './harness/gate';

// Copy accounting (LD_PRELOAD interposer)
export type { CopyCounters } from './harness/copycount';
export { CopyCountPage, copyCountLibPath, copyCountUnavailableReason, readCopyCounters, diffCopyCounters, bucketLabel } from './harness/copycount';

// Frames: synthetic and captured from Chromium
export type { FixtureManifest, FixtureSet } from './fixtures/fixture-set';
export type { LiveProducer, LiveProducerOptions, LiveResult } from './fixtures/chromium-live';
export { SyntheticSource, SyntheticVerifier } from './fixtures/synthetic';
export { FixtureSource, FixtureVerifier, loadFixtureSet } from './fixtures/fixture-set';
export { startLiveProducer, verifyLiveFrame } from './fixtures/chromium-live';
export { rgbaToI420 } from './fixtures/convert';

// The shared-memory ring as a library (native addon loaded on first use)
export type { RingConsumerOptions, RingProducerOptions, RingLoan, RingRecordHandler } from './transports/shm-ring';
export { createRing, openRing, cleanStaleSegments, RingConsumer, RingProducer } from './transports/shm-ring';
