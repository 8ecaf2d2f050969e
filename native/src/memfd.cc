// Sealed anonymous shared memory and descriptor passing, for the ring and the copy-count page.
//   memfdCreate(bytes, populate, map, label) -> { fd, ab | null }: memfd_create + ftruncate + fallocate,
//     then F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL (no name anywhere, size fixed for every
//     descriptor, /proc/<pid>/fd included); the seals are read back before mapping.
//   mapFd(fd, populate) -> ArrayBuffer: maps a received descriptor only if it is a regular file
//     carrying those seals (else throws code EUNSEALED); closes fd in every case.
//   sealsOf(fd), closeFd(fd).
//   serveFd(path, fd) -> id: a listening unix socket at `path` (0600, in a 0700 directory) and a
//     thread that hands every connecting process a duplicate of fd (SCM_RIGHTS), with no JS turn
//     needed (so a producer in the consumer's own thread can fetch it synchronously).
//   unserveFd(id): stops that thread, closes, removes `path`.
//   fetchFd(path, timeoutMs, keep) -> { fd, pid, uid, sock }: connects, receives exactly one
//     descriptor, and reports who sent it (SO_PEERCRED of the server, not anything written in
//     shared memory); with keep, the connection stays open (sock) as the liveness token.
//   peers(id) -> { live, gone }: pids (SO_PEERCRED) holding a connection to the server, and those
//     whose last connection closed since the last call. peerGone(sock): the server side closed.
#include "memfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace fb {
namespace {

constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
constexpr double kMaxBytes = 4294967296.0 + 8192.0;

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
  if (fcntl(fd, F_ADD_SEALS, kSeals) != 0 || (fcntl(fd, F_GET_SEALS) & kSeals) != kSeals) {
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
  Napi::Value ab = MapToArrayBuffer(env, fd, static_cast<size_t>(bytes), populate, true);
  if (env.IsExceptionPending()) {
    close(fd);
    return env.Undefined();
  }
  out.Set("ab", ab);
  return out;
}

// mapFd(fd, populate) -> ArrayBuffer over the whole file. Closes fd in every case.
Napi::Value MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "mapFd: fd must be a descriptor number");
  bool populate = info.Length() > 1 && info[1].ToBoolean().Value();
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int err = errno;
    close(fd);
    return ThrowSys(env, "fstat", err);
  }
  int seals = fcntl(fd, F_GET_SEALS);
  if (!S_ISREG(sb.st_mode) || seals < 0 || (seals & kSeals) != kSeals) {
    close(fd);
    return ThrowCode(env, "EUNSEALED",
                     "the descriptor is not sealed shared memory (needs F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)");
  }
  if (sb.st_size <= 0 || static_cast<double>(sb.st_size) > kMaxBytes) {
    close(fd);
    return ThrowCode(env, "EINVAL", "the shared memory has an impossible size");
  }
  return MapToArrayBuffer(env, fd, static_cast<size_t>(sb.st_size), populate, false);
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

// ---- serving a descriptor ----

// Connections kept open after the descriptor is sent: a producer's death is its socket closing
// (the kernel closes it with the process), and who it is comes from SO_PEERCRED, never from
// anything the producer writes itself.
constexpr size_t kMaxConns = 256;

struct Server {
  int listenFd = -1;
  int wakeFd = -1;
  int fd = -1;  // our own duplicate of the served descriptor
  std::string path;
  napi_env env = nullptr;  // the JS environment (main thread or worker) that started it
  std::thread th;
  std::vector<std::pair<int, int>> conns;  // (socket, peer pid): serving thread only
  std::mutex mu;                           // guards live and gone
  std::unordered_map<int, int> live;       // peer pid -> open connections
  std::vector<int> gone;                   // pids whose last connection closed, not yet reported
};

std::mutex g_srv_mu;
// Never destroyed at exit: a still-running thread must not meet a destroyed std::thread.
auto* g_servers = new std::unordered_map<int, Server*>();
int g_next_id = 1;

