import { payloadBytesFor } from './frame';
import type { CaseResult, RecordedCostModel, RunResult } from './result';
import { lawCpuUsPerFrame } from './cost-law';

/**
 * What moving frames would cost at fleet scale, from one run's per-frame figures.
 *
 * - Fleet size is a byte rate: `fleetBytesPerSecond / (frameBytes * fps)` streams of the configured frame.
 * - CPU: `cpuUsPerFrame.total * fps / 1e6` cores per stream, for the transport alone (producer + consumer side);
 *   cores are OS CPU-seconds per second, i.e. vCPUs on a cloud VM.
 * - $/year: `cores * 8760 h * vcpuHourUsd`; savings are against the baseline transport.
 * - Memory traffic: `passes * frameBytes * fps` bytes/s per stream against the run's calibrated memcpy bandwidth
 *   gives how many streams one host carries before memory bandwidth, not CPU, is the limit.
 * Every figure says which case it came from.
 */
/** vcpuHourUsd: price of one vCPU for one hour, USD (an assumption); fleetBytesPerSecond: frame bytes moved per second across the fleet; baseline: transport the savings are measured against. Recorded in results.json (costModel). */
export type CostModelConfig = RecordedCostModel;

/**
 * A host to price on (`bench calibrate` writes it): its cores and copy speeds. `--price-host` re-times a
 * run's measured copy bytes at this host's single-core speed (the rest of the CPU stays as measured) and
 * takes its memory limit from its all-core bandwidth and its core count.
 */
export const HOST_PROFILE_SCHEMA = 'framebench/host-profile@1';
export interface HostProfile {
  schema: typeof HOST_PROFILE_SCHEMA;
  hostname: string;
  cpuModel: string;
  /** Vendor, family, model, stepping (/proc/cpuinfo), when known. */
  cpu?: string;
  cores: number;
  /** Cache-cold copy of one frame on one core, GB/s (frame bytes counted once). */
  singleCoreGBps: number;
  /** The same with every core copying at once, summed, GB/s. */
  allCoreGBps: number;
  /** The frame size those were measured with, bytes. */
  frameBytes: number;
  measuredAt: string;
}

/**
 * vCPU price: AWS EC2 on-demand, us-east-1, Linux, c7i.large (2 vCPUs, Sapphire Rapids, compute-optimised) lists at
 * $0.08925/h on the public EC2 on-demand price page (2025). Per vCPU: $0.08925 / 2 = $0.044625/h.
 * Prices change and differ by region and discount plan: pass your own with the config file.
 */
export const C7I_LARGE_USD_PER_HOUR = 0.08925;
export const C7I_LARGE_VCPUS = 2;

export const DEFAULT_COST_MODEL: Readonly<CostModelConfig> = Object.freeze({
  vcpuHourUsd: C7I_LARGE_USD_PER_HOUR / C7I_LARGE_VCPUS,
  priceSource: 'AWS EC2 on-demand list price, us-east-1, Linux (2025): $0.08925/h for 2 vCPUs',
  instance: 'c7i.large',
  fleetBytesPerSecond: 1e12,
  fps: 30,
  baseline: 'ws',
  format: 'i420',
  width: 1920,
  height: 1080,
});

export const HOURS_PER_YEAR = 8760;

/** Where a transport's figures came from. */
export interface CostSource {
  scenario: string;
  format: string;
  width: number;
  height: number;
  /** Frame bytes of the source case. */
  frameBytes: number;
  /** `transport/scenario/format/WxH`, the same key the reports use. */
  caseKey: string;
  /** True when the case's frame size differs from the model's and CPU was scaled by the byte ratio. */
  scaled: boolean;
  note: string;
}

export interface MemoryTraffic {
  /** Frame passes per frame (producer + consumer). */
  passesPerFrame: number;
  /** 'framePasses' when copy accounting ran, else the CPU-derived 'copyEquivalents' (an estimate). */
  passesFrom: 'framePasses' | 'copyEquivalents';
  /** Bytes of memory copy traffic one stream of the model's frame causes per second. */
  bytesPerSecondPerStream: number;
  /** The host's copy bandwidth the memory limit uses, bytes/s. */
  hostMemcpyBytesPerSecond: number;
  /** Which bandwidth that is: every core copying at once (the run's, or --price-host's) or, in older results, one core's. */
  bandwidthFrom: 'all-core' | 'single-core' | 'price-host';
  /** Cores of the host priced (the run's, or --price-host's). */
  hostCores: number;
  /** Streams one host carries before memory bandwidth is spent; null when the transport makes no copies. */
  streamsPerHostMemoryBound: number | null;
  /** Streams one host (host.cores of the run) carries before CPU is spent; null when CPU per frame is 0. */
  streamsPerHostCpuBound: number | null;
  /** Which limit comes first on this host. */
  limitedBy: 'memory' | 'cpu' | 'none';
}

