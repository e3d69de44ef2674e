// Preloaded (NODE_OPTIONS=--import) into the processes a test spawns during StrykerJS's initial,
// coverage-collecting run; see scripts/mutation-child-env.ts. Stryker's instrumented code counts
// the mutants it reaches in a global; a child's global dies with it, so on exit the child writes
// what it reached into the directory the test named. A child killed by a signal or a native crash
// writes nothing: its mutants count only if the test's own process reaches them too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const directory = process.env.HOLDFAST_MUTATION_CHILD_COVERAGE;

if (directory !== undefined) {
  process.on('exit', writeCoverage);
  // The code under test installs 'exit' listeners of its own (reaper's group killer, the crash
  // guard's flush), and listeners run in order: move this one back to the end after each, so what
  // they reach is counted too.
  process.on('newListener', (event, listener) => {
    if (event !== 'exit' || listener === writeCoverage) return;
    queueMicrotask(() => {
      process.removeListener('exit', writeCoverage);
      process.on('exit', writeCoverage);
    });
  });
}

function writeCoverage() {
  const coverage = globalThis.__stryker__?.mutantCoverage;
  if (coverage === undefined) return;
  const reached = {};
  for (const hits of [coverage.static, ...Object.values(coverage.perTest)]) {
    for (const [mutant, count] of Object.entries(hits)) {
      reached[mutant] = (reached[mutant] ?? 0) + count;
    }
  }
  try {
    writeFileSync(join(directory, `${process.pid}-${threadId}.json`), JSON.stringify(reached));
  } catch {
    // The test has ended and removed the directory (a child that outlived it): its coverage
    // no longer has a test to belong to. Never let this change how the child exits.
  }
}
