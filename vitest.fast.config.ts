// `npm run test:fast`: the tests that need no Redis, no child processes and no build, for a quick
// check while editing (well under 30 s on an idle machine). `npm test` still runs everything.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/engine/**/*.test.ts',
      'tests/data/**/*.test.ts',
      'tests/domain/**/*.test.ts',
      'tests/jobs/resolve-spec.test.ts',
      'tests/storage/commands.test.ts',
      'tests/http/errors.test.ts',
      'tests/architecture.test.ts',
      'tests/function-lengths.test.ts',
      'tests/ops/env-example.test.ts',
      'tests/ops/limits-readme.test.ts',
    ],
    // Native kernels are compiled on first use: not a quick check.
    exclude: ['tests/engine/native-kernels.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
  },
});
