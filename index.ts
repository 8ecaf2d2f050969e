/**
 * framebench public API. Types first, then values.
 */
export type { BenchConfig, SettingKey } from './harness/config';
export type { RunOptions } from './cli/api';
export type { RunFiles } from './cli/run-files';
export type { CheckOutcome } from './harness/check-transport';
export type { OptionSpec, StatsShape, RawInput } from './transports/types';
export type { RunResult, CaseResult, Calibration, HostInfo } from './core/result';
export type { Transport, Sender, Receiver, Loan, TransportCapabilities, ReceiverOptions, SenderOptions, FrameHandler } from './transports/types';
export type { FrameSource, FrameVerifier } from './sources/source';
export type { Scenario } from './scenarios';
export type { ErrorCode } from './core/errors';
export type { ReportFormat, RenderOptions } from './reporters/registry';

export { defineConfig, loadConfig, BUILTIN_CONFIG } from './harness/config';
export { SettingsSchema, configJsonSchema } from './harness/settings-schema';
// Run the matrix and write the same files as `framebench run`; the settings it would use
export { run, settingsWith } from './cli/api';
// Bring your own transport (docs/adding-a-transport.md)
export { defineTransport } from './transports/define';
export { DEFAULT_CAPABILITIES } from './transports/types';
export { checkTransport } from './harness/check-transport';
export { HEADER_BYTES } from './core/frame';
export { resolveSettings, runBench, planCases } from './harness/runner';
export { getTransport, transportNames } from './transports/registry';
export { SCENARIOS } from './scenarios';
export { FbError, ERROR_CODES } from './core/errors';
export { RESULT_SCHEMA } from './core/result';
export { resultProblems, validateRunResult, loadRunResult } from './core/validate';
export { renderRun, REPORT_FORMATS } from './reporters/registry';
export { renderTerminal } from './reporters/terminal';

// Reports, cost model, regression gate
export type { CostModelConfig, CostSummary } from './core/cost';
export type { GateSettings, GateBaseline, GateOutcome } from './core/gate';
export { renderMarkdown } from './reporters/markdown';
export { renderHtml } from './reporters/html';
export { computeCost, DEFAULT_COST_MODEL } from './core/cost';
export { compareToBaseline, collectMetrics, DEFAULT_GATE } from './core/gate';

// Copy accounting (LD_PRELOAD interposer)
export type { CopyCounters } from './measure/copycount';
export { CopyCountPage, copyCountLibPath, copyCountUnavailableReason, readCopyCounters, diffCopyCounters, bucketLabel } from './measure/copycount';

// Frames: synthetic and captured from Chromium
export type { FixtureManifest, FixtureSet } from './sources/fixture-set';
export type { LiveProducer, LiveProducerOptions, LiveResult } from './sources/chromium-live';
export { SyntheticSource, SyntheticVerifier } from './sources/synthetic';
export { FixtureSource, FixtureVerifier, loadFixtureSet } from './sources/fixture-set';
export { startLiveProducer, verifyLiveFrame } from './sources/chromium-live';
export { rgbaToI420 } from './sources/convert';

// The shared-memory ring as a library (native addon loaded on first use)
export type { RingConsumerOptions, RingProducerOptions, RingLoan, RingRecordHandler } from './transports/shm/ring';
export { createRing, openRing, cleanStaleSegments, RingConsumer, RingProducer } from './transports/shm/ring';
