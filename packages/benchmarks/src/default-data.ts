import { fileURLToPath } from 'node:url';

/**
 * Returns the absolute path of the data shipped with this package. It has one folder per task
 * in the layout the loaders expect, and holds only `openbookqa` (the full test split and the
 * first 1,000 training rows). The path is the same from `src` and from `dist`.
 */
export function defaultDataDir(): string {
  return fileURLToPath(new URL('../assets', import.meta.url));
}
