// framebench_shm: the few things JavaScript cannot do for the shared-memory ring.
//   sealed memfd creation, mapping and descriptor passing (memfd.cc), handing a mapping to JS
//   as an external ArrayBuffer (no copy); removal of older named /dev/shm segments (regular
//   files of this user only); unmap (detaches the ArrayBuffer first, so stale JS
//   views read as empty instead of faulting); futex wake on a u32 inside a mapping
//   (non-private: works across processes); pid liveness; list and peek segments. The waits are
//   never made on the JS thread: a waiter thread per ring end does them (waiter.cc).
// The ring protocol itself lives in transports/shm/ring.ts. Errors are thrown as JS Errors
// whose `code` is the errno name (EEXIST, ENOENT, ...) or FB_ERR_* for argument problems.
#include <napi.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "checksum.h"
#include "memfd.h"
#include "ring_layout.h"
#include "waiter.h"

namespace fb {

struct Mapping {
  void* addr;
  size_t len;
  bool unmapped;
};

std::mutex g_mu;
std::unordered_map<void*, Mapping*> g_maps;  // live mappings by address

Napi::Value ThrowCode(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

const char* ErrnoName(int err) {
  switch (err) {
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EPERM: return "EPERM";
    default: return "EIO";
  }
}

Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err) {
  return ThrowCode(env, ErrnoName(err), what + ": " + strerror(err));
}

// A segment name: "/" + [A-Za-z0-9._-]{1,200}.
bool ValidName(const std::string& n) {
  if (n.size() < 2 || n.size() > 201 || n[0] != '/') return false;
  for (size_t i = 1; i < n.size(); i++) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return n != "/." && n != "/..";
}

void FinalizeMapping(napi_env /*env*/, void* /*data*/, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_maps.find(m->addr);
    if (it != g_maps.end() && it->second == m) g_maps.erase(it);
  }
  if (!m->unmapped) munmap(m->addr, m->len);
  delete m;
}

// Maps fd (size bytes; read-only unless writable) and wraps it in an external ArrayBuffer.
// Closes fd in every case unless keepFd. JS must never store into a read-only one (SIGSEGV).
Napi::Value MapToArrayBuffer(Napi::Env env, int fd, size_t size, bool populate, bool keepFd, bool writable) {
  int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);
  void* addr = mmap(nullptr, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, flags, fd, 0);
  int err = errno;
  if (!keepFd) close(fd);
  if (addr == MAP_FAILED) return ThrowErrno(env, "mmap", err);
  Mapping* m = new Mapping{addr, size, false};
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, addr, size, FinalizeMapping, m, &ab);
  if (st != napi_ok) {
    munmap(addr, size);
    delete m;
    if (st == napi_no_external_buffers_allowed) {
      return ThrowCode(env, "FB_ERR_NATIVE_UNAVAILABLE",
                       "this Node.js build does not allow external ArrayBuffers (V8 sandbox): "
                       "shared memory cannot be mapped into JavaScript");
    }
    return ThrowCode(env, "EIO", "napi_create_external_arraybuffer failed");
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_maps[addr] = m;
  }
  return Napi::Value(env, ab);
}

bool LiveMapping(const void* data, size_t end) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_maps.find(const_cast<void*>(data));
  return it != g_maps.end() && !it->second->unmapped && end <= it->second->len;
}

}  // namespace fb

namespace {

using fb::MapToArrayBuffer;
using fb::ThrowCode;
using fb::ThrowErrno;
using fb::g_maps;
using fb::g_mu;
using fb::Mapping;
using fb::ValidName;

bool GetName(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return ValidName(*out);
}

// unlink(name) -> true if removed, false if it did not exist.
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetName(info, 0, &name)) return ThrowCode(env, "FB_ERR_USAGE", "unlink: bad segment name");
  struct stat sb;
  if (lstat(("/dev/shm" + name).c_str(), &sb) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    return ThrowErrno(env, "lstat /dev/shm" + name, errno);
  }
  if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) return ThrowCode(env, "EPERM", "unlink " + name + ": not a regular file of this user; left alone");
  if (shm_unlink(name.c_str()) == 0) return Napi::Boolean::New(env, true);
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  return ThrowErrno(env, "shm_unlink " + name, errno);
}

