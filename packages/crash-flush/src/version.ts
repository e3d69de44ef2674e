/** The version of `@holdfast/crash-flush`; kept equal to package.json by `pnpm version-packages`. */
export const VERSION = '0.1.0';
