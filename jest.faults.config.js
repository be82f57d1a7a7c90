/**
 * The fault drills (`npm run test:faults`, docs/faults.md): real processes from the build, faults
 * injected from the outside. Not part of `npm test`: they run one after the other on one cluster, on a
 * Redis database index of their own (TEST_REDIS_URL, set by the npm script), which a drill flushes.
 */
export default {
  testTimeout: 240_000,
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.faults-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
};