// unmap(ab) -> true if ab was a live mapping of ours. Detaches ab before munmap.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowCode(env, "FB_ERR_USAGE", "unmap: not an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* data = ab.Data();
  Mapping* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_maps.find(data);
    if (it == g_maps.end() || it->second->unmapped) return Napi::Boolean::New(env, false);
    m = it->second;
    g_maps.erase(it);
  }
  napi_status st = napi_detach_arraybuffer(env, ab);
  if (st != napi_ok) {
    // Not detachable: leave it mapped (the finalizer unmaps it at GC); never unmap under live views.
    std::lock_guard<std::mutex> lock(g_mu);
    g_maps[data] = m;
    return Napi::Boolean::New(env, false);
  }
  munmap(m->addr, m->len);
  m->unmapped = true;
  return Napi::Boolean::New(env, true);
}

// Resolves (ab, byteOffset) to an aligned u32 inside a live mapping of ours, or throws.
uint32_t* WordAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArrayBuffer() || !info[1].IsNumber()) {
    ThrowCode(env, "FB_ERR_USAGE", "futex: (ArrayBuffer, byteOffset, ...) expected");
    return nullptr;
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  double off = info[1].As<Napi::Number>().DoubleValue();
  size_t len = ab.ByteLength();
  if (!(off >= 0) || std::floor(off) != off || static_cast<size_t>(off) % 4 != 0 || off + 4 > static_cast<double>(len)) {
    ThrowCode(env, "FB_ERR_USAGE", "futex: offset out of bounds or unaligned");
    return nullptr;
  }
  void* data = ab.Data();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_maps.find(data) == g_maps.end()) {
      ThrowCode(env, "FB_ERR_USAGE", "futex: not a live shared mapping");
      return nullptr;
    }
  }
  return reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(data) + static_cast<size_t>(off));
}

// futexWake(ab, byteOffset, count, yieldAfterWake = false) -> number of waiters woken. yieldAfterWake: sched_yield()
// after a wake that woke someone (as signalFd's yieldAfterWake; docs/ring.md, "Yielding after a wake-up").
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = WordAt(info);
  if (!word) return env.Undefined();
  int count = 1;
  if (info.Length() > 2 && info[2].IsNumber()) {
    double c = info[2].As<Napi::Number>().DoubleValue();
    count = c >= 2147483647.0 ? 2147483647 : (c < 1 ? 1 : static_cast<int>(c));
  }
  long r = syscall(SYS_futex, word, FUTEX_WAKE, count, nullptr, nullptr, 0);
  if (r > 0 && info.Length() > 3 && info[3].ToBoolean().Value()) sched_yield();
  return Napi::Number::New(env, r < 0 ? 0 : static_cast<double>(r));
}

// mprotectWrite(ab) -> true if a mapping of ours could be made writable in place (mprotect), else
// throws its errno (EACCES for the consumer page a producer maps: F_SEAL_FUTURE_WRITE took away
// VM_MAYWRITE). On success the mapping stays writable: a test's question, not a ring operation.
Napi::Value MprotectWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowCode(env, "FB_ERR_USAGE", "mprotectWrite: not an ArrayBuffer");
  void* data = info[0].As<Napi::ArrayBuffer>().Data();
  size_t len;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_maps.find(data);
    if (it == g_maps.end()) return ThrowCode(env, "FB_ERR_USAGE", "mprotectWrite: not a live shared mapping");
    len = it->second->len;
  }
  if (mprotect(data, len, PROT_READ | PROT_WRITE) != 0) return ThrowErrno(env, "mprotect", errno);
  return Napi::Boolean::New(env, true);
}

