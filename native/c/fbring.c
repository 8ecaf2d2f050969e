/*
 * fbring: the consumer end of the ring (and helpers shared with fbring_producer.c and
 * fbring_serve.c). A port of transports/shm/consumer.ts + region.ts + segment.ts createSegment:
 * same words, same checks, same verdicts. See fbring.h and docs/ring-c.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fbring_int.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define FUTEX2_SIZE_U32_ 0x02
#define FUTEX2_PRIVATE_ 128

/* As transports/shm/consumer.ts. */
#define SCAN_STEPS 1024
#define BURST 16
#define CLAIM_TIMEOUT_MS 5000
#define MAX_WAITV 128

/* ---- helpers ---- */

int fb_set_err(fb_err* err, const char* code, const char* fmt, ...) {
  if (err) {
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
  }
  return -1;
}

double fb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double fb_now_ms(void) {
  return fb_now_ns() / 1e6;
}

long fb_futex_wait(uint32_t* word, uint32_t expected, double ms) {
  if (ms < 0) ms = 0;
  struct timespec ts = {(time_t)(ms / 1e3), (long)((ms - (double)(long long)(ms / 1e3) * 1e3) * 1e6)};
  return syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

long fb_futex_wake(uint32_t* word, int count) {
  return syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int fb_memfd_sealed(const char* label, size_t bytes, int seal_later) {
  int fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  int seals = seal_later ? F_SEAL_SHRINK | F_SEAL_GROW : FB_SEALS;
  int ferr = 0;
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)bytes) != 0 ||
      ((ferr = posix_fallocate(fd, 0, (off_t)bytes)) != 0 && ferr != EOPNOTSUPP && ferr != EINVAL) ||
      fcntl(fd, F_ADD_SEALS, seals) != 0 || (fcntl(fd, F_GET_SEALS) & seals) != seals) {
    int e = ferr ? ferr : errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static uint64_t record_span(uint32_t len) {
  return ((uint64_t)kRecordHeaderBytes + len + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

/* ---- a producer's region, as the consumer reads it (region.ts RegionReader) ---- */

typedef struct entry {
  uint64_t start, end;
  uint32_t len; /* as validated by the scan (never re-read from shared memory) */
  uint8_t released;
} entry;

typedef struct reader {
  int used;
  uint32_t gen; /* bumped when the slot is retired: a stale record handle is ignored */
  int index, pid, uid;
  uint8_t* base; /* the region mapping (read-only) */
  size_t map_bytes;
  uint64_t next, read, published;
  uint64_t held;
  uint64_t claim_at;
  double claim_since; /* ms, < 0: none */
  int leaving, ended, left_claim, done;
  char violation[200];
  /* entries walked past and not yet released: ids [head, tail), stored at id % cap */
  entry* fifo;
  uint64_t head, tail, cap;
} reader;

struct fb_consumer {
  char path[108];
  uint64_t capacity;
  uint32_t max_record_bytes;
  double claim_timeout_ms;
  int page_fd;
  ConsumerPage* page;
  fb_server* server;
  uint32_t peers_seen;
  uint32_t interrupt_word; /* private futex word: fb_consumer_interrupt */
  uint32_t sleep_epoch;    /* the last value written to consumerWaiting (never 0) */
  reader r[kMaxProducers];
  int turn, burst;
  long budget;
  fb_error_fn on_error;
  void* on_error_ctx;
  uint64_t drops_of_gone;
  fb_consumer_stats st;
};

static RegionHeader* hdr(const reader* r) {
  return (RegionHeader*)r->base;
}

static int seal_state(const fb_consumer* c, const reader* r, uint64_t pos) {
  const uint64_t* w = (const uint64_t*)(r->base + kHeaderBytes + pos % c->capacity);
  uint64_t diff = __atomic_load_n(w, __ATOMIC_SEQ_CST) - ((pos / kRecordAlign) << 2);
  return diff >= 1 && diff <= 3 ? (int)diff : 0;
}

static uint64_t reserve_of(const reader* r) {
  return __atomic_load_n(&hdr(r)->reserveCursor, __ATOMIC_SEQ_CST);
}

static int reader_ready(const fb_consumer* c, const reader* r) {
  if (!r->used || r->done) return 0;
  if (r->leaving) return 1;
  if (reserve_of(r) == r->next) return 0;
  int st = seal_state(c, r, r->next);
  return st != 0 && st != (int)kRecReserved;
}

static int fifo_push(reader* r, uint64_t start, uint64_t end, uint32_t len, uint64_t* id) {
  if (r->tail - r->head == r->cap) {
    uint64_t ncap = r->cap ? r->cap * 2 : 64;
    entry* n = malloc(sizeof(entry) * ncap);
    if (!n) return -1;
    for (uint64_t i = r->head; i < r->tail; i++) n[i % ncap] = r->fifo[i % r->cap];
    free(r->fifo);
    r->fifo = n;
    r->cap = ncap;
  }
  *id = r->tail++;
  entry* e = &r->fifo[*id % r->cap];
  e->start = start;
  e->end = end;
  e->len = len;
  e->released = 0;
  return 0;
}

/* Marks entry `id` released; 1 if the released prefix (`read`) moved. */
static int reader_release(reader* r, uint64_t id) {
  if (id < r->head || id >= r->tail) return 0;
  entry* e = &r->fifo[id % r->cap];
  if (e->released) return 0;
  e->released = 1;
  int moved = 0;
  while (r->head < r->tail && r->fifo[r->head % r->cap].released) {
    r->read = r->fifo[r->head % r->cap].end;
    r->head++;
    moved = 1;
  }
  return moved;
}

static void violation(reader* r, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(reader* r, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->violation, sizeof(r->violation), fmt, ap);
  va_end(ap);
}

/* region.ts scan(): the next committed record at `next` (its id), or -1: nothing ready, budget
 * spent, or a verdict (violation / ended). Pads are consumed here. */
static int64_t reader_scan(fb_consumer* c, reader* r) {
  const uint64_t cap = c->capacity;
  for (;;) {
    if (r->done || r->violation[0] || r->ended || c->budget <= 0) return -1;
    c->budget--;
    uint64_t reserve = reserve_of(r);
    uint64_t pos = r->next;
    if (reserve == pos) {
      r->claim_since = -1;
      if (r->leaving) r->ended = 1, r->left_claim = 0;
      return -1;
    }
    if (!(reserve > pos && reserve <= r->read + cap) || reserve % kRecordAlign != 0) {
      violation(r, "reserve cursor %llu outside [%llu, %llu]", (unsigned long long)reserve, (unsigned long long)pos,
                (unsigned long long)(r->read + cap));
      return -1;
    }
    int state = seal_state(c, r, pos);
    uint64_t off = pos % cap;
    if (state == 0 || state == (int)kRecReserved) {
      if (r->leaving) {
        r->ended = 1, r->left_claim = 1;
      } else if (r->claim_at != pos || r->claim_since < 0) {
        r->claim_at = pos;
        r->claim_since = fb_now_ms();
      }
      return -1;
    }
    const RecordHeader* h = (const RecordHeader*)(r->base + kHeaderBytes + off);
    uint32_t len = __atomic_load_n(&h->length, __ATOMIC_RELAXED);
    uint64_t span = record_span(len);
    if (span > cap - off || pos + span > reserve) {
      violation(r, "record at %llu claims %u B (span %llu, %llu B to the end, reserve %llu)", (unsigned long long)pos, len,
                (unsigned long long)span, (unsigned long long)(cap - off), (unsigned long long)reserve);
      return -1;
    }
    r->claim_since = -1;
    uint64_t id;
    if (fifo_push(r, pos, pos + span, len, &id) != 0) {
      violation(r, "out of memory for its records");
      return -1;
    }
    r->next = pos + span;
    if (state == (int)kRecPad) {
      c->st.pads++;
      reader_release(r, id);
      continue;
    }
    return (int64_t)id;
  }
}

/* ---- the consumer ---- */

static void report(fb_consumer* c, int index, const char* code, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
static void report(fb_consumer* c, int index, const char* code, const char* fmt, ...) {
  if (!c->on_error) return;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  c->on_error(c->on_error_ctx, index, code, msg);
}

static uint64_t reader_drops(const reader* r) {
  uint64_t d = __atomic_load_n(&hdr(r)->drops, __ATOMIC_RELAXED);
  return d < (1ull << 40) ? d : 0;
}

static void label(const fb_consumer* c, const reader* r, char* out, size_t n) {
  uint32_t id = __atomic_load_n(&hdr(r)->producerId, __ATOMIC_RELAXED);
  if ((uid_t)r->uid == geteuid()) snprintf(out, n, "producer #%d (id %u, pid %d)", r->index, id, r->pid);
  else snprintf(out, n, "producer #%d (id %u, pid %d, uid %d)", r->index, id, r->pid, r->uid);
  (void)c;
}

/* Unmaps a region and gives its index back (once its last record came back). */
static void retire(fb_consumer* c, reader* r) {
  c->drops_of_gone += reader_drops(r);
  munmap(r->base, r->map_bytes);
  free(r->fifo);
  fb_serve_drop(c->server, r->index);
  uint32_t gen = r->gen + 1;
  memset(r, 0, sizeof(*r));
  r->gen = gen;
}

/* Worth waking a producer that sleeps for space: half its region is free again, or nothing more of it
 * is ready to read (the consumer may sleep next). A producer that blocks on a full ring is then woken
 * once per half ring, not once per record. Reads the producer's reserve cursor: a lie changes only
 * when that producer is woken (it also wakes on its own wait's timeout). */
static int space_worth_waking(const fb_consumer* c, const reader* r) {
  return reserve_of(r) - r->read <= c->capacity / 2 || !reader_ready(c, r);
}

static void wake_producer(fb_consumer* c, reader* r) {
  ProducerLine* line = &c->page->lines[r->index];
  __atomic_fetch_add(&line->spaceSeq, 1, __ATOMIC_SEQ_CST);
  if ((__atomic_load_n(&hdr(r)->producerWaiting, __ATOMIC_SEQ_CST) != 0 && space_worth_waking(c, r)) || r->done) {
    fb_futex_wake(&line->spaceSeq, 0x7fffffff);
    c->st.futex_wakes++;
  }
}

static void publish(fb_consumer* c, reader* r) {
  r->published = r->read;
  __atomic_store_n(&c->page->lines[r->index].readCursor, r->read, __ATOMIC_SEQ_CST);
  wake_producer(c, r);
}

static void cut(fb_consumer* c, reader* r, const char* why) {
  if (r->done) return;
  char who[96];
  label(c, r, who, sizeof(who));
  r->done = 1;
  c->st.cut_off++;
  __atomic_store_n(&c->page->lines[r->index].state, (uint32_t)kLineCut, __ATOMIC_SEQ_CST);
  wake_producer(c, r);
  fb_serve_cut(c->server, r->index); /* its connection ends now; its index is free once the region is retired */
  report(c, r->index, "FB_ERR_RING_CORRUPT", "ring %s: %s cut off: %s", c->path, who, why);
  if (r->held == 0) retire(c, r);
}

static void finish_leaving(fb_consumer* c, reader* r) {
  r->done = 1;
  if (r->left_claim) c->st.skipped++;
  int clean = __atomic_load_n(&hdr(r)->producerState, __ATOMIC_RELAXED) == kProducerClosed && !r->left_claim;
  if (!clean) {
    char who[96];
    label(c, r, who, sizeof(who));
    c->st.peer_gone++;
    report(c, r->index, "FB_ERR_PEER_GONE", "ring %s: %s is gone (its connection closed%s)", c->path, who,
           r->left_claim ? "; its unfinished record is skipped" : "");
  }
  if (r->held == 0) retire(c, r);
}

static void poll_peers(fb_consumer* c) {
  uint32_t seq = __atomic_load_n(&c->page->meta.peersSeq, __ATOMIC_SEQ_CST);
  if (seq == c->peers_seen) return;
  c->peers_seen = seq;
  fb_arrival added[kMaxProducers];
  int gone[kMaxProducers], na = 0, ng = 0;
  fb_serve_events(c->server, added, &na, gone, &ng);
  for (int i = 0; i < na; i++) {
    fb_arrival* a = &added[i];
    reader* r = &c->r[a->index];
    size_t bytes = kHeaderBytes + c->capacity;
    void* m = r->used ? MAP_FAILED : mmap(NULL, bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, a->fd, 0);
    close(a->fd);
    if (m == MAP_FAILED) {
      fb_serve_drop(c->server, a->index); /* cannot map it: refused */
      continue;
    }
    uint32_t gen = r->gen;
    memset(r, 0, sizeof(*r));
    r->gen = gen;
    r->used = 1;
    r->index = a->index;
    r->pid = a->pid;
    r->uid = a->uid;
    r->base = m;
    r->map_bytes = bytes;
    r->claim_since = -1;
  }
  for (int i = 0; i < ng; i++) {
    reader* r = &c->r[gone[i]];
    if (r->used && !r->done) r->leaving = 1;
  }
}

static void check_claims(fb_consumer* c) {
  double now = -1;
  for (int i = 0; i < (int)kMaxProducers; i++) {
    reader* r = &c->r[i];
    if (!r->used || r->done || r->leaving || r->claim_since < 0 || r->claim_at != r->next) continue;
    if (now < 0) now = fb_now_ms();
    if (now - r->claim_since >= c->claim_timeout_ms) {
      char why[160];
      snprintf(why, sizeof(why), "a record claimed at %llu was not committed within %.0f ms", (unsigned long long)r->claim_at,
               c->claim_timeout_ms);
      cut(c, r, why);
    }
  }
}

/* consumer.ts scan(): the next committed record of r, or -1; acts on a verdict. */
static int64_t consumer_scan(fb_consumer* c, reader* r) {
  if (!r->used || r->done) return -1;
  int64_t id = reader_scan(c, r);
  if (r->read != r->published && !r->done) publish(c, r); /* pads passed: their space is free */
  if (id >= 0) return id;
  if (r->violation[0] && !r->done) cut(c, r, r->violation);
  else if (r->ended && !r->done) finish_leaving(c, r);
  return -1;
}

int fb_consumer_create(const char* path, const fb_consumer_opts* o, fb_consumer** out, fb_err* err) {
  *out = NULL;
  uint64_t cap = o->region_bytes;
  if (cap < FB_MIN_RING_BYTES || cap > FB_MAX_RING_BYTES || cap % kRecordAlign != 0)
    return fb_set_err(err, "FB_ERR_BAD_NUMBER", "regionBytes must be a multiple of %u in [%u, %llu], got %llu", (unsigned)kRecordAlign,
                      FB_MIN_RING_BYTES, FB_MAX_RING_BYTES, (unsigned long long)cap);
  size_t plen = strlen(path);
  if (plen < 7 || plen >= 108 || path[0] != '/' || strcmp(path + plen - 5, ".sock") != 0)
    return fb_set_err(err, "FB_ERR_USAGE", "ring socket path must be absolute, end in .sock and be under 108 bytes: %s", path);
  fb_consumer* c = calloc(1, sizeof(*c));
  if (!c) return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "out of memory");
  memcpy(c->path, path, plen + 1);
  c->capacity = cap;
  uint64_t limit = cap - kRecordHeaderBytes;
  c->max_record_bytes = (uint32_t)(o->max_record_bytes && o->max_record_bytes < limit ? o->max_record_bytes : limit);
  c->claim_timeout_ms = o->claim_timeout_ms ? o->claim_timeout_ms : CLAIM_TIMEOUT_MS;
  for (int i = 0; i < (int)kMaxProducers; i++) c->r[i].claim_since = -1;
  c->page_fd = fb_memfd_sealed("framebench-page", kPageBytes, 1);
  if (c->page_fd < 0) {
    int e = errno;
    free(c);
    return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "creating the ring page: %s", strerror(e));
  }
  void* m = mmap(NULL, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, c->page_fd, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    close(c->page_fd);
    free(c);
    return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "mapping the ring page: %s", strerror(e));
  }
  c->page = m;
  PageMeta* meta = &c->page->meta;
  meta->version = kRingVersion;
  meta->wakeMode = kWakeFutex; /* this consumer waits in futex_waitv: producers FUTEX_WAKE its dataSeq words */
  meta->headerBytes = kHeaderBytes;
  meta->maxProducers = kMaxProducers;
  meta->capacity = cap;
  meta->consumerPid = (uint32_t)getpid();
  meta->consumerState = kConsumerOpen;
  meta->recordHeaderBytes = kRecordHeaderBytes;
  meta->recordAlign = kRecordAlign;
  meta->createdNs = 0;
  double created = fb_now_ns();
  memcpy(&meta->createdNs, &created, sizeof(created)); /* an f64 in a u64 slot, as segment.ts writes it */
  meta->maxRecordBytes = c->max_record_bytes;
  __atomic_store_n(&meta->magic, (uint32_t)kRingMagic, __ATOMIC_SEQ_CST); /* last: a half-written header is not ours */
  /* our own writable mapping exists: now forbid every later one (serve.cc serveRing) */
  if (fcntl(c->page_fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0 ||
      (fcntl(c->page_fd, F_GET_SEALS) & FB_RO_SEALS) != FB_RO_SEALS) {
    int e = errno;
    munmap(m, kPageBytes);
    close(c->page_fd);
    free(c);
    return fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "sealing the ring page F_SEAL_FUTURE_WRITE: %s", strerror(e));
  }
  c->peers_seen = __atomic_load_n(&meta->peersSeq, __ATOMIC_SEQ_CST);
  c->server = fb_serve_ring(path, c->page_fd, c->page, kHeaderBytes + cap, err);
  if (!c->server) {
    munmap(m, kPageBytes);
    close(c->page_fd);
    free(c);
    return -1;
  }
  close(c->page_fd); /* the server keeps its own duplicate */
  c->page_fd = -1;
  *out = c;
  return 0;
}

void fb_consumer_on_error(fb_consumer* c, fb_error_fn fn, void* ctx) {
  c->on_error = fn;
  c->on_error_ctx = ctx;
}

const char* fb_consumer_address(const fb_consumer* c) {
  return c->path;
}

int fb_consumer_poll(fb_consumer* c, fb_record* rec) {
  c->budget = SCAN_STEPS;
  poll_peers(c);
  check_claims(c);
  for (int k = 0; k < (int)kMaxProducers; k++) {
    int i = (c->turn + k) % (int)kMaxProducers;
    reader* r = &c->r[i];
    if (k > 0) c->burst = 0;
    if (!r->used || r->done) continue;
    for (;;) {
      int64_t id = consumer_scan(c, r);
      if (id < 0) break;
      entry* e = &r->fifo[(uint64_t)id % r->cap];
      uint64_t off = e->start % c->capacity;
      const RecordHeader* h = (const RecordHeader*)(r->base + kHeaderBytes + off);
      const uint32_t len = e->len;
      if (len > c->max_record_bytes) {
        char who[96];
        label(c, r, who, sizeof(who));
        c->st.oversize++;
        if (reader_release(r, (uint64_t)id)) publish(c, r);
        report(c, r->index, "FB_ERR_PROTOCOL", "ring %s: a %u B record from %s exceeds maxRecordBytes %u; skipped", c->path, len, who,
               c->max_record_bytes);
        continue;
      }
      double commit_ns;
      memcpy(&commit_ns, &h->commitNs, sizeof(commit_ns));
      double lat = (fb_now_ns() - commit_ns) / 1e3;
      if (lat >= 0 && lat < 1e7) {
        if (lat > c->st.handoff_max_us) c->st.handoff_max_us = lat;
        c->st.handoff_sum_us += lat;
      }
      c->st.records++;
      c->st.bytes += len;
      c->st.held++;
      r->held++;
      rec->data = r->base + kHeaderBytes + off + kRecordHeaderBytes;
      rec->len = len;
      rec->index = r->index;
      rec->commit_ns = commit_ns;
      rec->handle_[0] = ((uint64_t)r->gen << 8) | (uint64_t)r->index;
      rec->handle_[1] = (uint64_t)id;
      if (++c->burst >= BURST) {
        c->turn = (i + 1) % (int)kMaxProducers;
        c->burst = 0;
      } else {
        c->turn = i;
      }
      return 1;
    }
    if (c->budget <= 0) {
      c->st.yields++;
      break;
    }
  }
  return 0;
}

void fb_consumer_release(fb_consumer* c, const fb_record* rec) {
  uint64_t index = rec->handle_[0] & 0xff;
  uint32_t gen = (uint32_t)(rec->handle_[0] >> 8);
  if (index >= kMaxProducers) return;
  reader* r = &c->r[index];
  if (!r->used || r->gen != gen) return; /* stale: that region is gone */
  uint64_t id = rec->handle_[1];
  if (id < r->head || id >= r->tail || r->fifo[id % r->cap].released) return;
  int moved = reader_release(r, id);
  r->held--;
  c->st.held--;
  if (r->done) {
    if (r->held == 0) retire(c, r); /* a cut-off or leaving producer's last record came back */
    return;
  }
  if (moved) publish(c, r);
}

static int consumer_ready(fb_consumer* c) {
  if (__atomic_load_n(&c->page->meta.peersSeq, __ATOMIC_SEQ_CST) != c->peers_seen) return 1;
  for (int i = 0; i < (int)kMaxProducers; i++)
    if (reader_ready(c, &c->r[i])) return 1;
  return 0;
}

struct waitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};

