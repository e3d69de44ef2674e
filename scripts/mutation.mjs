// `pnpm test:mutation [package [core file ...]] [--force]`: StrykerJS (vitest runner) over one
// package's core files (or some of them), or over each package in turn, then the scores into
// docs/quality.md.
//
// - Per-test coverage: a mutant runs only the tests that reach it.
// - Incremental: results live in `.stryker/<package>.incremental.json`, committed, so a re-run
//   tests only the mutants whose code or covering tests changed. `--force` retests everything.
// - Stryker needs Node >= 22; on an older Node the script runs itself again on Node 24 from the
//   npm registry (`npx node@24`, as CI does).
// - docs/quality.md keeps the sections of the packages not run this time.
// - Surviving mutants that cannot be killed are listed, with why, in docs/quality-equivalent.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Each package's core files, relative to the package: the only files mutated. */
const coreFiles = {
  batch: [
    'src/internal/engine.ts',
    // Split out of the engine (issue 16): the batch deadline, the abandoned-work cap, the verdict.
    'src/internal/batch-deadline.ts',
    'src/internal/abandoned-cap.ts',
    'src/internal/verdict.ts',
    'src/internal/attempt.ts',
    'src/internal/deadline-queue.ts',
    'src/fetch-each.ts',
    'src/inventory.ts',
  ],
  'chunk-pool': [
    'src/pool.ts',
    // Split out of pool.ts (issue 18): a chunk's states, and the pool's parts, one concern each.
    'src/chunk.ts',
    'src/chunk-states.ts',
    'src/pool/core.ts',
    'src/pool/admission.ts',
    'src/pool/append-waiters.ts',
    'src/pool/placement.ts',
    'src/pool/persistence.ts',
    'src/pool/memory.ts',
    'src/pool/delivery.ts',
    'src/pool/leases.ts',
    'src/pool/departures.ts',
    'src/pool/recovery.ts',
    'src/pool/dead-letter-calls.ts',
    'src/pool/unrouted.ts',
    'src/pool/pool-stats.ts',
    'src/pool/pool-errors.ts',
    'src/budget.ts',
    'src/lease.ts',
    'src/storage/segment-format.ts',
    'src/storage/segment-log.ts',
    'src/storage/file-storage.ts',
  ],
  'crash-flush': [
    'src/guard.ts',
    'src/supervise.ts',
    // Split out of supervise.ts: one run of the child, its memory samples, and its exit diagnosis.
    'src/internal/run-child.ts',
    'src/internal/child-memory.ts',
    'src/exit-diagnosis.ts',
    'src/report.ts',
    'src/sinks.ts',
  ],
  reaper: ['src/run.ts', 'src/reaper.ts', 'src/health-check.ts', 'src/internal/process-groups.ts'],
};

// Two cores shared with other work; the process-level tests of crash-flush and reaper spawn real
// processes, so a mutant's time limit is generous: twice the test's own time plus 10 s.
const workers = 2;
const timeoutFactor = 2;
const timeoutMS = 10_000;

const qualityPage = join(root, 'docs/quality.md');
const equivalentFile = join(root, 'docs/quality-equivalent.json');
const require = createRequire(import.meta.url);

function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  // `--from-report`: no Stryker run; the last run's report summarised again (after an edit of
  // docs/quality-equivalent.json, say).
  const fromReport = args.includes('--from-report');
  const [name, ...files] = args.filter((arg) => arg !== '--force' && arg !== '--from-report');
  const usage = `usage: pnpm test:mutation [${Object.keys(coreFiles).join('|')} [core file ...]] [--force | --from-report]`;
  if (name !== undefined && !(name in coreFiles)) fail(`${usage}\nunknown package: ${name}`);
  const strangers = files.filter((file) => !coreFiles[name].includes(file));
  if (strangers.length > 0) {
    fail(
      `${usage}\nnot a core file of ${name}: ${strangers.join(', ')} (one of ${coreFiles[name].join(', ')})`,
    );
  }
  if (!fromReport && Number(process.versions.node.split('.')[0]) < 22) rerunOnNode24();

  const equivalents = readEquivalents();
  for (const pkg of name === undefined ? Object.keys(coreFiles) : [name]) {
    // A subset of the core files (a quicker run while working on one file) is reported as such.
    const run = files.length > 0 ? files : coreFiles[pkg];
    const result = fromReport ? lastReport(pkg) : runStryker(pkg, run, force);
    writeQualityPage(pkg, summarize(pkg, run, result, equivalents));
  }
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

