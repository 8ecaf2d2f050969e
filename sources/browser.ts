import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fromRoot } from '../core/paths';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { fbError } from '../core/errors';
import { CHECKSUM_SPAN_SCRIPT } from '../core/checksum';

/**
 * Launching and closing headless Chromium for fixtures and live mode.
 *
 *  - The executable comes from the caller (config), else CHROMIUM_PATH, else /usr/bin/chromium.
 *    A missing one is FB_ERR_CHROMIUM_MISSING with the install command.
 *  - Flags that work offline as root; a fresh --user-data-dir per launch, removed on close.
 *  - close() always ends the whole process tree (graceful close, then SIGKILL of every
 *    descendant still alive) and is safe to call twice.
 */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // keep a headless page running at full speed
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--hide-scrollbars',
  '--mute-audio',
  '--force-color-profile=srgb',
];

export function resolveChromiumPath(configured?: string): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  const path = configured || fromEnv || DEFAULT_CHROMIUM_PATH;
  const origin = configured ? 'configured' : fromEnv ? 'CHROMIUM_PATH' : 'default';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw fbError('FB_ERR_CHROMIUM_MISSING', `no executable Chromium at ${path} (${origin} path); install it with: apt-get install -y chromium`);
  }
  return path;
}

export interface LaunchOptions {
  chromiumPath?: string;
  width: number;
  height: number;
  /** Page query parameters (seed, w, h are set from the other options). */
  seed?: number;
  /** The page in fixtures/page to open (default call.html; bot.html for the bot, sources/chromium-bot.ts). */
  page?: string;
  /** Runs on the page before it loads (puppeteer's Page, e.g. evaluateOnNewDocument). */
  beforeLoad?: (page: Page) => Promise<unknown>;
}

export interface LaunchedBrowser {
  browser: Browser;
  page: Page;
  /** Root pid of the browser (puppeteer's child). */
  pid: number;
  version: string;
  close(): Promise<void>;
}

/** Directory holding call.html (fixtures/page in the package). */
export function pageDir(page = 'call.html'): string {
  const dir = fromRoot('fixtures', 'page');
  if (existsSync(join(dir, page))) return dir;
  throw fbError('FB_ERR_FIXTURE_MISSING', `fixture page ${page} not found in ${dir}`);
}

export function pageUrl(seed: number, width: number, height: number, page = 'call.html'): string {
  const u = pathToFileURL(join(pageDir(page), page));
  u.search = `?seed=${seed >>> 0}&w=${width}&h=${height}`;
  return u.href;
}

/** Launches Chromium, opens the call page (or opts.page) at width x height and waits until its `fb.ready` resolves. */
export async function launchCallPage(opts: LaunchOptions): Promise<LaunchedBrowser> {
  const executablePath = resolveChromiumPath(opts.chromiumPath);
  const url = pageUrl(opts.seed ?? 1, opts.width, opts.height, opts.page);
  const puppeteer = await import('puppeteer-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'framebench-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS.filter((a) => a !== '--headless'), `--window-size=${opts.width},${opts.height}`],
      userDataDir,
      defaultViewport: { width: opts.width, height: opts.height, deviceScaleFactor: 1 },
      pipe: true,
      // No DevTools Network domain (Puppeteer turns it on by default): with it, every WebSocket
      // message a page sends is base64-encoded inside send() and shipped to us as a CDP event,
      // ~4 MB of extra copies per 1080p frame that a bot not driven by DevTools never pays.
      networkEnabled: false,
      timeout: 30_000,
      protocolTimeout: 120_000,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw fbError('FB_ERR_CHROMIUM_MISSING', `Chromium at ${executablePath} did not start: ${(e as Error).message.split('\n')[0]}; install it with: apt-get install -y chromium`);
  }
  const pid = browser.process()?.pid ?? 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    const tree = pid ? processTree(pid) : [];
    await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    const pages = await browser.pages();
    const page = pages[0] ?? (await browser.newPage());
    // the pages checksum frames with core/checksum.ts's own span function (fixtures/page/bot.js)
    await page.evaluateOnNewDocument(CHECKSUM_SPAN_SCRIPT());
    if (opts.beforeLoad) await opts.beforeLoad(page);
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    await page.evaluate(() => (globalThis as unknown as { fb: { ready: Promise<boolean> } }).fb.ready);
    const version = await browser.version();
    return { browser, page, pid, version, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Pid and parent pid of every process, from /proc/<pid>/stat. */
function parentMap(): Map<number, number> {
  const m = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) m.set(Number(name), st.ppid);
  }
  return m;
}

interface ProcStat {
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
export function parseStat(text: string): ProcStat | null {
  const end = text.lastIndexOf(')');
  if (end < 0) return null;
  const f = text.slice(end + 2).split(' ');
  // f[0] = state (field 3); ppid field 4; utime 14, stime 15, cutime 16, cstime 17
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
}

function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const parents = parentMap();
  if (!parents.has(root)) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === out[i]) out.push(pid);
  }
  return out;
}

/** Clock ticks per second for /proc stat times (USER_HZ; 100 on Linux x86-64). */
export const CLK_TCK = 100;

/**
 * CPU time of a process tree in µs: utime+stime of every live process, plus cutime+cstime
 * (children already exited and reaped, e.g. a renderer that was replaced). Resolution 10 ms.
 */
export function treeCpuUs(root: number): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of processTree(root)) {
    const st = readStat(pid);
    if (!st) continue;
    user += st.utime + st.cutime;
    system += st.stime + st.cstime;
  }
  return { user: (user * 1e6) / CLK_TCK, system: (system * 1e6) / CLK_TCK };
}

/**
 * A launched browser's process tree and its CPU, read again at every call while it lives and once
 * more at close(): the last figures stay readable after the browser is gone. close() is idempotent.
 */
export interface TreeWatch {
  pids(): number[];
  cpuUs(): { user: number; system: number };
  /** Reads them now (the figures at the end of a stream, before anything exits). */
  sample(): void;
  /** True once close() has started. */
  closed(): boolean;
  close(): Promise<void>;
}

export function watchTree(b: LaunchedBrowser): TreeWatch {
  let lastPids: number[] = [b.pid];
  let lastCpu = { user: 0, system: 0 };
  let closed = false;
  const sample = (): void => {
    if (closed) return;
    lastPids = processTree(b.pid);
    lastCpu = treeCpuUs(b.pid);
  };
  return {
    pids: () => (sample(), lastPids),
    cpuUs: () => (sample(), lastCpu),
    sample,
    closed: () => closed,
    close: async () => {
      if (closed) return;
      sample();
      closed = true;
      await b.close();
    },
  };
}