int fb_consumer_wait(fb_consumer* c, uint32_t timeout_ms) {
  PageMeta* meta = &c->page->meta;
  c->sleep_epoch = c->sleep_epoch >= 0x7fffffffu ? 1 : c->sleep_epoch + 1; /* a new epoch per sleep: producers signal once each */
  __atomic_store_n(&meta->consumerWaiting, c->sleep_epoch, __ATOMIC_SEQ_CST);
  struct waitv w[MAX_WAITV];
  int n = 0;
  w[n++] = (struct waitv){__atomic_load_n(&meta->peersSeq, __ATOMIC_SEQ_CST), (uint64_t)(uintptr_t)&meta->peersSeq, FUTEX2_SIZE_U32_, 0};
  w[n++] = (struct waitv){__atomic_load_n(&c->interrupt_word, __ATOMIC_SEQ_CST), (uint64_t)(uintptr_t)&c->interrupt_word,
                          FUTEX2_SIZE_U32_ | FUTEX2_PRIVATE_, 0};
  for (int i = 0; i < (int)kMaxProducers && n < MAX_WAITV; i++) {
    reader* r = &c->r[i];
    if (!r->used || r->done) continue;
    uint32_t* seq = &hdr(r)->dataSeq;
    w[n++] = (struct waitv){__atomic_load_n(seq, __ATOMIC_SEQ_CST), (uint64_t)(uintptr_t)seq, FUTEX2_SIZE_U32_, 0};
  }
  int timed_out = 0;
  if (!consumer_ready(c)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    c->st.futex_waits++;
    long rr = syscall(SYS_futex_waitv, w, n, 0, &ts, CLOCK_MONOTONIC);
    if (rr < 0 && errno == ETIMEDOUT) {
      timed_out = 1;
      c->st.futex_timeouts++;
    }
  }
  __atomic_store_n(&meta->consumerWaiting, 0, __ATOMIC_SEQ_CST);
  return timed_out;
}

