#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('FB_ERR_INTERNAL: framebench is not built; run `npm ci` (or `npm run build`) in ' + path.resolve(__dirname, '..') + '\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write('FB_ERR_INTERNAL: ' + (e && e.message ? e.message : String(e)) + '\n'); process.exitCode = 1; },
);
