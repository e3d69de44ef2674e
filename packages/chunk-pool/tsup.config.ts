import { packageBuild } from '../../tsup.base.js';

export default packageBuild({
  index: 'src/index.ts',
  testing: 'src/testing.ts',
  'cli/chunks': 'src/cli/chunks.ts',
  otel: 'src/otel.ts',
});
