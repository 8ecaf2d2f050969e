/*
 * The framebench payload checksum, native (see checksum.h and docs/checksum.md).
 *
 * B = sum (i + 1) w_i needs no multiply in the loop. With L lanes, lane l holds the words
 * w_{Lk+l} of blocks k = 0..K-1; each block adds the words to S (per-lane sums) and then S to Q,
 * so after K blocks S_l = sum_k w_{Lk+l} and Q_l = sum_k (K - k) w_{Lk+l}. Then
 *   sum_k k w_{Lk+l} = K S_l - Q_l   and   B = sum_l [ L (K S_l - Q_l) + (l + 1) S_l ],
 * all mod 2^32 (unsigned wrap-around is exact modular arithmetic). The words after the last
 * whole block are added one by one with their index.
 */
#include "checksum.h"

#include <string.h>

#define LANES 8                      /* u32 lanes of one vector: 32 bytes (one AVX2 register) */
#define VECS 4                       /* vectors per block: 4 independent S/Q chains */
#define BLOCK_WORDS (LANES * VECS)   /* 32 words = 128 bytes per block */

typedef uint32_t v8u __attribute__((vector_size(LANES * 4)));

static inline uint32_t load_le32(const uint8_t* p) {
  uint32_t w;
  memcpy(&w, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap32(w);
#endif
  return w;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Unaligned vector load (a macro: a function returning a vector type would change the ABI). */
#define LOADV(dst, src) memcpy(&(dst), (src), sizeof(dst))

/* The whole blocks of the input: A and B of its first nblocks * BLOCK_WORDS words. */
__attribute__((target_clones("avx2", "default")))
static void blocks(const uint8_t* p, size_t nblocks, uint32_t* a, uint32_t* b) {
  v8u s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  v8u q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
  for (size_t k = 0; k < nblocks; k++, p += BLOCK_WORDS * 4) {
    v8u w0, w1, w2, w3;
    LOADV(w0, p);
    LOADV(w1, p + 32);
    LOADV(w2, p + 64);
    LOADV(w3, p + 96);
    s0 += w0;
    s1 += w1;
    s2 += w2;
    s3 += w3;
    q0 += s0;
    q1 += s1;
    q2 += s2;
    q3 += s3;
  }
  const v8u s[VECS] = {s0, s1, s2, s3};
  const v8u q[VECS] = {q0, q1, q2, q3};
  uint32_t K = (uint32_t)nblocks;
  uint32_t sa = 0, sb = 0;
  for (int v = 0; v < VECS; v++) {
    for (int l = 0; l < LANES; l++) {
      uint32_t lane = (uint32_t)(v * LANES + l);
      uint32_t S = s[v][l], Q = q[v][l];
      sa += S;
      sb += (uint32_t)BLOCK_WORDS * (K * S - Q) + (lane + 1u) * S;
    }
  }
  *a = sa;
  *b = sb;
}
#endif

void fb_checksum(const uint8_t* p, size_t n, uint32_t out[2]) {
  uint32_t a = 0, b = 0;
  size_t whole = n / 4, i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (whole >= BLOCK_WORDS) {
    blocks(p, whole / BLOCK_WORDS, &a, &b);
    i = whole / BLOCK_WORDS * BLOCK_WORDS;
  }
#endif
  for (; i < whole; i++) {
    uint32_t w = load_le32(p + 4 * i);
    a += w;
    b += (uint32_t)(i + 1) * w;
  }
  size_t rest = n - 4 * whole;
  if (rest > 0) {
    uint8_t last[4] = {0, 0, 0, 0};
    memcpy(last, p + 4 * whole, rest);
    uint32_t w = load_le32(last);
    a += w;
    b += (uint32_t)(whole + 1) * w;
  }
  out[0] = a;
  out[1] = b;
}
