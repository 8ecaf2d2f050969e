// The waiter thread of a ring end (waiter.cc) and what it shares with shm.cc.
#pragma once

#include <napi.h>

#include <cstdint>

namespace fb {

// struct futex_waitv of <linux/futex.h>, spelled out for older headers.
struct WaitvEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
constexpr uint32_t kFutex2SizeU32 = 0x02;
constexpr uint32_t kFutex2Private = 128;
constexpr uint32_t kMaxWaitv = 128;  // the kernel's limit (FUTEX_WAITV_MAX)

// From shm.cc: is `data` the start of a live mapping of ours, at least `end` bytes long?
bool LiveMapping(const void* data, size_t end);

// Adds the Waiter class to exports.
void RegisterWaiter(Napi::Env env, Napi::Object exports);

}  // namespace fb
