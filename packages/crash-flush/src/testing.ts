export * from './testing/capture-server.js';
