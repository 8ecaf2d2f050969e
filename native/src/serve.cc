// The serving side of descriptor passing (memfd.cc holds the memory and the fetching side):
//   serveFd(path, fd) -> id: a listening unix socket at `path` (0600, in a 0700 directory) and a
//     thread that hands every connecting process a duplicate of fd (SCM_RIGHTS), with no JS turn
//     needed (so a producer in the consumer's own thread can fetch it synchronously).
//   serveRing(path, pageFd, regionBytes) -> id: the same, for the ring: seals the consumer page
//     F_SEAL_FUTURE_WRITE (no new writable mapping, by anyone, after the consumer's own) and hands
//     every connecting producer two descriptors, the page and a fresh sealed region of its own
//     (regionBytes), with its index (u32); resets that producer's line in the page first. When the
//     page's wakeMode is kWakeEventfd, also a third descriptor: an eventfd (non-blocking) of that
//     producer's own, which it writes to wake the consumer; the consumer gets its duplicate.
//   ringEvents(id) -> { added: [{ index, fd, efd, pid, uid }], gone: [index] }: regions handed out
//     and connections closed since the last call (SO_PEERCRED: who it is, from the kernel); efd is
//     that producer's eventfd (-1 in futex mode).
//   ringWakeFd(id) -> fd: kWakeEventfd: a duplicate of the eventfd this thread writes when producers
//     come or go (beside the peersSeq bump); -1 in futex mode.
//   dropPeer(id, index): closes that producer's connection (if open) and frees its index.
//   unserveFd(id): stops that thread, closes, removes `path`.
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memfd.h"
#include "ring_layout.h"

