// ESLint (flat config): typescript-eslint's recommended rules and the layer rule
// (scripts/eslint/layers.js) that keeps lower layers from importing higher ones.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/eslint/layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'reports/**', '.cache/**', 'fixtures/page/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { framebench: { rules: { layers: layers.rule } } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'framebench/layers': 'error',
      // CommonJS package: optional or heavy modules (ws, zeromq, typescript, puppeteer) are
      // required lazily, where they are first needed, so a command pays only for what it uses.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', performance: 'readonly' } },
  },
);
