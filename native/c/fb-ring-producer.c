/*
 * fb-ring-producer: a native producer of the framebench ring speaking the harness's line protocol
 * (docs/ring-c.md). The same work as harness/producer.ts with sources/synthetic.ts: each frame is
 * written whole, in place, into a loan of the ring (template copy, one stamp per 4 KiB page, the
 * checksum updated incrementally), stamped with its send time before the loan is asked for.
 *
 *   stdin  {"t":"init","role":"producer","address":..,"producerId":i,"format":..,"sizes":[[w,h],..],
 *           "fps":F,"pacing":"fps"|"max","policy":"block"|"drop"[,"yieldAfterWake":true|false]}  stdout {"t":"ready"}
 *   stdin  {"t":"start","t0Ns":X}  {"t":"window","openNs":A,"closeNs":B}  {"t":"exit"} (or EOF)
 *   stdout {"t":"done",...} once it stopped at closeNs; {"t":"error","code":..,"message":..} + exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbring.h"
#include "frames.h"
#include "peer.h"

/* Largest time accepted on stdin (ns, about 31 years of uptime): keeps every conversion to time_t defined. */

#define MAX_SIZES 64
#define MAX_SIDE 16384
#define TICK_MS 50.0

typedef struct state {
  fb_producer* ring;
  synth src[MAX_SIZES];
  int nsrc;
  double fps;
  int paced;
  int drop;
  double t0;
  int started;
  double open_ns, close_ns; /* the window; close_ns = stop time (INFINITY until set) */
} state;

static state S = {.open_ns = INFINITY, .close_ns = INFINITY};

static void cleanup_exit(void) {
  fb_producer_close(S.ring);
  for (int i = 0; i < S.nsrc; i++) synth_free(&S.src[i]);
  exit(0);
}

static int handle(jv* m, int during_run);

/* Takes every queued message; an "exit" or EOF ends the program. */
static void drain_messages(int during_run) {
  for (;;) {
    int eof = 0;
    char bad[200];
    jv* m = peer_next(&eof, bad, sizeof(bad));
    if (eof) cleanup_exit();
    if (bad[0]) peer_fail("FB_ERR_USAGE", "%s", bad);
    if (!m) return;
    handle(m, during_run);
    jv_free(m);
  }
}

static void init(const jv* m) {
  if (S.ring) peer_fail("FB_ERR_USAGE", "init received twice");
  const char* role = jv_str(m, "role");
  if (!role || strcmp(role, "producer") != 0) peer_fail("FB_ERR_USAGE", "init: role must be \"producer\" for fb-ring-producer");
  const char* address = jv_str(m, "address");
  if (!address) peer_fail("FB_ERR_USAGE", "init: address (the ring's socket path) is missing");
  double id, fps = 0;
  if (jv_num(m, "producerId", &id) != 0 || id < 0 || id > 4294967295.0 || id != floor(id))
    peer_fail("FB_ERR_BAD_NUMBER", "init: producerId must be an integer in [0, 2^32)");
  const char* format = jv_str(m, "format");
  if (!format || (strcmp(format, "i420") != 0 && strcmp(format, "rgba") != 0))
    peer_fail("FB_ERR_BAD_FORMAT", "init: format must be i420 or rgba, got %s", format ? format : "(missing)");
  const char* pacing = jv_str(m, "pacing");
  if (!pacing || (strcmp(pacing, "fps") != 0 && strcmp(pacing, "max") != 0))
    peer_fail("FB_ERR_USAGE", "init: pacing must be \"fps\" or \"max\"");
  S.paced = strcmp(pacing, "fps") == 0;
  if (S.paced && (jv_num(m, "fps", &fps) != 0 || !(fps > 0) || fps > 1e6))
    peer_fail("FB_ERR_BAD_NUMBER", "init: fps must be a number in (0, 1e6] with pacing \"fps\""); /* (ignored with "max") */
  S.fps = fps;
  const char* policy = jv_str(m, "policy");
  if (!policy || (strcmp(policy, "block") != 0 && strcmp(policy, "drop") != 0))
    peer_fail("FB_ERR_USAGE", "init: policy must be \"block\" or \"drop\"");
  const jv* sizes = jv_get(m, "sizes");
  if (!sizes || sizes->type != JV_ARR || sizes->n == 0 || sizes->n > MAX_SIZES)
    peer_fail("FB_ERR_BAD_RESOLUTION", "init: sizes must be a list of 1 to %d [width, height] pairs", MAX_SIZES);
  uint32_t fmt = strcmp(format, "i420") == 0 ? 0 : 1;
  for (size_t i = 0; i < sizes->n; i++) {
    const jv* wh = sizes->items[i];
    if (wh->type != JV_ARR || wh->n != 2 || wh->items[0]->type != JV_NUM || wh->items[1]->type != JV_NUM)
      peer_fail("FB_ERR_BAD_RESOLUTION", "init: sizes[%zu] is not a [width, height] pair", i);
    double w = wh->items[0]->num, h = wh->items[1]->num;
    if (!(w >= 1 && h >= 1 && w <= MAX_SIDE && h <= MAX_SIDE) || w != floor(w) || h != floor(h))
      peer_fail("FB_ERR_BAD_RESOLUTION", "init: resolution %gx%g is impossible (each side 1..%d)", w, h, MAX_SIDE);
    if (fmt == 0 && (((long)w) % 2 || ((long)h) % 2))
      peer_fail("FB_ERR_BAD_RESOLUTION", "I420 needs even width and height, got %ldx%ld", (long)w, (long)h);
  }
  S.drop = strcmp(policy, "drop") == 0;
  const jv* yaw = jv_get(m, "yieldAfterWake"); /* optional, default true (fb_producer_opts.no_yield_after_wake) */
  if (yaw && yaw->type != JV_BOOL) peer_fail("FB_ERR_USAGE", "init: yieldAfterWake must be true or false");
  fb_producer_opts o = {(uint32_t)id, S.drop, yaw ? !yaw->num : 0};
  fb_err err = {0};
  if (fb_producer_open(address, &o, &S.ring, &err) != 0) peer_fail(err.code, "%s", err.message);
  fb_producer_stats ps;
  fb_producer_stats_get(S.ring, &ps);
  for (size_t i = 0; i < sizes->n; i++) {
    const jv* wh = sizes->items[i];
    if (synth_init(&S.src[i], fmt, (uint32_t)wh->items[0]->num, (uint32_t)wh->items[1]->num, (uint32_t)id) != 0)
      peer_fail("FB_ERR_INTERNAL", "out of memory for the frame templates");
    S.nsrc++;
    if (S.src[i].total > ps.max_record_bytes)
      peer_fail("FB_ERR_FRAME_TOO_LARGE", "a %zu B frame exceeds this ring's limit of %u B (ring %llu B)", S.src[i].total, ps.max_record_bytes,
                (unsigned long long)ps.capacity);
  }
  peer_line("{\"t\":\"ready\"}");
}

