// Lint gate (`npm run lint`, part of `npm test`): ESLint's and typescript-eslint's recommended rules,
// plus the import boundaries the folder READMEs state. Import cycles are checked by dpdm
// (`npm run cycles`), which also sees type-only imports.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    // The dashboard's scripts run in the browser as plain ES modules (src/admin/ui/README.md).
    files: ['src/admin/ui/public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // src/config/ is a leaf (schema, document types, plain-data parsing): node:*, npm packages and
    // its own files only. What compiles a section with a component lives in that component or in
    // src/node/, and component types reach config types by declaration merging.
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['../*'], message: 'src/config/ is a leaf: it imports no component. The component registers its own section (src/config/sections.ts, src/node/config.ts).' }],
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
