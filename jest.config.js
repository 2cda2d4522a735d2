// Two projects. Jest runs a project's globalSetup only when at least one of its suites is
// selected, so `jest test/unit` (npm run test:unit) never prepares the machine (prepare.sh,
// apt-get) nor starts the private Docker engine; any selection with an integration suite does.
// test/setup/environment.ts: the node environment, plus a full GC after each file, so workers exit
// within jest-worker's 500 ms once the run is over.
const ts = { preset: 'ts-jest', testEnvironment: '<rootDir>/test/setup/environment.ts', testMatch: ['**/*.test.ts'] };

/** @type {import('jest').Config} */
module.exports = {
  // Integration suites share one private Docker engine and real namespaces; two workers fit 2 cores.
  maxWorkers: 2,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
  projects: [
    { ...ts, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...ts,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
