/*
 * framebench copy counter: an LD_PRELOAD interposer for memcpy, memmove,
 * mempcpy, __memcpy_chk and __memmove_chk.
 *
 * Each call is forwarded to the real libc function (found with
 * dlsym(RTLD_NEXT)) and counted -- one call and `len` bytes -- in the bucket
 * given by the bit length of `len` (0 for 0, 1 for 1, 2 for 2..3, ...,
 * 21 for 1 MiB..2 MiB-1; clamped to 63). Counters are relaxed atomic adds:
 * no syscalls, no locks on the copy path.
 *
 * Where the counters live: at load, the constructor opens the file named by
 * $FRAMEBENCH_COPYCOUNT (a sealed memfd created, sized and given a header by
 * the harness, named as /proc/<harness pid>/fd/<n>, see measure/copycount.ts)
 * and maps it MAP_SHARED, so the counts survive the process (kill -9
 * included) and can be read at any time. If the variable is unset, or the
 * file is missing, too small, not sealed against shrinking and growing, or
 * has a wrong header, the counts go to a private static page instead:
 * nothing is printed, nothing fails.
 *
 * Children of an instrumented process inherit LD_PRELOAD and the variable,
 * so they add to the SAME page (and a fork()ed child shares the mapping).
 * The harness instruments leaf processes only; `attached` in the header
 * counts how many processes mapped the page.
 *
 * Page layout (little-endian, all fields u64 unless noted), mirrored by
 * COPYCOUNT_LAYOUT in measure/copycount.ts:
 *
 *   0    magic     "FBCCOUNT" (0x544e554f43434246)
 *   8    version   u32 = 1
 *   12   header    u32 = 64       byte offset of bucket 0
 *   16   buckets   u32 = 64
 *   20   stride    u32 = 16       bytes per bucket
 *   24   attached  processes that mapped the page (atomic add at load)
 *   32   reserved  (zero)
 *   64   bucket[i] = { u64 calls; u64 bytes; }   i = 0..63
 *   1088 end; the file is CC_FILE_SIZE (4096) bytes
 *
 * Build (see build.js): cc -O2 -fPIC -shared -fno-builtin
 *   -fno-tree-loop-distribute-patterns -o libframebench_copycount.so
 *   copycount.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CC_MAGIC 0x544e554f43434246ULL /* "FBCCOUNT" read as a little-endian u64 */
#define CC_VERSION 1
#define CC_HEADER_SIZE 64
#define CC_BUCKETS 64
#define CC_BUCKET_STRIDE 16
#define CC_FILE_SIZE 4096

struct cc_bucket {
  uint64_t calls;
  uint64_t bytes;
};

struct cc_page {
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint32_t buckets;
  uint32_t bucket_stride;
  uint64_t attached;
  uint64_t reserved[4];
  struct cc_bucket bucket[CC_BUCKETS];
};

_Static_assert(offsetof(struct cc_page, attached) == 24, "attached offset");
_Static_assert(offsetof(struct cc_page, bucket) == CC_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct cc_bucket) == CC_BUCKET_STRIDE, "bucket stride");
_Static_assert(sizeof(struct cc_page) == CC_HEADER_SIZE + CC_BUCKETS * CC_BUCKET_STRIDE, "page size");
_Static_assert(sizeof(struct cc_page) <= CC_FILE_SIZE, "page fits the file");

/* Counts land here until (and unless) the shared page is mapped. */
static struct cc_page private_page;
static struct cc_page *page = &private_page;

typedef void *(*copy_fn)(void *, const void *, size_t);
typedef void *(*copy_chk_fn)(void *, const void *, size_t, size_t);

static copy_fn real_memcpy;
static copy_fn real_memmove;
static copy_fn real_mempcpy;
static copy_chk_fn real_memcpy_chk;
static copy_chk_fn real_memmove_chk;

/* 0: not resolved, 1: resolving (dlsym may call memcpy: use the fallback), 2: done. */
static int resolve_state;

static inline void count(size_t len) {
  unsigned b = len ? 64u - (unsigned)__builtin_clzll((unsigned long long)len) : 0u;
  if (b > CC_BUCKETS - 1) b = CC_BUCKETS - 1;
  struct cc_bucket *k = &__atomic_load_n(&page, __ATOMIC_RELAXED)->bucket[b];
  __atomic_fetch_add(&k->calls, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&k->bytes, (uint64_t)len, __ATOMIC_RELAXED);
}

/*
 * Byte loops for calls made before the real functions are known (or from
 * inside dlsym). volatile and -fno-tree-loop-distribute-patterns keep the
 * compiler from turning them back into a memcpy call.
 */
