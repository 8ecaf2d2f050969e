import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/errors';
import { SCENARIOS } from '../scenarios';
import { transportNames } from '../transports/registry';
import { RUN_OPTIONS } from '../cli/run';
import { ROOT, runCli } from './support/cli';

/**
 * The README is the front door and docs/ holds the rest: together they must name what the code
 * has, every relative link must land on a file (and a heading, for #anchors), and the README's
 * sample output must be what `bench report` renders today from the committed example result.
 */
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');
const DOCS = readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const PAGES = ['README.md', 'transports/shm/README.md', ...DOCS];
const readme = read('README.md');
const allDocs = PAGES.map(read).join('\n');

const SAMPLE_RESULTS = 'docs/samples/results.json';
const SAMPLE_TERMINAL = 'docs/samples/terminal.txt';
const SAMPLE_PNG = 'docs/samples/report.png';
const BEGIN = '<!-- sample:terminal -->';
const END = '<!-- /sample:terminal -->';
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Text outside fenced code blocks (links and headings there are not links and headings). */
function prose(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's anchor for a heading: rendered text, lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, ''); // code spans and emphasis keep their content
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown file offers: its headings' slugs, with -1, -2 ... for repeats. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = githubSlug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The relative link targets of a Markdown file (inline links and images; external URLs left out). */
function relativeLinks(md: string): string[] {
  const text = prose(md).replace(/`[^`\n]*`/g, 'code');
  const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

/** Problems with the relative links of `page` (a path from the package root), one line each. */
function brokenLinks(page: string, md: string = read(page)): string[] {
  const problems: string[] = [];
  for (const target of relativeLinks(md)) {
    const [file, anchor] = target.split('#', 2) as [string, string | undefined];
    const dest = file === '' ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), decodeURIComponent(file));
    if (!existsSync(dest)) {
      problems.push(`${page}: (${target}): no file ${path.relative(ROOT, dest)}`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!dest.endsWith('.md')) {
      problems.push(`${page}: (${target}): an anchor into a file that is not Markdown`);
    } else if (!anchors(file === '' ? md : readFileSync(dest, 'utf8')).has(anchor)) {
      problems.push(`${page}: (${target}): no heading with anchor #${anchor} in ${path.relative(ROOT, dest)}`);
    }
  }
  return problems;
}

/** Paths inside the package named in `code spans` (top folder or a root file), generated output left out. */
function mentionedPaths(md: string): string[] {
  const tops = new Set(readdirSync(ROOT).filter((f) => !f.startsWith('.') && f !== 'node_modules'));
  const generated = /^(dist|reports|\.cache)\/|\/build\//;
  const out: string[] = [];
  for (const m of md.matchAll(/`([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+\/?)`/g)) {
    const p = m[1];
    if (tops.has(p.split('/')[0]) && !generated.test(p)) out.push(p);
  }
  return out;
}

