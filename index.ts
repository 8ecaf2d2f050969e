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