namespace fb {
namespace {

// ---- serving descriptors ----

// Connections kept open after the descriptors are sent: a producer's death is its socket closing
// (the kernel closes it with the process), and who it is comes from SO_PEERCRED, never from
// anything the producer writes itself.
constexpr size_t kMaxConns = 256;

constexpr int kPending = -2;  // ring mode: connected, has not asked for a region yet

struct Conn {
  int sock;
  int pid;
  int uid;
  int index;  // ring mode: the producer's index (kPending before it asks), else -1
  double since;  // when it connected (CLOCK_MONOTONIC ms)
};

// A connection that has not asked for its region by then is closed: connections that never ask
// cannot hold the kMaxConns places for ever.
constexpr double kPendingMs = 5000;

double MonoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Added {
  int index;
  int fd;  // the region, for the consumer to map (ringEvents hands it over)
  int efd;  // kWakeEventfd: the consumer's duplicate of that producer's eventfd, else -1
  int pid;
  int uid;
};

struct Server {
  int listenFd = -1;
  int wakeFd = -1;
  int fd = -1;  // our own duplicate of the served descriptor (ring mode: the consumer page)
  std::string path;
  napi_env env = nullptr;  // the JS environment (main thread or worker) that started it
  std::thread th;
  std::vector<Conn> conns;  // serving thread only
  // ring mode
  bool ring = false;
  size_t regionBytes = 0;
  bool eventfd = false;  // the page's wakeMode is kWakeEventfd
  int peersEfd = -1;     // eventfd mode: written when producers come or go
  ConsumerPage* page = nullptr;  // our own writable mapping of the consumer page
  std::mutex mu;  // guards slot, sockOf, added, gone
  // per index: kFree, kOpen (its connection sockOf[i] is open), kDropping (the consumer dropped it;
  // the serving thread frees it once it has closed the socket), kClosed (gone, not yet dropped)
  int slot[kMaxProducers] = {};
  int sockOf[kMaxProducers] = {};
  std::vector<Added> added;
  std::vector<int> gone;
};

enum { kFree = 0, kOpen, kDropping, kClosed };

std::mutex g_srv_mu;
// Never destroyed at exit: a still-running thread must not meet a destroyed std::thread.
auto* g_servers = new std::unordered_map<int, Server*>();
int g_next_id = 1;

void SendFds(int conn, const int* fds, int n, const void* data, size_t len) {
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 3)];
  memset(ctl, 0, sizeof(ctl));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  // A fresh socket's send buffer is empty: a few bytes never block (MSG_DONTWAIT to be sure).
  (void)!sendmsg(conn, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Tells the consumer (asleep on its regions' words and this one) that producers came or went.
void BumpPeers(Server* s) {
  if (!s->page) return;
  __atomic_fetch_add(&s->page->meta.peersSeq, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &s->page->meta.peersSeq, FUTEX_WAKE, 0x7fffffff, nullptr, nullptr, 0);
  if (s->peersEfd >= 0) {
    uint64_t one = 1;
    (void)!write(s->peersEfd, &one, sizeof(one));  // non-blocking; a full counter means one is pending anyway
  }
}

void DropConn(Server* s, size_t i) {
  Conn c = s->conns[i];
  s->conns.erase(s->conns.begin() + static_cast<long>(i));
  bool report = false;
  if (c.index >= 0) {  // (a pending connection never had an index)
    std::lock_guard<std::mutex> lock(s->mu);  // before close: dropPeer never shuts down a stale number
    if (s->slot[c.index] == kDropping) {
      s->slot[c.index] = kFree;
    } else {
      s->slot[c.index] = kClosed;  // taken until the consumer calls dropPeer
      s->gone.push_back(c.index);
      report = true;
    }
  }
  close(c.sock);
  if (report) BumpPeers(s);
}

// A fresh sealed region of regionBytes, or -1.
int MakeRegion(size_t bytes) {
  int fd = memfd_create("framebench-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  int ferr = 0;
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0 ||
      ((ferr = posix_fallocate(fd, 0, static_cast<off_t>(bytes))) != 0 && ferr != EOPNOTSUPP && ferr != EINVAL) ||
      fcntl(fd, F_ADD_SEALS, kSeals) != 0 || (fcntl(fd, F_GET_SEALS) & kSeals) != kSeals) {
    close(fd);
    return -1;
  }
  return fd;
}

// A producer asked for its region (a mere connect, e.g. a liveness probe, costs no memory).
void AcceptRing(Server* s, int conn, const ucred& cred) {
  int index = -1;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    for (uint32_t i = 0; i < kMaxProducers && index < 0; i++)
      if (s->slot[i] == kFree) index = static_cast<int>(i);
    if (index >= 0) s->slot[index] = kClosed;  // taken; kOpen once its descriptors are sent
  }
  int region = index < 0 ? -1 : MakeRegion(s->regionBytes);
  // eventfd mode: the producer's own eventfd (its wake-ups of the consumer), and our duplicate.
  int efd = -1, efdMine = -1;
  if (region >= 0 && s->eventfd) {
    efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    efdMine = efd < 0 ? -1 : fcntl(efd, F_DUPFD_CLOEXEC, 0);
    if (efdMine < 0) {
      if (efd >= 0) close(efd);
      close(region);
      region = -1;
    }
  }
  if (region < 0) {  // refused: all indices taken, or no memory; the producer gets no descriptor
    close(conn);
    if (index >= 0) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->slot[index] = kFree;
    }
    return;
  }
  // The producer reads its line as soon as it has the page: reset it first.
  ProducerLine* line = &s->page->lines[index];
  __atomic_store_n(&line->readCursor, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&line->spaceSeq, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&line->state, kLineActive, __ATOMIC_SEQ_CST);
  // The consumer learns of the region before the producer has it: a record the producer commits
  // right away is never behind an arrival the consumer has not seen.
  int mine = fcntl(region, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) {
    close(region);
    if (efd >= 0) close(efd);
    if (efdMine >= 0) close(efdMine);
    close(conn);
    std::lock_guard<std::mutex> lock(s->mu);
    s->slot[index] = kFree;
    return;
  }
  s->conns.push_back({conn, static_cast<int>(cred.pid), static_cast<int>(cred.uid), index, MonoMs()});
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->slot[index] = kOpen;
    s->sockOf[index] = conn;
    s->added.push_back({index, mine, efdMine, static_cast<int>(cred.pid), static_cast<int>(cred.uid)});
  }
  BumpPeers(s);
  int fds[3] = {s->fd, region, efd};
  uint32_t idx = static_cast<uint32_t>(index);
  SendFds(conn, fds, efd >= 0 ? 3 : 2, &idx, sizeof(idx));
  close(region);
  if (efd >= 0) close(efd);
}

