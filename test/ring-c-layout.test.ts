import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RING } from '../transports/shm/layout';
import { requireOrSkip } from './support/require';

/**
 * native/src/ring_layout.h is one header for C++ (the addon; test/shm-layout.test.ts checks its
 * layout() against the TS mirror) and C11 (native/c): compiled as C, every constant and offset
 * must equal the TS mirror too, so the C peers and the Node ends agree byte for byte.
 */
const CC = process.env.CC || 'cc';
const { LD_PRELOAD: _preload, ...ENV } = process.env;
/** [RING key, C expression] — the same list as layout() in native/src/shm.cc. */
const FIELDS: [string, string][] = [
  ["MAGIC", "kRingMagic"],
  ["VERSION", "kRingVersion"],
  ["CACHE_LINE", "kCacheLine"],
  ["MAX_PRODUCERS", "kMaxProducers"],
  ["PAGE_BYTES", "kPageBytes"],
  ["HEADER_BYTES", "kHeaderBytes"],
  ["RECORD_HEADER_BYTES", "kRecordHeaderBytes"],
  ["RECORD_ALIGN", "kRecordAlign"],
  ["REC_RESERVED", "kRecReserved"],
  ["REC_COMMITTED", "kRecCommitted"],
  ["REC_PAD", "kRecPad"],
  ["CONSUMER_OPEN", "kConsumerOpen"],
  ["CONSUMER_CLOSED", "kConsumerClosed"],
  ["LINE_FREE", "kLineFree"],
  ["LINE_ACTIVE", "kLineActive"],
  ["LINE_CUT", "kLineCut"],
  ["PRODUCER_OPEN", "kProducerOpen"],
  ["PRODUCER_CLOSED", "kProducerClosed"],
  ["WAKE_FUTEX", "kWakeFutex"],
  ["WAKE_EVENTFD", "kWakeEventfd"],
  ["OFF_MAGIC", "offsetof(ConsumerPage, meta.magic)"],
  ["OFF_VERSION", "offsetof(ConsumerPage, meta.version)"],
  ["OFF_HEADER_BYTES", "offsetof(ConsumerPage, meta.headerBytes)"],
  ["OFF_MAX_PRODUCERS", "offsetof(ConsumerPage, meta.maxProducers)"],
  ["OFF_CAPACITY", "offsetof(ConsumerPage, meta.capacity)"],
  ["OFF_CONSUMER_PID", "offsetof(ConsumerPage, meta.consumerPid)"],
  ["OFF_CONSUMER_STATE", "offsetof(ConsumerPage, meta.consumerState)"],
  ["OFF_RECORD_HEADER_BYTES", "offsetof(ConsumerPage, meta.recordHeaderBytes)"],
  ["OFF_RECORD_ALIGN", "offsetof(ConsumerPage, meta.recordAlign)"],
  ["OFF_CREATED_NS", "offsetof(ConsumerPage, meta.createdNs)"],
  ["OFF_MAX_RECORD_BYTES", "offsetof(ConsumerPage, meta.maxRecordBytes)"],
  ["OFF_CONSUMER_WAITING", "offsetof(ConsumerPage, meta.consumerWaiting)"],
  ["OFF_PEERS_SEQ", "offsetof(ConsumerPage, meta.peersSeq)"],
  ["OFF_WAKE_MODE", "offsetof(ConsumerPage, meta.wakeMode)"],
  ["OFF_LINES", "offsetof(ConsumerPage, lines)"],
  ["LINE_BYTES", "sizeof(ProducerLine)"],
  ["LINE_READ", "offsetof(ProducerLine, readCursor)"],
  ["LINE_SPACE_SEQ", "offsetof(ProducerLine, spaceSeq)"],
  ["LINE_STATE", "offsetof(ProducerLine, state)"],
  ["OFF_RESERVE", "offsetof(RegionHeader, reserveCursor)"],
  ["OFF_DATA_SEQ", "offsetof(RegionHeader, dataSeq)"],
  ["OFF_PRODUCER_WAITING", "offsetof(RegionHeader, producerWaiting)"],
  ["OFF_COMMITS", "offsetof(RegionHeader, commits)"],
  ["OFF_DROPS", "offsetof(RegionHeader, drops)"],
  ["OFF_PRODUCER_ID", "offsetof(RegionHeader, producerId)"],
  ["OFF_PRODUCER_STATE", "offsetof(RegionHeader, producerState)"],
  ["OFF_SIGNAL_NS", "offsetof(RegionHeader, signalNs)"],
  ["REC_SEAL", "offsetof(RecordHeader, seal)"],
  ["REC_LENGTH", "offsetof(RecordHeader, length)"],
  ["REC_COMMIT_NS", "offsetof(RecordHeader, commitNs)"],
  ["REC_PRODUCER_SEQ", "offsetof(RecordHeader, producerSeq)"],
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-ringc-layout-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const noCc = spawnSync(CC, ['--version'], { env: ENV }).status === 0 ? null : `no C compiler (${CC})`;

describe.skipIf(requireOrSkip('cc', noCc))('ring layout as C sees it', () => {
  it('every TS constant equals ring_layout.h compiled as C11 (-pedantic, no warnings)', () => {
    const src = path.join(work, 'layout.c');
    const body = FIELDS.map(([k, e]) => `  printf("%s\\"${k}\\":%llu", first++ ? "," : "", (unsigned long long)(${e}));`).join('\n');
    fs.writeFileSync(src, `#include <stdio.h>\n#include "ring_layout.h"\nint main(void) {\n  int first = 0;\n  printf("{");\n${body}\n  printf("}\\n");\n  return 0;\n}\n`);
    const bin = path.join(work, 'layout');
    execFileSync(CC, ['-std=c11', '-pedantic', '-Wall', '-Wextra', '-Werror', '-I', path.join(__dirname, '..', 'native', 'src'), src, '-o', bin], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const c = JSON.parse(execFileSync(bin, { env: ENV, encoding: 'utf8' })) as Record<string, number>;
    expect(Object.keys(c).sort()).toEqual(Object.keys(RING).sort());
    for (const [k, v] of Object.entries(RING)) expect([k, c[k]]).toEqual([k, v]);
  });
});
