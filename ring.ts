/**
 * framebench/ring: the shared-memory frame ring as a library (native addon loaded on first use).
 * The API is transports/shm/ring.ts (see docs/ring.md).
 */
export * from './transports/shm/ring';