void Serve(Server* s) {
  std::vector<pollfd> p;
  for (;;) {
    p.assign({{s->listenFd, POLLIN, 0}, {s->wakeFd, POLLIN, 0}});
    bool pending = false;
    for (auto& c : s->conns) {
      p.push_back({c.sock, POLLIN | POLLRDHUP, 0});
      pending = pending || c.index == kPending;
    }
    int r = poll(p.data(), p.size(), pending ? 1000 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return;
    if (pending) {  // before the indices below: rebuilt on the next round
      const double now = MonoMs();
      size_t before = s->conns.size();
      for (size_t i = s->conns.size(); i-- > 0;) {
        if (s->conns[i].index == kPending && now - s->conns[i].since > kPendingMs) {
          close(s->conns[i].sock);
          s->conns.erase(s->conns.begin() + static_cast<long>(i));
        }
      }
      if (s->conns.size() != before) continue;
    }
    if (p[1].revents & POLLIN) {
      uint64_t v;
      (void)!read(s->wakeFd, &v, sizeof(v));
      if (v >= (1ull << 32)) return;  // stop
      continue;
    }
    // connections: anything but silence ends them (a producer has nothing to say; bytes are drained)
    for (size_t i = p.size(); i-- > 2;) {
      short ev = p[i].revents;
      if (!ev) continue;
      Conn& c = s->conns[i - 2];
      if (c.index == kPending && (ev & POLLIN)) {
        char req = 0;
        ssize_t n = recv(c.sock, &req, 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        Conn pending = c;
        s->conns.erase(s->conns.begin() + static_cast<long>(i - 2));
        ucred cred{};
        cred.pid = pending.pid;
        cred.uid = static_cast<uid_t>(pending.uid);
        if (n == 1 && req == kRequest) AcceptRing(s, pending.sock, cred);
        else close(pending.sock);
        continue;
      }
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
      if (s->ring) {
        s->conns.push_back({conn, static_cast<int>(cred.pid), static_cast<int>(cred.uid), kPending, MonoMs()});
      } else {
        s->conns.push_back({conn, static_cast<int>(cred.pid), static_cast<int>(cred.uid), -1, MonoMs()});
        char byte = 'F';
        SendFds(conn, &s->fd, 1, &byte, 1);
      }
    }
  }
}

void StopServer(Server* s) {
  uint64_t stop = 1ull << 32;
  (void)!write(s->wakeFd, &stop, sizeof(stop));
  if (s->th.joinable()) s->th.join();
  close(s->listenFd);
  close(s->wakeFd);
  close(s->fd);
  for (auto& c : s->conns) close(c.sock);
  for (auto& a : s->added) {
    close(a.fd);
    if (a.efd >= 0) close(a.efd);
  }
  if (s->peersEfd >= 0) close(s->peersEfd);
  if (s->page) munmap(s->page, kPageBytes);
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

// Binds `path`, starts the thread. Takes ownership of s (deleted on failure).
Napi::Value Start(Napi::Env env, Server* s) {
  sockaddr_un addr;
  FillAddr(s->path, &addr);
  s->env = env;
  s->listenFd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  s->wakeFd = eventfd(0, EFD_CLOEXEC);
  if (s->eventfd) s->peersEfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int err = 0;
  const char* what = "serving";
  if (s->fd < 0 || s->listenFd < 0 || s->wakeFd < 0 || (s->eventfd && s->peersEfd < 0)) {
    err = errno;
    what = "serving: descriptors";
  } else if (bind(s->listenFd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    err = errno;
    what = "serving: bind";
  } else if (chmod(s->path.c_str(), 0600) != 0 || listen(s->listenFd, 128) != 0) {
    err = errno;
    what = "serving: listen";
    unlink(s->path.c_str());
  }
  if (err != 0) {
    if (s->fd >= 0) close(s->fd);
    if (s->listenFd >= 0) close(s->listenFd);
    if (s->wakeFd >= 0) close(s->wakeFd);
    if (s->peersEfd >= 0) close(s->peersEfd);
    if (s->page) munmap(s->page, kPageBytes);
    std::string p = s->path;
    delete s;
    return ThrowSys(env, std::string(what) + " " + p, err);
  }
  s->th = std::thread(Serve, s);
  std::lock_guard<std::mutex> lock(g_srv_mu);
  int id = g_next_id++;
  (*g_servers)[id] = s;
  return Napi::Number::New(env, id);
}

// serveFd(path, fd) -> id
Napi::Value ServeFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int fd;
  if (!GetPath(info, 0, &path)) return ThrowCode(env, "FB_ERR_USAGE", "serveFd: path must be an absolute socket path under 108 bytes");
  if (!GetFd(info, 1, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "serveFd: fd must be a descriptor number");
  Server* s = new Server();
  s->path = path;
  s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return Start(env, s);
}

// serveRing(path, pageFd, regionBytes) -> id
Napi::Value ServeRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int fd;
  if (!GetPath(info, 0, &path)) return ThrowCode(env, "FB_ERR_USAGE", "serveRing: path must be an absolute socket path under 108 bytes");
  if (!GetFd(info, 1, &fd)) return ThrowCode(env, "FB_ERR_USAGE", "serveRing: fd must be a descriptor number");
  double bytes = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
  if (!(bytes >= kHeaderBytes && bytes <= kMaxBytes) || std::floor(bytes) != bytes)
    return ThrowCode(env, "FB_ERR_USAGE", "serveRing: regionBytes out of range");
  struct stat sb;
  if (fstat(fd, &sb) != 0 || sb.st_size != static_cast<off_t>(kPageBytes)) return ThrowCode(env, "FB_ERR_USAGE", "serveRing: the page must be kPageBytes");
  // Our own writable mapping first (the serving thread resets lines and bumps peersSeq), then the
  // seal that forbids every later writable mapping: the producers' included, whatever descriptor
  // (even one reopened through /proc) they use.
  void* page = mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED) return ThrowSys(env, "serveRing: mmap page", errno);
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0 || (fcntl(fd, F_GET_SEALS) & kRoSeals) != kRoSeals) {
    int err = errno;
    munmap(page, kPageBytes);
    return ThrowSys(env, "serveRing: sealing the page F_SEAL_FUTURE_WRITE", err);
  }
  Server* s = new Server();
  s->path = path;
  s->ring = true;
  s->regionBytes = static_cast<size_t>(bytes);
  s->page = static_cast<ConsumerPage*>(page);
  // The consumer wrote its wake mode in the page before serving (it never changes afterwards).
  const uint32_t mode = __atomic_load_n(&s->page->meta.wakeMode, __ATOMIC_SEQ_CST);
  if (mode != kWakeFutex && mode != kWakeEventfd) {
    munmap(page, kPageBytes);
    delete s;
    return ThrowCode(env, "FB_ERR_USAGE", "serveRing: the page's wakeMode is neither futex nor eventfd");
  }
  s->eventfd = mode == kWakeEventfd;
  s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return Start(env, s);
}

Server* Find(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) return nullptr;
  int id = info[0].As<Napi::Number>().Int32Value();
  auto it = g_servers->find(id);
  return it == g_servers->end() ? nullptr : it->second;
}

