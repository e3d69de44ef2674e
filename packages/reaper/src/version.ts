/** The version of `@holdfast/reaper`; kept equal to package.json by `pnpm version-packages`. */
export const VERSION = '0.1.0';
