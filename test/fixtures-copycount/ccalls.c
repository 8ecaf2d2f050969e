/*
 * Child for test/copycount.test.ts: calls each wrapped function through the PLT
 * (built with -O0 -fno-builtin) on several sizes, offsets and overlaps, checks
 * every result against a byte-loop reference, and prints the calls it made per
 * size as "<size> <calls>" lines so the test can check the page exactly.
 * Exit 0: all results matched; 1: a mismatch (printed to stderr).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__memcpy_chk(void *, const void *, size_t, size_t);
extern void *__memmove_chk(void *, const void *, size_t, size_t);

#define AREA (1 << 22)
static unsigned char area[AREA], ref[AREA];

static void fill(void) {
  for (size_t i = 0; i < AREA; i++) area[i] = ref[i] = (unsigned char)(i * 131 + 7);
}

static void ref_move(size_t d, size_t s, size_t n) {
  if (d < s) for (size_t i = 0; i < n; i++) ref[d + i] = ref[s + i];
  else for (size_t i = n; i > 0; i--) ref[d + i - 1] = ref[s + i - 1];
}

static int same(const char *what, size_t n) {
  for (size_t i = 0; i < AREA; i++)
    if (area[i] != ref[i]) {
      fprintf(stderr, "%s size %zu: mismatch at %zu\n", what, n, i);
      return 0;
    }
  return 1;
}

int main(void) {
  static const size_t sizes[] = {0, 1, 3, 64, 65, 4095, 65536, 1 << 20};
  int ok = 1;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    fill(); memcpy(area + 3, area + AREA / 2 + 1, n); ref_move(3, AREA / 2 + 1, n); ok &= same("memcpy", n);
    fill(); memmove(area + 5, area + 1, n); ref_move(5, 1, n); ok &= same("memmove fwd-overlap", n);
    fill(); memmove(area + 1, area + 5, n); ref_move(1, 5, n); ok &= same("memmove back-overlap", n);
    fill();
    unsigned char *end = mempcpy(area + 7, area + AREA / 2, n);
    ref_move(7, AREA / 2, n);
    ok &= same("mempcpy", n) && end == area + 7 + n;
    fill(); __memcpy_chk(area, area + AREA / 2, n, AREA / 2); ref_move(0, AREA / 2, n); ok &= same("__memcpy_chk", n);
    fill(); __memmove_chk(area + 2, area, n, AREA - 2); ref_move(2, 0, n); ok &= same("__memmove_chk", n);
    printf("%zu 6\n", n);
  }
  return ok ? 0 : 1;
}
