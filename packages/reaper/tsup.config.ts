import { packageBuild } from '../../tsup.base.js';

export default packageBuild(
  {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    otel: 'src/otel.ts',
    'cli/probe': 'src/cli/probe.ts',
    'cli/init': 'src/cli/init.ts',
  },
  // `import.meta.url` (used to load the optional koffi) needs a shim in the CommonJS build.
  { shims: true },
);
