import { botCostLine, botSendFigure, type BotCaseFigures, type BotSendFigure } from '../core/bot-cost';
import { fmtUsd, type CostModelConfig } from '../core/cost';
import type { Interval } from '../core/robust-stats';
import type { RunResult } from '../core/result';
import { fmtNum } from './format';

/**
 * The bot figure section (`--source chromium-bot`, core/bot-cost.ts): the browser tree's CPU per
 * frame with the WebSocket send and without it (the no-send control, same rounds), the difference
 * (what the send costs the bot), its share of the bot's CPU, and beside it a Node producer's
 * shared-memory write of the same frame, labelled as the assumption it is. Terminal, Markdown
 * and HTML render the same rows.
 */

const SHM_ASSUMPTION = 'ASSUMPTION: a page cannot write the ring; this is what a Node producer paid to write the same frame into shm in the same rounds, i.e. what a bot that could would pay';

function iv(x: Interval | null, digits = 0, unit = ''): string {
  if (!x || !(x.n > 0)) return '-';
  const m = `${fmtNum(x.median, digits)}${unit}`;
  return x.n >= 2 ? `${m} [${fmtNum(x.lo, digits)}–${fmtNum(x.hi, digits)}]` : m;
}

function level(f: BotSendFigure): string {
  const l = f.sendUs.level;
  return f.pairedRounds >= 2 ? `${(l * 100).toFixed(l >= 0.995 ? 1 : 0)}% order-statistic interval over ${f.pairedRounds} paired rounds` : `${f.pairedRounds} round(s): no interval`;
}

function pageText(b: BotCaseFigures): string {
  return `${iv(b.pageFps, 1)} fps, ${iv(b.latePct, 1, '%')} late slots`;
}

/** [label, value] rows of the figure, shared by every format. */
export function botRows(f: BotSendFigure): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Chromium tree CPU per frame, with the WebSocket send', `${iv(f.withSendUs)} µs`],
    ['… without it (no-send control, same rounds)', `${iv(f.withoutSendUs)} µs`],
    ['difference: the send, in the bot', `${iv(f.sendUs)} µs`],
    ["the send's share of the bot's CPU", iv(f.sharePct, 1, '%')],
    ['Node shm write of the same frame (assumption)', f.shmWriteUs ? `${iv(f.shmWriteUs)} µs` : 'not measured (shm unavailable)'],
    ['bot CPU saved by moving the send to shared memory', f.savedUs ? `${iv(f.savedUs)} µs per frame` : '-'],
    ['bot page, sending', pageText(f.send)],
    ['bot page, control', pageText(f.control)],
  ];
  const w = f.send.wire;
  if (w) {
    rows.push(['wire (consumer tap)', `${fmtNum(w.fragmentsPerMessage, 1)} WebSocket frames per message (max ${w.maxFragmentsPerMessage}, mean ${fmtNum(w.meanFragmentBytes)} B; 131,000-B chunks would be ${w.expectedAt131000}), ${fmtNum(w.maskedShare * 100, 0)}% of bytes masked`]);
    if (w.flag) rows.push(['wire flag', w.flag]);
  }
  rows.push(['Chromium, clip', `${f.send.chromiumVersion}; ${f.send.codec.toUpperCase()} clip of ${f.send.clipFrames} frames, keyframe every ${f.send.keyEvery}, ${fmtNum(f.send.bitrateKbps)} kbit/s, encoded once per bot in ${fmtNum(f.send.encodeMs)} ms`]);
  if (f.send.stampErrors + f.control.stampErrors > 0) rows.push(['decoder order', `${f.send.stampErrors + f.control.stampErrors} decoded frame(s) with an unexpected clip stamp`]);
  return rows;
}

function title(f: BotSendFigure): string {
  return `The bot: Chromium decodes ${f.width}x${f.height} call video (WebCodecs, I420) and sends it over its own WebSocket`;
}

/** The cost-model line, or null when the run has no shm reference. */
export function botCostText(run: Pick<RunResult, 'results'>, model: CostModelConfig): string | null {
  const f = botSendFigure(run);
  if (!f) return null;
  const c = botCostLine(f, model);
  if (!c) return 'bot CPU saved by moving the send to shared memory: not priced (no shm reference in this run)';
  return `bot CPU saved by moving the send to shared memory: ${iv(c.savedUsPerFrame)} µs per ${model.width}x${model.height} frame` +
    `${c.scaledFrom ? ` (scaled by bytes from ${c.scaledFrom})` : ''}, ${fmtNum(c.savedPctOfBot, 0)}% of the bot's CPU; ` +
    `over ${fmtNum(c.streams)} bots at ${model.fps} fps: ${fmtNum(c.vcpusSaved)} vCPUs = ${fmtUsd(c.usdPerYear)}/yr (${SHM_ASSUMPTION.split(';')[0]})`;
}

export function botTerminal(run: Pick<RunResult, 'results'>): string | null {
  const f = botSendFigure(run);
  if (!f) return null;
  const rows = botRows(f);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [title(f), ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), `  [lo–hi]: ${level(f)}; ${SHM_ASSUMPTION}.`].join('\n');
}

export function botMarkdown(run: Pick<RunResult, 'results'>, model?: CostModelConfig): string[] {
  const f = botSendFigure(run);
  if (!f) return [];
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const out = ['', `### ${title(f)}`, '', '| | per frame |', '|---|---|', ...botRows(f).map(([k, v]) => `| ${esc(k)} | ${esc(v)} |`), '', `[lo–hi]: ${level(f)}. ${SHM_ASSUMPTION}.`];
  const line = model ? botCostText(run, model) : null;
  if (line) out.push('', line);
  return out;
}

function escHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function botHtml(run: Pick<RunResult, 'results'>, model?: CostModelConfig): string {
  const f = botSendFigure(run);
  if (!f) return '';
  const rows = botRows(f).map(([k, v]) => `<tr><td class="l">${escHtml(k)}</td><td class="l">${escHtml(v)}</td></tr>`).join('');
  const line = model ? botCostText(run, model) : null;
  return `<h2 id="bot">${escHtml(title(f))}</h2><table id="bot-figure"><tbody>${rows}</tbody></table>` +
    `<p class="note">${escHtml(`[lo–hi]: ${level(f)}. ${SHM_ASSUMPTION}.`)}</p>${line ? `<p class="headline">${escHtml(line)}</p>` : ''}`;
}