Napi::Value UnserveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Server* s = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_srv_mu);
    s = Find(info);
    if (!s) return Napi::Boolean::New(env, false);
    g_servers->erase(info[0].As<Napi::Number>().Int32Value());
  }
  StopServer(s);
  return Napi::Boolean::New(env, true);
}

// ringEvents(id) -> { added: [{ index, fd, pid, uid }], gone: [index] } since the previous call;
// null if no such server. The caller owns (and must map or close) every fd.
Napi::Value RingEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Added> added;
  std::vector<int> gone;
  {
    std::lock_guard<std::mutex> lock(g_srv_mu);
    Server* s = Find(info);
    if (!s) return env.Null();
    std::lock_guard<std::mutex> lock2(s->mu);
    added.swap(s->added);
    gone.swap(s->gone);
  }
  Napi::Array a = Napi::Array::New(env, added.size());
  for (size_t i = 0; i < added.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", Napi::Number::New(env, added[i].index));
    o.Set("fd", Napi::Number::New(env, added[i].fd));
    o.Set("efd", Napi::Number::New(env, added[i].efd));
    o.Set("pid", Napi::Number::New(env, added[i].pid));
    o.Set("uid", Napi::Number::New(env, added[i].uid));
    a.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Array g = Napi::Array::New(env, gone.size());
  for (size_t i = 0; i < gone.size(); i++) g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, gone[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("added", a);
  o.Set("gone", g);
  return o;
}

// ringWakeFd(id) -> a duplicate (the caller's) of the eventfd written when producers come or go;
// -1 in futex mode; null if no such server.
Napi::Value RingWakeFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_srv_mu);
  Server* s = Find(info);
  if (!s) return env.Null();
  if (s->peersEfd < 0) return Napi::Number::New(env, -1);
  int d = fcntl(s->peersEfd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return ThrowSys(env, "ringWakeFd", errno);
  return Napi::Number::New(env, d);
}

