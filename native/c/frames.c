/* See frames.h. Little-endian fields are read and written with memcpy (x86-64, aarch64: LE). */
#include "frames.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/checksum.h"

#define STAMP_PAGE 4096u
#define WORDS_PER_PAGE (STAMP_PAGE / 4u)

static uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint16_t rd16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static double rdf64(const uint8_t* p) {
  double v;
  memcpy(&v, p, 8);
  return v;
}
static void wr32(uint8_t* p, uint32_t v) {
  memcpy(p, &v, 4);
}
static void wr16(uint8_t* p, uint16_t v) {
  memcpy(p, &v, 2);
}
static void wrf64(uint8_t* p, double v) {
  memcpy(p, &v, 8);
}

void frame_read_header(const uint8_t* p, frame_header* h) {
  h->magic = rd32(p);
  h->version = rd16(p + 4);
  h->format = rd16(p + 6);
  h->producer_id = rd32(p + 8);
  h->header_bytes = rd32(p + 12);
  h->seq = (uint64_t)rd32(p + 16) | ((uint64_t)rd32(p + 20) << 32);
  h->send_ns = rdf64(p + 24);
  h->scheduled_ns = rdf64(p + 32);
  h->width = rd32(p + 40);
  h->height = rd32(p + 44);
  h->payload_bytes = rd32(p + 48);
  h->sum_a = rd32(p + 52);
  h->sum_b = rd32(p + 56);
  h->flags = rd32(p + 60);
}

/* sources/synthetic.ts stampValue: Math.imul is the low 32 bits of the product. */
uint32_t stamp_value(uint32_t producer_id, uint64_t seq, uint32_t page) {
  uint32_t h = (uint32_t)seq * 0x9e3779b1u ^ (uint32_t)(seq >> 32) * 0x7feb352du;
  h ^= (page + 1u) * 0x85ebca77u;
  h ^= (producer_id + 1u) * 0xc2b2ae3du;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static uint32_t stamp_count(size_t total) {
  if (total < FRAME_HEADER_BYTES + 4) return 0;
  return (uint32_t)((total - FRAME_HEADER_BYTES - 4) / STAMP_PAGE + 1);
}

int synth_init(synth* s, uint32_t format, uint32_t width, uint32_t height, uint32_t producer_id) {
  memset(s, 0, sizeof(*s));
  uint64_t px = (uint64_t)width * height;
  uint64_t payload = format == 0 ? px * 3 / 2 : px * 4;
  s->format = format;
  s->width = width;
  s->height = height;
  s->producer_id = producer_id;
  s->total = (size_t)(payload + FRAME_HEADER_BYTES);
  size_t words = (s->total + 3) / 4;
  s->tmpl = malloc(words * 4);
  if (!s->tmpl) return -1;
  /* makeTemplate: xorshift32 seeded by the producer id */
  uint32_t x = (uint32_t)((uint64_t)(producer_id + 1ull) * 2654435761ull);
  if (x == 0) x = 1;
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    wr32(s->tmpl + 4 * i, x);
  }
  s->stamps = stamp_count(s->total);
  fb_checksum(s->tmpl + FRAME_HEADER_BYTES, s->total - FRAME_HEADER_BYTES, s->base_sum);
  s->under = malloc(sizeof(uint32_t) * (s->stamps ? s->stamps : 1));
  if (!s->under) return -1;
  for (uint32_t p = 0; p < s->stamps; p++) s->under[p] = rd32(s->tmpl + FRAME_HEADER_BYTES + (size_t)p * STAMP_PAGE);
  return 0;
}

void synth_free(synth* s) {
  free(s->tmpl);
  free(s->under);
  s->tmpl = NULL;
  s->under = NULL;
}

