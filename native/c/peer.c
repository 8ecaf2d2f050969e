/* The native peers' shared parts: see peer.h. */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_DEPTH 16
#define MAX_LINE (1u << 20)

double peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- JSON ---- */

typedef struct parser {
  const char* s;
  int depth;
} parser;

static void ws(parser* p) {
  while (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n') p->s++;
}

void jv_free(jv* v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    jv_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
  free(v);
}

static jv* value(parser* p);

static char* string(parser* p) {
  if (*p->s != '"') return NULL;
  p->s++;
  size_t cap = 16, n = 0;
  char* out = malloc(cap);
  if (!out) return NULL;
  for (;;) {
    char c = *p->s++;
    if (c == '\0' || (unsigned char)c < 0x20) break;
    if (c == '"') {
      out[n] = '\0';
      return out;
    }
    if (c == '\\') {
      char e = *p->s++;
      switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
          unsigned v = 0;
          for (int i = 0; i < 4; i++) {
            char h = *p->s++;
            v <<= 4;
            if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
            else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
            else goto bad;
          }
          c = v == 0 ? '?' : v < 0x80 ? (char)v : '?'; /* non-ASCII: a placeholder (names are ASCII) */
          break;
        }
        default: goto bad;
      }
    }
    if (n + 2 > cap) {
      char* m = realloc(out, cap *= 2);
      if (!m) goto bad;
      out = m;
    }
    out[n++] = c;
  }
bad:
  free(out);
  return NULL;
}

static int push(jv* v, jv* item, char* key) {
  jv** items = realloc(v->items, sizeof(jv*) * (v->n + 1));
  if (!items) return -1;
  v->items = items;
  if (v->type == JV_OBJ) {
    char** keys = realloc(v->keys, sizeof(char*) * (v->n + 1));
    if (!keys) return -1;
    v->keys = keys;
    v->keys[v->n] = key;
  }
  v->items[v->n++] = item;
  return 0;
}

static jv* container(parser* p, jv_type t) {
  char close = t == JV_ARR ? ']' : '}';
  if (++p->depth > MAX_DEPTH) return NULL;
  p->s++;
  jv* v = calloc(1, sizeof(jv));
  if (!v) return NULL;
  v->type = t;
  ws(p);
  if (*p->s == close) {
    p->s++;
    p->depth--;
    return v;
  }
  for (;;) {
    char* key = NULL;
    ws(p);
    if (t == JV_OBJ) {
      key = string(p);
      ws(p);
      if (!key || *p->s != ':') {
        free(key);
        goto bad;
      }
      p->s++;
    }
    jv* item = value(p);
    if (!item || push(v, item, key) != 0) {
      jv_free(item);
      free(key);
      goto bad;
    }
    ws(p);
    if (*p->s == ',') {
      p->s++;
      continue;
    }
    if (*p->s == close) {
      p->s++;
      p->depth--;
      return v;
    }
    goto bad;
  }
bad:
  jv_free(v);
  return NULL;
}

static jv* value(parser* p) {
  ws(p);
  char c = *p->s;
  if (c == '{') return container(p, JV_OBJ);
  if (c == '[') return container(p, JV_ARR);
  jv* v = calloc(1, sizeof(jv));
  if (!v) return NULL;
  if (c == '"') {
    v->type = JV_STR;
    v->str = string(p);
    if (!v->str) goto bad;
    return v;
  }
  if (strncmp(p->s, "null", 4) == 0) {
    p->s += 4;
    return v;
  }
  if (strncmp(p->s, "true", 4) == 0 || strncmp(p->s, "false", 5) == 0) {
    v->type = JV_BOOL;
    v->num = c == 't';
    p->s += c == 't' ? 4 : 5;
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char* end;
    errno = 0;
    v->type = JV_NUM;
    v->num = strtod(p->s, &end);
    if (end == p->s || errno == ERANGE) goto bad;
    for (const char* q = p->s; q < end; q++)
      if (!strchr("0123456789+-.eE", *q)) goto bad; /* no hex, inf or nan */
    p->s = end;
    return v;
  }
bad:
  jv_free(v);
  return NULL;
}

jv* jv_parse(const char* s) {
  parser p = {s, 0};
  jv* v = value(&p);
  if (!v) return NULL;
  ws(&p);
  if (*p.s != '\0') {
    jv_free(v);
    return NULL;
  }
  return v;
}

