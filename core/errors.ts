/**
 * Every error framebench reports to a user carries a stable code (`FB_ERR_...`).
 * Codes are documented in docs/error-codes.md; tests assert on them, never on messages.
 */
export const ERROR_CODES = {
  FB_ERR_USAGE: 'bad command line (unknown command or option, missing value)',
  FB_ERR_UNKNOWN_TRANSPORT: 'a --transport name that is not registered',
  FB_ERR_UNKNOWN_SCENARIO: 'a --scenario name that is not defined',
  FB_ERR_BAD_FORMAT: 'a --format other than i420 or rgba',
  FB_ERR_BAD_RESOLUTION: 'a --resolution that is not a preset or a valid WxH (I420 needs even sizes)',
  FB_ERR_BAD_NUMBER: 'a numeric option out of range (fps <= 0, negative duration, ...)',
  FB_ERR_FRAME_TOO_LARGE: 'the frame is larger than the transport accepts',
  FB_ERR_OUT_UNWRITABLE: 'the --out directory (or a report file\'s folder) cannot be created or written; checked before measuring, never retried',
  FB_ERR_CONFIG: 'the config file does not load, names an unknown setting, or a setting does not fit the settings schema (the key is named), or sets an unknown or mistyped transport option',
  FB_ERR_TRANSPORT_MODULE: 'a transport module (--transport ./my-transport.ts) does not load or does not implement the Transport contract',
  FB_ERR_TRANSPORT_UNAVAILABLE: 'the transport cannot run on this machine (reason given)',
  FB_ERR_NATIVE_UNAVAILABLE: 'the native addon could not be loaded (reason given)',
  FB_ERR_PEER_GONE: 'a producer or consumer process died or closed its end mid-run',
  FB_ERR_PEER_STALLED: 'a producer sent part of a frame and then nothing for frameIdleTimeoutMs: its connection was dropped (the others go on)',
  FB_ERR_TIMEOUT: 'a process did not answer the coordinator in time',
  FB_ERR_PROTOCOL: 'malformed data on a transport (bad length, bad magic, too many fragments)',
  FB_ERR_FRAMES_LOST: 'frames the transport accepted never arrived (block policy)',
  FB_ERR_CORRUPT_FRAME: 'a frame failed verification (header, order or content)',
  FB_ERR_RING_CORRUPT: 'the shared-memory ring holds an impossible offset, length or counter; for a producer\'s region: that producer is cut off (named), the others go on; also a claim it never committed in time',
  FB_ERR_INTERRUPTED: 'the run was stopped by SIGINT/SIGTERM; partial results kept',
  FB_ERR_INTERNAL: 'a bug in framebench; please report it with the message',
  FB_ERR_CHROMIUM_MISSING: 'Chromium is not installed or not at the configured path (install it with: apt-get install -y chromium)',
  FB_ERR_WEBCODECS_MISSING: 'the Chromium page has no WebCodecs (VideoEncoder/VideoDecoder) or cannot encode and decode the clip; the bot source needs it (the live source does not)',
  FB_ERR_FIXTURE_MISSING: 'a captured fixture directory, manifest or frame file is missing (run: bench capture)',
  FB_ERR_FIXTURE_CORRUPT: 'a captured fixture file has the wrong size or fails its checksum',
  FB_ERR_BAD_RESULT_FILE: 'a saved result file that cannot be read, is not JSON or is not a framebench/run@1 result',
  FB_ERR_GATE_REF: 'bench gate --against: the git ref does not exist, or its tree cannot be checked out or built',
  FB_ERR_METHODOLOGY_MISMATCH: 'two trees or results measure under different methodology versions, so their figures are not comparable',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class FbError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'FbError';
    this.code = code;
  }
  /** One line, as printed to a user: `FB_ERR_X: message`. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** The one helper every module uses to build a user-facing error. */
export function fbError(code: ErrorCode, message: string): FbError {
  return new FbError(code, message);
}

export function isFbError(e: unknown): e is FbError {
  return e instanceof FbError || (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('FB_ERR_'));
}

/** Normalises anything thrown into an FbError (unknown errors become FB_ERR_INTERNAL). */
export function toFbError(e: unknown): FbError {
  if (e instanceof FbError) return e;
  if (isFbError(e)) return new FbError((e as { code: ErrorCode }).code, String((e as Error).message));
  const msg = e instanceof Error ? e.message : String(e);
  return new FbError('FB_ERR_INTERNAL', msg);
}