static void *fallback_copy(void *dst, const void *src, size_t len) {
  volatile unsigned char *d = dst;
  const volatile unsigned char *s = src;
  if (d < s) {
    for (size_t i = 0; i < len; i++) d[i] = s[i];
  } else if (d > s) {
    for (size_t i = len; i > 0; i--) d[i - 1] = s[i - 1];
  }
  return dst;
}

static void resolve(void) {
  int expected = 0;
  if (!__atomic_compare_exchange_n(&resolve_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  copy_fn mc = (copy_fn)dlsym(RTLD_NEXT, "memcpy");
  copy_fn mm = (copy_fn)dlsym(RTLD_NEXT, "memmove");
  copy_fn mp = (copy_fn)dlsym(RTLD_NEXT, "mempcpy");
  copy_chk_fn mcc = (copy_chk_fn)dlsym(RTLD_NEXT, "__memcpy_chk");
  copy_chk_fn mmc = (copy_chk_fn)dlsym(RTLD_NEXT, "__memmove_chk");
  __atomic_store_n(&real_memcpy, mc, __ATOMIC_RELEASE);
  __atomic_store_n(&real_memmove, mm, __ATOMIC_RELEASE);
  __atomic_store_n(&real_mempcpy, mp, __ATOMIC_RELEASE);
  __atomic_store_n(&real_memcpy_chk, mcc, __ATOMIC_RELEASE);
  __atomic_store_n(&real_memmove_chk, mmc, __ATOMIC_RELEASE);
  __atomic_store_n(&resolve_state, 2, __ATOMIC_RELEASE);
}

static inline copy_fn get(copy_fn *slot) {
  copy_fn f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (__builtin_expect(f == NULL, 0)) {
    resolve();
    f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  }
  return f;
}

static inline copy_chk_fn get_chk(copy_chk_fn *slot) {
  copy_chk_fn f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (__builtin_expect(f == NULL, 0)) {
    resolve();
    f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  }
  return f;
}

__attribute__((visibility("default"))) void *memcpy(void *dst, const void *src, size_t len) {
  count(len);
  copy_fn f = get(&real_memcpy);
  return f ? f(dst, src, len) : fallback_copy(dst, src, len);
}

__attribute__((visibility("default"))) void *memmove(void *dst, const void *src, size_t len) {
  count(len);
  copy_fn f = get(&real_memmove);
  return f ? f(dst, src, len) : fallback_copy(dst, src, len);
}

__attribute__((visibility("default"))) void *mempcpy(void *dst, const void *src, size_t len) {
  count(len);
  copy_fn f = get(&real_mempcpy);
  if (f) return f(dst, src, len);
  fallback_copy(dst, src, len);
  return (unsigned char *)dst + len;
}

/* The _chk variants keep their overflow check: the real ones abort on len > dstlen. */
__attribute__((visibility("default"))) void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dstlen) {
  count(len);
  copy_chk_fn f = get_chk(&real_memcpy_chk);
  if (f) return f(dst, src, len, dstlen);
  if (len > dstlen) abort();
  return fallback_copy(dst, src, len);
}

__attribute__((visibility("default"))) void *__memmove_chk(void *dst, const void *src, size_t len, size_t dstlen) {
  count(len);
  copy_chk_fn f = get_chk(&real_memmove_chk);
  if (f) return f(dst, src, len, dstlen);
  if (len > dstlen) abort();
  return fallback_copy(dst, src, len);
}

/* Maps $FRAMEBENCH_COPYCOUNT if it is a valid page; otherwise keeps counting privately. */
__attribute__((constructor)) static void cc_init(void) {
  resolve();
  const char *path = getenv("FRAMEBENCH_COPYCOUNT");
  if (path == NULL || path[0] == '\0') return;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  /* Only a sealed page: a file anyone could shrink would turn the next count into a SIGBUS. */
  int seals = fcntl(fd, F_GET_SEALS);
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < CC_FILE_SIZE || seals < 0 ||
      (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
    close(fd);
    return;
  }
  void *m = mmap(NULL, CC_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return;
  struct cc_page *p = m;
  if (p->magic != CC_MAGIC || p->version != CC_VERSION || p->header_size != CC_HEADER_SIZE ||
      p->buckets != CC_BUCKETS || p->bucket_stride != CC_BUCKET_STRIDE) {
    munmap(m, CC_FILE_SIZE);
    return;
  }
  __atomic_fetch_add(&p->attached, 1, __ATOMIC_RELAXED);
  /* Copies made so far (ld.so, libc init) stay in private_page: they precede main(). */
  __atomic_store_n(&page, p, __ATOMIC_RELEASE);
}
