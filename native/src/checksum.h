/*
 * The framebench payload checksum (docs/checksum.md; JavaScript reference in core/checksum.ts).
 *
 * Over `n` bytes read as little-endian u32 words w_0..w_{m-1}, m = ceil(n / 4), the last
 * partial word zero-padded:  A = sum w_i mod 2^32,  B = sum (i + 1) * w_i mod 2^32.
 * Any start alignment; runs at memory speed (vectorised, AVX2 where the CPU has it).
 */
#ifndef FRAMEBENCH_CHECKSUM_H
#define FRAMEBENCH_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes A to out[0] and B to out[1]. `p` may be NULL when n == 0. */
void fb_checksum(const uint8_t* p, size_t n, uint32_t out[2]);

#ifdef __cplusplus
}
#endif

#endif