const jv* jv_get(const jv* obj, const char* key) {
  if (!obj || obj->type != JV_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  return NULL;
}

const char* jv_str(const jv* obj, const char* key) {
  const jv* v = jv_get(obj, key);
  return v && v->type == JV_STR ? v->str : NULL;
}

int jv_num(const jv* obj, const char* key, double* out) {
  const jv* v = jv_get(obj, key);
  if (!v || v->type != JV_NUM || !isfinite(v->num)) return -1;
  *out = v->num;
  return 0;
}

/* ---- the stdin reader ---- */

typedef struct msg {
  jv* v;
  char* bad;
  struct msg* next;
} msg;

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static msg *q_head, *q_tail;
static int q_eof;
static void (*q_wake)(void*);
static void* q_wake_ctx;

void peer_set_wake(void (*wake)(void*), void* ctx) {
  pthread_mutex_lock(&q_mu);
  q_wake = wake;
  q_wake_ctx = ctx;
  pthread_mutex_unlock(&q_mu);
}

static void enqueue(jv* v, char* bad, int eof) {
  msg* m = NULL;
  if (!eof) {
    m = calloc(1, sizeof(msg));
    if (!m) {
      jv_free(v);
      free(bad);
      return;
    }
    m->v = v;
    m->bad = bad;
  }
  pthread_mutex_lock(&q_mu);
  if (m) {
    if (q_tail) q_tail->next = m;
    else q_head = m;
    q_tail = m;
  } else {
    q_eof = 1;
  }
  void (*wake)(void*) = q_wake;
  void* ctx = q_wake_ctx;
  pthread_cond_broadcast(&q_cv);
  if (wake) wake(ctx);
  pthread_mutex_unlock(&q_mu);
}

static void* read_stdin(void* arg) {
  (void)arg;
  char* line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) continue;
    jv* v = (size_t)n <= MAX_LINE && strlen(line) == (size_t)n ? jv_parse(line) : NULL;
    if (!v || v->type != JV_OBJ) {
      char buf[160];
      snprintf(buf, sizeof(buf), "stdin: not a JSON object: %.80s%s", line, n > 80 ? "..." : "");
      jv_free(v);
      enqueue(NULL, strdup(buf), 0);
      continue;
    }
    enqueue(v, NULL, 0);
  }
  free(line);
  enqueue(NULL, NULL, 1);
  return NULL;
}

void peer_start_stdin(void) {
  pthread_t th;
  if (pthread_create(&th, NULL, read_stdin, NULL) != 0) peer_fail("FB_ERR_INTERNAL", "cannot start the stdin thread");
  pthread_detach(th);
}

jv* peer_next(int* eof, char* bad, size_t bad_len) {
  pthread_mutex_lock(&q_mu);
  msg* m = q_head;
  if (m) {
    q_head = m->next;
    if (!q_head) q_tail = NULL;
  }
  *eof = !m && q_eof;
  pthread_mutex_unlock(&q_mu);
  if (bad_len) bad[0] = '\0';
  if (!m) return NULL;
  jv* v = m->v;
  if (m->bad) snprintf(bad, bad_len, "%s", m->bad);
  free(m->bad);
  free(m);
  return v;
}

void peer_wait(double ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double ns = (double)ts.tv_nsec + ms * 1e6;
  ts.tv_sec += (time_t)(ns / 1e9);
  ts.tv_nsec = (long)fmod(ns, 1e9);
  pthread_mutex_lock(&q_mu);
  if (!q_head && !q_eof) pthread_cond_timedwait(&q_cv, &q_mu, &ts); /* q_cv uses CLOCK_MONOTONIC (main) */
  pthread_mutex_unlock(&q_mu);
}

__attribute__((constructor)) static void init_cv(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&q_cv, &a);
  pthread_condattr_destroy(&a);
}

/* ---- output ---- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

void peer_line(const char* s) {
  pthread_mutex_lock(&out_mu);
  fputs(s, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&out_mu);
}

void sb_printf(sbuf* b, const char* fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char* p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
}

void sb_str(sbuf* b, const char* s) {
  sb_printf(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) sb_printf(b, "\\u%04x", c);
    else sb_printf(b, "%c", c);
  }
  sb_printf(b, "\"");
}

void sb_num(sbuf* b, double v) {
  if (!isfinite(v)) v = 0;
  if (v == floor(v) && fabs(v) < 9007199254740992.0) sb_printf(b, "%.0f", v);
  else sb_printf(b, "%.17g", v);
}

void sb_free(sbuf* b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void peer_fail(const char* code, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  sbuf b = {0};
  sb_printf(&b, "{\"t\":\"error\",\"code\":");
  sb_str(&b, code);
  sb_printf(&b, ",\"message\":");
  sb_str(&b, msg);
  sb_printf(&b, "}");
  peer_line(b.p);
  fprintf(stderr, "%s: %s\n", code, msg);
  exit(1);
}

/* ---- the measurement window ---- */

static pthread_mutex_t w_mu = PTHREAD_MUTEX_INITIALIZER;
static int w_set, w_state; /* 0 before, 1 open, 2 closed */
static double w_open_ns, w_close_ns, w_start_ns, w_end_ns;
static proc_snap w_start, w_end;

