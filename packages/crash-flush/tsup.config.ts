import { packageBuild } from '../../tsup.base.js';

export default packageBuild(
  {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    otel: 'src/otel.ts',
    // The preload `runCrashScenarios` passes to `node --import`: loaded by path, never imported.
    'testing/crash-trigger': 'src/testing/crash-trigger.ts',
    'cli/supervise': 'src/cli/supervise.ts',
  },
  // `import.meta.url` in the CommonJS build (the testing kit finds the preload next to itself).
  { shims: true },
);