/** Stryker requires Node >= 22: run this script again on Node 24, then exit with its status. */
function rerunOnNode24() {
  console.log(
    `== Node ${process.version} is older than Stryker needs (22); using Node 24 from npm`,
  );
  const output = execFileSync('npx', ['--yes', 'node@24', '-p', 'process.execPath'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const node24 = output.trim().split('\n').at(-1);
  const child = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    // Tests that spawn `node` by name get Node 24 too, as in CI's Node 24 step.
    env: { ...process.env, PATH: `${dirname(node24)}:${process.env.PATH ?? ''}` },
  });
  process.exit(child.status ?? 1);
}

/** Runs Stryker on one package; returns the parsed mutation-testing JSON report and run facts. */
function runStryker(name, files, force) {
  const reportDir = join(root, 'reports/mutation');
  mkdirSync(reportDir, { recursive: true });
  mkdirSync(join(root, '.stryker'), { recursive: true });
  const reportFile = join(reportDir, `${name}.json`);
  const config = {
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    // The workspace's vitest config narrowed to this package's project (see the file).
    // Forks, as `pnpm test` runs them (vitest's default; the runner's own default is threads).
    vitest: { configFile: 'vitest.mutation.config.ts', related: false, pool: 'forks' },
    mutate: files.map((file) => `packages/${name}/${file}`),
    coverageAnalysis: 'perTest',
    incremental: true,
    incrementalFile: `.stryker/${name}.incremental.json`,
    force,
    concurrency: workers,
    timeoutMS,
    timeoutFactor,
    dryRunTimeoutMinutes: 15,
    // The sandbox is a copy of the repository; every node_modules (the root's and each
    // package's, pnpm's workspace links) is symlinked into it, so imports resolve as here.
    symlinkNodeModules: true,
    tempDirName: '.stryker-tmp',
    // docs/ is copied: tests compare the tables they generate with the pages (reaper's deaths table).
    ignorePatterns: ['reports', '.stryker', 'coverage', '**/dist', '.holdfast-tmp'],
    reporters: ['progress-append-only', 'clear-text', 'json', 'html'],
    clearTextReporter: { allowColor: false, logTests: false },
    jsonReporter: { fileName: relative(root, reportFile) },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
  };
  const configFile = join(reportDir, `${name}.stryker.config.json`);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  console.log(
    `== mutation testing ${name}: ${config.mutate.length} core files, node ${process.version}`,
  );
  const started = Date.now();
  const stryker = join(
    dirname(require.resolve('@stryker-mutator/core/package.json')),
    'bin/stryker.js',
  );
  const child = spawnSync(process.execPath, [stryker, 'run', configFile], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, HOLDFAST_MUTATION_PACKAGE: name },
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (child.status !== 0) {
    console.error(`== Stryker failed on ${name} (exit ${child.status ?? child.signal})`);
    process.exit(child.status ?? 1);
  }
  console.log(`== ${name}: ${formatDuration(seconds)}`);
  writeFileSync(runFile(name), `${JSON.stringify({ seconds, node: process.version })}\n`);
  return { report: JSON.parse(readFileSync(reportFile, 'utf8')), seconds, node: process.version };
}

/** How long the last run of a package took: kept beside its report. */
const runFile = (name) => join(root, 'reports/mutation', `${name}.run.json`);

/** The last run's report and duration, for `--from-report`. */
function lastReport(name) {
  const reportFile = join(root, 'reports/mutation', `${name}.json`);
  if (!existsSync(reportFile) || !existsSync(runFile(name))) {
    fail(`--from-report: no report of a run of ${name} here (reports/mutation/${name}.json)`);
  }
  const { seconds, node } = JSON.parse(readFileSync(runFile(name), 'utf8'));
  return { report: JSON.parse(readFileSync(reportFile, 'utf8')), seconds, node };
}

/** Hand-edited: `[{ package, file, line, mutator, replacement, why }]`. */
function readEquivalents() {
  if (!existsSync(equivalentFile)) return [];
  return JSON.parse(readFileSync(equivalentFile, 'utf8'));
}

const countedStatuses = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);