void synth_fill(const synth* s, uint8_t* dest, uint64_t seq, double send_ns, double scheduled_ns) {
  memcpy(dest, s->tmpl, s->total);
  /* core/frame.ts writeHeader (via core/spec.ts writeSpecHeader) */
  wr32(dest, FRAME_MAGIC);
  wr16(dest + 4, FRAME_VERSION);
  wr16(dest + 6, (uint16_t)s->format);
  wr32(dest + 8, s->producer_id);
  wr32(dest + 12, FRAME_HEADER_BYTES);
  wr32(dest + 16, (uint32_t)seq);
  wr32(dest + 20, (uint32_t)(seq >> 32));
  wrf64(dest + 24, send_ns);
  wrf64(dest + 32, scheduled_ns);
  wr32(dest + 40, s->width);
  wr32(dest + 44, s->height);
  wr32(dest + 48, (uint32_t)(s->total - FRAME_HEADER_BYTES));
  uint32_t a = s->base_sum[0], b = s->base_sum[1];
  for (uint32_t p = 0; p < s->stamps; p++) {
    uint32_t v = stamp_value(s->producer_id, seq, p);
    wr32(dest + FRAME_HEADER_BYTES + (size_t)p * STAMP_PAGE, v);
    uint32_t d = v - s->under[p]; /* core/checksum.ts replaceWord */
    a += d;
    b += (p * WORDS_PER_PAGE + 1u) * d;
  }
  wr32(dest + 52, a);
  wr32(dest + 56, b);
  wr32(dest + 60, FRAME_FLAG_CHECKSUM);
}

int checker_init(frame_checker* c, uint32_t producers) {
  memset(c, 0, sizeof(*c));
  c->producers = producers;
  c->next_seq = calloc(producers ? producers : 1, sizeof(uint64_t));
  c->received = calloc(producers ? producers : 1, sizeof(uint64_t));
  return c->next_seq && c->received ? 0 : -1;
}

void checker_free(frame_checker* c) {
  free(c->next_seq);
  free(c->received);
}

static int problem(frame_checker* c, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(frame_checker* c, const char* fmt, ...) {
  c->corrupt++;
  if (!c->first_problem[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->first_problem, sizeof(c->first_problem), fmt, ap);
    va_end(ap);
  }
  return -1;
}

int checker_check(frame_checker* c, const uint8_t* frame, size_t len, double* start_ns) {
  if (len < FRAME_HEADER_BYTES) return problem(c, "frame of %zu B is shorter than the header", len);
  frame_header h;
  frame_read_header(frame, &h);
  if (h.magic != FRAME_MAGIC || h.version != FRAME_VERSION || h.header_bytes != FRAME_HEADER_BYTES)
    return problem(c, "bad frame header (magic/version)");
  if ((uint64_t)h.payload_bytes + FRAME_HEADER_BYTES != len)
    return problem(c, "length mismatch: header says %llu B, got %zu B", (unsigned long long)h.payload_bytes + FRAME_HEADER_BYTES, len);
  uint32_t p = h.producer_id;
  if (p >= c->producers) return problem(c, "unknown producer id %u", p);
  uint64_t expected = c->next_seq[p];
  if (h.seq < expected) {
    c->out_of_order++;
    return problem(c, "producer %u: sequence %llu after %llu (out of order or duplicate)", p, (unsigned long long)h.seq,
                   (unsigned long long)expected - 1);
  }
  if (h.seq > expected) c->gaps += h.seq - expected;
  c->next_seq[p] = h.seq + 1;
  c->received[p]++;
  if (!(h.flags & FRAME_FLAG_CHECKSUM))
    return problem(c, "producer %u seq %llu: no payload checksum in the header (flags bit 0 clear)", p, (unsigned long long)h.seq);
  uint32_t sum[2];
  fb_checksum(frame + FRAME_HEADER_BYTES, len - FRAME_HEADER_BYTES, sum);
  c->checksum_frames++;
  if (sum[0] != h.sum_a || sum[1] != h.sum_b)
    return problem(c, "producer %u seq %llu: payload checksum [0x%08x, 0x%08x] != header [0x%08x, 0x%08x] (native)", p,
                   (unsigned long long)h.seq, sum[0], sum[1], h.sum_a, h.sum_b);
  *start_ns = h.scheduled_ns > 0 ? h.scheduled_ns : h.send_ns;
  return 0;
}
