/*
 * Frames as every framebench producer and consumer make and check them, in C: the 64-byte header
 * of core/frame.ts, the synthetic source of sources/synthetic.ts (xorshift template, one stamp per
 * 4 KiB page, the payload checksum kept up to date incrementally) and the consumer's check of
 * harness/consumer.ts + harness/checksum-verifier.ts (header, order per producer, every payload
 * byte against the header's checksum). Ported exactly, so Node checks C frames and vice versa.
 */
#ifndef FRAMEBENCH_FRAMES_H
#define FRAMEBENCH_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAGIC 0x46424631u
#define FRAME_VERSION 1u
#define FRAME_HEADER_BYTES 64u
#define FRAME_FLAG_CHECKSUM 1u

typedef struct frame_header {
  uint32_t magic, version, format, producer_id, header_bytes;
  uint64_t seq;
  double send_ns, scheduled_ns;
  uint32_t width, height, payload_bytes, sum_a, sum_b, flags;
} frame_header;

void frame_read_header(const uint8_t* p, frame_header* h);

/* One frame size of a synthetic source (format 0 = i420, 1 = rgba). */
typedef struct synth {
  uint32_t format, width, height, producer_id;
  size_t total; /* header + payload */
  uint8_t* tmpl;
  uint32_t stamps;
  uint32_t base_sum[2];
  uint32_t* under; /* the template word under each stamp */
} synth;

uint32_t stamp_value(uint32_t producer_id, uint64_t seq, uint32_t page);
/* 0, or -1 when out of memory. */
int synth_init(synth* s, uint32_t format, uint32_t width, uint32_t height, uint32_t producer_id);
void synth_free(synth* s);
/* Writes frame `seq` whole into dest (s->total bytes): SyntheticSource.fill. */
void synth_fill(const synth* s, uint8_t* dest, uint64_t seq, double send_ns, double scheduled_ns);

/* The consumer's per-producer check. */
typedef struct frame_checker {
  uint32_t producers;
  uint64_t* next_seq;
  uint64_t* received;
  uint64_t corrupt, out_of_order, gaps, checksum_frames;
  char first_problem[240];
} frame_checker;

int checker_init(frame_checker* c, uint32_t producers);
void checker_free(frame_checker* c);
/* Checks one frame (header + payload, len bytes). 0 when good; -1 when it was a problem (counted). On
 * success *start_ns is the latency clock's start (scheduled time if nonzero, else send time). */
int checker_check(frame_checker* c, const uint8_t* frame, size_t len, double* start_ns);

#endif