function summarize(name, run, { report, seconds, node }, equivalents) {
  const packageDir = join(root, 'packages', name);
  const listed = equivalents.filter((entry) => entry.package === name);
  const matched = new Set();
  const files = run.map((file) => {
    const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, equivalent: 0 };
    const equivalentSurvivors = [];
    const reportEntry = Object.entries(report.files).find(
      ([path]) => relative(packageDir, resolve(root, path)) === file,
    );
    for (const mutant of reportEntry?.[1].mutants ?? []) {
      if (!countedStatuses.has(mutant.status)) continue;
      counts[mutant.status] += 1;
      if (mutant.status !== 'Survived') continue;
      const entry = listed.find(
        (candidate) =>
          candidate.file === file &&
          candidate.line === mutant.location.start.line &&
          candidate.mutator === mutant.mutatorName &&
          candidate.replacement === mutant.replacement,
      );
      if (entry === undefined) continue;
      matched.add(entry);
      counts.equivalent += 1;
      equivalentSurvivors.push(entry);
    }
    return { file, counts, equivalentSurvivors };
  });
  // Only the files run now can tell whether an entry still matches a survivor.
  for (const entry of listed.filter((item) => run.includes(item.file) && !matched.has(item))) {
    console.warn(
      `== docs/quality-equivalent.json: no surviving mutant matches ${entry.file}:${entry.line} ` +
        `${entry.mutator} -> ${JSON.stringify(entry.replacement)}; update or remove the entry`,
    );
  }
  return { name, files, seconds, node };
}

function score(counts) {
  const detected = counts.Killed + counts.Timeout;
  const total = detected + counts.Survived + counts.NoCoverage;
  const withoutEquivalents = total - counts.equivalent;
  const percent = (part, whole) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)}%`);
  return {
    all: percent(detected, total),
    withoutEquivalents: percent(detected, withoutEquivalents),
  };
}

function formatDuration(seconds) {
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

const pageIntro = `# Mutation testing

