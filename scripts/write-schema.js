'use strict';
// Writes schema/run@2.schema.json from core/result-schema.ts and schema/config.schema.json (the settings
// schema of bench.config.ts) from harness/settings-schema.ts (run after `npm run build:ts`).
// test/result-schema.test.ts and test/unit-settings.test.ts check the committed files equal what this writes.
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const { runResultJsonSchema } = require(path.join(dist, 'core', 'result-schema.js'));
const { configJsonSchema } = require(path.join(dist, 'harness', 'settings-schema.js'));
for (const [name, schema] of [['run@2.schema.json', runResultJsonSchema()], ['config.schema.json', configJsonSchema()]]) {
  const file = path.join(__dirname, '..', 'schema', name);
  fs.writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
  process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
