export * from './testing/virtual-clock.js';
export { checkChunkStorage, MODEL_POOL_OPTIONS } from './testing/check-storage.js';
export type { StorageFixture, CheckChunkStorageOptions } from './testing/check-storage.js';
export { outputFailures } from './testing/pool-model.js';
export { overrideStorage } from './testing/storage-overrides.js';
