/*
 * fbring: the framebench shared-memory ring (layout version 2) in C11, with no Node dependency.
 * Byte for byte the protocol of transports/shm (docs/ring.md; layout in native/src/ring_layout.h):
 * a consumer built here serves Node's RingProducer, and a producer built here joins Node's
 * RingConsumer (createRing). See docs/ring-c.md.
 *
 * Consumer: fb_consumer_create() makes the sealed consumer page (memfd) and serves regions on a
 * unix socket from a thread of its own (SCM_RIGHTS: the page and a fresh sealed region per
 * producer). fb_consumer_poll() hands out committed records zero-copy (a pointer into the
 * producer's region); fb_consumer_release() frees them (any order). Nothing in a region is trusted:
 * an impossible cursor, seal or length, or a claim not committed within claim_timeout_ms, cuts that
 * producer off (FB_ERR_RING_CORRUPT through the error callback); the others go on.
 * fb_consumer_wait() sleeps (futex_waitv) until a producer commits, arrives or leaves, or
 * fb_consumer_interrupt() is called (from any thread). Not thread-safe otherwise: one thread
 * drives a consumer.
 *
 * Producer: fb_producer_open() connects, receives and checks the page and its region (seals,
 * magic, version, geometry), fb_producer_reserve() gives a writable loan in place (a pad record
 * first when the record would cross the end), fb_producer_commit() publishes it and wakes the
 * consumer only when it sleeps. One thread drives a producer.
 *
 * Errors: functions that can fail return a negative value and fill an fb_err with a stable code
 * (the FB_ERR_* of core/errors.ts) and a message.
 */
#ifndef FRAMEBENCH_FBRING_H
#define FRAMEBENCH_FBRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_err {
  const char* code; /* "FB_ERR_..." (a string literal), NULL when no error */
  char message[320];
} fb_err;

/* Error callback of a consumer: a producer cut off (FB_ERR_RING_CORRUPT), gone without a clean
 * close (FB_ERR_PEER_GONE), or a record skipped (FB_ERR_PROTOCOL). `index` is its line. */
typedef void (*fb_error_fn)(void* ctx, int index, const char* code, const char* message);

/* ---- consumer ---- */

typedef struct fb_consumer fb_consumer;

typedef struct fb_consumer_opts {
  uint64_t region_bytes;     /* each producer's data area: a multiple of 32 in [256, 2^31] */
  uint32_t max_record_bytes; /* largest payload accepted (0: region_bytes - 32) */
  uint32_t claim_timeout_ms; /* a claim not committed for this long cuts its producer off (0: 5000) */
} fb_consumer_opts;

typedef struct fb_record {
  const uint8_t* data; /* the payload, in the producer's region (valid until released) */
  uint32_t len;        /* validated once; never re-read from shared memory */
  int index;           /* the producer's line (0..63) */
  double commit_ns;    /* the producer's commit time (CLOCK_MONOTONIC ns, as it wrote it) */
  uint64_t handle_[2]; /* for fb_consumer_release */
} fb_record;

typedef struct fb_consumer_stats {
  uint64_t records, bytes, pads, skipped, oversize;
  uint64_t futex_waits, futex_timeouts, futex_wakes;
  uint64_t peer_gone, cut_off, yields, drops, held;
  uint32_t producers; /* regions mapped now */
  double handoff_max_us, handoff_sum_us;
} fb_consumer_stats;

/* Creates the ring and serves it at socket_path (an absolute path under 108 bytes ending in .sock,
 * in a directory only this user can enter). 0, or -1 with err filled. */
int fb_consumer_create(const char* socket_path, const fb_consumer_opts* opts, fb_consumer** out, fb_err* err);
void fb_consumer_on_error(fb_consumer* c, fb_error_fn fn, void* ctx);
/* The next committed record of any producer (regions take turns, up to 16 records each): 1 and
 * *rec filled, or 0 when none is ready now (or the scan budget of this call is spent: call again). */
int fb_consumer_poll(fb_consumer* c, fb_record* rec);
/* Frees a record's ring space (once; records may be released in any order). */
void fb_consumer_release(fb_consumer* c, const fb_record* rec);
/* Sleeps at most timeout_ms until something may be ready: 1 if it timed out, else 0. */
int fb_consumer_wait(fb_consumer* c, uint32_t timeout_ms);
/* Ends a fb_consumer_wait() now; callable from any thread (and from a signal handler). */
void fb_consumer_interrupt(fb_consumer* c);
void fb_consumer_stats_get(fb_consumer* c, fb_consumer_stats* out);
const char* fb_consumer_address(const fb_consumer* c);
/* Marks the ring closed (producers get FB_ERR_PEER_GONE), stops serving, removes the socket,
 * unmaps everything. Records still held become invalid. */
void fb_consumer_close(fb_consumer* c);

/* ---- producer ---- */

typedef struct fb_producer fb_producer;

typedef struct fb_producer_opts {
  uint32_t producer_id; /* a label written in the region (the consumer quotes it in errors) */
  int drop;             /* 1: a full ring drops (reserve returns 0, counted); 0: block */
  int no_yield_after_wake; /* 1: keep the CPU after waking the consumer; 0 (default): sched_yield() after the
                              wake, so a consumer the kernel put on this CPU runs at once (docs/ring.md) */
} fb_producer_opts;

typedef struct fb_loan {
  uint8_t* data; /* len writable bytes inside the ring */
  uint32_t len;
  uint64_t pos_; /* the record's absolute position */
} fb_loan;

typedef struct fb_producer_stats {
  uint64_t records, bytes, drops, full_waits, futex_waits, futex_wakes, pads;
  uint32_t index;
  uint64_t capacity;
  uint32_t max_record_bytes;
} fb_producer_stats;

/* Connects to the ring at socket_path (waits up to 5 s for its descriptors). 0 or -1. */
int fb_producer_open(const char* socket_path, const fb_producer_opts* opts, fb_producer** out, fb_err* err);
/* A loan of len bytes. Block policy: waits for space up to timeout_ms (futex on its spaceSeq line),
 * then returns 0 (call again); drop policy: 0 at once when full (counted as a drop). 1: *loan
 * filled. -1: the consumer is gone or cut us off, or len is too large (err filled). */
int fb_producer_reserve(fb_producer* p, uint32_t len, fb_loan* loan, uint32_t timeout_ms, fb_err* err);
/* Seals the loan COMMITTED (the consumer may read it at once) and wakes the consumer if it sleeps. */
void fb_producer_commit(fb_producer* p, const fb_loan* loan);
/* Gives the loan back unsent (sealed as a pad). */
void fb_producer_abort(fb_producer* p, const fb_loan* loan);
/* 0 while the consumer is there and has not cut us off; else -1 (err filled). Cheap: it asks the
 * kernel about the connection at most every 200 ms. */
int fb_producer_check(fb_producer* p, fb_err* err);
void fb_producer_stats_get(const fb_producer* p, fb_producer_stats* out);
/* Marks this producer closed (a clean leave, not reported), disconnects, unmaps. Loans not yet
 * committed are left unfinished: the consumer skips them and reports the producer gone. */
void fb_producer_close(fb_producer* p);

/* CLOCK_MONOTONIC in nanoseconds (what Node's process.hrtime reads). */
double fb_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