export interface TransportCost {
  transport: string;
  /** Producer and consumer share one process (worker threads): not a drop-in for a cross-process bot. */
  inProcess: boolean;
  source: CostSource;
  /** CPU per frame used (scaled to the model's frame when `source.scaled`), µs. */
  cpuUsPerFrame: number;
  coresPerStream: number;
  totalCores: number;
  usdPerYear: number;
  /** baseline usdPerYear - this; null when the baseline has no result. */
  savingsUsdPerYear: number | null;
  /** savings / baseline usdPerYear * 100; from the paired per-round CPU ratio when the run has rounds. */
  savingsPct: number | null;
  /** The 95% interval of savingsPct from the paired ratio's interval (absent without rounds). */
  savingsPctInterval?: { lo: number; hi: number; n: number; level: number };
  /** usdPerYear's interval from the rounds' CPU-per-frame interval (absent without rounds). */
  usdPerYearInterval?: { lo: number; hi: number; n: number; level: number };
  /** With --price-host: the copy time re-timed at that host's speed, µs per frame (measured here → there). */
  copyRetimed?: { copyBytesPerFrame: number; hereUs: number; thereUs: number };
  memory: MemoryTraffic;
}

export interface CostSummary {
  model: CostModelConfig;
  /** Pixel bytes of one model frame. */
  frameBytes: number;
  streams: number;
  baseline: string;
  /** Cost of the baseline, or null when the run has no usable baseline case. */
  baselineUsdPerYear: number | null;
  transports: TransportCost[];
  /** Transports with no usable case (failed or other format), with why. */
  skipped: { transport: string; reason: string }[];
  /** One sentence for report headers. */
  headline: string;
  /** Present when priced as if on another host (--price-host). */
  pricedOn?: { hostname: string; cpuModel: string; cores: number; singleCoreGBps: number; allCoreGBps: number };
}

/** Pixel bytes of one model frame (3,110,400 for 1080p I420). */
export function modelFrameBytes(cfg: Pick<CostModelConfig, 'format' | 'width' | 'height'>): number {
  return payloadBytesFor(cfg.format, cfg.width, cfg.height);
}

export function caseKey(c: Pick<CaseResult, 'transport' | 'scenario' | 'format' | 'width' | 'height'>): string {
  return `${c.transport}/${c.scenario}/${c.format}/${c.width}x${c.height}`;
}

/** The group of comparable cases (same scenario, format and frame size) that paired ratios are computed in. */
export function groupKey(c: Pick<CaseResult, 'scenario' | 'format' | 'width' | 'height'>): string {
  return `${c.scenario}/${c.format}/${c.width}x${c.height}`;
}

/** Scenario preference for cost figures: steady paced single stream first, variable sizes last. */
const SCENARIO_RANK: Record<string, number> = { realtime: 0, 'multi-producer': 1, saturate: 2, 'variable-size': 3 };

function rankCase(c: CaseResult, cfg: CostModelConfig): number {
  const sizeMatch = c.width === cfg.width && c.height === cfg.height ? 0 : 10;
  return sizeMatch + (SCENARIO_RANK[c.scenario] ?? 5);
}

/** The case that stands for a transport in the cost model: ok, matching format, realtime and model size preferred. */
export function pickCostCase(cases: CaseResult[], cfg: CostModelConfig): CaseResult | null {
  const usable = cases.filter((c) => c.status === 'ok' && c.format === cfg.format && c.frameBytes > 0 && Number.isFinite(c.cpuUsPerFrame.total));
  if (usable.length === 0) return null;
  return [...usable].sort((a, b) => rankCase(a, cfg) - rankCase(b, cfg))[0]!;
}

function passesOf(c: CaseResult): { passes: number; from: MemoryTraffic['passesFrom'] } {
  if (c.copies) return { passes: c.copies.framePasses.producer + c.copies.framePasses.consumer, from: 'framePasses' };
  return { passes: c.copyEquivalents, from: 'copyEquivalents' };
}

