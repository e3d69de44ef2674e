/** The crash signature a supervisor reads from an exit and the child's stderr tail, in process. */
import { describe, expect, test } from 'vitest';
import { crashSignature } from '../src/index.js';

const stack = ['Error: connect ECONNREFUSED 127.0.0.1:4318', '    at main (/srv/agent.js:12:5)'];

describe('crashSignature', () => {
  test('a heap out of memory, whatever the exit looked like (an abort, or 134 under a shell)', () => {
    const v8 = [
      '<--- Last few GCs --->',
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    ];
    expect(crashSignature(null, 'SIGABRT', v8, false)).toBe('heap-out-of-memory');
    expect(crashSignature(134, null, v8, undefined)).toBe('heap-out-of-memory');
    expect(crashSignature(null, 'SIGKILL', v8, true)).toBe('heap-out-of-memory');
    // Either wording V8 has used, anywhere in the tail.
    expect(crashSignature(null, 'SIGABRT', ['FATAL ERROR: Zone heap out of memory'], false)).toBe(
      'heap-out-of-memory',
    );
    expect(crashSignature(1, null, ['x', 'JavaScript heap out of memory', 'y'], false)).toBe(
      'heap-out-of-memory',
    );
    // Not the words alone.
    expect(crashSignature(null, 'SIGABRT', ['FATAL ERROR: heap'], false)).toBe('abort');
    expect(crashSignature(1, null, ['heap out of memory'], false)).toBe('exit-code');
  });

  test('by signal: the OOM killer only when the cgroup counted a kill', () => {
    expect(crashSignature(null, 'SIGKILL', [], true)).toBe('oom-killed');
    expect(crashSignature(null, 'SIGKILL', [], false)).toBe('killed');
    expect(crashSignature(null, 'SIGKILL', [], undefined)).toBe('killed');
    expect(crashSignature(null, 'SIGSEGV', stack, true)).toBe('segfault');
    expect(crashSignature(null, 'SIGABRT', stack, true)).toBe('abort');
    expect(crashSignature(null, 'SIGTERM', stack, true)).toBe('signal');
    expect(crashSignature(0, 'SIGHUP', [], undefined)).toBe('signal');
  });

  test('by exit code: 0 is clean; a stack trace in the tail is an uncaught exception', () => {
    expect(crashSignature(0, null, stack, undefined)).toBe('clean');
    expect(crashSignature(1, null, stack, undefined)).toBe('uncaught-exception');
    expect(crashSignature(7, null, ['TypeException: x', '\tat Main.run'], undefined)).toBe(
      'uncaught-exception',
    );
    expect(crashSignature(3, null, [], undefined)).toBe('exit-code');
  });

  test('an uncaught exception needs both an error line and a frame line', () => {
    const exitCode = (lines: string[]) => crashSignature(1, null, lines, undefined);
    // An error line alone; a frame line alone.
    expect(exitCode(['Error: config missing'])).toBe('exit-code');
    expect(exitCode(['    at main (/srv/agent.js:12:5)'])).toBe('exit-code');
    // "at" inside a sentence is not a frame: a frame line starts with white space, then "at ".
    expect(exitCode(['Error: connection refused', 'we looked at it'])).toBe('exit-code');
    expect(exitCode(['Error: connection refused', 'at main'])).toBe('exit-code');
    expect(exitCode(['Error: connection refused', '    attempt 3'])).toBe('exit-code');
    expect(exitCode(['Error: connection refused', '    at '])).toBe('exit-code');
    // "Error" must be a word's end: ErrorCount is not an error line.
    expect(exitCode(['ErrorCount: 3', '    at main (/srv/agent.js:12:5)'])).toBe('exit-code');
    // The lines are lines: a frame is matched at the start of one, not across two.
    expect(exitCode(['Error: x  ', 'at main'])).toBe('exit-code');
  });
});
