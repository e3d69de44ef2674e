// After `changeset version` bumps a package.json, writes the same version into that package's
// `src/version.ts`, so the exported VERSION constant never disagrees with the manifest.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspacePackages } from './workspace-packages.mjs';

for (const { dir, manifest } of workspacePackages()) {
  const source = [
    `/** The version of \`${manifest.name}\`; kept equal to package.json by \`pnpm version-packages\`. */`,
    `export const VERSION = '${manifest.version}';`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'src', 'version.ts'), source);
}
