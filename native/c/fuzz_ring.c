/*
 * fuzz_ring: hostile producers against the C consumer (fbring.c), in one process, for a bounded
 * number of iterations; built with -fsanitize=address,undefined by test/ring-c-fuzz.test.ts.
 *
 *   fuzz_ring <seed> <iterations> <dir>
 *
 * A consumer with a small region (a random multiple of 32), one honest producer and two hostile
 * ones. The hostile producers write what the torture scribbler writes, and more: random reserve
 * cursors (huge, unaligned, behind, a lap ahead), record headers at random aligned offsets with
 * seals of the right position or another lap, random states, lengths (0, to the end, past it,
 * 2^32 - 1), random words anywhere, futex bumps, claims left open; they leave cleanly, die, or get
 * cut off and come back (index reuse). The consumer holds some records across iterations and
 * releases them in random order.
 *
 * Invariants (any violation: a message on stderr, exit 2; a sanitizer report aborts):
 *   - every record handed out lies inside the consumer's mapping of that producer's data area
 *     (and every byte of it is read);
 *   - the honest producer is never cut off, and its records all arrive once, in order, intact;
 *   - the consumer never blocks longer than asked and the run ends.
 * On success prints one JSON line of counts and exits 0.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/checksum.h"
#include "fbring_int.h"

#define HOSTILES 2
#define MAX_HELD 8

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}
static uint64_t below(uint64_t n) {
  return n ? rnd() % n : 0;
}

static void fail(const char* fmt, const char* a, unsigned long long b, unsigned long long c) {
  fprintf(stderr, "fuzz_ring: invariant broken: ");
  fprintf(stderr, fmt, a, b, c);
  fprintf(stderr, "\n");
  exit(2);
}

static char g_path[200];
static uint64_t g_cap;
static fb_consumer* g_c;
static fb_producer* g_honest;
static int g_honest_index;
static fb_producer* g_h[HOSTILES];
static uint64_t sent, received, next_expected, errors_cut, errors_gone, errors_proto, hostile_opens;
static fb_record held[MAX_HELD];
static uint64_t held_seq[MAX_HELD]; /* an honest record's sequence number, else UINT64_MAX */
static int nheld;

static void on_error(void* ctx, int index, const char* code, const char* message) {
  (void)ctx;
  if (index == g_honest_index && g_honest) fail("the honest producer was reported: %s (%llu %llu)", message, 0, 0);
  if (strcmp(code, "FB_ERR_RING_CORRUPT") == 0) errors_cut++;
  else if (strcmp(code, "FB_ERR_PEER_GONE") == 0) errors_gone++;
  else if (strcmp(code, "FB_ERR_PROTOCOL") == 0) errors_proto++;
  else fail("unexpected error code %s (%llu %llu)", code, 0, 0);
}

static uint8_t pattern(uint64_t seq, uint32_t i) {
  return (uint8_t)(seq * 131u + i * 7u + 1u);
}

static void honest_send(void) {
  fb_producer_stats ps;
  fb_producer_stats_get(g_honest, &ps);
  uint64_t limit = ps.max_record_bytes < 600 ? ps.max_record_bytes : 600;
  uint32_t len = (uint32_t)below(limit + 1);
  fb_loan loan;
  fb_err err = {0};
  int r = fb_producer_reserve(g_honest, len, &loan, 0, &err);
  if (r < 0) fail("the honest producer failed: %s (%llu %llu)", err.message, 0, 0);
  if (r == 0) return; /* full */
  for (uint32_t i = 0; i < len; i++) loan.data[i] = pattern(sent, i);
  if (len >= 8) memcpy(loan.data, &sent, 8);
  fb_producer_commit(g_honest, &loan);
  sent++;
}

/* An honest record's bytes (seq in its first 8 when it has them, then the pattern). */
static int intact(const fb_record* rec, uint64_t seq) {
  if (rec->len >= 8) {
    uint64_t got;
    memcpy(&got, rec->data, 8);
    if (got != seq) return 0;
  }
  for (uint32_t i = 8; i < rec->len; i++)
    if (rec->data[i] != pattern(seq, i)) return 0;
  return 1;
}

/* Gives a held record back; an honest one must still be intact (nobody may write unreleased space). */
static void release_held(int i) {
  if (held_seq[i] != UINT64_MAX && !intact(&held[i], held_seq[i]))
    fail("held honest record %s%llu was overwritten before its release (length %llu)", "", (unsigned long long)held_seq[i], held[i].len);
  fb_consumer_release(g_c, &held[i]);
  held[i] = held[nheld - 1];
  held_seq[i] = held_seq[nheld - 1];
  nheld--;
}

