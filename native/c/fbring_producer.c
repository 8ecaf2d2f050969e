/*
 * fbring: the producer end of the ring. A port of transports/shm/producer.ts and segment.ts
 * openSegment / memfd.cc fetchFd + mapFd: connect, ask ('R'), receive the page and a region of its
 * own with SCM_RIGHTS, check seals and geometry, then reserve / commit in place. A consumer in
 * eventfd mode (the page's wakeMode) hands over a third descriptor, an eventfd of this producer's
 * own: signal_data() writes it instead of FUTEX_WAKE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fbring_int.h"

#define FETCH_MS 5000.0
#define WAIT_MS 10.0
#define WATCHDOG_MS 200.0
#define YIELD_MIN_GAP_NS 2e6 /* as transports/shm/producer.ts */

struct fb_producer {
  char path[108];
  int sock;
  int wake_fd; /* kWakeEventfd: the eventfd to write to wake the consumer, else -1 */
  uint32_t signalled_epoch; /* the consumer's sleep epoch this producer last woke (0: none) */
  int index;
  int drop;
  int yield_after_wake; /* sched_yield() after waking the consumer (fb_producer_opts.no_yield_after_wake == 0) */
  double last_signal_ns; /* CLOCK_MONOTONIC of its last wake-up of the consumer (-1e18: none yet) */
  ConsumerPage* page; /* read-only */
  uint8_t* region;    /* read-write */
  size_t region_bytes;
  uint64_t capacity;
  uint32_t max_record_bytes;
  uint64_t read_cache, reserved;
  uint32_t seq;
  double checked_at;
  int gone; /* 0, or the first verdict (1: peer gone, 2: cut off / corrupt) */
  char gone_msg[320];
  fb_producer_stats st;
};

static RegionHeader* rh(fb_producer* p) {
  return (RegionHeader*)p->region;
}

static int sock_gone(int sock) {
  struct pollfd q = {sock, POLLIN | POLLRDHUP, 0};
  if (poll(&q, 1, 0) <= 0) return 0;
  if (q.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) return 1;
  char junk[256];
  ssize_t n = recv(sock, junk, sizeof(junk), MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* Connects, asks, receives two or three descriptors and the index; their number, or -1 with err. */
static int fetch(const char* path, int* sock_out, int fds[3], int* index, fb_err* err) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path));
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0) return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "socket: %s", strerror(errno));
  double deadline = fb_now_ms() + FETCH_MS;
  while (connect(sock, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
    int e = errno;
    if (e != EAGAIN || fb_now_ms() >= deadline) {
      close(sock);
      if (e == ENOENT || e == ECONNREFUSED)
        return fb_set_err(err, "FB_ERR_PEER_GONE", "fetching the ring from %s: nobody serves this ring (receiver gone?)", path);
      return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "connecting to %s: %s", path, strerror(e == EAGAIN ? ETIMEDOUT : e));
    }
    usleep(1000);
  }
  char req = FB_REQUEST;
  if (send(sock, &req, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
    int e = errno;
    close(sock);
    return fb_set_err(err, "FB_ERR_PEER_GONE", "asking %s for the descriptors: %s", path, strerror(e));
  }
  uint8_t data[8] = {0};
  struct iovec iov = {data, sizeof(data)};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 8)];
  } ctl;
  struct msghdr msg;
  ssize_t n = -1;
  for (;;) {
    double left = deadline - fb_now_ms();
    struct pollfd q = {sock, POLLIN, 0};
    int r = poll(&q, 1, left < 0 ? 0 : (int)left + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(sock);
      return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "waiting for the descriptors from %s: %s", path, r == 0 ? "timed out" : strerror(errno));
    }
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;
  }
  int got[8], ngot = 0;
  if (n > 0) {
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k && ngot < 8; i++) memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  uint32_t idx = 0;
  memcpy(&idx, data, sizeof(idx));
  if (n <= 0 || ngot < 2 || ngot > 3 || n < 4 || (msg.msg_flags & MSG_CTRUNC) || idx >= kMaxProducers) {
    for (int i = 0; i < ngot; i++) close(got[i]);
    close(sock);
    if (n == 0 && ngot == 0)
      return fb_set_err(err, "FB_ERR_PEER_GONE", "receiving from %s: refused (every producer index taken, or no memory for a region)", path);
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: expected the ring's page and a region of our own, got %d descriptor(s)", path, ngot);
  }
  *sock_out = sock;
  fds[0] = got[0];
  fds[1] = got[1];
  fds[2] = ngot == 3 ? got[2] : -1;
  *index = (int)idx;
  return ngot;
}

