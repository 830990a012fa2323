import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Type information comes from tsconfig.json, which covers src, examples, test and bench.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly', performance: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly' },
    },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Functions that implement a promise-returning port (the in-memory adapters, Fastify handlers)
      // are async without awaiting anything, so that a throw becomes a rejection like anywhere else.
      '@typescript-eslint/require-await': 'off',
      // A promise nobody awaits hides its failure: await it, or mark it `void` where fire-and-forget is meant.
      // node:test's test() and describe() return promises its runner already waits for.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
    },
  },
  // Plain JavaScript outside the TypeScript project (this file, the bin stub) is linted without types.
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
)