A test suite proves what it claims only if it fails when the code is wrong. Mutation testing
checks that: [StrykerJS](https://stryker-mutator.io) makes one small change to a core file at a
time (a \`<\` becomes \`<=\`, a branch is emptied, a string is blanked), runs the tests that
reach that code, and records whether they fail (the mutant is **killed**, or it ran into its
time limit: **timeout**) or still pass (it **survived**: no test notices that change). A mutant
that no test reaches is **no coverage**. The score is killed plus timeout over all four. A
survivor is either a gap in the tests (add the test that kills it) or an equivalent mutant, a
change that alters no behaviour anyone can observe; those are listed below each package, with
why, from the hand-edited \`docs/quality-equivalent.json\`.

It is a habit, not a CI gate: run \`pnpm test:mutation <package>\` before resolving an issue of
that package, read the survivors (the run prints them, and
\`reports/mutation/<package>.html\` shows them in the source), and commit the updated
\`docs/quality.md\` and \`.stryker/<package>.incremental.json\`. Results are incremental: a re-run
tests only the mutants whose code or covering tests changed (\`--force\` retests everything),
and a run stopped with Ctrl-C keeps what it tested there, so the next run goes on from it.
After an edit of the equivalent list, \`pnpm test:mutation <package> --from-report\` writes the
section again from the last run's report, without running anything.
Without a package it runs all four in turn; \`pnpm test:mutation <package> <core file> ...\` runs
only those files, a quicker loop while working on one (the other files keep their last
results, each row dated). The package issues set the score each
package must reach. Scores below are written by \`scripts/mutation.mjs\`; edit only the
equivalent list.

Tests that spawn processes count too: during the initial run each child a test spawns reports the
mutants it reached (\`scripts/mutation-child-coverage.mjs\`), and in a mutant run the child runs
that mutant. A child that dies by a signal or a native crash cannot report; code reached only
there shows as no coverage.
`;

/**
 * A core file's row from the package's previous section, for a file this run did not test: a run
 * of some files keeps the others' last results (with the date they were measured) instead of
 * blanking them.
 */
function previousRow(previousSection, file) {
  // Prettier pads the cells, so a row is found by its first cell, not by its first characters.
  const cells = previousSection
    .split('\n')
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
    .find((row) => row[0] === `\`${file}\``);
  if (cells === undefined) return undefined;
  if (cells[1] === 'not run' || cells.length < 8) return undefined;
  const [Killed, Timeout, Survived, NoCoverage, equivalent] = cells.slice(3, 8).map(Number);
  // A section written before the date column: its rows date from the section's run.
  const date = cells[8] ?? /run on (\d{4}-\d{2}-\d{2})/.exec(previousSection)?.[1] ?? '';
  return { counts: { Killed, Timeout, Survived, NoCoverage, equivalent }, date };
}

function renderSection({ name, files, seconds, node }, previousSection) {
  const today = new Date().toISOString().slice(0, 10);
  const partial = files.length < coreFiles[name].length;
  const command = ['pnpm test:mutation', name, ...(partial ? files.map(({ file }) => file) : [])];
  const shown = coreFiles[name].map((file) => {
    const result = files.find((candidate) => candidate.file === file);
    if (result !== undefined) return { file, counts: result.counts, date: today };
    return { file, ...(previousRow(previousSection, file) ?? { counts: undefined, date: '' }) };
  });
  const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, equivalent: 0 };
  for (const { counts } of shown) {
    if (counts !== undefined) for (const key of Object.keys(total)) total[key] += counts[key];
  }
  const overall = score(total);
  const measured = shown.filter(({ counts }) => counts !== undefined).length;
  const rows = shown.map(({ file, counts, date }) => {
    if (counts === undefined) return `| \`${file}\` | not run | | | | | | | |`;
    const s = score(counts);
    return `| \`${file}\` | ${s.all} | ${s.withoutEquivalents} | ${counts.Killed} | ${counts.Timeout} | ${counts.Survived} | ${counts.NoCoverage} | ${counts.equivalent} | ${date} |`;
  });
  const ranNow = new Set(files.map(({ file }) => file));
  // Equivalents of the files run now come from this run; the others' are kept from the last one.
  const keptEquivalents = previousSection
    .split('\n')
    .filter((line) => /^- `[^`:]+:\d+`/.test(line))
    .filter((line) => {
      const file = /^- `([^`:]+):/.exec(line)[1];
      return !ranNow.has(file) && shown.some((row) => row.file === file && row.counts);
    });
  const equivalentLines = [
    ...files.flatMap(({ equivalentSurvivors }) =>
      equivalentSurvivors.map(
        (entry) =>
          `- \`${entry.file}:${entry.line}\` ${entry.mutator} → \`${entry.replacement.replace(/\s+/g, ' ')}\`: ${entry.why}`,
      ),
    ),
    ...keptEquivalents,
  ];
  return [
    `<!-- mutation:${name} -->`,
    `## @holdfast/${name}`,
    '',
    `**${overall.all}**${measured < coreFiles[name].length ? ` over ${measured} of ${coreFiles[name].length} core files` : ''} ` +
      `(${overall.withoutEquivalents} without equivalent mutants). ` +
      `Last command: \`${command.join(' ')}\`, run on ${today} (Node ${node}, ` +
      `StrykerJS ${strykerVersion()}, ${workers} workers, ${formatDuration(seconds)})` +
      (partial ? "; the other files' rows are from their last run (date in the row)." : '.'),
    '',
    '| core file | score | without equivalents | killed | timeout | survived | no coverage | equivalent | run on |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    `| **all** | **${overall.all}** | **${overall.withoutEquivalents}** | ${total.Killed} | ${total.Timeout} | ${total.Survived} | ${total.NoCoverage} | ${total.equivalent} | |`,
    '',
    equivalentLines.length === 0
      ? 'Equivalent survivors: none listed.'
      : 'Equivalent survivors (cannot be killed):',
    ...(equivalentLines.length === 0 ? [] : ['', ...equivalentLines]),
    `<!-- /mutation:${name} -->`,
  ].join('\n');
}

function strykerVersion() {
  return JSON.parse(readFileSync(require.resolve('@stryker-mutator/core/package.json'), 'utf8'))
    .version;
}

/** Rewrites docs/quality.md with this package's new section, keeping the other packages' ones. */
function writeQualityPage(name, summary) {
  const previous = existsSync(qualityPage) ? readFileSync(qualityPage, 'utf8') : '';
  const sectionOf = (pkg) =>
    new RegExp(`<!-- mutation:${pkg} -->[\\s\\S]*?<!-- /mutation:${pkg} -->`).exec(previous);
  const sections = Object.keys(coreFiles).map((pkg) => {
    if (pkg === name) return renderSection(summary, sectionOf(pkg)?.[0] ?? '');
    const kept = sectionOf(pkg);
    return (
      kept?.[0] ??
      `<!-- mutation:${pkg} -->\n## @holdfast/${pkg}\n\nNot run yet.\n<!-- /mutation:${pkg} -->`
    );
  });
  writeFileSync(qualityPage, `${pageIntro}\n${sections.join('\n\n')}\n`);
  const prettier = join(dirname(require.resolve('prettier/package.json')), 'bin/prettier.cjs');
  execFileSync(process.execPath, [prettier, '--write', '--log-level', 'warn', qualityPage], {
    cwd: root,
    stdio: 'inherit',
  });
  console.log(`== docs/quality.md: ${name} section written`);
}

main();