describe('README is the front door', () => {
  it('is at most 250 lines and keeps the two commands', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    expect(readme).toContain('npm ci && npx bench run');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('links every page under docs/ and the ring README', () => {
    const linked = new Set(relativeLinks(readme).map((t) => path.normalize(t.split('#')[0])));
    for (const page of [...DOCS, 'transports/shm/README.md']) expect([...linked], page).toContain(page);
  });

  it('reaches every section the one-page README had, under docs/', () => {
    // [page, heading]: the former README's sections, each now a heading of the page the README links.
    const FORMER: Array<[string, string]> = [
      ['README.md', 'Two commands'],
      ['README.md', 'Reading a row'], // "What it measures" and "Reading the table"
      ['docs/transports.md', 'Transports'],
      ['docs/options.md', 'Scenarios'],
      ['docs/options.md', '`bench run` options, scenarios and the other commands'],
      ['docs/ring.md', 'Shared-memory ring (`shm`, `shm-copy`)'],
      ['transports/shm/README.md', 'Layout (version 4)'],
      ['docs/ring.md', 'Waiting without blocking the event loop'],
      ['docs/ring.md', 'Trust, death and cleanup'],
      ['docs/ring.md', 'Using the ring on its own'],
      ['docs/copy-accounting.md', 'Copy accounting'],
      ['docs/copy-accounting.md', 'What the interposer cannot see'],
      ['docs/chromium.md', 'Real frames from Chromium: fixtures and live mode'],
      ['docs/chromium.md', 'Live mode'],
      ['docs/reports-and-cost.md', 'Fleet cost'],
      ['docs/reports-and-cost.md', 'Comparing runs'],
      ['docs/reports-and-cost.md', 'Flame graphs (`bench run --flame`)'],
      ['docs/transports.md', 'The transports people reach for instead'],
      ['docs/transports.md', 'Harness: hosted topologies'],
      ['docs/transports.md', 'Known limitations'],
      ['docs/gate.md', 'Regression gate (`bench gate`)'],
      ['docs/reliability-and-security.md', 'Threat model'],
      ['docs/reliability-and-security.md', 'Security review'],
      ['docs/reliability-and-security.md', 'Torture (`bench torture`)'],
      ['docs/result-schema.md', 'Result file (`framebench/run@2`)'],
      ['docs/error-codes.md', 'Error codes'],
      ['docs/architecture.md', 'Folders'],
    ];
    for (const [page, heading] of FORMER) expect([...anchors(read(page))], `${page}: ${heading}`).toContain(githubSlug(heading));
  });

  it('keeps the torture table markers that bench torture --update-doc rewrites', () => {
    const page = read('docs/reliability-and-security.md');
    expect(page).toContain('<!-- torture:begin -->');
    expect(page).toContain('<!-- torture:end -->');
  });
});

describe('links and paths', () => {
  it.each(PAGES)('%s: every relative link lands on a file and heading', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('catches a broken link and a broken anchor', () => {
    const md = '# Top\n\n[ok](#top) [bad](#nowhere) [gone](docs/missing.md) [file](README.md#two-commands)\n```\n[code](not-a-link.md)\n```\n';
    expect(brokenLinks('README.md', md)).toEqual([
      'README.md: (#nowhere): no heading with anchor #nowhere in README.md',
      'README.md: (docs/missing.md): no file docs/missing.md',
    ]);
  });

  it('slugs headings as GitHub does', () => {
    expect(githubSlug('`pipe` — named FIFOs')).toBe('pipe--named-fifos');
    expect(githubSlug('HTML (`--format html`)')).toBe('html---format-html');
    expect(githubSlug('Harness: hosted topologies')).toBe('harness-hosted-topologies');
    expect(githubSlug('Result file (`framebench/run@1`)')).toBe('result-file-framebenchrun1');
  });

  it.each(PAGES)('%s: every path it names in the package exists', (page) => {
    const missing = mentionedPaths(read(page)).filter((p) => !existsSync(path.join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('transports/shm/README.md names only files of its folder', () => {
    const dir = path.join(ROOT, 'transports', 'shm');
    const named = [...read('transports/shm/README.md').matchAll(/`([\w.-]+\.ts)`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((f) => !existsSync(path.join(dir, f)))).toEqual([]);
  });
});

describe('the docs match the code', () => {
  it('docs/error-codes.md lists every error code, and no other', () => {
    const page = read('docs/error-codes.md');
    const listed = [...page.matchAll(/^\| `(FB_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('docs/transports.md describes every registered transport, and the README says when to pick each', async () => {
    const page = read('docs/transports.md');
    const names = transportNames();
    expect(names.filter((t) => !page.includes(`| \`${t}\` |`)), 'no row in docs/transports.md').toEqual([]);
    expect(names.filter((t) => !readme.includes(`\`${t}\``)), 'not named in the README').toEqual([]);
    const list = await runCli(['list']);
    expect(list.code).toBe(0);
    const listed = list.stdout.split('\n\n')[0].split('\n').slice(3).map((l) => l.split(/\s+/)[0]).filter(Boolean);
    expect(listed.sort()).toEqual([...names].sort());
  });

  it('documents every scenario and bench run option', () => {
    const page = read('docs/options.md');
    expect(SCENARIOS.map((x) => x.name).filter((n) => !page.includes(`\`${n}\``)), 'scenarios').toEqual([]);
    const options = RUN_OPTIONS.filter((x) => x.name !== 'help').map((x) => `--${x.name}`);
    expect(options.filter((o) => !new RegExp(`^${o}\\b`, 'm').test(page)), 'bench run options').toEqual([]);
  });

  it('names only error codes that exist anywhere in the docs', () => {
    const named = new Set([...allDocs.matchAll(/\bFB_ERR_[A-Z_]*[A-Z]\b/g)].map((m) => m[0]));
    expect([...named].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});

describe('README samples are generated, not stale', () => {
  it('docs/samples/terminal.txt is what bench report renders from docs/samples/results.json now', async () => {
    const r = await runCli(['report', SAMPLE_RESULTS, '--format', 'terminal']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rendered = r.stdout.replace(ANSI, '');
    expect(rendered.length).toBeGreaterThan(0);
    expect(read(SAMPLE_TERMINAL), 'run: npm run build:ts && npm run docs:samples').toBe(rendered);
  });

  it("the README's marked block is docs/samples/terminal.txt", () => {
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const block = readme.slice(start + BEGIN.length, end);
    expect(block, 'run: npm run docs:samples').toBe(`\n\`\`\`text\n${read(SAMPLE_TERMINAL)}\`\`\`\n`);
  });

  it('the screenshot is a small PNG the README shows, and npm run docs:samples makes both', () => {
    const png = readFileSync(path.join(ROOT, SAMPLE_PNG));
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(statSync(path.join(ROOT, SAMPLE_PNG)).size).toBeLessThan(300 * 1024);
    expect(readme).toMatch(/!\[[^\]]*\]\(docs\/samples\/report\.png\)/);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['docs:samples']).toBe('node scripts/docs-samples.js');
  });
});