// dropPeer(id, index): the consumer is done with that producer (it left, or is cut off): close its
// connection if it is still open (a cut-off producer learns it so) and free the index for reuse.
Napi::Value DropPeer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "dropPeer(id, index)");
  int index = info[1].As<Napi::Number>().Int32Value();
  if (index < 0 || index >= static_cast<int>(kMaxProducers)) return Napi::Boolean::New(env, false);
  std::lock_guard<std::mutex> lock(g_srv_mu);
  Server* s = Find(info);
  if (!s || !s->ring) return Napi::Boolean::New(env, false);
  // shutdown(): the producer sees its connection end; the serving thread sees it too, closes the
  // socket and frees the index. Never a close() here: the serving thread owns the socket.
  std::lock_guard<std::mutex> lock2(s->mu);
  if (s->slot[index] == kOpen) {
    shutdown(s->sockOf[index], SHUT_RDWR);
    s->slot[index] = kDropping;
  } else if (s->slot[index] == kClosed) {
    s->slot[index] = kFree;
    // its departure, if not yet collected, must not be read as that of the index's next owner
    s->gone.erase(std::remove(s->gone.begin(), s->gone.end(), index), s->gone.end());
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterServe(Napi::Env env, Napi::Object exports) {
  exports.Set("serveFd", Napi::Function::New(env, ServeFd));
  exports.Set("unserveFd", Napi::Function::New(env, UnserveFd));
  exports.Set("serveRing", Napi::Function::New(env, ServeRing));
  exports.Set("ringEvents", Napi::Function::New(env, RingEvents));
  exports.Set("dropPeer", Napi::Function::New(env, DropPeer));
  exports.Set("ringWakeFd", Napi::Function::New(env, RingWakeFd));
  napi_add_env_cleanup_hook(env, StopAll, static_cast<napi_env>(env));
}

}  // namespace fb