// pidAlive(pid) -> false if no such process or it is a zombie.
Napi::Value PidAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  double p = info[0].As<Napi::Number>().DoubleValue();
  if (!(p >= 1 && p <= 4194304) || std::floor(p) != p) return Napi::Boolean::New(env, false);
  pid_t pid = static_cast<pid_t>(p);
  if (kill(pid, 0) != 0 && errno != EPERM) return Napi::Boolean::New(env, false);
  // A killed child stays a zombie until its parent reaps it: that is dead for us.
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Napi::Boolean::New(env, errno != ENOENT);
  char buf[512];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return Napi::Boolean::New(env, true);
  buf[n] = 0;
  const char* rp = strrchr(buf, ')');  // comm may contain spaces and parentheses
  if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X')) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, true);
}

// listSegments(prefix) -> ["/<name>", ...] for /dev/shm entries starting with prefix.
Napi::Value ListSegments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string prefix = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  Napi::Array out = Napi::Array::New(env);
  DIR* d = opendir("/dev/shm");
  if (!d) return out;
  uint32_t i = 0;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.compare(0, prefix.size(), prefix) == 0 && ValidName("/" + n)) out.Set(i++, Napi::String::New(env, "/" + n));
  }
  closedir(d);
  return out;
}

// peek(name, bytes) -> { size, head: Buffer } or null if the segment does not exist or is not a
// regular file owned by this user (a FIFO, a symlink, a device, someone else's). Reads with
// pread (no mapping), so a segment of any size or content is safe to inspect.
Napi::Value Peek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetName(info, 0, &name)) return ThrowCode(env, "FB_ERR_USAGE", "peek: bad segment name");
  size_t want = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 64;
  if (want > 65536) want = 65536;
  // O_NONBLOCK: a FIFO named like a segment must not block the open (it would for ever);
  // O_NOFOLLOW: never follow a symlink planted there. Only our own regular files are read.
  int fd = open(("/dev/shm" + name).c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT || errno == ELOOP || errno == ENXIO || errno == EACCES) return env.Null();
    return ThrowErrno(env, "open /dev/shm" + name, errno);
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
    close(fd);
    return env.Null();
  }
  Napi::Buffer<uint8_t> head = Napi::Buffer<uint8_t>::New(env, want);
  memset(head.Data(), 0, want);
  ssize_t n = pread(fd, head.Data(), want, 0);
  close(fd);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(sb.st_size)));
  o.Set("head", head);
  o.Set("read", Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n)));
  return o;
}

