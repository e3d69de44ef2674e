export * from './testing/check-invariants.js';
export * from './testing/faults.js';
export * from './testing/virtual-clock.js';
export * from './testing/item-sources.js';
export * from './testing/thrown-values.js';
