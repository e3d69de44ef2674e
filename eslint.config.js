import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'docs/api/**',
      'coverage/**',
      // Code that breaks a rule on purpose; test/lint-rules.test.ts lints it and expects the errors.
      'test/fixtures/lint/**',
      // mutation testing: Stryker's sandbox copies of the repository and its reports
      '.stryker-tmp/**',
      'reports/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits is a crash nobody sees: the one bug class this SDK exists to stop.
      // `void promise` counts as floating too: `void` hides a rejection, it does not handle one.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // In library code an `async` function with no `await` is usually a mistake. Where it is not
    // (`async` so that a throw rejects: an async entry point never throws synchronously), the
    // disable comment says so. Tests, benchmarks and examples are exempt: their async stand-ins
    // play the user's code, which has every right to be async without awaiting.
    files: ['packages/*/src/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: globals.node,
    },
  },
  prettier,
);
