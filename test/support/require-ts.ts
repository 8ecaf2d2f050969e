import { registerTypeScript } from '../../core/ts-register';

/**
 * transports/registry.ts loads adapters lazily with `require('./ws')`, which finds the
 * compiled .js in dist/ but not a .ts source under vitest (vitest transforms imports, not
 * Node's require). Registering the project's one TypeScript loader lets Node's require load
 * the sources (transpiled, no type check), so the conformance suite runs the sources, not a
 * possibly stale dist/. Each vitest fork is its own process.
 */
registerTypeScript();
