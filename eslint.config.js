// Lint gate (`npm run lint`, part of `npm test`): ESLint's and typescript-eslint's recommended rules,
// plus the import boundaries the folder READMEs state. Import cycles are checked by dpdm
// (`npm run cycles`), which also sees type-only imports.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Folders `src/config/` may import: parsers and compilers of its own sections, never a component. */
const NOT_FROM_CONFIG = ['admin', 'commands', 'dns', 'forward', 'geo', 'health', 'lifecycle', 'node', 'obs', 'redis', 'store'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.c8_output/', 'appendonlydir/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks what is unused on purpose (a destructured field left out of a
      // copy, a callback's position-only parameter), as tsc's noUnusedParameters allows.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The benchmark helpers are plain Node scripts.
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['src/config/**/*.ts'],
    ignores: ['src/config/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NOT_FROM_CONFIG.map((f) => `../${f}/*`), message: 'src/config/ imports no component: the component registers its own section (src/config/sections.ts, src/node/config.ts).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'src/wire/ is a leaf: it imports nothing from the rest of Meridian.' }] }],
    },
  },
);
