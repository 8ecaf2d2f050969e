/*
 * What the two native peers (fb-ring-consumer, fb-ring-producer) share: a small JSON reader for the
 * harness's line protocol (docs/ring-c.md), a thread reading stdin into a message queue, the
 * output helpers (one JSON object per line on stdout), and the measurement window's process
 * figures (getrusage + /proc/self/io at openNs and closeNs, like measure/window.ts).
 */
#ifndef FRAMEBENCH_PEER_H
#define FRAMEBENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

/* ---- JSON values ---- */

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

typedef struct jv {
  jv_type type;
  double num;
  char* str;          /* JV_STR */
  struct jv** items;  /* JV_ARR: values; JV_OBJ: values, keys in `keys` */
  char** keys;
  size_t n;
} jv;

/* Parses one JSON text (the whole string); NULL when malformed (depth, size and syntax checked). */
jv* jv_parse(const char* s);
void jv_free(jv* v);
const jv* jv_get(const jv* obj, const char* key);
/* A string member, or NULL. */
const char* jv_str(const jv* obj, const char* key);
/* A number member into *out: 0, or -1 when missing or not a finite number. */
int jv_num(const jv* obj, const char* key, double* out);

/* ---- messages from stdin ---- */

/* Starts the stdin reader. `wake` (may be NULL) is called after each message is queued. */
void peer_start_stdin(void);
void peer_set_wake(void (*wake)(void*), void* ctx);
/* The next message: its root (a JSON object, owned by the caller), or NULL when none is queued.
 * *eof is set once stdin ended and the queue is empty; *bad to a message when a line was not a
 * JSON object (the caller reports FB_ERR_USAGE). */
jv* peer_next(int* eof, char* bad, size_t bad_len);
/* Blocks up to ms for a message to be queued (or stdin to end). */
void peer_wait(double ms);

/* ---- output ---- */

/* Writes one line to stdout and flushes it. */
void peer_line(const char* s);
/* {"t":"error","code":...,"message":...} then exit(1). */
void peer_fail(const char* code, const char* fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* A growable string for building JSON. */
typedef struct sbuf {
  char* p;
  size_t len, cap;
} sbuf;
void sb_printf(sbuf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_str(sbuf* b, const char* s); /* a JSON string literal, escaped */
void sb_num(sbuf* b, double v);      /* a JSON number (non-finite: 0) */
void sb_free(sbuf* b);

/* ---- the measurement window ---- */

typedef struct proc_snap {
  double user_us, system_us, rchar, wchar, max_rss_bytes, minor_faults, vol_ctx, invol_ctx;
} proc_snap;

/* Snapshots the process at openNs and closeNs (CLOCK_MONOTONIC) from a thread of its own. */
void peer_window(double open_ns, double close_ns);
/* Appends the window's figures as members ("windowSeconds":..,"userUs":.., ...) to b, with a leading
 * comma. A window not yet closed is closed now; none set: zeros. */
void peer_window_figures(sbuf* b);

double peer_now_ns(void);

/* Largest time (ns) the harness may send: times on stdin are bounded to [0, PEER_MAX_NS]. */
#define PEER_MAX_NS 1e18

/* A start message's t0Ns, checked (FB_ERR_BAD_NUMBER otherwise: the program exits). */
double peer_take_t0(const jv* m);
/* A window message: checks openNs <= closeNs in [0, PEER_MAX_NS] (FB_ERR_BAD_NUMBER otherwise); the
 * first window counts: sets *open_ns / *close_ns (while *close_ns is still INFINITY) and starts
 * peer_window(); later ones are ignored. */
void peer_take_window(const jv* m, double* open_ns, double* close_ns);

#endif
