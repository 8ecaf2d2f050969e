// Shared-memory ring layout, version 1. Mirrored by transports/shm/layout.ts and checked by
// test/shm-layout.test.ts (which compares against layout() exported by the addon).
//
// The addon itself never interprets the ring: it only maps memory, waits and wakes. These
// structs exist so that the offsets are written down once, in C++, and pinned by static_assert.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fb {

constexpr uint32_t kRingMagic = 0x47524246;  // bytes "FBRG" in memory (little-endian)
constexpr uint32_t kRingVersion = 1;
constexpr uint32_t kCacheLine = 64;
constexpr uint32_t kMaxProducers = 64;
constexpr uint32_t kHeaderBytes = 8192;  // data area starts here (page aligned)
constexpr uint32_t kRecordHeaderBytes = 32;
constexpr uint32_t kRecordAlign = 32;

// Record states, in the low 2 bits of RecordHeader::seal.
constexpr uint32_t kRecReserved = 1;
constexpr uint32_t kRecCommitted = 2;
constexpr uint32_t kRecPad = 3;

// Consumer states.
constexpr uint32_t kConsumerOpen = 1;
constexpr uint32_t kConsumerClosed = 2;

// Producer slot states.
constexpr uint32_t kSlotFree = 0;
constexpr uint32_t kSlotActive = 1;
constexpr uint32_t kSlotDead = 2;

// Line 0: written once by the creator (consumer), then read-only except consumerState.
struct alignas(64) RingMeta {
  uint32_t magic;
  uint32_t version;
  uint32_t headerBytes;
  uint32_t maxProducers;
  uint64_t capacity;  // bytes in the data area, multiple of kRecordAlign
  uint32_t consumerPid;
  uint32_t consumerState;
  uint32_t recordHeaderBytes;
  uint32_t recordAlign;
  uint64_t createdNs;  // CLOCK_MONOTONIC of creation, identifies this incarnation
  uint32_t maxRecordBytes;  // largest payload the consumer accepts (producers refuse above it)
  uint8_t reserved[12];
};

// Line 1: producers only (CAS).
struct alignas(64) ReserveLine {
  uint64_t reserveCursor;  // monotonic byte count ever reserved
  uint8_t reserved[56];
};

// Line 2: written by the consumer.
struct alignas(64) ReadLine {
  uint64_t readCursor;        // monotonic byte count released by the consumer
  uint32_t spaceSeq;          // futex word: +1 on every release (producers sleep on it)
  uint32_t producersWaiting;  // producers sleeping on spaceSeq
  uint8_t reserved[48];
};

// Line 3: written by producers on commit.
struct alignas(64) DataLine {
  uint32_t dataSeq;          // futex word: +1 on every commit (the consumer sleeps on it)
  uint32_t consumerWaiting;  // 1 while the consumer sleeps on dataSeq
  uint64_t commits;          // monotonic count of commits (statistics only)
  uint8_t reserved[48];
};

struct alignas(64) ProducerSlot {
  uint32_t pid;    // owner; claimed by CAS 0 -> pid
  uint32_t state;  // kSlot*
  uint32_t producerId;
  uint32_t reserved0;
  uint64_t commits;
  uint64_t drops;
  uint8_t reserved[32];
};

struct RingHeader {
  RingMeta meta;
  ReserveLine reserve;
  ReadLine read;
  DataLine data;
  ProducerSlot slots[kMaxProducers];
};

// In front of every record, at a kRecordAlign-aligned offset of the data area.
struct RecordHeader {
  uint64_t seal;      // ((absolute position / kRecordAlign) << 2) | state
  uint32_t length;    // payload bytes after this header
  uint32_t slot;      // producer slot index
  double commitNs;    // CLOCK_MONOTONIC at commit (f64 nanoseconds)
  uint32_t producerSeq;  // per-slot record count (diagnostics)
  uint32_t reserved;
};

static_assert(sizeof(RingMeta) == 64, "meta is one cache line");
static_assert(offsetof(RingMeta, capacity) == 16, "");
static_assert(offsetof(RingMeta, consumerPid) == 24, "");
static_assert(offsetof(RingMeta, consumerState) == 28, "");
static_assert(offsetof(RingMeta, recordHeaderBytes) == 32, "");
static_assert(offsetof(RingMeta, createdNs) == 40, "");
static_assert(offsetof(RingMeta, maxRecordBytes) == 48, "");
static_assert(offsetof(RingHeader, reserve) == 64, "reserve cursor on line 1");
static_assert(offsetof(RingHeader, read) == 128, "read cursor on line 2");
static_assert(offsetof(RingHeader, data) == 192, "data seq on line 3");
static_assert(offsetof(ReadLine, spaceSeq) == 8, "");
static_assert(offsetof(ReadLine, producersWaiting) == 12, "");
static_assert(offsetof(DataLine, consumerWaiting) == 4, "");
static_assert(offsetof(DataLine, commits) == 8, "");
static_assert(offsetof(RingHeader, slots) == 256, "");
static_assert(sizeof(ProducerSlot) == 64, "one slot per cache line");
static_assert(offsetof(ProducerSlot, commits) == 16, "");
static_assert(offsetof(ProducerSlot, drops) == 24, "");
static_assert(sizeof(RingHeader) <= kHeaderBytes, "header fits before the data area");
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes, "");
static_assert(offsetof(RecordHeader, length) == 8, "");
static_assert(offsetof(RecordHeader, slot) == 12, "");
static_assert(offsetof(RecordHeader, commitNs) == 16, "");
static_assert(offsetof(RecordHeader, producerSeq) == 24, "");
static_assert(kRecordAlign % 8 == 0 && kRecordHeaderBytes % kRecordAlign == 0, "");

}  // namespace fb