/* An eventfd, as /proc/self/fd names it. */
static int is_eventfd(int fd) {
  char link[64], target[64] = {0};
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  return n > 0 && strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* mapFd: maps fd only if it is a regular file with the seals; closes fd in every case. */
static void* map_sealed(int fd, int read_only, size_t* bytes, fb_err* err) {
  struct stat sb;
  int want = read_only ? FB_RO_SEALS : FB_SEALS;
  int seals = fstat(fd, &sb) == 0 ? fcntl(fd, F_GET_SEALS) : -1;
  if (seals < 0 || !S_ISREG(sb.st_mode) || (seals & want) != want) {
    close(fd);
    fb_set_err(err, "FB_ERR_RING_CORRUPT", read_only ? "the descriptor is not a sealed read-only page" : "the descriptor is not sealed shared memory");
    return NULL;
  }
  if (sb.st_size <= 0 || (uint64_t)sb.st_size > FB_MAX_RING_BYTES + kHeaderBytes) {
    close(fd);
    fb_set_err(err, "FB_ERR_RING_CORRUPT", "the shared memory has an impossible size");
    return NULL;
  }
  void* m = mmap(NULL, (size_t)sb.st_size, read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int e = errno;
  close(fd);
  if (m == MAP_FAILED) {
    fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "mapping the ring: %s", strerror(e));
    return NULL;
  }
  *bytes = (size_t)sb.st_size;
  return m;
}

/* segment.ts validate(): every page field the producer relies on. */
static int validate(fb_producer* p, size_t page_bytes, fb_err* err) {
  const PageMeta* m = &p->page->meta;
  if (page_bytes != kPageBytes) return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: page of %zu B", p->path, page_bytes);
  if (m->magic != kRingMagic) return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: bad magic", p->path);
  if (m->version != kRingVersion)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: layout version %u, this producer speaks %u (peers of different framebench versions cannot share a ring)",
                      p->path, m->version, (unsigned)kRingVersion);
  if (m->wakeMode == kWakeEventfd ? p->wake_fd < 0 || !is_eventfd(p->wake_fd) : m->wakeMode != kWakeFutex || p->wake_fd >= 0)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: wake mode %u with %s eventfd", p->path, m->wakeMode, p->wake_fd >= 0 ? "an" : "no");
  if (m->headerBytes != kHeaderBytes || m->maxProducers != kMaxProducers)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: bad header geometry", p->path);
  if (m->recordHeaderBytes != kRecordHeaderBytes || m->recordAlign != kRecordAlign)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: bad record geometry", p->path);
  uint64_t cap = m->capacity;
  if (cap < FB_MIN_RING_BYTES || cap > FB_MAX_RING_BYTES || cap % kRecordAlign != 0)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: bad capacity %llu", p->path, (unsigned long long)cap);
  if (kHeaderBytes + cap != p->region_bytes)
    return fb_set_err(err, "FB_ERR_RING_CORRUPT", "%s: capacity %llu does not match the region (%zu B)", p->path, (unsigned long long)cap,
                      p->region_bytes);
  p->capacity = cap;
  uint64_t limit = cap - kRecordHeaderBytes;
  p->max_record_bytes = (uint32_t)(m->maxRecordBytes < limit ? m->maxRecordBytes : limit);
  return 0;
}

int fb_producer_open(const char* path, const fb_producer_opts* o, fb_producer** out, fb_err* err) {
  *out = NULL;
  size_t plen = strlen(path);
  if (plen < 7 || plen >= 108 || path[0] != '/' || strcmp(path + plen - 5, ".sock") != 0 || memchr(path, 0, plen))
    return fb_set_err(err, "FB_ERR_PROTOCOL", "not a framebench ring address (an absolute *.sock path): %s", path);
  fb_producer* p = calloc(1, sizeof(*p));
  if (!p) return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "out of memory");
  memcpy(p->path, path, plen + 1);
  p->drop = o->drop;
  p->yield_after_wake = !o->no_yield_after_wake;
  p->last_signal_ns = -1e18;
  int fds[3];
  if (fetch(path, &p->sock, fds, &p->index, err) < 0) {
    free(p);
    return -1;
  }
  p->wake_fd = fds[2];
  size_t page_bytes = 0;
  p->page = map_sealed(fds[0], 1, &page_bytes, err);
  p->region = p->page ? map_sealed(fds[1], 0, &p->region_bytes, err) : NULL;
  if (!p->page) close(fds[1]);
  if (!p->page || !p->region || validate(p, page_bytes, err) != 0) {
    if (p->page) munmap(p->page, page_bytes);
    if (p->region) munmap(p->region, p->region_bytes);
    if (p->wake_fd >= 0) close(p->wake_fd);
    close(p->sock);
    free(p);
    return -1;
  }
  __atomic_store_n(&rh(p)->producerId, o->producer_id, __ATOMIC_SEQ_CST);
  __atomic_store_n(&rh(p)->producerState, (uint32_t)kProducerOpen, __ATOMIC_SEQ_CST);
  p->st.index = (uint32_t)p->index;
  p->st.capacity = p->capacity;
  p->st.max_record_bytes = p->max_record_bytes;
  p->checked_at = -1e18;
  if (fb_producer_check(p, err) != 0) {
    fb_producer_close(p);
    return -1;
  }
  *out = p;
  return 0;
}