static int handle(jv* m, int during_run) {
  const char* t = jv_str(m, "t");
  if (!t) peer_fail("FB_ERR_USAGE", "stdin: a message without \"t\"");
  if (strcmp(t, "exit") == 0) cleanup_exit();
  if (strcmp(t, "init") == 0) {
    init(m);
    return 0;
  }
  if (strcmp(t, "start") == 0) {
    if (!S.ring) peer_fail("FB_ERR_USAGE", "start before init");
    if (S.started || during_run) peer_fail("FB_ERR_USAGE", "start received twice");
    S.t0 = peer_take_t0(m);
    S.started = 1;
    return 0;
  }
  if (strcmp(t, "window") == 0) {
    peer_take_window(m, &S.open_ns, &S.close_ns);
    return 0;
  }
  peer_fail("FB_ERR_USAGE", "stdin: unknown message type \"%s\"", t);
}

static void sleep_until(double ns) {
  struct timespec ts = {(time_t)(ns / 1e9), (long)fmod(ns, 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* Sleeps until `ns`, taking messages at least every TICK_MS; returns early if the window moved the stop before it. */
static void sleep_checked(double ns) {
  for (;;) {
    drain_messages(1);
    double now = fb_now_ns();
    if (now >= ns || ns >= S.close_ns) return;
    double step = now + TICK_MS * 1e6;
    sleep_until(ns < step ? ns : step);
  }
}

static void run(void) {
  const double interval = S.paced ? 1e9 / S.fps : 0;
  uint64_t generated = 0, accepted = 0, dropped = 0, window_frames = 0;
  sleep_checked(S.t0);
  for (uint64_t seq = 0;; seq++) {
    double scheduled = 0;
    drain_messages(1);
    if (interval > 0) {
      scheduled = S.t0 + (double)seq * interval;
      if (scheduled >= S.close_ns) break;
      if (scheduled > fb_now_ns()) sleep_checked(scheduled);
      if (scheduled >= S.close_ns) break;
    }
    if (fb_now_ns() >= S.close_ns) break;
    const synth* src = &S.src[seq % (uint64_t)S.nsrc];
    const double send = fb_now_ns();
    fb_loan loan;
    fb_err err = {0};
    int r;
    while ((r = fb_producer_reserve(S.ring, (uint32_t)src->total, &loan, (uint32_t)TICK_MS, &err)) == 0 && !S.drop) {
      drain_messages(1); /* block policy: still full; exit/EOF end us here */
    }
    if (r < 0) peer_fail(err.code, "%s", err.message);
    if (r == 0) {
      dropped++;
    } else {
      synth_fill(src, loan.data, seq, send, scheduled);
      fb_producer_commit(S.ring, &loan);
      accepted++;
    }
    generated++;
    double done = fb_now_ns();
    if (done >= S.open_ns && done < S.close_ns && send >= S.open_ns) window_frames++;
  }
  fb_producer_stats st;
  fb_producer_stats_get(S.ring, &st);
  sbuf b = {0};
  sb_printf(&b, "{\"t\":\"done\",\"framesGenerated\":%llu,\"framesAccepted\":%llu,\"framesDropped\":%llu,\"windowFrames\":%llu,\"stats\":{",
            (unsigned long long)generated, (unsigned long long)accepted, (unsigned long long)dropped, (unsigned long long)window_frames);
  sb_printf(&b,
            "\"records\":%llu,\"bytes\":%llu,\"drops\":%llu,\"fullWaits\":%llu,\"futexWaits\":%llu,\"futexWakes\":%llu,\"pads\":%llu,"
            "\"index\":%u,\"ringBytes\":%llu",
            (unsigned long long)st.records, (unsigned long long)st.bytes, (unsigned long long)st.drops, (unsigned long long)st.full_waits,
            (unsigned long long)st.futex_waits, (unsigned long long)st.futex_wakes, (unsigned long long)st.pads, st.index,
            (unsigned long long)st.capacity);
  peer_window_figures(&b);
  sb_printf(&b, "}}");
  peer_line(b.p);
  sb_free(&b);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  peer_start_stdin();
  for (;;) {
    drain_messages(0);
    if (S.started) break;
    peer_wait(TICK_MS);
  }
  run();
  for (;;) { /* done: wait for exit or EOF */
    drain_messages(0);
    peer_wait(TICK_MS);
  }
}