function memoryTraffic(c: CaseResult, run: RunResult, cfg: CostModelConfig, frameBytes: number, coresPerStream: number, on?: HostProfile): MemoryTraffic {
  const { passes, from } = passesOf(c);
  const bytesPerSecondPerStream = passes * frameBytes * cfg.fps;
  const allCore = run.calibration.allCoreMemcpyGBps;
  const bandwidthFrom: MemoryTraffic['bandwidthFrom'] = on ? 'price-host' : allCore ? 'all-core' : 'single-core';
  const hostMemcpyBytesPerSecond = (on ? on.allCoreGBps : allCore ?? run.calibration.memcpyGBps) * 1e9;
  const hostCores = on ? on.cores : run.host.cores;
  const memBound = bytesPerSecondPerStream > 0 ? hostMemcpyBytesPerSecond / bytesPerSecondPerStream : null;
  const cpuBound = coresPerStream > 0 ? hostCores / coresPerStream : null;
  let limitedBy: MemoryTraffic['limitedBy'] = 'none';
  if (memBound !== null && (cpuBound === null || memBound < cpuBound)) limitedBy = 'memory';
  else if (cpuBound !== null) limitedBy = 'cpu';
  return {
    passesPerFrame: passes,
    passesFrom: from,
    bytesPerSecondPerStream,
    hostMemcpyBytesPerSecond,
    bandwidthFrom,
    hostCores,
    streamsPerHostMemoryBound: memBound,
    streamsPerHostCpuBound: cpuBound,
    limitedBy,
  };
}

function sourceOf(c: CaseResult, cfg: CostModelConfig, frameBytes: number): CostSource {
  const scaled = c.width !== cfg.width || c.height !== cfg.height;
  const why = c.scenario === 'realtime' ? 'realtime scenario' : `no ok realtime ${cfg.format} case; used ${c.scenario}`;
  const note = scaled
    ? `${why}; ${c.width}x${c.height} CPU scaled x${(frameBytes / c.frameBytes).toFixed(3)} by frame bytes (assumes cost linear in bytes)`
    : why;
  return { scenario: c.scenario, format: c.format, width: c.width, height: c.height, frameBytes: c.frameBytes, caseKey: caseKey(c), scaled, note };
}

/** Bytes copied per frame, user space and kernel, every side (what --price-host re-times). */
export function copyBytesPerFrame(c: CaseResult): number {
  const u = c.copies ? c.copies.userBytesPerFrame.producer + c.copies.userBytesPerFrame.consumer + (c.copies.server?.userBytesPerFrame ?? 0) + (c.copies.server?.kernelBytesPerFrame ?? 0) : 0;
  return u + c.kernelBytesPerFrame.producer + c.kernelBytesPerFrame.consumer;
}

/**
 * The model from the config's `cost` block over the defaults. A price given without its source is recorded
 * as the config's, not with the default's source and instance (which would then describe another price).
 */
export function resolveCostModel(fromConfig: Partial<CostModelConfig> | undefined): CostModelConfig {
  const own = fromConfig ?? {};
  const priced = own.vcpuHourUsd !== undefined && own.vcpuHourUsd !== DEFAULT_COST_MODEL.vcpuHourUsd;
  const base: CostModelConfig = priced ? { ...DEFAULT_COST_MODEL, priceSource: 'bench.config.ts cost.vcpuHourUsd', instance: undefined } : { ...DEFAULT_COST_MODEL };
  const out = { ...base, ...own };
  if (out.instance === undefined) delete out.instance;
  return out;
}

/** The model a run records (results.json costModel), else the built-in one (older results). */
export function recordedModel(run: RunResult): CostModelConfig {
  return run.costModel ?? DEFAULT_COST_MODEL;
}

