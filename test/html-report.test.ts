import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result';
import { computeCost } from '../core/cost';
import { renderHtml } from '../reporters/html';
import { chartData, jsonForScript } from '../reporters/html-charts';
import { requireOrSkip } from './support/require';

/**
 * The HTML report is one self-contained file: checked statically (no external resources, everything escaped)
 * and in real headless Chromium (no console errors, every chart painted, a screenshot saved to
 * reports/test-artifacts/report.png).
 */

const ROOT = resolve(__dirname, '..');
const ARTIFACTS = join(ROOT, 'reports', 'test-artifacts');
const load = (): RunResult => JSON.parse(readFileSync(join(__dirname, 'fixtures-results', 'sample-run.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'fb-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FLAME_LINKS = { 'ws/realtime/i420/1920x1080 producer': 'flame/ws_realtime_i420_1920x1080.producer.html', 'elsewhere': 'https://example.invalid/x.html' };

function hostile(): RunResult {
  const r = load();
  r.host.hostname = '<img src=x onerror="window.__pwned=1">';
  r.results[0]!.transport = '</script><script>window.__pwned=2</script>';
  const failed = r.results.find((c) => c.status !== 'ok')!;
  failed.error = '<b onmouseover=alert(1)>boom</b> & "quotes"';
  return r;
}

describe('HTML report, static checks', () => {
  const run = load();
  const html = renderHtml(run, { cost: computeCost(run), flameLinks: FLAME_LINKS });

  it('loads nothing from outside: no external scripts, styles, fonts or images', () => {
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\s/i);
    expect(html).not.toMatch(/@import|@font-face|url\(\s*['"]?https?:/i);
    expect(html).not.toMatch(/<img\s/i);
    expect(html).toContain('Chart.js v4');
  });

  it('has the environment, summary, charts, cases, cost and flame sections', () => {
    for (const h of ['Environment', 'Summary', 'Charts', 'Cases', 'Fleet cost', 'Flame graphs']) expect(html).toContain(`<h2>${h}</h2>`);
    for (const id of ['chart-cpu', 'chart-passes', 'chart-latency', 'chart-distribution', 'chart-throughput']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('Intel(R) Xeon(R) Platinum 8488C');
    expect(html).toContain('consumer process exited with code 1 after 1,204 frames');
    expect(html).toMatch(/class="headline"[^>]*>At 1 TB\/s of 1920x1080@30 i420/);
  });

  it('links flame graphs by relative path only, also from their case', () => {
    expect(html).toContain('<a href="flame/ws_realtime_i420_1920x1080.producer.html">ws/realtime/i420/1920x1080 producer</a>');
    expect(html).toContain('<a href="flame/ws_realtime_i420_1920x1080.producer.html">producer</a>');
    expect(html).not.toContain('href="https://example.invalid');
  });

  it('groups chart data by scenario and format and leaves failed cases out', () => {
    const d = chartData(run);
    expect(d.groups.map((g) => g.id)).toEqual(['realtime/i420/1920x1080', 'realtime/rgba/1920x1080', 'saturate/i420/1920x1080']);
    expect(d.groups[2]!.excluded).toEqual(['tcp (FB_ERR_PEER_GONE)']);
    expect(d.groups[0]!.cases[0]!.cpu).toEqual({ producerUser: 914.2, producerSystem: 492.3, consumerUser: 1048.8, consumerSystem: 858.1, total: 3313.4 });
    expect(jsonForScript({ s: '</script><!--' })).toBe('{"s":"\\u003c/script\\u003e\\u003c!--"}');
  });

  it('escapes every string from the result file', () => {
    const h = renderHtml(hostile(), {});
    expect(h).not.toContain('<img src=x');
    expect(h).not.toContain('<b onmouseover');
    expect(h).not.toContain('</script><script>window.__pwned');
    expect(h).toContain('&lt;b onmouseover=alert(1)&gt;boom&lt;/b&gt; &amp; &quot;quotes&quot;');
  });
});

/** Chromium for the browser checks: the Debian package (apt-get install -y chromium). */
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** puppeteer-core when installed (FB_TEST_CHROMIUM_CLI=1 forces the plain `chromium --dump-dom` path). */
function hasPuppeteer(): boolean {
  if (process.env.FB_TEST_CHROMIUM_CLI) return false;
  try {
    require.resolve('puppeteer-core');
    return true;
  } catch {
    return false;
  }
}

interface PageCheck { charts: number; painted: number; whiskers: number; errors: string[]; console: string[]; external: string[]; pwned: unknown; imgs: number; afterSwitch?: number }

async function checkWithPuppeteer(file: string, screenshot: string): Promise<PageCheck> {
   
  const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
  const userDataDir = mkdtempSync(join(tmp, 'profile-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args: [...CHROME_ARGS.slice(1), `--user-data-dir=${userDataDir}`] });
  try {
    const page = await browser.newPage();
    const consoleMsgs: string[] = [];
    const external: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') consoleMsgs.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleMsgs.push(`pageerror: ${(e as Error).message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) external.push(r.url());
    });
    await page.setViewport({ width: 1500, height: 1000 });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const read = () => page.$eval('#fb-render-status', (e) => ({
      charts: Number(e.getAttribute('data-charts')), painted: Number(e.getAttribute('data-painted')), whiskers: Number(e.getAttribute('data-whiskers')), errors: JSON.parse(e.getAttribute('data-errors') ?? '[]') as string[],
    }));
    const st = await read();
    // A string, not a function: the test project has no DOM typings.
    const extra = (await page.evaluate('({ pwned: window.__pwned ?? null, imgs: document.querySelectorAll("img").length })')) as { pwned: unknown; imgs: number };
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.select('#fb-group', '2');
    const after = await read();
    return { ...st, console: consoleMsgs, external, ...extra, afterSwitch: after.painted };
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

function checkWithCli(file: string, screenshot: string): PageCheck {
  const userDataDir = mkdtempSync(join(tmp, 'profile-'));
  const common = [...CHROME_ARGS, `--user-data-dir=${userDataDir}`, '--virtual-time-budget=5000', '--window-size=1500,3200'];
  const dom = spawnSync(CHROMIUM!, [...common, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  spawnSync(CHROMIUM!, [...common, `--screenshot=${screenshot}`, `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  rmSync(userDataDir, { recursive: true, force: true });
  const m = /<p id="fb-render-status"[^>]*>/.exec(dom.stdout)?.[0] ?? '';
  const attr = (n: string) => new RegExp(`${n}="([^"]*)"`).exec(m)?.[1] ?? '';
  const errors = JSON.parse(attr('data-errors').replace(/&quot;/g, '"') || '[]') as string[];
  return { charts: Number(attr('data-charts')), painted: Number(attr('data-painted')), whiskers: Number(attr('data-whiskers')), errors, console: [], external: [], pwned: null, imgs: (dom.stdout.match(/<img\s/g) ?? []).length };
}

describe.skipIf(requireOrSkip('chromium', CHROMIUM ? null : 'no Chromium (apt-get install -y chromium)'))('HTML report in headless Chromium', () => {
  const check = (file: string, shot: string) => (hasPuppeteer() ? checkWithPuppeteer(file, shot) : Promise.resolve(checkWithCli(file, shot)));

  it('loads offline with no errors, paints all five charts and saves a screenshot', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const run = load();
    const file = join(ARTIFACTS, 'report.html');
    writeFileSync(file, renderHtml(run, { cost: computeCost(run), flameLinks: FLAME_LINKS }));
    const shot = join(ARTIFACTS, 'report.png');
    rmSync(shot, { force: true });
    const st = await check(file, shot);
    expect(st.errors).toEqual([]);
    expect(st.console).toEqual([]);
    expect(st.external).toEqual([]);
    expect(st.charts).toBe(5);
    expect(st.painted).toBe(5);
    expect(st.whiskers).toBe(0); // results@1: no intervals, no error bars
    if (st.afterSwitch !== undefined) expect(st.afterSwitch).toBe(5);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
  }, 60_000);

  it('results@2: draws an error bar on CPU, copy-equivalents and frames/s of every transport, with no errors', async () => {
    const run = JSON.parse(readFileSync(join(__dirname, 'fixtures-results', 'run2-sample.json'), 'utf8')) as RunResult;
    const file = join(tmp, 'run2.html');
    writeFileSync(file, renderHtml(run, { cost: computeCost(run) }));
    const st = await check(file, join(tmp, 'run2.png'));
    expect(st.errors).toEqual([]);
    expect(st.console).toEqual([]);
    expect(st.painted).toBe(5);
    // first group (realtime): ws, shm, worker-sab, each with an interval on all three figures
    expect(st.whiskers).toBe(9);
  }, 60_000);

  it('runs no script smuggled in through result strings', async () => {
    const file = join(tmp, 'hostile.html');
    writeFileSync(file, renderHtml(hostile(), {}));
    const st = await check(file, join(tmp, 'hostile.png'));
    expect(st.pwned).toBeNull();
    expect(st.imgs).toBe(0);
    expect(st.errors).toEqual([]);
    expect(st.painted).toBe(5);
  }, 60_000);
});
