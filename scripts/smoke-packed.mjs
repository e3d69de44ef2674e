// Packs every package, installs the tarballs into a fresh temporary project with npm (as a user
// would), and loads each entry of each exports map with `import` and with `require`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspacePackages } from './workspace-packages.mjs';

const work = mkdtempSync(join(tmpdir(), 'holdfast-smoke-'));
try {
  const packages = workspacePackages();
  const tarballs = packages.map(({ dir }) => {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', work], {
      cwd: dir,
      encoding: 'utf8',
    });
    return out.trim().split('\n').at(-1);
  });

  const project = join(work, 'project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true }));
  // Optional peers (fast-check for the testing kits) are installed too, as a user of a kit would.
  const peers = packages.flatMap(({ manifest }) =>
    Object.entries(manifest.peerDependencies ?? {}).map(([name, range]) => `${name}@${range}`),
  );
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...new Set(peers)],
    {
      cwd: project,
      stdio: 'inherit',
    },
  );

  let checked = 0;
  for (const { manifest } of packages) {
    const specifiers = Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
    for (const specifier of specifiers) {
      const viaImport = `const m = await import(${JSON.stringify(specifier)}); if (Object.keys(m).length === 0) throw new Error('no exports');`;
      const viaRequire = `const m = require(${JSON.stringify(specifier)}); if (Object.keys(m).length === 0) throw new Error('no exports');`;
      execFileSync(process.execPath, ['--input-type=module', '-e', viaImport], {
        cwd: project,
        stdio: 'inherit',
      });
      execFileSync(process.execPath, ['--input-type=commonjs', '-e', viaRequire], {
        cwd: project,
        stdio: 'inherit',
      });
      process.stdout.write(`ok  ${specifier} (import, require)\n`);
      checked += 1;
    }
  }
  process.stdout.write(`packed smoke test: ${checked} entry points loaded both ways\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
