'use strict';
// Writes schema/run@2.schema.json from core/result-schema.ts (run after `npm run build:ts`).
// test/result-schema.test.ts checks the committed file equals what this writes.
const fs = require('node:fs');
const path = require('node:path');
const { runResultJsonSchema } = require(path.join(__dirname, '..', 'dist', 'core', 'result-schema.js'));
const file = path.join(__dirname, '..', 'schema', 'run@2.schema.json');
fs.writeFileSync(file, JSON.stringify(runResultJsonSchema(), null, 2) + '\n');
process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
