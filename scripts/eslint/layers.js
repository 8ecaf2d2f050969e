'use strict';
/**
 * framebench/layers: the import-boundary rule. Every top-level folder is a layer; a module may
 * import only from the layers listed for its own (lower layers never import higher ones). See
 * docs/architecture.md. Relative imports are resolved against the importing file, so the rule
 * knows the target's folder whatever the depth (transports/shm/x.ts -> ../../core/errors).
 */
const fs = require('node:fs');
const path = require('node:path');

/** What each layer may import (besides itself). Folders not listed here are not checked. */
const LAYERS = {
  core: [],
  transports: ['core'],
  sources: ['core'],
  profile: ['core'],
  measure: ['core', 'profile'],
  scenarios: ['core'],
  reporters: ['core'],
  harness: ['core', 'transports', 'sources', 'profile', 'measure', 'scenarios'],
  torture: ['core', 'transports', 'sources', 'profile', 'measure', 'scenarios', 'harness'],
  cli: ['core', 'transports', 'sources', 'profile', 'measure', 'scenarios', 'harness', 'torture', 'reporters'],
  // examples/ import the package by name ('framebench'), as a user's module does, never a layer's file
  examples: [],
};

const ROOT = path.resolve(__dirname, '..', '..');

function layerOf(file) {
  const rel = path.relative(ROOT, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const top = rel.split(path.sep)[0];
  // a file at the top ('../index') is the package entry; a folder ('../scenarios') is its layer
  if (!rel.includes(path.sep) && !(fs.existsSync(file) && fs.statSync(file).isDirectory())) return '(root)';
  return top;
}

module.exports = {
  LAYERS,
  rule: {
    meta: {
      type: 'problem',
      docs: { description: 'lower layers never import higher ones (core < transports, sources, profile < measure < harness < torture < cli; reporters on core)' },
      schema: [],
      messages: { up: "{{from}}/ may not import {{to}}/ ('{{spec}}'): {{from}} imports only {{allowed}}" },
    },
    create(context) {
      const file = context.filename;
      const from = layerOf(file);
      if (!from || !(from in LAYERS)) return {};
      const allowed = new Set([from, ...LAYERS[from]]);
      const check = (node, spec) => {
        if (typeof spec !== 'string' || !spec.startsWith('.')) return;
        const to = layerOf(path.resolve(path.dirname(file), spec));
        if (to === null || allowed.has(to)) return;
        context.report({ node, messageId: 'up', data: { from, to, spec, allowed: [...allowed].join(', ') } });
      };
      const fromSource = (node) => node.source && check(node.source, node.source.value);
      return {
        ImportDeclaration: fromSource,
        ExportNamedDeclaration: fromSource,
        ExportAllDeclaration: fromSource,
        ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
        TSImportType: (node) => {
          const src = node.source || node.argument; // typescript-eslint 8: `source`; older: `argument`
          const arg = src && src.literal ? src.literal : src;
          if (arg && arg.type === 'Literal') check(arg, arg.value);
        },
        CallExpression: (node) => {
          if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0] && node.arguments[0].type === 'Literal') {
            check(node.arguments[0], node.arguments[0].value);
          }
        },
      };
    },
  },
};
