import type { Reporter, TestModule } from 'vitest/node';

/**
 * Adds one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own summary,
 * so anything that reads a run's last lines (our CI among them) can count the tests without
 * parsing colours or vitest's layout.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) counts[test.result().state] += 1;
      // A file that failed outside its tests (an import error, a failing beforeAll) counts as a
      // failure even though its tests were only skipped.
      if (module.state() === 'failed' && !module.ok())
        counts.failed += module.errors().length > 0 ? 1 : 0;
    }
    process.stdout.write(
      `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