export function computeCost(run: RunResult, cfg: CostModelConfig = recordedModel(run), on?: HostProfile): CostSummary {
  const frameBytes = modelFrameBytes(cfg);
  const streams = cfg.fleetBytesPerSecond / (frameBytes * cfg.fps);
  const transports: TransportCost[] = [];
  const skipped: CostSummary['skipped'] = [];
  const names = [...new Set([...run.settings.transports, ...run.results.map((r) => r.transport)])];

  for (const transport of names) {
    const cases = run.results.filter((r) => r.transport === transport);
    const c = pickCostCase(cases, cfg);
    if (!c) {
      const failed = cases.find((x) => x.format === cfg.format && x.status !== 'ok');
      skipped.push({ transport, reason: failed ? `${caseKey(failed)} failed: ${failed.status}` : cases.length === 0 ? 'no result' : `no ${cfg.format} result` });
      continue;
    }
    const source = sourceOf(c, cfg, frameBytes);
    // a size that was not measured: the fitted cost law of a size sweep, when the run has one
    const law = lawCpuUsPerFrame(run, c, frameBytes, source);
    const scale = source.scaled ? frameBytes / c.frameBytes : 1;
    // --price-host: the copy bytes measured here take that host's copy time; the rest of the CPU stays as measured
    const copyBytes = copyBytesPerFrame(c);
    const retimed = law === null && on && run.calibration.memcpyGBps > 0 && on.singleCoreGBps > 0
      ? { copyBytesPerFrame: copyBytes, hereUs: copyBytes / (run.calibration.memcpyGBps * 1e3), thereUs: copyBytes / (on.singleCoreGBps * 1e3) }
      : undefined;
    const measured = retimed ? Math.max(0, c.cpuUsPerFrame.total - retimed.hereUs + retimed.thereUs) : c.cpuUsPerFrame.total;
    const cpuUsPerFrame = law ?? measured * scale;
    const coresPerStream = (cpuUsPerFrame * cfg.fps) / 1e6;
    const totalCores = coresPerStream * streams;
    const usdPerYear = totalCores * HOURS_PER_YEAR * cfg.vcpuHourUsd;
    const iv = c.intervals?.['cpuUsPerFrame.total'];
    const usdAt = (cpu: number): number => (usdPerYear * cpu) / (c.cpuUsPerFrame.total || 1);
    transports.push({
      transport, inProcess: Boolean(c.inProcess), source, cpuUsPerFrame, coresPerStream, totalCores, usdPerYear,
      savingsUsdPerYear: null, savingsPct: null,
      ...(iv && iv.n > 1 && !retimed ? { usdPerYearInterval: { lo: usdAt(iv.lo), hi: usdAt(iv.hi), n: iv.n, level: iv.level } } : {}),
      ...(retimed ? { copyRetimed: retimed } : {}),
      memory: memoryTraffic(c, run, cfg, frameBytes, coresPerStream, on),
    });
  }

  const base = transports.find((t) => t.transport === cfg.baseline) ?? null;
  if (base) {
    for (const t of transports) {
      t.savingsUsdPerYear = base.usdPerYear - t.usdPerYear;
      t.savingsPct = base.usdPerYear > 0 ? (t.savingsUsdPerYear / base.usdPerYear) * 100 : null;
      // with rounds: the share saved from the paired ratio baseline/t (1 - 1/ratio), so drift of the
      // machine between the two transports' windows cancels, with the ratio's interval carried through
      const sameGroup = groupKey(base.source) === groupKey(t.source);
      const ratio = t === base || !sameGroup ? undefined : run.ratios?.find((r) => r.a === base.transport && r.b === t.transport && r.group === groupKey(t.source));
      if (ratio && ratio.n > 0 && ratio.median > 0 && base.usdPerYear > 0) {
        const pct = (x: number): number => (1 - 1 / x) * 100;
        t.savingsPct = pct(ratio.median);
        t.savingsUsdPerYear = (base.usdPerYear * t.savingsPct) / 100;
        t.savingsPctInterval = { lo: pct(ratio.lo), hi: pct(ratio.hi), n: ratio.n, level: ratio.level };
      }
    }
  }
  const summary: CostSummary = {
    model: { ...cfg }, frameBytes, streams, baseline: cfg.baseline,
    baselineUsdPerYear: base ? base.usdPerYear : null, transports, skipped, headline: '',
    ...(on ? { pricedOn: { hostname: on.hostname, cpuModel: on.cpuModel, cores: on.cores, singleCoreGBps: on.singleCoreGBps, allCoreGBps: on.allCoreGBps } } : {}),
  };
  summary.headline = costHeadline(summary);
  return summary;
}

export function fmtUsd(v: number): string {
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a >= 1e6) return `${sign}$${(a / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${sign}$${Math.round(a / 1e3)}k`;
  return `${sign}$${Math.round(a).toLocaleString('en-US')}`;
}

function fleetLabel(cfg: CostModelConfig): string {
  const b = cfg.fleetBytesPerSecond;
  const rate = b >= 1e12 ? `${+(b / 1e12).toFixed(2)} TB/s` : b >= 1e9 ? `${+(b / 1e9).toFixed(2)} GB/s` : `${+(b / 1e6).toFixed(2)} MB/s`;
  return `${rate} of ${cfg.width}x${cfg.height}@${cfg.fps} ${cfg.format}`;
}

