// Sealed anonymous shared memory and descriptor passing, for the ring and the copy-count page.
//   memfdCreate(bytes, populate, map, label, sealLater) -> { fd, ab | null }: memfd_create +
//     ftruncate + fallocate, then F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL (no name anywhere,
//     size fixed for every descriptor, /proc/<pid>/fd included); the seals are read back before
//     mapping. sealLater: SHRINK | GROW only; serveRing() adds FUTURE_WRITE | SEAL.
//   mapFd(fd, populate, readOnly) -> ArrayBuffer: maps a received descriptor only if it is a
//     regular file carrying those seals (readOnly: also F_SEAL_FUTURE_WRITE, mapped PROT_READ;
//     else throws code EUNSEALED); closes fd in every case.
//   sealsOf(fd), closeFd(fd), dupFd(fd).
//   (serving: serve.cc)
//   fetchFd(path, timeoutMs, keep, request = true) -> { fd, fds, index, pid, uid, sock }: connects,
//     asks (one byte; without request: a probe that only connects), receives one
//     to three descriptors (a ring in eventfd mode: page, region, eventfd), and reports who sent them (SO_PEERCRED of the server, not anything
//     written in shared memory); with keep, the connection stays open (sock) as the liveness token.
//   peerGone(sock): the server side closed.
//   isEventfd(fd): fd is an eventfd (checked by a producer before it writes one it was handed).
//   signalFd(fd) -> bool: adds 1 to an eventfd (a producer's wake-up of an eventfd-mode consumer).
#include "memfd.h"


#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace fb {

Napi::Value ThrowSys(Napi::Env env, const std::string& what, int err) {
  switch (err) {
    case ECONNREFUSED: return ThrowCode(env, "ECONNREFUSED", what + ": " + strerror(err));
    case ETIMEDOUT: return ThrowCode(env, "ETIMEDOUT", what + ": " + strerror(err));
    case EBADF: return ThrowCode(env, "EBADF", what + ": " + strerror(err));
    default: return ThrowErrno(env, what, err);
  }
}

bool GetFd(const Napi::CallbackInfo& info, size_t i, int* fd) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < 1048576) || std::floor(d) != d) return false;
  *fd = static_cast<int>(d);
  return true;
}

bool GetPath(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return out->size() >= 2 && out->size() < sizeof(sockaddr_un::sun_path) && (*out)[0] == '/' &&
         out->find('\0') == std::string::npos;
}

bool FillAddr(const std::string& path, sockaddr_un* a) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (path.size() >= sizeof(a->sun_path)) return false;
  memcpy(a->sun_path, path.data(), path.size());
  return true;
}

