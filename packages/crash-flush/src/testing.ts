export * from './testing/capture-server.js';
export * from './testing/crash-scenarios.js';