void SendOne(int conn, int fd) {
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof(ctl));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof(ctl);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  // A fresh socket's send buffer is empty: one byte never blocks (MSG_DONTWAIT to be sure).
  (void)!sendmsg(conn, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void DropConn(Server* s, size_t i) {
  auto [sock, pid] = s->conns[i];
  close(sock);
  s->conns.erase(s->conns.begin() + static_cast<long>(i));
  std::lock_guard<std::mutex> lock(s->mu);
  auto it = s->live.find(pid);
  if (it != s->live.end() && --it->second <= 0) {
    s->live.erase(it);
    if (s->gone.size() < 4096) s->gone.push_back(pid);
  }
}

void Serve(Server* s) {
  std::vector<pollfd> p;
  for (;;) {
    p.assign({{s->listenFd, POLLIN, 0}, {s->wakeFd, POLLIN, 0}});
    for (auto& c : s->conns) p.push_back({c.first, POLLIN | POLLRDHUP, 0});
    int r = poll(p.data(), p.size(), -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (p[1].revents & POLLIN)) return;
    // connections: anything but silence ends them (a producer has nothing to say; bytes are drained)
    for (size_t i = p.size(); i-- > 2;) {
      short ev = p[i].revents;
      if (!ev) continue;
      bool end = (ev & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
      if (!end && (ev & POLLIN)) {
        char junk[256];
        ssize_t n = recv(p[i].fd, junk, sizeof(junk), MSG_DONTWAIT);
        end = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
      }
      if (end) DropConn(s, i - 2);
    }
    if (p[0].revents & POLLIN) {
      int conn = accept4(s->listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn < 0) continue;  // EAGAIN, ECONNABORTED, EMFILE: try again on the next event
      ucred cred{};
      socklen_t clen = sizeof(cred);
      if (s->conns.size() >= kMaxConns || getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
        close(conn);  // refused: no descriptor
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(s->mu);
        s->live[cred.pid]++;  // known alive before it can claim a slot
      }
      s->conns.emplace_back(conn, static_cast<int>(cred.pid));
      SendOne(conn, s->fd);
    }
  }
}

void StopServer(Server* s) {
  uint64_t one = 1;
  (void)!write(s->wakeFd, &one, sizeof(one));
  if (s->th.joinable()) s->th.join();
  close(s->listenFd);
  close(s->wakeFd);
  close(s->fd);
  for (auto& c : s->conns) close(c.first);
  unlink(s->path.c_str());
  delete s;
}

// At an environment's teardown (process exit, or a worker thread ending): stop its servers only.
void StopAll(void* arg) {
  std::vector<Server*> mine;
  {
    std::lock_guard<std::mutex> lock(g_srv_mu);
    for (auto it = g_servers->begin(); it != g_servers->end();) {
      if (it->second->env == static_cast<napi_env>(arg)) {
        mine.push_back(it->second);
        it = g_servers->erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Server* s : mine) StopServer(s);
}

// serveFd(path, fd) -> id
Napi::Value ServeFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int fd;
  if (!GetPath(info, 0, &path)) return ThrowCode(env, "FB_ERR_USAGE", "serveFd: path must be an absolute socket path under 108 bytes");
  if (!GetFd(info, 1, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "serveFd: fd must be a descriptor number");
  sockaddr_un addr;
  FillAddr(path, &addr);
  Server* s = new Server();
  s->path = path;
  s->env = env;
  s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  s->listenFd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  s->wakeFd = eventfd(0, EFD_CLOEXEC);
  int err = 0;
  const char* what = "serveFd";
  if (s->fd < 0 || s->listenFd < 0 || s->wakeFd < 0) {
    err = errno;
    what = "serveFd: descriptors";
  } else if (bind(s->listenFd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    err = errno;
    what = "serveFd: bind";
  } else if (chmod(path.c_str(), 0600) != 0 || listen(s->listenFd, 128) != 0) {
    err = errno;
    what = "serveFd: listen";
    unlink(path.c_str());
  }
  if (err != 0) {
    if (s->fd >= 0) close(s->fd);
    if (s->listenFd >= 0) close(s->listenFd);
    if (s->wakeFd >= 0) close(s->wakeFd);
    delete s;
    return ThrowSys(env, std::string(what) + " " + path, err);
  }
  s->th = std::thread(Serve, s);
  std::lock_guard<std::mutex> lock(g_srv_mu);
  int id = g_next_id++;
  (*g_servers)[id] = s;
  return Napi::Number::New(env, id);
}

Napi::Value UnserveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  int id = info[0].As<Napi::Number>().Int32Value();
  Server* s = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_srv_mu);
    auto it = g_servers->find(id);
    if (it == g_servers->end()) return Napi::Boolean::New(env, false);
    s = it->second;
    g_servers->erase(it);
  }
  StopServer(s);
  return Napi::Boolean::New(env, true);
}

// peers(id) -> { live: pids with an open connection, gone: pids whose last connection closed
// since the previous call }.
Napi::Value Peers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "peers(id)");
  int id = info[0].As<Napi::Number>().Int32Value();
  std::vector<int> live, gone;
  {
    std::lock_guard<std::mutex> lock(g_srv_mu);
    auto it = g_servers->find(id);
    if (it == g_servers->end()) return env.Null();
    Server* s = it->second;
    std::lock_guard<std::mutex> lock2(s->mu);
    for (auto& kv : s->live) live.push_back(kv.first);
    gone.swap(s->gone);
  }
  Napi::Array l = Napi::Array::New(env, live.size());
  for (size_t i = 0; i < live.size(); i++) l.Set(static_cast<uint32_t>(i), Napi::Number::New(env, live[i]));
  Napi::Array g = Napi::Array::New(env, gone.size());
  for (size_t i = 0; i < gone.size(); i++) g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, gone[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("live", l);
  o.Set("gone", g);
  return o;
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

// fetchFd(path, timeoutMs) -> { fd, pid, uid }
Napi::Value FetchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPath(info, 0, &path)) return ThrowCode(env, "FB_ERR_USAGE", "fetchFd: path must be an absolute socket path under 108 bytes");
  double ms = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 2000;
  if (!(ms >= 0)) ms = 0;
  if (ms > 10000) ms = 10000;
  bool keep = info.Length() > 2 && info[2].ToBoolean().Value();
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
  char byte = 0;
  iovec iov{&byte, 1};
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
  int got = -1;
  int count = 0;
  if (n > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int f;
        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (count++ == 0) got = f;
        else close(f);  // more than one: keep none
      }
    }
  }
  if (n < 0) return ThrowSys(env, "receiving from " + path, recvErr);
  if (count != 1 || (msg.msg_flags & MSG_CTRUNC)) {
    if (got >= 0) close(got);
    if (keep) close(sock);
    return ThrowCode(env, "EPROTO", "receiving from " + path + ": expected exactly one descriptor, got " + std::to_string(count));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, got));
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("sock", Napi::Number::New(env, keep ? sock : -1));
  return out;
}

}  // namespace

void RegisterMemfd(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate));
  exports.Set("mapFd", Napi::Function::New(env, MapFd));
  exports.Set("sealsOf", Napi::Function::New(env, SealsOf));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("serveFd", Napi::Function::New(env, ServeFd));
  exports.Set("unserveFd", Napi::Function::New(env, UnserveFd));
  exports.Set("fetchFd", Napi::Function::New(env, FetchFd));
  exports.Set("peers", Napi::Function::New(env, Peers));
  exports.Set("peerGone", Napi::Function::New(env, PeerGone));
  napi_add_env_cleanup_hook(env, StopAll, static_cast<napi_env>(env));
}

}  // namespace fb
