'use strict';
// Preloaded with NODE_OPTIONS=--require: at exit, writes to $FB_TRACE_OUT whether the `typescript`
// package was loaded in this process (test/cli-parse.test.ts: a flag error never loads the compiler).
const fs = require('node:fs');
const path = require('node:path');
process.on('exit', () => {
  const ts = Object.keys(require.cache).filter((f) => f.includes(`${path.sep}node_modules${path.sep}typescript${path.sep}`));
  fs.writeFileSync(process.env.FB_TRACE_OUT, JSON.stringify({ typescript: ts.length > 0 }));
});