static void check_record(const fb_record* rec) {
  size_t bytes = 0;
  const uint8_t* base = fb_consumer_region_(g_c, rec->index, &bytes);
  if (!base) fail("a record of producer #%s%llu without a mapped region (%llu)", "", (unsigned long long)rec->index, 0);
  const uint8_t* lo = base + kHeaderBytes + kRecordHeaderBytes;
  const uint8_t* hi = base + bytes;
  if (rec->data < lo || rec->data > hi || (size_t)(hi - rec->data) < rec->len)
    fail("record out of bounds%s: offset %llu, length %llu", "", (unsigned long long)(rec->data - base), rec->len);
  uint32_t sum[2];
  fb_checksum(rec->data, rec->len, sum); /* reads every byte */
  if (rec->index != g_honest_index) return;
  if (!intact(rec, next_expected)) fail("honest record %s%llu missing or corrupt (length %llu)", "", (unsigned long long)next_expected, rec->len);
  next_expected++;
  received++;
}

static void consume(int max) {
  fb_record rec;
  for (int k = 0; k < max && fb_consumer_poll(g_c, &rec); k++) {
    uint64_t seq = rec.index == g_honest_index ? next_expected : UINT64_MAX;
    check_record(&rec);
    if (nheld < MAX_HELD && below(4) == 0) {
      held_seq[nheld] = seq;
      held[nheld++] = rec;
    } else {
      fb_consumer_release(g_c, &rec);
    }
  }
  while (nheld > 0 && below(3) == 0) release_held((int)below((uint64_t)nheld));
}

static void open_hostile(int i) {
  fb_producer_opts o = {(uint32_t)(i + 1), (int)below(2), (int)below(2)};
  fb_err err = {0};
  if (fb_producer_open(g_path, &o, &g_h[i], &err) != 0) g_h[i] = NULL; /* refused (index busy): try later */
  else hostile_opens++;
}

static uint64_t pick_len(uint64_t off) {
  switch (below(7)) {
    case 0: return 0;
    case 1: return below(64);
    case 2: return g_cap - off - kRecordHeaderBytes;
    case 3: return g_cap - off - kRecordHeaderBytes + 1 + below(64);
    case 4: return 0xffffffffu;
    case 5: return g_cap;
    default: return (uint32_t)rnd();
  }
}

