// Shared Vitest settings. Workspace packages export a `source` condition that points at their
// TypeScript sources, so tests run against the code under edit without a build step.
const conditions = ['source', 'import', 'module', 'node', 'default'];

/** Returns the shared Vitest config, with per-package overrides merged over the test block. */
export function definePackageTestConfig(overrides = {}) {
  return {
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['source'] } },
    test: {
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      ...overrides,
    },
  };
}