int fb_producer_check(fb_producer* p, fb_err* err) {
  if (!p->gone) {
    const ProducerLine* line = &p->page->lines[p->index];
    if (__atomic_load_n(&line->state, __ATOMIC_SEQ_CST) == kLineCut) {
      p->gone = 2;
      snprintf(p->gone_msg, sizeof(p->gone_msg),
               "ring %s: the receiver cut this producer off (index %d): it found a protocol violation in our region, or a claim never committed",
               p->path, p->index);
    } else if (__atomic_load_n(&p->page->meta.consumerState, __ATOMIC_SEQ_CST) != kConsumerOpen) {
      p->gone = 1;
      snprintf(p->gone_msg, sizeof(p->gone_msg), "ring %s: the receiver closed the ring", p->path);
    } else {
      double now = fb_now_ms();
      if (now - p->checked_at < WATCHDOG_MS) return 0;
      p->checked_at = now;
      if (!sock_gone(p->sock)) return 0;
      p->gone = 1;
      snprintf(p->gone_msg, sizeof(p->gone_msg), "ring %s: the receiver (pid %u) died", p->path, p->page->meta.consumerPid);
    }
  }
  return fb_set_err(err, p->gone == 2 ? "FB_ERR_RING_CORRUPT" : "FB_ERR_PEER_GONE", "%s", p->gone_msg);
}

static void signal_data(fb_producer* p) {
  __atomic_fetch_add(&rh(p)->dataSeq, 1, __ATOMIC_SEQ_CST);
  uint32_t epoch = __atomic_load_n(&p->page->meta.consumerWaiting, __ATOMIC_SEQ_CST);
  /* once per sleep of the consumer: later commits before it wakes are seen by its drain */
  if (epoch != 0 && epoch != p->signalled_epoch) {
    p->signalled_epoch = epoch;
    double now = fb_now_ns();
    if (p->wake_fd >= 0) {
      /* the consumer's wake-to-handler latency starts here (statistics only; a full counter: a wake-up is pending) */
      __atomic_store(&rh(p)->signalNs, &now, __ATOMIC_SEQ_CST);
      uint64_t one = 1;
      (void)!write(p->wake_fd, &one, sizeof(one));
    } else {
      fb_futex_wake(&rh(p)->dataSeq, 1);
    }
    p->st.futex_wakes++;
    /* yield: the kernel often puts the woken consumer on this CPU, where it would wait for the
     * rest of our time slice (0.3-0.8 ms measured on 2-vCPU VMs); yielding lets it run now. Not
     * within YIELD_MIN_GAP_NS of our previous wake-up: in a burst the consumer should drain many
     * records per wake-up, not ping-pong one at a time with us (as the Node producer) */
    if (p->yield_after_wake && now - p->last_signal_ns >= YIELD_MIN_GAP_NS) sched_yield();
    p->last_signal_ns = now;
  }
}

static void seal(fb_producer* p, uint64_t pos, uint32_t state) {
  uint64_t* w = (uint64_t*)(p->region + kHeaderBytes + pos % p->capacity);
  __atomic_store_n(w, ((pos / kRecordAlign) << 2) | state, __ATOMIC_SEQ_CST);
}

