export * from './errors.js';
export * from './health-check.js';
export * from './probe.js';
export * from './reaper.js';
// run.ts also exports parseRunOptions for commandProbe: not part of the public API.
export { run, shellExitCode, type RunOptions, type RunResult } from './run.js';
export * from './version.js';
export * from './wait-until-healthy.js';
