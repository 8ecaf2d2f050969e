/*
 * fb-ring-consumer: a native consumer of the framebench ring speaking the harness's line protocol
 * (docs/ring-c.md). The same work as harness/consumer.ts: every record is read in place, its header,
 * its order per producer and the checksum of every payload byte checked, then its latency taken
 * (now - scheduled time, or send time when unpaced), then it is released.
 *
 *   stdin  {"t":"init","role":"consumer","socketPath":..,"producers":N,"regionBytes":B,
 *           "maxFrameBytes":M,"claimTimeoutMs":T}                stdout {"t":"ready","address":..}
 *   stdin  {"t":"start","t0Ns":X}  {"t":"window","openNs":A,"closeNs":B}
 *          {"t":"drain","expected":[..],"timeoutMs":T}          stdout {"t":"done",...}
 *          {"t":"exit"} (or EOF): clean up, exit 0.   Fatal: {"t":"error",..} and exit 1.
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbring.h"
#include "frames.h"
#include "peer.h"

/* Largest time accepted on stdin (ns, about 31 years of uptime): keeps every conversion to time_t defined. */

#define WAIT_MS 50.0
#define MAX_RING_ERRORS 16

typedef struct ring_error {
  char code[32];
  char message[400];
} ring_error;

typedef struct state {
  fb_consumer* ring;
  frame_checker chk;
  double open_ns, close_ns;
  uint64_t window_frames;
  double* lat; /* window latency samples, µs */
  size_t nlat, caplat;
  /* a pending drain */
  int draining;
  double drain_deadline;
  uint64_t* expected;
  size_t nexpected;
  ring_error errors[MAX_RING_ERRORS];
  int nerrors;
} state;

static state S = {.open_ns = INFINITY, .close_ns = INFINITY};
static volatile sig_atomic_t g_stop;

static void cleanup_exit(int code) {
  fb_consumer_close(S.ring);
  S.ring = NULL;
  checker_free(&S.chk);
  free(S.lat);
  free(S.expected);
  if (g_stop) { /* a signal: never swallow it (like transports/shm/segment.ts) */
    signal((int)g_stop, SIG_DFL);
    raise((int)g_stop);
  }
  exit(code);
}

static void on_signal(int sig) {
  g_stop = sig; /* the main loop cleans up (socket removed) within one wait, then dies of the signal */
}

static void wake(void* ctx) {
  fb_consumer_interrupt(ctx);
}

/* A producer cut off, gone, or a record skipped: kept for the drain's report (stderr now). */
static void on_ring_error(void* ctx, int index, const char* code, const char* message) {
  (void)ctx;
  (void)index;
  fprintf(stderr, "fb-ring-consumer: %s: %s\n", code, message);
  if (S.nerrors >= MAX_RING_ERRORS) return;
  ring_error* e = &S.errors[S.nerrors++];
  snprintf(e->code, sizeof(e->code), "%s", code);
  snprintf(e->message, sizeof(e->message), "%s", message);
}

static void init(const jv* m) {
  if (S.ring) peer_fail("FB_ERR_USAGE", "init received twice");
  const char* role = jv_str(m, "role");
  if (!role || strcmp(role, "consumer") != 0) peer_fail("FB_ERR_USAGE", "init: role must be \"consumer\" for fb-ring-consumer");
  const char* path = jv_str(m, "socketPath");
  if (!path) peer_fail("FB_ERR_USAGE", "init: socketPath is missing");
  double producers, region, max_frame, claim = 5000;
  if (jv_num(m, "producers", &producers) != 0 || producers < 1 || producers > 64 || producers != floor(producers))
    peer_fail("FB_ERR_BAD_NUMBER", "init: producers must be an integer in [1, 64]");
  if (jv_num(m, "regionBytes", &region) != 0 || region != floor(region) || region < 256 || region > 2147483648.0 || fmod(region, 32) != 0)
    peer_fail("FB_ERR_BAD_NUMBER", "init: regionBytes must be a multiple of 32 in [256, 2^31]");
  if (jv_num(m, "maxFrameBytes", &max_frame) != 0 || max_frame != floor(max_frame) || max_frame < 64 || max_frame > region - 32)
    peer_fail("FB_ERR_BAD_NUMBER", "init: maxFrameBytes must be an integer in [64, regionBytes - 32]");
  if (jv_get(m, "claimTimeoutMs") && (jv_num(m, "claimTimeoutMs", &claim) != 0 || !(claim >= 1 && claim <= 3.6e6)))
    peer_fail("FB_ERR_BAD_NUMBER", "init: claimTimeoutMs must be a number in [1, 3600000]");
  if (checker_init(&S.chk, (uint32_t)producers) != 0) peer_fail("FB_ERR_INTERNAL", "out of memory");
  fb_consumer_opts o = {(uint64_t)region, (uint32_t)max_frame, (uint32_t)ceil(claim)};
  fb_err err = {0};
  if (fb_consumer_create(path, &o, &S.ring, &err) != 0) peer_fail(err.code, "%s", err.message);
  fb_consumer_on_error(S.ring, on_ring_error, NULL);
  peer_set_wake(wake, S.ring);
  sbuf b = {0};
  sb_printf(&b, "{\"t\":\"ready\",\"address\":");
  sb_str(&b, fb_consumer_address(S.ring));
  sb_printf(&b, "}");
  peer_line(b.p);
  sb_free(&b);
}