/** e.g. "At 1 TB/s of 1920x1080@30 i420 (10,717 streams) ws costs 1,029 vCPUs = $402k/yr; shm saves $377k/yr (94%)." */
export function costHeadline(s: CostSummary): string {
  const head = `At ${fleetLabel(s.model)} (${Math.round(s.streams).toLocaleString('en-US')} streams)`;
  if (s.transports.length === 0) return `${head}: no ok ${s.model.format} result to price.`;
  const base = s.transports.find((t) => t.transport === s.baseline);
  // The headline compares what a bot could switch to: cross-process transports (in-process ones are listed apart).
  const crossProcess = s.transports.filter((t) => !t.inProcess);
  const cheapest = [...(crossProcess.length ? crossProcess : s.transports)].sort((a, b) => a.usdPerYear - b.usdPerYear)[0]!;
  if (!base) {
    return `${head} the cheapest transport is ${cheapest.transport}: ${Math.round(cheapest.totalCores).toLocaleString('en-US')} vCPUs = ${fmtUsd(cheapest.usdPerYear)}/yr (baseline '${s.baseline}' has no usable result).`;
  }
  const biv = base.usdPerYearInterval;
  const baseText = `${base.transport} costs ${Math.round(base.totalCores).toLocaleString('en-US')} vCPUs = ${fmtUsd(base.usdPerYear)}/yr${biv ? ` (${fmtUsd(biv.lo)}-${fmtUsd(biv.hi)} over ${biv.n} rounds)` : ''}`;
  const tail = ` ${priceAssumption(s)}`;
  if (cheapest.transport === base.transport) return `${head} ${baseText}; no transport here is cheaper.${tail}`;
  const iv = cheapest.savingsPctInterval;
  const range = iv && iv.n > 1 ? `, ${Math.round(iv.lo)}-${Math.round(iv.hi)}% over ${iv.n} paired rounds` : '';
  return `${head} ${baseText}; ${cheapest.transport} saves ${fmtUsd(cheapest.savingsUsdPerYear ?? 0)}/yr (${Math.round(cheapest.savingsPct ?? 0)}%${range}).${tail}`;
}

/** "Price: an assumption, $0.0446 per vCPU-hour (c7i.large, <source>)." and, with --price-host, the host priced on. */
export function priceAssumption(s: CostSummary): string {
  const m = s.model;
  const where = [m.instance, m.priceSource].filter(Boolean).join(', ');
  const on = s.pricedOn ? ` Priced as if on ${s.pricedOn.hostname} (${s.pricedOn.cpuModel}, ${s.pricedOn.cores} cores): copy bytes re-timed at its ${s.pricedOn.singleCoreGBps} GB/s, the rest of the CPU as measured here.` : '';
  return `Price: an assumption, $${+m.vcpuHourUsd.toFixed(5)} per vCPU-hour${where ? ` (${where})` : ''}.${on}`;
}

/**
 * One transport's figures per stream and per host, so the fleet total can be checked by hand:
 * "ws: 312 µs/frame x 30 fps = 0.0094 vCPU/stream; a 2-core host carries 213 streams (CPU) or 96 (memory:
 * 2.0 passes x 3.11 MB x 30 fps = 187 MB/s per stream against 18 GB/s all-core), so memory limits it;
 * 10,717 streams x 0.0094 = 101 vCPUs x 8,760 h x $0.0446 = $39k/yr".
 */
export function costTrace(t: TransportCost, s: CostSummary): string {
  const m = t.memory;
  const n = (x: number | null, d = 0): string => (x === null ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d }));
  const mem = m.streamsPerHostMemoryBound === null ? 'no copies' : `${n(m.streamsPerHostMemoryBound, 1)} (memory: ${m.passesPerFrame.toFixed(2)} passes x ${(s.frameBytes / 1e6).toFixed(2)} MB x ${s.model.fps} fps = ${n(m.bytesPerSecondPerStream / 1e6)} MB/s per stream against ${(m.hostMemcpyBytesPerSecond / 1e9).toFixed(1)} GB/s ${m.bandwidthFrom})`;
  return `${t.transport}: ${n(t.cpuUsPerFrame)} µs/frame x ${s.model.fps} fps = ${t.coresPerStream.toFixed(4)} vCPU/stream; a ${m.hostCores}-core host carries ${n(m.streamsPerHostCpuBound, 1)} streams (CPU) or ${mem}; limited by ${m.limitedBy}; ` +
    `${n(s.streams)} streams x ${t.coresPerStream.toFixed(4)} = ${n(t.totalCores)} vCPUs x ${HOURS_PER_YEAR.toLocaleString('en-US')} h x $${+s.model.vcpuHourUsd.toFixed(5)} = ${fmtUsd(t.usdPerYear)}/yr`;
}

/** The cost in plain lines (terminal): headline, then each transport's per-stream and per-host trace. */
export function costLines(s: CostSummary): string {
  return [s.headline, ...s.transports.map((t) => `  ${costTrace(t, s)}`)].join('\n');
}
