import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'data/**',
      'dist/**',
      'coverage/**',
      'tests/fixtures/**',
      'clients/typescript/schema.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the seeded generator in src/engine/random.ts.' },
      ],
    },
  },
  // The dashboard's modules run in the browser as they are (no build step).
  { files: ['src/http/dashboard/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: globals.node } },
  {
    // Stored files (datasets, models, checkpoints) go through the FileStore port, so they can live
    // in a bucket as well as on a disk: only src/storage/ touches the file system. Besides it,
    // src/cli/ runs a private Redis in DATA_DIR/redis, config.ts reads a .env file, and the engine
    // loads its own compiled kernels (.wasm, native addon) from next to its code.
    files: ['src/**/*.ts'],
    ignores: ['src/storage/**', 'src/cli/**', 'src/config.ts', 'src/engine/kernels/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        ...['fs', 'fs/promises', 'node:fs', 'node:fs/promises'].map((name) => ({
          name,
          message: 'Files go through the FileStore port (src/storage/file-store.ts), not the file system.',
        })),
      ],
    },
  },
);