static void drain(const jv* m) {
  if (!S.ring) peer_fail("FB_ERR_USAGE", "drain before init");
  const jv* ex = jv_get(m, "expected");
  double ms;
  if (!ex || ex->type != JV_ARR || ex->n > 64) peer_fail("FB_ERR_USAGE", "drain: expected must be a list of frame counts");
  if (jv_num(m, "timeoutMs", &ms) != 0 || ms < 0 || ms > 3.6e6) peer_fail("FB_ERR_BAD_NUMBER", "drain: timeoutMs must be a number in [0, 3600000]");
  free(S.expected);
  S.expected = calloc(ex->n ? ex->n : 1, sizeof(uint64_t));
  if (!S.expected) peer_fail("FB_ERR_INTERNAL", "out of memory");
  for (size_t i = 0; i < ex->n; i++) {
    const jv* v = ex->items[i];
    if (v->type != JV_NUM || !(v->num >= 0) || v->num != floor(v->num) || v->num > 9007199254740992.0)
      peer_fail("FB_ERR_BAD_NUMBER", "drain: expected[%zu] is not a frame count", i);
    S.expected[i] = (uint64_t)v->num;
  }
  S.nexpected = ex->n;
  S.draining = 1;
  S.drain_deadline = fb_now_ns() + ms * 1e6;
}

static void handle(const jv* m) {
  const char* t = jv_str(m, "t");
  if (!t) peer_fail("FB_ERR_USAGE", "stdin: a message without \"t\"");
  if (strcmp(t, "exit") == 0) cleanup_exit(0);
  if (strcmp(t, "init") == 0) return init(m);
  if (strcmp(t, "drain") == 0) return drain(m);
  if (strcmp(t, "start") == 0) {
    if (!S.ring) peer_fail("FB_ERR_USAGE", "start before init");
    (void)peer_take_t0(m);
    return; /* consuming runs all along */
  }
  if (strcmp(t, "window") == 0) {
    peer_take_window(m, &S.open_ns, &S.close_ns);
    return;
  }
  peer_fail("FB_ERR_USAGE", "stdin: unknown message type \"%s\"", t);
}

static void take_messages(void) {
  for (;;) {
    int eof = 0;
    char bad[200];
    jv* m = peer_next(&eof, bad, sizeof(bad));
    if (eof || g_stop) cleanup_exit(0);
    if (bad[0]) peer_fail("FB_ERR_USAGE", "%s", bad);
    if (!m) return;
    handle(m);
    jv_free(m);
  }
}

static void on_frame(const fb_record* rec) {
  double start;
  if (checker_check(&S.chk, rec->data, rec->len, &start) != 0) return;
  double now = fb_now_ns();
  if (start >= S.open_ns && start < S.close_ns) {
    if (S.nlat == S.caplat) {
      size_t cap = S.caplat ? S.caplat * 2 : 4096;
      double* l = realloc(S.lat, cap * sizeof(double));
      if (!l) peer_fail("FB_ERR_INTERNAL", "out of memory for latency samples");
      S.lat = l;
      S.caplat = cap;
    }
    S.lat[S.nlat++] = (now - start) / 1e3;
  }
  if (now >= S.open_ns && now < S.close_ns) S.window_frames++;
}