namespace {

// memfdCreate(bytes, populate, map)
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "memfdCreate: bytes must be a number");
  double bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 1 && bytes <= kMaxBytes) || std::floor(bytes) != bytes)
    return ThrowCode(env, "FB_ERR_USAGE", "memfdCreate: bytes out of range");
  bool populate = info.Length() > 1 && info[1].ToBoolean().Value();
  bool map = info.Length() < 3 || info[2].ToBoolean().Value();
  // The name only labels /proc/<pid>/fd and /proc/<pid>/maps ("/memfd:<name> (deleted)").
  std::string label = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "framebench";
  if (label.size() > 200) label.resize(200);
  bool sealLater = info.Length() > 4 && info[4].ToBoolean().Value();
  int fd = memfd_create(label.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ThrowSys(env, "memfd_create", errno);
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    int err = errno;
    close(fd);
    return ThrowSys(env, "ftruncate memfd", err);
  }
  // Reserve the pages now: when memory is short this fails here, not as a SIGBUS later.
  int ferr = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (ferr != 0 && ferr != EOPNOTSUPP && ferr != EINVAL) {
    close(fd);
    return ThrowSys(env, "fallocate memfd", ferr);
  }
  const int seals = sealLater ? F_SEAL_SHRINK | F_SEAL_GROW : kSeals;
  if (fcntl(fd, F_ADD_SEALS, seals) != 0 || (fcntl(fd, F_GET_SEALS) & seals) != seals) {
    int err = errno;
    close(fd);
    return ThrowSys(env, "sealing memfd", err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  if (!map) {
    out.Set("ab", env.Null());
    return out;
  }
  Napi::Value ab = MapToArrayBuffer(env, fd, static_cast<size_t>(bytes), populate, true, true);
  if (env.IsExceptionPending()) {
    close(fd);
    return env.Undefined();
  }
  out.Set("ab", ab);
  return out;
}

// mapFd(fd, populate, readOnly) -> ArrayBuffer over the whole file. Closes fd in every case.
Napi::Value MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "mapFd: fd must be a descriptor number");
  bool populate = info.Length() > 1 && info[1].ToBoolean().Value();
  bool readOnly = info.Length() > 2 && info[2].ToBoolean().Value();
  const int want = readOnly ? kRoSeals : kSeals;
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int err = errno;
    close(fd);
    return ThrowSys(env, "fstat", err);
  }
  int seals = fcntl(fd, F_GET_SEALS);
  if (!S_ISREG(sb.st_mode) || seals < 0 || (seals & want) != want) {
    close(fd);
    return ThrowCode(env, "EUNSEALED", readOnly ? "the descriptor is not a sealed read-only page (needs F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL | F_SEAL_FUTURE_WRITE)"
                                                : "the descriptor is not sealed shared memory (needs F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)");
  }
  if (sb.st_size <= 0 || static_cast<double>(sb.st_size) > kMaxBytes) {
    close(fd);
    return ThrowCode(env, "EINVAL", "the shared memory has an impossible size");
  }
  return MapToArrayBuffer(env, fd, static_cast<size_t>(sb.st_size), populate, false, !readOnly);
}

Napi::Value SealsOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "sealsOf: fd must be a descriptor number");
  int s = fcntl(fd, F_GET_SEALS);
  if (s < 0) return ThrowSys(env, "F_GET_SEALS", errno);
  return Napi::Number::New(env, s);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "closeFd: fd must be a descriptor number");
  return Napi::Boolean::New(env, close(fd) == 0);
}

// dupFd(fd) -> a duplicate (close-on-exec): the same open file, e.g. to try mapping it twice.
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "dupFd: fd must be a descriptor number");
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return ThrowSys(env, "dupFd", errno);
  return Napi::Number::New(env, d);
}

