/**
 * The names file storage turns into paths: its folders, and the chunk ids and output names that
 * become file and folder names. Shared by the storage and the offline dead-letter functions.
 *
 * @module
 */
import { join } from 'node:path';
import { invalidOption } from '@holdfast/internal';
import { ChunkPoolError } from '../errors.js';

// Ids come from the pool, but a storage must not trust a name it turns into a path.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The folders of a storage folder: live segments, dead letters, quarantined chunks. */
export function storageFolders(dir: string): {
  segments: string;
  rejected: string;
  quarantine: string;
} {
  return {
    segments: join(dir, 'segments'),
    rejected: join(dir, 'rejected'),
    quarantine: join(dir, 'quarantine'),
  };
}

/**
 * `name` if it is safe as a file name (it names a chunk's or an output's file or folder). A value
 * that is not a string is a TypeError (a regular expression would test `['out']` as `"out"`).
 */
export function safeName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw invalidOption(what, 'a string', name);
  if (!SAFE_NAME.test(name)) {
    throw new ChunkPoolError(
      'INVALID_OPTION',
      `${what} ${JSON.stringify(name)} is not a safe file name`,
    );
  }
  return name;
}
