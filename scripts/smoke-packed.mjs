// Packs every package, installs the tarballs into a fresh temporary project with npm (as a user
// would), and loads each entry of each exports map with `import` and with `require`. Then, as a
// reader on the registry: every link of each packed README must be absolute or reach a file of the
// tarball. And as a TypeScript user on the oldest supported `@types/node`: every entry type-checks
// from an ES module and from a CommonJS one (module `node16`, declarations checked too).
// Then without the optional peers: every main entry still loads, and an `otel` entry fails only
// when it is loaded, with an error that names `@opentelemetry/api`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreachableLinks } from './markdown-links.mjs';
import { workspacePackages } from './workspace-packages.mjs';

/** The oldest `@types/node` the shipped declarations support (the generic `EventEmitter`). */
const OLDEST_TYPES_NODE = '20.11.21';
/**
 * A TypeScript of the same time (March 2024): `@types/node` of then does not compile under today's
 * TypeScript (5.7 made typed arrays generic), so a user on the one is on the other.
 */
const TYPESCRIPT = '5.4.5';

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
  // Optional peers (fast-check for the testing kits) are installed too, as a user of a kit would;
  // a peer that is one of our packages (crash-flush's @holdfast/reaper) comes from its tarball.
  const ours = new Set(packages.map(({ manifest }) => manifest.name));
  const peers = packages.flatMap(({ manifest }) =>
    Object.entries(manifest.peerDependencies ?? {})
      .filter(([name]) => !ours.has(name))
      .map(([name, range]) => `${name}@${range}`),
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

  // With the optional peer present, an otel entry works against the API's global (no-op) meter.
  const instrumentBoth = [
    ['@holdfast/batch/otel', 'instrumentBatch'],
    ['@holdfast/reaper/otel', 'instrumentReaper'],
  ];
  for (const [specifier, name] of instrumentBoth) {
    const call = `const i = m.${name}(); if (i.stats().meterErrors !== 0) throw new Error('meter errors'); i.stop();`;
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('${specifier}'); ${call}`],
      { cwd: project, stdio: 'inherit' },
    );
    execFileSync(
      process.execPath,
      ['--input-type=commonjs', '-e', `const m = require('${specifier}'); ${call}`],
      { cwd: project, stdio: 'inherit' },
    );
    process.stdout.write(`ok  ${specifier}: ${name}() with @opentelemetry/api (import, require)\n`);
  }

  // Without the optional peers (no @opentelemetry/api, no fast-check).
  const bare = join(work, 'bare');
  execFileSync('mkdir', ['-p', bare]);
  writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare', private: true }));
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '--omit=optional', ...tarballs],
    { cwd: bare, stdio: 'inherit' },
  );
  if (existsSync(join(bare, 'node_modules', '@opentelemetry', 'api')))
    throw new Error('the bare project has @opentelemetry/api: the peer must be optional');
  for (const { manifest } of packages) {
    const main = JSON.stringify(manifest.name);
    execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${main});`], {
      cwd: bare,
      stdio: 'inherit',
    });
    execFileSync(process.execPath, ['--input-type=commonjs', '-e', `require(${main});`], {
      cwd: bare,
      stdio: 'inherit',
    });
    if (manifest.exports['./otel'] === undefined) continue;
    const otel = JSON.stringify(`${manifest.name}/otel`);
    for (const [type, load] of [
      ['module', `await import(${otel})`],
      ['commonjs', `require(${otel})`],
    ]) {
      const probe = `try { ${load}; console.log('loaded'); } catch (e) { console.log(String(e.message)); }`;
      const out = execFileSync(process.execPath, [`--input-type=${type}`, '-e', probe], {
        cwd: bare,
        encoding: 'utf8',
      });
      if (!out.includes("'@opentelemetry/api'"))
        throw new Error(`${manifest.name}/otel without the peer (${type}): ${out.trim()}`);
    }
    process.stdout.write(
      `ok  ${manifest.name} loads without @opentelemetry/api; /otel says it is missing\n`,
    );
  }

  // The READMEs as the registry shows them: only the tarball's files exist.
  const broken = [];
  for (const tarball of tarballs) {
    const unpacked = join(work, 'unpacked', tarball.split('/').at(-1));
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const readme = readFileSync(join(unpacked, 'package', 'README.md'), 'utf8');
    for (const { target, line } of unreachableLinks(readme, 'README.md', (path) =>
      existsSync(join(unpacked, 'package', path)),
    )) {
      broken.push(`${tarball.split('/').at(-1)} README.md:${line}: ${target}`);
    }
  }
  if (broken.length > 0) {
    throw new Error(`packed READMEs link outside their tarball:\n${broken.join('\n')}`);
  }
  process.stdout.write(`packed READMEs: every link reachable from the registry\n`);

  // Types, with the oldest @types/node: an ES module and a CommonJS module import every entry.
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `@types/node@${OLDEST_TYPES_NODE}`,
      `typescript@${TYPESCRIPT}`,
    ],
    { cwd: project, stdio: 'inherit' },
  );
  const entries = packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`)),
  );
  writeFileSync(
    join(project, 'esm.mts'),
    entries.map((e, i) => `import * as m${i} from ${JSON.stringify(e)};\nvoid m${i};`).join('\n'),
  );
  writeFileSync(
    join(project, 'cjs.cts'),
    entries.map((e, i) => `import m${i} = require(${JSON.stringify(e)});\nvoid m${i};`).join('\n'),
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  execFileSync(join(project, 'node_modules', '.bin', 'tsc'), ['-p', project], {
    stdio: 'inherit',
  });
  process.stdout.write(
    `types: ${entries.length} entries type-check with @types/node ${OLDEST_TYPES_NODE}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
