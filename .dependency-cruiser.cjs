// The import rules of README.md "Architecture", checked by `npm run lint` (dependency-cruiser reads
// every import, type-only ones included, and also fails on import cycles).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'An import cycle hides which module depends on which. Type-only imports are left out inside engine/, whose types.ts names the classes it describes.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-type-cycles-outside-the-engine',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/engine/' },
      to: { circular: true },
    },
    {
      name: 'engine-is-self-contained',
      severity: 'error',
      comment: 'engine/ imports only engine/ and node: builtins.',
      from: { path: '^src/engine/' },
      to: { pathNot: ['^src/engine/', '^node:'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'data-uses-only-the-engine-surface',
      severity: 'error',
      comment: 'data/ imports data/ and engine/index.ts only.',
      from: { path: '^src/data/' },
      to: { path: '^src/', pathNot: ['^src/data/', '^src/engine/index\\.ts$'] },
    },
    {
      name: 'engine-through-its-index',
      severity: 'error',
      comment: 'Outside engine/, the engine is imported through engine/index.ts.',
      from: { path: '^src/', pathNot: '^src/engine/' },
      to: { path: '^src/engine/', pathNot: '^src/engine/index\\.ts$' },
    },
    {
      name: 'domain-knows-no-transport-redis-or-files',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        path: [
          '^src/(http|storage|queue|worker|cli)/',
          'node_modules/(fastify|@fastify|bullmq|ioredis)/',
          '^(node:)?fs(/promises)?$',
        ],
      },
    },
    {
      name: 'routes-call-services-only',
      severity: 'error',
      from: { path: '^src/http/routes/' },
      to: { path: ['^src/(storage|queue|engine|data)/', 'node_modules/(bullmq|ioredis)/'] },
    },
    {
      name: 'only-queue-imports-bullmq',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/queue/' },
      to: { path: 'node_modules/bullmq/' },
    },
    {
      name: 'only-storage-and-queue-import-ioredis',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(storage|queue)/' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'worker-never-imports-http',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/http/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