// peerGone(sock) -> true when the other end of a kept connection closed (its process died or
// closed it). Never blocks.
Napi::Value PeerGone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "peerGone: fd must be a descriptor number");
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return Napi::Boolean::New(env, false);
  if (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) return Napi::Boolean::New(env, true);
  char junk[256];
  ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
  return Napi::Boolean::New(env, n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR));
}

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// fetchFd(path, timeoutMs, keep) -> { fd, fds, index, pid, uid, sock }
Napi::Value FetchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPath(info, 0, &path)) return ThrowCode(env, "FB_ERR_USAGE", "fetchFd: path must be an absolute socket path under 108 bytes");
  double ms = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 2000;
  if (!(ms >= 0)) ms = 0;
  if (ms > 10000) ms = 10000;
  bool keep = info.Length() > 2 && info[2].ToBoolean().Value();
  bool request = info.Length() <= 3 || info[3].ToBoolean().Value();
  const double deadline = NowMs() + ms;
  sockaddr_un addr;
  FillAddr(path, &addr);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0) return ThrowSys(env, "fetchFd: socket", errno);
  for (;;) {
    if (connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) break;
    int err = errno;
    if (err != EAGAIN || NowMs() >= deadline) {  // EAGAIN: the backlog is full for now
      close(sock);
      return ThrowSys(env, "connecting to " + path, err == EAGAIN ? ETIMEDOUT : err);
    }
    usleep(1000);
  }
  ucred cred{};
  socklen_t clen = sizeof(cred);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) cred.pid = 0;
  // Ask for the descriptors (a ring's server makes a region only then; a plain server drains it).
  // Without request this is a liveness probe: it times out on a live server, costing it nothing.
  if (request && send(sock, &kRequest, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
    int err = errno;
    close(sock);
    return ThrowSys(env, "asking " + path + " for the descriptors", err);
  }
  uint8_t data[8] = {0};
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  ssize_t n = -1;
  for (;;) {
    int left = static_cast<int>(std::ceil(deadline - NowMs()));
    pollfd p{sock, POLLIN, 0};
    int r = poll(&p, 1, left < 0 ? 0 : left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(sock);
      return ThrowSys(env, "waiting for the descriptor from " + path, r == 0 ? ETIMEDOUT : errno);
    }
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof(ctl);
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;
  }
  int recvErr = errno;
  if (!(keep && n > 0)) close(sock);
  std::vector<int> got;
  if (n > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int f;
        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        got.push_back(f);
      }
    }
  }
  if (n < 0) return ThrowSys(env, "receiving from " + path, recvErr);
  if (got.empty() || got.size() > 3 || (msg.msg_flags & MSG_CTRUNC)) {
    for (int f : got) close(f);
    if (keep && n > 0) close(sock);
    if (n == 0 && got.empty())
      return ThrowCode(env, "EBUSY", "receiving from " + path + ": refused (the server closed the connection: every producer index taken, or no memory for a region)");
    return ThrowCode(env, "EPROTO", "receiving from " + path + ": expected one to three descriptors, got " + std::to_string(got.size()));
  }
  Napi::Object out = Napi::Object::New(env);
  Napi::Array fds = Napi::Array::New(env, got.size());
  for (size_t i = 0; i < got.size(); i++) fds.Set(static_cast<uint32_t>(i), Napi::Number::New(env, got[i]));
  uint32_t index = 0;
  memcpy(&index, data, sizeof(index));
  out.Set("fd", Napi::Number::New(env, got[0]));
  out.Set("fds", fds);
  out.Set("index", Napi::Number::New(env, got.size() >= 2 && n >= 4 ? static_cast<double>(index) : -1));
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("sock", Napi::Number::New(env, keep ? sock : -1));
  return out;
}

// isEventfd(fd) -> true when fd is an eventfd (what /proc/self/fd says it is).
Napi::Value IsEventfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "isEventfd: fd must be a descriptor number");
  char link[64], target[64] = {0};
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  return Napi::Boolean::New(env, n > 0 && strcmp(target, "anon_inode:[eventfd]") == 0);
}

// signalFd(fd, yieldAfterWake = false) -> true if 1 was added to the eventfd (false: EAGAIN, its counter is
// full, so a wake-up is pending anyway; or an error). Never blocks when the eventfd is non-blocking, as
// the ring's are. yieldAfterWake: after a successful write, sched_yield(): when the kernel put the woken
// reader on this CPU, it runs now rather than after the rest of this thread's time slice (docs/ring.md,
// "Yielding after a wake-up").
Napi::Value SignalFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "signalFd: fd must be a descriptor number");
  uint64_t one = 1;
  bool ok = write(fd, &one, sizeof(one)) == static_cast<ssize_t>(sizeof(one));
  if (ok && info.Length() > 1 && info[1].ToBoolean().Value()) sched_yield();
  return Napi::Boolean::New(env, ok);
}

}  // namespace

void RegisterMemfd(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate));
  exports.Set("mapFd", Napi::Function::New(env, MapFd));
  exports.Set("sealsOf", Napi::Function::New(env, SealsOf));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("dupFd", Napi::Function::New(env, DupFd));
  exports.Set("fetchFd", Napi::Function::New(env, FetchFd));
  exports.Set("peerGone", Napi::Function::New(env, PeerGone));
  exports.Set("isEventfd", Napi::Function::New(env, IsEventfd));
  exports.Set("signalFd", Napi::Function::New(env, SignalFd));
  RegisterServe(env, exports);
}

}  // namespace fb
