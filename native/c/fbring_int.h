/* Internal to fbring (fbring.c, fbring_serve.c): shared helpers and the serving thread's interface. */
#ifndef FRAMEBENCH_FBRING_INT_H
#define FRAMEBENCH_FBRING_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "../src/ring_layout.h"
#include "fbring.h"

/* The seals of the ring's memory: every region; the consumer page adds F_SEAL_FUTURE_WRITE. */
#define FB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define FB_RO_SEALS (FB_SEALS | F_SEAL_FUTURE_WRITE)
/* What a producer sends to ask for its region (memfd.h kRequest). */
#define FB_REQUEST 'R'
#define FB_MIN_RING_BYTES 256u
#define FB_MAX_RING_BYTES 2147483648ull

int fb_set_err(fb_err* err, const char* code, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
double fb_now_ms(void);
long fb_futex_wait(uint32_t* word, uint32_t expected, double ms);
long fb_futex_wake(uint32_t* word, int count);
/* A sealed memfd of `bytes` (seals: FB_SEALS, or only SHRINK | GROW when seal_later). -1 on error. */
int fb_memfd_sealed(const char* label, size_t bytes, int seal_later);

/* ---- test hooks (native/c/fuzz_ring.c plays hostile producers with them) ---- */

/* A producer's region mapping (read-write) and its index. */
uint8_t* fb_producer_region_(fb_producer* p, size_t* bytes);
int fb_producer_index_(const fb_producer* p);
/* Leaves like a killed process: disconnects and unmaps without marking itself closed. */
void fb_producer_kill_(fb_producer* p);
/* The consumer's mapping of producer `index`'s region (NULL if none). */
const uint8_t* fb_consumer_region_(const fb_consumer* c, int index, size_t* bytes);

/* ---- the serving thread (fbring_serve.c): serve.cc's ring mode in C ---- */

typedef struct fb_arrival {
  int index, fd, pid, uid;
} fb_arrival;

typedef struct fb_server fb_server;

/* Serves `page_fd` (kept: a duplicate is taken) and fresh regions of region_bytes at `path`. The
 * page mapping `page` (writable, the consumer's) is where lines are reset and peersSeq bumped. */
fb_server* fb_serve_ring(const char* path, int page_fd, ConsumerPage* page, size_t region_bytes, fb_err* err);
/* Arrivals (the caller owns and must map or close each fd) and departures since the last call. */
void fb_serve_events(fb_server* s, fb_arrival* added, int* nadded, int* gone, int* ngone);
/* Done with producer `index`: ends its connection if open, frees the index. */
void fb_serve_drop(fb_server* s, int index);
/* Ends producer `index`'s connection now (it was cut off) but keeps its index taken until fb_serve_drop. */
void fb_serve_cut(fb_server* s, int index);
/* Stops the thread, closes everything, removes the socket. */
void fb_serve_stop(fb_server* s);

#endif