/* producer.ts reserve(): the record's position, 0 with *ok = 0 when full, -1 on a corrupt read cursor. */
static int try_reserve(fb_producer* p, uint32_t len, uint64_t* pos_out, fb_err* err) {
  const uint64_t span = ((uint64_t)kRecordHeaderBytes + len + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
  const uint64_t cap = p->capacity;
  int padded = 0;
  for (;;) {
    uint64_t r = p->reserved;
    uint64_t off = r % cap;
    uint64_t tail = cap - off;
    uint64_t total = span <= tail ? span : tail;
    if (r + total - p->read_cache > cap) {
      uint64_t read = __atomic_load_n(&p->page->lines[p->index].readCursor, __ATOMIC_SEQ_CST);
      if (read > r || read < p->read_cache)
        return fb_set_err(err, "FB_ERR_RING_CORRUPT", "ring %s: read cursor %llu outside [%llu, %llu]", p->path, (unsigned long long)read,
                          (unsigned long long)p->read_cache, (unsigned long long)r);
      p->read_cache = read;
      if (r + total - p->read_cache > cap) {
        if (padded) signal_data(p); /* full after a pad: a sleeping consumer must still skip it */
        return 0;
      }
    }
    RecordHeader* h = (RecordHeader*)(p->region + kHeaderBytes + off);
    p->reserved = r + total;
    if (total != span) {
      h->length = (uint32_t)(tail - kRecordHeaderBytes);
      seal(p, r, kRecPad);
      __atomic_store_n(&rh(p)->reserveCursor, p->reserved, __ATOMIC_SEQ_CST);
      p->st.pads++;
      padded = 1; /* no signal of its own: the next record's commit wakes the consumer (producer.ts reserve) */
      continue;
    }
    h->length = len;
    h->producerSeq = p->seq++;
    seal(p, r, kRecReserved);
    __atomic_store_n(&rh(p)->reserveCursor, p->reserved, __ATOMIC_SEQ_CST);
    *pos_out = r;
    return 1;
  }
}

static int make_loan(fb_producer* p, uint64_t pos, uint32_t len, fb_loan* loan) {
  loan->data = p->region + kHeaderBytes + pos % p->capacity + kRecordHeaderBytes;
  loan->len = len;
  loan->pos_ = pos;
  return 1;
}

int fb_producer_reserve(fb_producer* p, uint32_t len, fb_loan* loan, uint32_t timeout_ms, fb_err* err) {
  if (len > p->max_record_bytes)
    return fb_set_err(err, "FB_ERR_FRAME_TOO_LARGE", "a %u B record exceeds this ring's limit of %u B (ring %llu B)", len, p->max_record_bytes,
                      (unsigned long long)p->capacity);
  if (fb_producer_check(p, err) != 0) return -1;
  uint64_t pos;
  int r = try_reserve(p, len, &pos, err);
  if (r != 0) return r < 0 ? -1 : make_loan(p, pos, len, loan);
  if (p->drop) {
    p->st.drops++;
    __atomic_fetch_add(&rh(p)->drops, 1, __ATOMIC_SEQ_CST);
    return 0;
  }
  p->st.full_waits++;
  const double deadline = fb_now_ms() + timeout_ms;
  uint32_t* space = &p->page->lines[p->index].spaceSeq;
  for (;;) {
    uint32_t seq = __atomic_load_n(space, __ATOMIC_SEQ_CST);
    __atomic_store_n(&rh(p)->producerWaiting, 1, __ATOMIC_SEQ_CST);
    r = try_reserve(p, len, &pos, err);
    if (r == 0) {
      double left = deadline - fb_now_ms();
      if (left > 0) {
        p->st.futex_waits++;
        fb_futex_wait(space, seq, left < WAIT_MS ? left : WAIT_MS);
      }
    }
    __atomic_store_n(&rh(p)->producerWaiting, 0, __ATOMIC_SEQ_CST);
    if (r != 0) return r < 0 ? -1 : make_loan(p, pos, len, loan);
    if (fb_producer_check(p, err) != 0) return -1;
    r = try_reserve(p, len, &pos, err);
    if (r != 0) return r < 0 ? -1 : make_loan(p, pos, len, loan);
    if (fb_now_ms() >= deadline) return 0;
  }
}

static void finish(fb_producer* p, const fb_loan* loan, uint32_t state) {
  RecordHeader* h = (RecordHeader*)(p->region + kHeaderBytes + loan->pos_ % p->capacity);
  double now = fb_now_ns();
  memcpy(&h->commitNs, &now, sizeof(now));
  seal(p, loan->pos_, state);
  if (state == kRecCommitted) {
    p->st.records++;
    p->st.bytes += loan->len;
    __atomic_fetch_add(&rh(p)->commits, 1, __ATOMIC_SEQ_CST);
  }
  signal_data(p);
}

void fb_producer_commit(fb_producer* p, const fb_loan* loan) {
  finish(p, loan, kRecCommitted);
}

void fb_producer_abort(fb_producer* p, const fb_loan* loan) {
  finish(p, loan, kRecPad);
}

void fb_producer_stats_get(const fb_producer* p, fb_producer_stats* out) {
  *out = p->st;
}

void fb_producer_close(fb_producer* p) {
  if (!p) return;
  __atomic_store_n(&rh(p)->producerState, (uint32_t)kProducerClosed, __ATOMIC_SEQ_CST); /* a clean leave */
  if (p->wake_fd >= 0) close(p->wake_fd);
  close(p->sock);
  munmap(p->region, p->region_bytes);
  munmap(p->page, kPageBytes);
  free(p);
}

uint8_t* fb_producer_region_(fb_producer* p, size_t* bytes) {
  *bytes = p->region_bytes;
  return p->region;
}

int fb_producer_index_(const fb_producer* p) {
  return p->index;
}

void fb_producer_kill_(fb_producer* p) {
  if (p->wake_fd >= 0) close(p->wake_fd);
  close(p->sock);
  munmap(p->region, p->region_bytes);
  munmap(p->page, kPageBytes);
  free(p);
}
