#!/usr/bin/env node
'use strict';
/**
 * Regenerates the README's samples from the committed example result (docs/samples/results.json):
 *
 *  - docs/samples/terminal.txt: what `bench report <file>` prints (the same tables `bench run` prints),
 *    colour codes stripped; the README's block between <!-- sample:terminal --> and
 *    <!-- /sample:terminal --> is rewritten with it;
 *  - docs/samples/report.png: the top of the HTML report (`bench report --format html`), screenshotted
 *    by headless Chromium ($CHROMIUM_PATH or /usr/bin/chromium), kept under 300 KB.
 *
 * Runs the real CLI, so build the TypeScript first: npm run build:ts && npm run docs:samples
 * test/docs.test.ts checks that terminal.txt and the README block match what `bench report` renders now.
 */
const { spawnSync } = require('node:child_process');
const { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'bench.js');
const SAMPLES = path.join(ROOT, 'docs', 'samples');
const RESULTS = path.join(SAMPLES, 'results.json');
const TERMINAL = path.join(SAMPLES, 'terminal.txt');
const SCREENSHOT = path.join(SAMPLES, 'report.png');
const README = path.join(ROOT, 'README.md');
const BEGIN = '<!-- sample:terminal -->';
const END = '<!-- /sample:terminal -->';
const MAX_PNG_BYTES = 300 * 1024;
// Chromium flags that work offline and as root; the page is laid out 1600 px wide and scaled to 1200 px.
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
  '--window-size=1600,1400', '--force-device-scale-factor=0.75', '--virtual-time-budget=5000',
];

function fail(message) {
  process.stderr.write(`docs-samples: ${message}\n`);
  process.exit(1);
}

/** Runs `node bin/bench.js ...args`; returns stdout, or fails with the CLI's stderr. */
function bench(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) fail(`bench ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').trim()}`);
  return r.stdout;
}

/** Removes ANSI escape sequences (colours, cursor movement). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
function stripAnsi(text) {
  return text.replace(ANSI, '');
}

/** The terminal sample: `bench report <file>` (terminal tables go to stdout), without colour codes. */
function renderTerminalSample(file = RESULTS) {
  return stripAnsi(bench(['report', file, '--format', 'terminal']));
}

/** The README's block between the markers: a fenced code block holding `sample` exactly. */
function readmeBlock(sample) {
  return `${BEGIN}\n\`\`\`text\n${sample.endsWith('\n') ? sample : `${sample}\n`}\`\`\`\n${END}`;
}

/** The text between the markers in `readme` (markers included), or null. */
function findReadmeBlock(readme) {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return null;
  return readme.slice(start, end + END.length);
}

function writeTerminalSample() {
  const sample = renderTerminalSample();
  writeFileSync(TERMINAL, sample);
  const readme = readFileSync(README, 'utf8');
  const old = findReadmeBlock(readme);
  if (old === null) fail(`README.md has no ${BEGIN} ... ${END} block`);
  writeFileSync(README, readme.replace(old, () => readmeBlock(sample)));
  process.stderr.write(`wrote ${path.relative(ROOT, TERMINAL)} and the README block (${sample.split('\n').length - 1} lines)\n`);
}

function writeScreenshot() {
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(chromium)) fail(`no Chromium at ${chromium} (install it with: apt-get install -y chromium)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'framebench-docs-'));
  try {
    const html = path.join(tmp, 'report.html');
    const png = path.join(tmp, 'report.png');
    bench(['report', RESULTS, '--format', 'html', '--out', html]);
    const r = spawnSync(chromium, [...CHROMIUM_FLAGS, `--user-data-dir=${path.join(tmp, 'profile')}`, `--screenshot=${png}`, `file://${html}`], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    if (!existsSync(png)) fail(`Chromium wrote no screenshot (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
    const bytes = statSync(png).size;
    if (bytes > MAX_PNG_BYTES) fail(`the screenshot is ${bytes} B, more than ${MAX_PNG_BYTES} B`);
    copyFileSync(png, SCREENSHOT);
    process.stderr.write(`wrote ${path.relative(ROOT, SCREENSHOT)} (${Math.round(bytes / 1024)} KB)\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function main() {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) fail('dist/ is missing: run npm run build:ts first');
  if (!existsSync(RESULTS)) fail(`${path.relative(ROOT, RESULTS)} is missing`);
  writeTerminalSample();
  writeScreenshot();
}

module.exports = { RESULTS, TERMINAL, SCREENSHOT, BEGIN, END, MAX_PNG_BYTES, renderTerminalSample, stripAnsi, readmeBlock, findReadmeBlock };

if (require.main === module) main();
