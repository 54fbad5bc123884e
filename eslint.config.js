// One lint config for the whole repo. Type-aware where it matters most: an unawaited check is
// a bypass, so floating and misused promises are errors.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/coverage/**',
      '**/*.d.ts',
      '**/.tmp/**',
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
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Core is runtime-free: no Node built-ins, no frameworks (tests may use Node).
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'fs',
            'path',
            'crypto',
            'http',
            'https',
            'net',
            'os',
            'buffer',
            'url',
            'util',
            'stream',
            'events',
          ].map((name) => ({ name, message: '@sec/core must not import Node built-ins.' })),
          patterns: [
            { group: ['node:*'], message: '@sec/core must not import Node built-ins.' },
            {
              group: ['express', 'fastify', 'koa', 'hono', 'hono/*'],
              message: '@sec/core must not import a framework.',
            },
          ],
        },
      ],
    },
  },
  {
    // Adapters speak to core only through its public entry point.
    files: ['packages/{express,fastify,koa,hono}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@sec/core/*', '**/core/src/**'],
              message: 'Use the public API of @sec/core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
        globalThis: 'readonly',
      },
    },
  },
)