// layout() -> the constants and offsets of ring_layout.h, for the TS mirror test.
Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  using fb::ConsumerPage;
  using fb::RecordHeader;
  using fb::RegionHeader;
  set("MAGIC", fb::kRingMagic);
  set("VERSION", fb::kRingVersion);
  set("CACHE_LINE", fb::kCacheLine);
  set("MAX_PRODUCERS", fb::kMaxProducers);
  set("PAGE_BYTES", fb::kPageBytes);
  set("HEADER_BYTES", fb::kHeaderBytes);
  set("RECORD_HEADER_BYTES", fb::kRecordHeaderBytes);
  set("RECORD_ALIGN", fb::kRecordAlign);
  set("REC_RESERVED", fb::kRecReserved);
  set("REC_COMMITTED", fb::kRecCommitted);
  set("REC_PAD", fb::kRecPad);
  set("CONSUMER_OPEN", fb::kConsumerOpen);
  set("CONSUMER_CLOSED", fb::kConsumerClosed);
  set("LINE_FREE", fb::kLineFree);
  set("LINE_ACTIVE", fb::kLineActive);
  set("LINE_CUT", fb::kLineCut);
  set("PRODUCER_OPEN", fb::kProducerOpen);
  set("PRODUCER_CLOSED", fb::kProducerClosed);
  set("WAKE_FUTEX", fb::kWakeFutex);
  set("WAKE_EVENTFD", fb::kWakeEventfd);
  set("OFF_MAGIC", offsetof(ConsumerPage, meta.magic));
  set("OFF_VERSION", offsetof(ConsumerPage, meta.version));
  set("OFF_HEADER_BYTES", offsetof(ConsumerPage, meta.headerBytes));
  set("OFF_MAX_PRODUCERS", offsetof(ConsumerPage, meta.maxProducers));
  set("OFF_CAPACITY", offsetof(ConsumerPage, meta.capacity));
  set("OFF_CONSUMER_PID", offsetof(ConsumerPage, meta.consumerPid));
  set("OFF_CONSUMER_STATE", offsetof(ConsumerPage, meta.consumerState));
  set("OFF_RECORD_HEADER_BYTES", offsetof(ConsumerPage, meta.recordHeaderBytes));
  set("OFF_RECORD_ALIGN", offsetof(ConsumerPage, meta.recordAlign));
  set("OFF_CREATED_NS", offsetof(ConsumerPage, meta.createdNs));
  set("OFF_MAX_RECORD_BYTES", offsetof(ConsumerPage, meta.maxRecordBytes));
  set("OFF_CONSUMER_WAITING", offsetof(ConsumerPage, meta.consumerWaiting));
  set("OFF_PEERS_SEQ", offsetof(ConsumerPage, meta.peersSeq));
  set("OFF_WAKE_MODE", offsetof(ConsumerPage, meta.wakeMode));
  set("OFF_LINES", offsetof(ConsumerPage, lines));
  set("LINE_BYTES", sizeof(fb::ProducerLine));
  set("LINE_READ", offsetof(fb::ProducerLine, readCursor));
  set("LINE_SPACE_SEQ", offsetof(fb::ProducerLine, spaceSeq));
  set("LINE_STATE", offsetof(fb::ProducerLine, state));
  set("OFF_RESERVE", offsetof(RegionHeader, reserveCursor));
  set("OFF_DATA_SEQ", offsetof(RegionHeader, dataSeq));
  set("OFF_PRODUCER_WAITING", offsetof(RegionHeader, producerWaiting));
  set("OFF_COMMITS", offsetof(RegionHeader, commits));
  set("OFF_DROPS", offsetof(RegionHeader, drops));
  set("OFF_PRODUCER_ID", offsetof(RegionHeader, producerId));
  set("OFF_PRODUCER_STATE", offsetof(RegionHeader, producerState));
  set("OFF_SIGNAL_NS", offsetof(RegionHeader, signalNs));
  set("REC_SEAL", offsetof(RecordHeader, seal));
  set("REC_LENGTH", offsetof(RecordHeader, length));
  set("REC_COMMIT_NS", offsetof(RecordHeader, commitNs));
  set("REC_PRODUCER_SEQ", offsetof(RecordHeader, producerSeq));
  return o;
}

// checksum(bytes: Uint8Array, out: Uint32Array) -> undefined: writes the payload checksum [A, B]
// of `bytes` (native/src/checksum.c, docs/checksum.md) into out[0], out[1]. No allocation.
Napi::Value Checksum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
    return ThrowCode(env, "FB_ERR_USAGE", "checksum(bytes: Uint8Array, out: Uint32Array)");
  }
  Napi::TypedArray in = info[0].As<Napi::TypedArray>();
  Napi::TypedArray out = info[1].As<Napi::TypedArray>();
  if (in.TypedArrayType() != napi_uint8_array || out.TypedArrayType() != napi_uint32_array || out.ElementLength() < 2) {
    return ThrowCode(env, "FB_ERR_USAGE", "checksum: bytes must be a Uint8Array and out a Uint32Array of 2 or more");
  }
  // Data() is already offset by the view's byteOffset (napi_get_typedarray_info)
  const uint8_t* p = in.As<Napi::Uint8Array>().Data();
  fb_checksum(p, in.ElementLength(), out.As<Napi::Uint32Array>().Data());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("unlink", Napi::Function::New(env, Unlink));
  exports.Set("unmap", Napi::Function::New(env, Unmap));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake));
  exports.Set("mprotectWrite", Napi::Function::New(env, MprotectWrite));
  exports.Set("pidAlive", Napi::Function::New(env, PidAlive));
  exports.Set("listSegments", Napi::Function::New(env, ListSegments));
  exports.Set("peek", Napi::Function::New(env, Peek));
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("checksum", Napi::Function::New(env, Checksum));
  fb::RegisterMemfd(env, exports);
  fb::RegisterWaiter(env, exports);
  fb::RegisterPoller(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(framebench_shm, Init)
