// Shared-memory ring layout, version 2: one single-producer region per producer, plus one
// consumer page the producers map read-only. Mirrored by transports/shm/layout.ts and checked by
// test/shm-layout.test.ts (which compares against layout() exported by the addon).
//
// The addon interprets only what it must to hand out regions (memfd.cc: a producer's line in the
// consumer page is reset before its region is handed over; peersSeq is bumped on every arrival
// and departure). These structs write the offsets down once, in C++, pinned by static_assert.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fb {

constexpr uint32_t kRingMagic = 0x47524246;  // bytes "FBRG" in memory (little-endian)
constexpr uint32_t kRingVersion = 2;
constexpr uint32_t kCacheLine = 64;
constexpr uint32_t kMaxProducers = 64;
constexpr uint32_t kPageBytes = 8192;    // the consumer page (meta line + one line per producer)
constexpr uint32_t kHeaderBytes = 4096;  // a region's data area starts here (page aligned)
constexpr uint32_t kRecordHeaderBytes = 32;
constexpr uint32_t kRecordAlign = 32;

// Record states, in the low 2 bits of RecordHeader::seal.
constexpr uint32_t kRecReserved = 1;
constexpr uint32_t kRecCommitted = 2;
constexpr uint32_t kRecPad = 3;

// Consumer states.
constexpr uint32_t kConsumerOpen = 1;
constexpr uint32_t kConsumerClosed = 2;

// A producer's line state (written by the consumer only).
constexpr uint32_t kLineFree = 0;
constexpr uint32_t kLineActive = 1;
constexpr uint32_t kLineCut = 2;  // cut off by the consumer (it broke the protocol)

// A producer's own state word in its region (a hint: only decides whether its leaving is reported).
constexpr uint32_t kProducerOpen = 1;
constexpr uint32_t kProducerClosed = 2;

// ---- the consumer page: written by the consumer process only; producers map it read-only ----

// Line 0: written once by the consumer, then consumerState / consumerWaiting / peersSeq.
struct alignas(64) PageMeta {
  uint32_t magic;
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
  uint32_t consumerWaiting;  // 1 while the consumer sleeps on the regions' dataSeq words
  uint32_t peersSeq;         // futex word: +1 when a producer arrives or leaves (serving thread)
  uint8_t reserved[4];
};

// One per producer index: the consumer's side of that producer's region.
struct alignas(64) ProducerLine {
  uint64_t readCursor;  // monotonic byte count the consumer released in that region
  uint32_t spaceSeq;    // futex word: +1 on every release (that producer sleeps on it)
  uint32_t state;       // kLine*
  uint8_t reserved[48];
};

struct ConsumerPage {
  PageMeta meta;
  ProducerLine lines[kMaxProducers];
};

// ---- a producer's region: written by that producer only (the consumer only reads it) ----

struct alignas(64) RegionHeader {
  uint64_t reserveCursor;    // monotonic byte count ever reserved
  uint32_t dataSeq;          // futex word: +1 on every commit (the consumer sleeps on it)
  uint32_t producerWaiting;  // 1 while the producer sleeps on its spaceSeq
  uint64_t commits;          // statistics only (the producer's word)
  uint64_t drops;            // statistics only (the producer's word)
  uint32_t producerId;       // the id the producer gives itself (a label, never trusted)
  uint32_t producerState;    // kProducer*: closed before leaving (a clean close is not reported)
  uint8_t reserved[24];
};

// In front of every record, at a kRecordAlign-aligned offset of the data area.
struct RecordHeader {
  uint64_t seal;      // ((absolute position / kRecordAlign) << 2) | state
  uint32_t length;    // payload bytes after this header
  uint32_t reserved0;
  double commitNs;    // CLOCK_MONOTONIC at commit (f64 nanoseconds)
  uint32_t producerSeq;  // per-producer record count (diagnostics)
  uint32_t reserved;
};

static_assert(sizeof(PageMeta) == 64, "meta is one cache line");
static_assert(offsetof(PageMeta, capacity) == 16, "");
static_assert(offsetof(PageMeta, consumerPid) == 24, "");
static_assert(offsetof(PageMeta, consumerState) == 28, "");
static_assert(offsetof(PageMeta, recordHeaderBytes) == 32, "");
static_assert(offsetof(PageMeta, createdNs) == 40, "");
static_assert(offsetof(PageMeta, maxRecordBytes) == 48, "");
static_assert(offsetof(PageMeta, consumerWaiting) == 52, "");
static_assert(offsetof(PageMeta, peersSeq) == 56, "");
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
static_assert(sizeof(RegionHeader) <= kHeaderBytes, "");
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes, "");
static_assert(offsetof(RecordHeader, length) == 8, "");
static_assert(offsetof(RecordHeader, commitNs) == 16, "");
static_assert(offsetof(RecordHeader, producerSeq) == 24, "");
static_assert(kRecordAlign % 8 == 0 && kRecordHeaderBytes % kRecordAlign == 0, "");

}  // namespace fb
