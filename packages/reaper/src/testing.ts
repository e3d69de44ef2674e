export * from './testing/fixtures.js';
export * from './testing/process-tree.js';