static void snap(proc_snap* s) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  s->user_us = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
  s->system_us = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
  s->max_rss_bytes = (double)ru.ru_maxrss * 1024.0;
  s->minor_faults = (double)ru.ru_minflt;
  s->vol_ctx = (double)ru.ru_nvcsw;
  s->invol_ctx = (double)ru.ru_nivcsw;
  s->rchar = s->wchar = 0;
  FILE* f = fopen("/proc/self/io", "r");
  if (!f) return;
  char line[128];
  while (fgets(line, sizeof(line), f)) {
    unsigned long long v;
    if (sscanf(line, "rchar: %llu", &v) == 1) s->rchar = (double)v;
    else if (sscanf(line, "wchar: %llu", &v) == 1) s->wchar = (double)v;
  }
  fclose(f);
}

static void window_open_locked(void) {
  if (w_state != 0) return;
  snap(&w_start);
  w_start_ns = peer_now_ns();
  w_state = 1;
}

static void window_close_locked(void) {
  window_open_locked();
  if (w_state == 2) return;
  w_end_ns = peer_now_ns();
  snap(&w_end);
  w_state = 2;
}

static void sleep_until(double ns) {
  struct timespec ts = {(time_t)(ns / 1e9), (long)fmod(ns, 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void* window_thread(void* arg) {
  (void)arg;
  sleep_until(w_open_ns);
  pthread_mutex_lock(&w_mu);
  window_open_locked();
  pthread_mutex_unlock(&w_mu);
  sleep_until(w_close_ns);
  pthread_mutex_lock(&w_mu);
  window_close_locked();
  pthread_mutex_unlock(&w_mu);
  return NULL;
}

void peer_window(double open_ns, double close_ns) {
  pthread_mutex_lock(&w_mu);
  int already = w_set;
  if (!already) {
    w_set = 1;
    w_open_ns = open_ns;
    w_close_ns = close_ns;
  }
  pthread_mutex_unlock(&w_mu);
  if (already) return;
  pthread_t th;
  if (pthread_create(&th, NULL, window_thread, NULL) == 0) pthread_detach(th);
}

void peer_window_figures(sbuf* b) {
  pthread_mutex_lock(&w_mu);
  proc_snap d = {0};
  double secs = 0;
  if (w_set) {
    window_close_locked();
    secs = (w_end_ns - w_start_ns) / 1e9;
    d.user_us = w_end.user_us - w_start.user_us;
    d.system_us = w_end.system_us - w_start.system_us;
    d.rchar = w_end.rchar - w_start.rchar;
    d.wchar = w_end.wchar - w_start.wchar;
    d.max_rss_bytes = w_end.max_rss_bytes;
    d.minor_faults = w_end.minor_faults - w_start.minor_faults;
    d.vol_ctx = w_end.vol_ctx - w_start.vol_ctx;
    d.invol_ctx = w_end.invol_ctx - w_start.invol_ctx;
  }
  pthread_mutex_unlock(&w_mu);
  sb_printf(b, ",\"windowSeconds\":");
  sb_num(b, secs);
  sb_printf(b, ",\"userUs\":");
  sb_num(b, d.user_us);
  sb_printf(b, ",\"systemUs\":");
  sb_num(b, d.system_us);
  sb_printf(b, ",\"rchar\":");
  sb_num(b, d.rchar);
  sb_printf(b, ",\"wchar\":");
  sb_num(b, d.wchar);
  sb_printf(b, ",\"maxRssBytes\":");
  sb_num(b, d.max_rss_bytes);
  sb_printf(b, ",\"minorFaults\":");
  sb_num(b, d.minor_faults);
  sb_printf(b, ",\"volCtxSwitches\":");
  sb_num(b, d.vol_ctx);
  sb_printf(b, ",\"involCtxSwitches\":");
  sb_num(b, d.invol_ctx);
}

double peer_take_t0(const jv* m) {
  double t0;
  if (jv_num(m, "t0Ns", &t0) != 0 || !(t0 >= 0 && t0 <= PEER_MAX_NS))
    peer_fail("FB_ERR_BAD_NUMBER", "start: t0Ns must be a CLOCK_MONOTONIC time in ns, in [0, 1e18]");
  return t0;
}

void peer_take_window(const jv* m, double* open_ns, double* close_ns) {
  double a, b;
  if (jv_num(m, "openNs", &a) != 0 || jv_num(m, "closeNs", &b) != 0 || !(a >= 0 && b >= a && b <= PEER_MAX_NS))
    peer_fail("FB_ERR_BAD_NUMBER", "window: openNs and closeNs must be times in ns, 0 <= openNs <= closeNs <= 1e18");
  if (isinf(*close_ns)) {
    *open_ns = a;
    *close_ns = b;
    peer_window(a, b);
  }
}