void fb_consumer_interrupt(fb_consumer* c) {
  __atomic_fetch_add(&c->interrupt_word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &c->interrupt_word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

void fb_consumer_stats_get(fb_consumer* c, fb_consumer_stats* out) {
  *out = c->st;
  uint64_t drops = c->drops_of_gone;
  uint32_t n = 0;
  for (int i = 0; i < (int)kMaxProducers; i++) {
    if (!c->r[i].used) continue;
    drops += reader_drops(&c->r[i]);
    n++;
  }
  out->drops = drops;
  out->producers = n;
}

void fb_consumer_close(fb_consumer* c) {
  if (!c) return;
  __atomic_store_n(&c->page->meta.consumerState, (uint32_t)kConsumerClosed, __ATOMIC_SEQ_CST);
  for (int i = 0; i < (int)kMaxProducers; i++) {
    if (!c->r[i].used) continue;
    __atomic_fetch_add(&c->page->lines[i].spaceSeq, 1, __ATOMIC_SEQ_CST);
    fb_futex_wake(&c->page->lines[i].spaceSeq, 0x7fffffff);
  }
  fb_serve_stop(c->server);
  for (int i = 0; i < (int)kMaxProducers; i++) {
    reader* r = &c->r[i];
    if (!r->used) continue;
    munmap(r->base, r->map_bytes);
    free(r->fifo);
  }
  munmap(c->page, kPageBytes);
  free(c);
}

const uint8_t* fb_consumer_region_(const fb_consumer* c, int index, size_t* bytes) {
  if (index < 0 || index >= (int)kMaxProducers || !c->r[index].used) return NULL;
  *bytes = c->r[index].map_bytes;
  return c->r[index].base;
}
