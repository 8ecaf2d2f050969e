/**
 * The allocator the case's processes run with (`--malloc`). glibc's malloc adjusts its thresholds
 * as a process runs and gives freed memory back to the kernel (trimming the heap, unmapping large
 * chunks): a process that frees and allocates frame-sized buffers every frame (ws masks into a new
 * buffer per fragment, a socket reader allocates per read) then faults the same memory in again,
 * or not, depending on where its frees landed. On the VMs this was built on a fault costs ~25 µs,
 * so one ws producer ran at 5.5 ms and the next at 18 ms per frame, from process to process.
 *  - 'steady': GLIBC_TUNABLES fixes the thresholds (trim 1 GiB, mmap 32 MiB, glibc's largest):
 *    freed memory stays in the process, as in a long-running service that has settled; large
 *    chunks above 32 MiB (4K RGBA) are still mapped and unmapped.
 *  - 'default': glibc as it comes.
 * Only the case's child processes (and what they start) get it; results record which.
 */
export type MallocMode = 'steady' | 'default';
export const MALLOC_MODES: readonly MallocMode[] = ['steady', 'default'];
export const STEADY_TUNABLES = 'glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432';

/** Runs `fn` with the children's environment set for `mode`, then restores it. */
export async function withMalloc<T>(mode: MallocMode, fn: () => Promise<T>): Promise<T> {
  if (mode !== 'steady') return fn();
  const before = process.env.GLIBC_TUNABLES;
  process.env.GLIBC_TUNABLES = before ? `${before}:${STEADY_TUNABLES}` : STEADY_TUNABLES;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.GLIBC_TUNABLES;
    else process.env.GLIBC_TUNABLES = before;
  }
}
