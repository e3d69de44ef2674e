// The publishable packages of the workspace: every folder under packages/ with a package.json that
// is not private (`@holdfast/internal` is private: each package's build inlines what it uses).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** @returns {{ dir: string, manifest: Record<string, any> }[]} */
export function workspacePackages() {
  const base = join(root, 'packages');
  return readdirSync(base)
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true);
}
