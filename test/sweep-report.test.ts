import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeCost } from '../core/cost';
import { renderHtml } from '../reporters/html';
import { sweepChartData } from '../reporters/sweep-charts';
import { requireOrSkip } from './support/require';
import { sweepRun } from './support/sweep-run';

/**
 * The sweep's HTML: its charts (CPU per frame against frame bytes on log axes with the fitted laws, error bars
 * and crossings; throughput against producers; CPU per second against fps) render in real headless Chromium
 * with no errors; a screenshot goes to reports/test-artifacts/sweep.png.
 */

const ROOT = resolve(__dirname, '..');
const ARTIFACTS = join(ROOT, 'reports', 'test-artifacts');
const tmp = mkdtempSync(join(tmpdir(), 'fb-sweep-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const run = sweepRun();

describe('sweep HTML, static', () => {
  const html = renderHtml(run, { cost: computeCost(run) });

  it('has the sweep section, its tables, crossings and chart data', () => {
    expect(html).toContain('<h2 id="sweep">');
    for (const id of ['sweep-size', 'sweep-producers', 'sweep-fps', 'sweep-crossings', 'sweep-table-0']) expect(html).toContain(`id="${id}"`);
    expect(html).toMatch(/<li>realtime\/i420: below ~[^<]* ws is cheaper than shm/);
  });

  it('charts a panel per series and side, total first, with every law and the crossings it can place', () => {
    const d = sweepChartData(run, run.sweep!);
    expect(d.size[0].label).toBe('realtime/i420 · total CPU');
    expect(d.size).toHaveLength(3);
    expect(d.size[0].lines.map((l) => l.transport).sort()).toEqual(['shm', 'tcp', 'unix', 'ws']);
    expect(d.size[0].lines.every((l) => l.points.length === 4 && l.law !== null)).toBe(true);
    expect(d.size[0].crossings.some((c) => [c.a, c.b].sort().join() === 'shm,ws')).toBe(true);
    expect(d.producers[0].lines.map((l) => l.points.map((p) => p.x))).toEqual([[1, 2, 4], [1, 2, 4]]);
    expect(d.fps[0].lines).toHaveLength(2);
  });

  it('escapes strings from the result', () => {
    const hostile = sweepRun();
    hostile.sweep!.crossings[0].sentence = '<img src=x onerror=alert(1)>';
    expect(renderHtml(hostile, {})).not.toContain('<img src=x');
  });
});

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function puppeteerReason(): string | null {
  if (!CHROMIUM) return 'no Chromium (apt-get install -y chromium)';
  try {
    require.resolve('puppeteer-core');
    return null;
  } catch {
    return 'puppeteer-core is not installed';
  }
}

describe.skipIf(requireOrSkip('chromium', puppeteerReason()))('sweep charts in headless Chromium', () => {
  it('render with no errors: three charts painted, error bars drawn, the series picker redraws', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'sweep.html');
    writeFileSync(file, renderHtml(run, { cost: computeCost(run) }));
    const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
    const userDataDir = mkdtempSync(join(tmp, 'profile-'));
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM!, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${userDataDir}`],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${(e as Error).message}`));
      await page.setViewport({ width: 1500, height: 1000 });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const read = () => page.$eval('#fb-sweep-status', (e) => ({
        charts: Number(e.getAttribute('data-charts')), painted: Number(e.getAttribute('data-painted')),
        whiskers: Number(e.getAttribute('data-whiskers')), errors: JSON.parse(e.getAttribute('data-errors') ?? '[]') as string[],
      }));
      const st = await read();
      expect(st.errors).toEqual([]);
      expect(problems).toEqual([]);
      expect(st.charts).toBe(3);
      expect(st.painted).toBe(3);
      // 4 transports x 4 sizes on the size chart, 2 x 3 x 2 on producers, 2 x 3 on fps, plus the crossings' bars
      expect(st.whiskers).toBeGreaterThanOrEqual(16 + 12 + 6);
      const shot = join(ARTIFACTS, 'sweep.png');
      const el = await page.$('#sweep');
      await el!.scrollIntoView();
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      // the consumer side's panel
      await page.select('#sweep-size-pick', '2');
      const after = await read();
      expect(after.errors).toEqual([]);
      expect(after.painted).toBe(3);
    } finally {
      await browser.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