static void scribble(int i) {
  size_t bytes;
  uint8_t* r = fb_producer_region_(g_h[i], &bytes);
  RegionHeader* h = (RegionHeader*)r;
  uint64_t reserve = __atomic_load_n(&h->reserveCursor, __ATOMIC_RELAXED);
  int n = 1 + (int)below(6);
  for (int k = 0; k < n; k++) {
    uint64_t v;
    switch (below(10)) {
      case 0: /* a reserve cursor anywhere */
        switch (below(6)) {
          case 0: v = rnd(); break;
          case 1: v = reserve + 1 + below(31); break;
          case 2: v = reserve + kRecordAlign * (1 + below(8)); break;
          case 3: v = reserve > 64 ? reserve - kRecordAlign * (1 + below(2)) : 0; break;
          case 4: v = reserve + g_cap + kRecordAlign * below(2); break;
          default: v = ~0ull - below(1000); break;
        }
        __atomic_store_n(&h->reserveCursor, v, __ATOMIC_SEQ_CST);
        break;
      case 1:
      case 2:
      case 3: { /* a record header near the cursor: right seal or another lap, any state and length */
        uint64_t pos = reserve / kRecordAlign * kRecordAlign;
        if (below(3) == 0 && pos >= kRecordAlign) pos -= kRecordAlign * (1 + below(4));
        uint64_t off = pos % g_cap;
        RecordHeader* rec = (RecordHeader*)(r + kHeaderBytes + off);
        uint64_t lap = below(4) == 0 ? g_cap * (1 + below(2)) : 0;
        rec->length = (uint32_t)pick_len(off);
        rec->producerSeq = (uint32_t)rnd();
        __atomic_store_n(&rec->seal, (((pos + lap) / kRecordAlign) << 2) | below(4), __ATOMIC_SEQ_CST);
        uint64_t end = pos + kRecordAlign * (1 + below(8));
        __atomic_store_n(&h->reserveCursor, below(4) ? end : pos + kRecordAlign * below(g_cap / kRecordAlign + 2), __ATOMIC_SEQ_CST);
        break;
      }
      case 4: { /* a random word in the region header */
        uint32_t w = (uint32_t)below(16);
        uint32_t x = (uint32_t)rnd();
        memcpy(r + 4 * w, &x, 4);
        break;
      }
      case 5: { /* random words in the data area (headers and payloads) */
        for (int j = 0; j < 8; j++) {
          uint64_t at = kHeaderBytes + below(g_cap / 4) * 4;
          uint32_t x = (uint32_t)rnd();
          memcpy(r + at, &x, 4);
        }
        break;
      }
      case 6: { /* a run of well-formed committed records from the cursor (a plausible producer) */
        uint64_t pos = reserve / kRecordAlign * kRecordAlign;
        for (int j = 0; j < 4; j++) {
          uint64_t off = pos % g_cap;
          uint64_t room = g_cap - off;
          uint32_t len = (uint32_t)below(room - kRecordHeaderBytes + 1);
          RecordHeader* rec = (RecordHeader*)(r + kHeaderBytes + off);
          rec->length = len;
          __atomic_store_n(&rec->seal, ((pos / kRecordAlign) << 2) | (below(5) ? kRecCommitted : kRecPad), __ATOMIC_SEQ_CST);
          pos += (kRecordHeaderBytes + len + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
        }
        __atomic_store_n(&h->reserveCursor, pos, __ATOMIC_SEQ_CST);
        break;
      }
      case 7: /* honest use of its own API (a claim, committed or not) */ {
        fb_loan loan;
        fb_err err = {0};
        if (fb_producer_reserve(g_h[i], (uint32_t)below(200), &loan, 0, &err) == 1 && below(3)) fb_producer_commit(g_h[i], &loan);
        return; /* its cursor may have moved under our feet: stop scribbling this round */
      }
      default:
        break;
    }
  }
  __atomic_fetch_add(&h->dataSeq, 1, __ATOMIC_SEQ_CST);
  fb_futex_wake(&h->dataSeq, 1);
}

static void hostile_turn(int i) {
  if (!g_h[i]) {
    if (below(4) == 0) open_hostile(i);
    return;
  }
  fb_err err = {0};
  if (fb_producer_check(g_h[i], &err) != 0) { /* cut off or the consumer gone: leave, come back later */
    fb_producer_close(g_h[i]);
    g_h[i] = NULL;
    return;
  }
  switch (below(40)) {
    case 0: fb_producer_close(g_h[i]); g_h[i] = NULL; return;
    case 1: fb_producer_kill_(g_h[i]); g_h[i] = NULL; return;
    default: scribble(i);
  }
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fuzz_ring <seed> <iterations> <dir>\n");
    return 64;
  }
  uint64_t seed = strtoull(argv[1], NULL, 10);
  long iterations = strtol(argv[2], NULL, 10);
  rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
  snprintf(g_path, sizeof(g_path), "%s/fuzz-%llu.sock", argv[3], (unsigned long long)seed);
  g_cap = 256 + kRecordAlign * below(120);
  fb_consumer_opts co = {g_cap, (uint32_t)(below(2) ? 0 : below(g_cap)), 1 + (uint32_t)below(3)};
  fb_err err = {0};
  if (fb_consumer_create(g_path, &co, &g_c, &err) != 0) {
    fprintf(stderr, "fuzz_ring: %s: %s\n", err.code, err.message);
    return 1;
  }
  fb_consumer_on_error(g_c, on_error, NULL);
  fb_producer_opts ho = {1000, 0, 0};
  if (fb_producer_open(g_path, &ho, &g_honest, &err) != 0) {
    fprintf(stderr, "fuzz_ring: %s: %s\n", err.code, err.message);
    return 1;
  }
  g_honest_index = fb_producer_index_(g_honest);
  for (int i = 0; i < HOSTILES; i++) open_hostile(i);
  for (long it = 0; it < iterations; it++) {
    if (below(2)) honest_send();
    for (int i = 0; i < HOSTILES; i++)
      if (below(2)) hostile_turn(i);
    consume(1 + (int)below(8));
    if (below(16) == 0) {
      double t = fb_now_ms();
      fb_consumer_wait(g_c, 0);
      if (fb_now_ms() - t > 1000) fail("a wait of 0 ms took %s%llu ms (%llu)", "", (unsigned long long)(fb_now_ms() - t), 0);
    }
  }
  /* the end: the hostile ones go, every held record back, then every honest record must arrive */
  for (int i = 0; i < HOSTILES; i++)
    if (g_h[i]) fb_producer_close(g_h[i]);
  while (nheld > 0) release_held(nheld - 1);
  double deadline = fb_now_ms() + 5000;
  while (received < sent && fb_now_ms() < deadline) {
    fb_record rec;
    while (fb_consumer_poll(g_c, &rec)) {
      check_record(&rec);
      fb_consumer_release(g_c, &rec);
    }
    if (received < sent) fb_consumer_wait(g_c, 5);
  }
  if (received != sent) fail("honest records lost%s: sent %llu, received %llu", "", (unsigned long long)sent, (unsigned long long)received);
  fb_err herr = {0};
  if (fb_producer_check(g_honest, &herr) != 0) fail("the honest producer ended: %s (%llu %llu)", herr.message, 0, 0);
  fb_consumer_stats st;
  fb_consumer_stats_get(g_c, &st);
  fb_producer_close(g_honest);
  fb_consumer_close(g_c);
  printf("{\"seed\":%llu,\"iterations\":%ld,\"regionBytes\":%llu,\"honestSent\":%llu,\"honestReceived\":%llu,\"records\":%llu,\"pads\":%llu,"
         "\"cutOff\":%llu,\"peerGone\":%llu,\"skipped\":%llu,\"oversize\":%llu,\"hostileOpens\":%llu}\n",
         (unsigned long long)seed, iterations, (unsigned long long)g_cap, (unsigned long long)sent, (unsigned long long)received,
         (unsigned long long)st.records, (unsigned long long)st.pads, (unsigned long long)st.cut_off, (unsigned long long)st.peer_gone,
         (unsigned long long)st.skipped, (unsigned long long)st.oversize, (unsigned long long)hostile_opens);
  return 0;
}
