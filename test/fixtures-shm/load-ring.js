'use strict';
// Loads transports/shm-ring.ts from plain JS (the child processes and workers of the shm tests).
// TypeScript sources are transpiled on require (no type check), so tests never run a stale dist/.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

if (!Module._extensions['.ts']) {
  const ts = require('typescript');
  Module._extensions['.ts'] = (m, filename) => {
    const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    m._compile(out.outputText, filename);
  };
}

module.exports = require(path.join(__dirname, '..', '..', 'transports', 'shm-ring.ts'));
module.exports.native = require(path.join(__dirname, '..', '..', 'transports', 'shm-native.ts')).shmNative;
