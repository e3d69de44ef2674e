// `pnpm check:packages`: the published contract of every package, checked on the built artifacts.
//   1. publint --strict: the package.json and the files it points at agree.
//   2. attw --pack: types resolve for import and require under Node's resolution modes and bundlers.
//   3. the packed smoke test: each tarball installs into a fresh project and loads with both
//      `import` and `require`, every entry of its exports map.
// Run after `pnpm build` (the script `check:packages` does both).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root, workspacePackages } from './workspace-packages.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
const failures = [];

for (const { dir, manifest } of workspacePackages()) {
  for (const [label, command, args] of [
    ['publint', bin('publint'), ['--strict']],
    // Profile node16: every resolution mode of Node >= 12 and bundlers. Node 10's resolution
    // (no exports map) cannot see subpaths such as `/testing`; our engines say Node >= 20.
    ['attw', bin('attw'), ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
  ]) {
    process.stdout.write(`\n== ${manifest.name}: ${label}\n`);
    try {
      execFileSync(command, args, { cwd: dir, stdio: 'inherit' });
    } catch {
      failures.push(`${manifest.name}: ${label}`);
    }
  }
}

process.stdout.write('\n== packed smoke test\n');
try {
  execFileSync(process.execPath, [join(root, 'scripts', 'smoke-packed.mjs')], { stdio: 'inherit' });
} catch {
  failures.push('packed smoke test');
}

if (failures.length > 0) {
  process.stderr.write(`\ncheck:packages failed: ${failures.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write('\ncheck:packages: every package is clean\n');
