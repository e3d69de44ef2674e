// `pnpm check:packages`: the published contract of every package, checked on the built artifacts.
//   1. publint --strict: the package.json and the files it points at agree.
//   2. attw --pack: types resolve for import and require under Node's resolution modes and bundlers.
//   3. no built file imports `@holdfast/internal`: the private package is inlined, never imported
//      (a published package has no runtime dependency);
//   4. only the `otel` entries name `@opentelemetry/api` (an optional peer): no other built file
//      loads it, so a user without it can use everything else;
//   5. the packed smoke test: each tarball installs into a fresh project and loads with both
//      `import` and `require`, every entry of its exports map; its README's links resolve from the
//      registry; its types compile with the oldest supported `@types/node`.
// Run after `pnpm build` (the script `check:packages` does both).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, workspacePackages } from './workspace-packages.mjs';

/** An import, re-export, `require` or `import()` of the private package. */
const IMPORTS_INTERNAL = /(from|require\(|import\()\s*['"]@holdfast\/internal['"/]/;
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

process.stdout.write('\n== no built file imports @holdfast/internal\n');
for (const { dir, manifest } of workspacePackages()) {
  const dist = join(dir, 'dist');
  const built = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) =>
    /\.(c?js|d\.c?ts)$/.test(file),
  );
  const naming = built.filter((file) =>
    IMPORTS_INTERNAL.test(readFileSync(join(dist, file), 'utf8')),
  );
  if (built.length === 0) failures.push(`${manifest.name}: no built files in dist/`);
  for (const file of naming)
    failures.push(`${manifest.name}: dist/${file} imports @holdfast/internal`);
  process.stdout.write(
    `${manifest.name}: ${built.length} built files, ${naming.length} importing it\n`,
  );
}

process.stdout.write('\n== only the otel entries load @opentelemetry/api\n');
const IMPORTS_OTEL_API = /(from|require\(|import\()\s*['"]@opentelemetry\/api['"]/;
for (const { dir, manifest } of workspacePackages()) {
  const dist = join(dir, 'dist');
  const loading = readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.c?js$/.test(file))
    .filter((file) => IMPORTS_OTEL_API.test(readFileSync(join(dist, file), 'utf8')));
  for (const file of loading.filter((f) => !/^otel\.c?js$/.test(f)))
    failures.push(`${manifest.name}: dist/${file} loads @opentelemetry/api`);
  process.stdout.write(`${manifest.name}: ${loading.join(', ') || 'none'}\n`);
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
