import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/errors';
import { SCENARIOS } from '../scenarios';
import { transportNames } from '../transports/registry';
import { RUN_OPTIONS } from '../cli/run';

const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

// The README is the contract with users: it must name what the code has.
describe('README matches the code', () => {
  it('documents every error code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(readme, code).toContain(`\`${code}\``);
  });
  it('documents every transport and scenario', () => {
    for (const t of transportNames()) expect(readme, t).toContain(`\`${t}\``);
    for (const s of SCENARIOS) expect(readme, s.name).toContain(`\`${s.name}\``);
  });
  it('documents every bench run option', () => {
    for (const o of RUN_OPTIONS.filter((x) => x.name !== 'help')) expect(readme, o.name).toContain(`--${o.name}`);
  });
});
