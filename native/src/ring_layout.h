// Shared-memory ring layout, version 4 (3: the page's wakeMode and the region's signalNs; 4:
// consumerWaiting is a sleep epoch, and a producer signals once per epoch; a peer of another
// version is refused): one single-producer region per producer, plus one
// consumer page the producers map read-only. Mirrored by transports/shm/layout.ts and checked by
// test/shm-layout.test.ts (which compares against layout() exported by the addon).
//
// The addon interprets only what it must to hand out regions (memfd.cc: a producer's line in the
// consumer page is reset before its region is handed over; peersSeq is bumped on every arrival
// and departure). These structs write the offsets down once, pinned by static_assert.
//
// One header for C++ (the addon: everything in namespace fb, constants constexpr) and C11 (the
// native peers, native/c/fbring.c: the same names at file scope, constants as enumerators).
#pragma once

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
#define FB_CONST(name, value) constexpr uint32_t name = value;
#define FB_ALIGN64 alignas(64)
namespace fb {
#else
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#define FB_CONST(name, value) enum { name = value };
#define FB_ALIGN64 _Alignas(64)
#endif

FB_CONST(kRingMagic, 0x47524246)  // bytes "FBRG" in memory (little-endian)
FB_CONST(kRingVersion, 4)
FB_CONST(kCacheLine, 64)
FB_CONST(kMaxProducers, 64)
FB_CONST(kPageBytes, 8192)    // the consumer page (meta line + one line per producer)
FB_CONST(kHeaderBytes, 4096)  // a region's data area starts here (page aligned)
FB_CONST(kRecordHeaderBytes, 32)
FB_CONST(kRecordAlign, 32)

// Record states, in the low 2 bits of RecordHeader::seal.
FB_CONST(kRecReserved, 1)
FB_CONST(kRecCommitted, 2)
FB_CONST(kRecPad, 3)

// Consumer states.
FB_CONST(kConsumerOpen, 1)
FB_CONST(kConsumerClosed, 2)

// A producer's line state (written by the consumer only).
FB_CONST(kLineFree, 0)
FB_CONST(kLineActive, 1)
FB_CONST(kLineCut, 2)  // cut off by the consumer (it broke the protocol)

// How a producer wakes a sleeping consumer (PageMeta::wakeMode, chosen by the consumer).
FB_CONST(kWakeFutex, 0)    // FUTEX_WAKE on its region's dataSeq (the consumer waits in futex_waitv)
FB_CONST(kWakeEventfd, 1)  // write 1 to the eventfd handed over with its region (a third descriptor)

// A producer's own state word in its region (a hint: only decides whether its leaving is reported).
FB_CONST(kProducerOpen, 1)
FB_CONST(kProducerClosed, 2)

// ---- the consumer page: written by the consumer process only; producers map it read-only ----

// Line 0: written once by the consumer, then consumerState / consumerWaiting / peersSeq.
typedef struct PageMeta {
  FB_ALIGN64 uint32_t magic;
  uint32_t version;
  uint32_t headerBytes;  // a region's header size (its data area starts here)
  uint32_t maxProducers;
  uint64_t capacity;  // bytes in each region's data area, multiple of kRecordAlign
  uint32_t consumerPid;
  uint32_t consumerState;
  uint32_t recordHeaderBytes;
  uint32_t recordAlign;
  uint64_t createdNs;       // CLOCK_MONOTONIC of creation, identifies this incarnation
  uint32_t maxRecordBytes;  // largest payload the consumer accepts (producers refuse above it)
  // 0 while the consumer is awake; while it sleeps, the epoch of this sleep (1, 2, ..., never 0): a
  // producer signals once per epoch, so the stamp in its signalNs is its first signal since the
  // consumer fell asleep, and a burst of commits during a wake-up costs no more eventfd writes
  uint32_t consumerWaiting;
  uint32_t peersSeq;         // futex word: +1 when a producer arrives or leaves (serving thread)
  uint32_t wakeMode;         // kWake*: how producers wake the consumer (written once, before magic)
} PageMeta;

// One per producer index: the consumer's side of that producer's region.
typedef struct ProducerLine {
  FB_ALIGN64 uint64_t readCursor;  // monotonic byte count the consumer released in that region
  uint32_t spaceSeq;    // futex word: +1 on every release (that producer sleeps on it)
  uint32_t state;       // kLine*
  uint8_t reserved[48];
} ProducerLine;

typedef struct ConsumerPage {
  PageMeta meta;
  ProducerLine lines[kMaxProducers];
} ConsumerPage;

// ---- a producer's region: written by that producer only (the consumer only reads it) ----

typedef struct RegionHeader {
  FB_ALIGN64 uint64_t reserveCursor;    // monotonic byte count ever reserved
  uint32_t dataSeq;          // futex word: +1 on every commit (the consumer sleeps on it)
  uint32_t producerWaiting;  // 1 while the producer sleeps on its spaceSeq
  uint64_t commits;          // statistics only (the producer's word)
  uint64_t drops;            // statistics only (the producer's word)
  uint32_t producerId;       // the id the producer gives itself (a label, never trusted)
  uint32_t producerState;    // kProducer*: closed before leaving (a clean close is not reported)
  double signalNs;           // kWakeEventfd: CLOCK_MONOTONIC (f64 ns) of its last eventfd write (statistics only)
  uint8_t reserved[16];
} RegionHeader;

// In front of every record, at a kRecordAlign-aligned offset of the data area.
typedef struct RecordHeader {
  uint64_t seal;      // ((absolute position / kRecordAlign) << 2) | state
  uint32_t length;    // payload bytes after this header
  uint32_t reserved0;
  double commitNs;    // CLOCK_MONOTONIC at commit (f64 nanoseconds)
  uint32_t producerSeq;  // per-producer record count (diagnostics)
  uint32_t reserved;
} RecordHeader;

static_assert(sizeof(PageMeta) == 64, "meta is one cache line");
static_assert(offsetof(PageMeta, capacity) == 16, "");
static_assert(offsetof(PageMeta, consumerPid) == 24, "");
static_assert(offsetof(PageMeta, consumerState) == 28, "");
static_assert(offsetof(PageMeta, recordHeaderBytes) == 32, "");
static_assert(offsetof(PageMeta, createdNs) == 40, "");
static_assert(offsetof(PageMeta, maxRecordBytes) == 48, "");
static_assert(offsetof(PageMeta, consumerWaiting) == 52, "");
static_assert(offsetof(PageMeta, peersSeq) == 56, "");
static_assert(offsetof(PageMeta, wakeMode) == 60, "");
static_assert(sizeof(ProducerLine) == 64, "one line per producer");
static_assert(offsetof(ProducerLine, spaceSeq) == 8, "");
static_assert(offsetof(ProducerLine, state) == 12, "");
static_assert(offsetof(ConsumerPage, lines) == 64, "");
static_assert(sizeof(ConsumerPage) <= kPageBytes, "the page holds every line");
static_assert(sizeof(RegionHeader) == 64, "");
static_assert(offsetof(RegionHeader, dataSeq) == 8, "");
static_assert(offsetof(RegionHeader, producerWaiting) == 12, "");
static_assert(offsetof(RegionHeader, commits) == 16, "");
static_assert(offsetof(RegionHeader, drops) == 24, "");
static_assert(offsetof(RegionHeader, producerId) == 32, "");
static_assert(offsetof(RegionHeader, producerState) == 36, "");
static_assert(offsetof(RegionHeader, signalNs) == 40, "");
static_assert(sizeof(RegionHeader) <= kHeaderBytes, "");
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes, "");
static_assert(offsetof(RecordHeader, length) == 8, "");
static_assert(offsetof(RecordHeader, commitNs) == 16, "");
static_assert(offsetof(RecordHeader, producerSeq) == 24, "");
static_assert(kRecordAlign % 8 == 0 && kRecordHeaderBytes % kRecordAlign == 0, "");

#undef FB_CONST
#undef FB_ALIGN64

#ifdef __cplusplus
}  // namespace fb
#endif
