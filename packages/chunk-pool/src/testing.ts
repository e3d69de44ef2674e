export * from './testing/virtual-clock.js';