static int drained(void) {
  for (size_t i = 0; i < S.nexpected; i++) {
    uint64_t got = i < S.chk.producers ? S.chk.received[i] : 0;
    if (got < S.expected[i]) return 0;
  }
  return 1;
}

static void report(int ok) {
  fb_consumer_stats st;
  fb_consumer_stats_get(S.ring, &st);
  uint64_t total = 0;
  for (uint32_t i = 0; i < S.chk.producers; i++) total += S.chk.received[i];
  sbuf b = {0};
  sb_printf(&b, "{\"t\":\"done\",\"framesReceived\":%llu,\"framesCorrupt\":%llu,\"outOfOrder\":%llu,\"gaps\":%llu,\"receivedPerProducer\":[",
            (unsigned long long)total, (unsigned long long)S.chk.corrupt, (unsigned long long)S.chk.out_of_order, (unsigned long long)S.chk.gaps);
  for (uint32_t i = 0; i < S.chk.producers; i++) sb_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)S.chk.received[i]);
  sb_printf(&b, "],\"nextSeqPerProducer\":[");
  for (uint32_t i = 0; i < S.chk.producers; i++) sb_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)S.chk.next_seq[i]);
  sb_printf(&b, "],\"firstProblem\":");
  if (S.chk.first_problem[0]) sb_str(&b, S.chk.first_problem);
  else sb_printf(&b, "null");
  sb_printf(&b, ",\"windowFrames\":%llu,\"latencyUs\":[", (unsigned long long)S.window_frames);
  for (size_t i = 0; i < S.nlat; i++) {
    if (i) sb_printf(&b, ",");
    sb_printf(&b, "%.3f", S.lat[i]);
  }
  sb_printf(&b, "],\"drained\":%s,\"ringErrors\":[", ok ? "true" : "false");
  for (int i = 0; i < S.nerrors; i++) {
    sb_printf(&b, "%s{\"code\":", i ? "," : "");
    sb_str(&b, S.errors[i].code);
    sb_printf(&b, ",\"message\":");
    sb_str(&b, S.errors[i].message);
    sb_printf(&b, "}");
  }
  double handoff_mean = st.records ? st.handoff_sum_us / (double)st.records : 0;
  sb_printf(&b,
            "],\"stats\":{\"records\":%llu,\"bytes\":%llu,\"pads\":%llu,\"skipped\":%llu,\"oversize\":%llu,\"futexWaits\":%llu,"
            "\"futexTimeouts\":%llu,\"futexWakes\":%llu,\"peerGone\":%llu,\"cutOff\":%llu,\"producers\":%u,\"yields\":%llu,\"drops\":%llu,"
            "\"held\":%llu,\"checksumImpl\":\"native\",\"checksumFrames\":%llu,\"handoffMeanUs\":",
            (unsigned long long)st.records, (unsigned long long)st.bytes, (unsigned long long)st.pads, (unsigned long long)st.skipped,
            (unsigned long long)st.oversize, (unsigned long long)st.futex_waits, (unsigned long long)st.futex_timeouts,
            (unsigned long long)st.futex_wakes, (unsigned long long)st.peer_gone, (unsigned long long)st.cut_off, st.producers,
            (unsigned long long)st.yields, (unsigned long long)st.drops, (unsigned long long)st.held, (unsigned long long)S.chk.checksum_frames);
  sb_num(&b, handoff_mean);
  sb_printf(&b, ",\"handoffMaxUs\":");
  sb_num(&b, st.handoff_max_us);
  peer_window_figures(&b);
  sb_printf(&b, "}}");
  peer_line(b.p);
  sb_free(&b);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  peer_start_stdin();
  while (!S.ring) {
    take_messages();
    if (!S.ring) peer_wait(WAIT_MS);
  }
  for (;;) {
    take_messages();
    int n = 0;
    fb_record rec;
    while (n < 256 && fb_consumer_poll(S.ring, &rec)) {
      on_frame(&rec);
      fb_consumer_release(S.ring, &rec);
      n++;
    }
    double wait = WAIT_MS;
    if (S.draining) {
      int ok = drained();
      double left = (S.drain_deadline - fb_now_ns()) / 1e6;
      if (ok || left <= 0) {
        S.draining = 0;
        report(ok);
      } else if (left < wait) {
        wait = left;
      }
    }
    if (n == 0) fb_consumer_wait(S.ring, (uint32_t)ceil(wait));
  }
}
