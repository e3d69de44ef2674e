export * from './errors.js';
export * from './health-check.js';
export * from './probe.js';
export * from './reaper.js';
export * from './run.js';
export * from './version.js';
export * from './wait-until-healthy.js';
