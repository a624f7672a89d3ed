import { register } from 'node:module';
import { GuiLoMoError } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';

// tfjs-core registers the gradients of its kernels only through this side-effect module. Its
// CommonJS bundle, which plain Node loads for '@tensorflow/tfjs-core', contains no gradients.
export const GRADIENTS_MODULE = '@tensorflow/tfjs-core/dist/register_all_gradients.js';

// The dist/*.js files of tfjs-core 4.22 are ES modules whose relative imports omit the file
// extension, which bundlers and vitest accept but Node's ESM resolver rejects. This resolve hook
// retries such imports made from inside tfjs-core's dist folder with ".js", then "/index.js".
// It leaves every other import alone.
export const RESOLVE_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL ?? '';
  if (specifier.startsWith('.') && !/\\.[cm]?js$/.test(specifier) && parent.includes('/@tensorflow/tfjs-core/dist/')) {
    try {
      return await nextResolve(specifier + '.js', context);
    } catch {
      return nextResolve(specifier + '/index.js', context);
    }
  }
  return nextResolve(specifier, context);
}
`;

function isResolutionError(error: unknown): boolean {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT';
}

/**
 * Registers the gradients of all tfjs-core kernels, once per process. Under a bundler or vitest
 * this imports tfjs-core's side-effect module directly. Under plain Node it first installs a
 * resolve hook, and the module then loads a second copy of tfjs-core's ES module files. That
 * copy shares the engine and the registries with the first through tfjs-core's global state.
 *
 * NOTE: under plain Node the second copy took 1.7 to 2.4 s to load. That was measured on a 2-core
 * machine whose load average was 11 to 13 from other processes, so an idle machine needs less.
 */
export async function registerAllGradients(): Promise<void> {
  if (tf.getGradient(tf.BatchMatMul) !== undefined) {
    return;
  }
  try {
    await import(GRADIENTS_MODULE);
  } catch (error) {
    if (!isResolutionError(error)) {
      throw error;
    }
    register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
    // A new URL, because Node caches the failed module job of the first attempt.
    await import(`${import.meta.resolve(GRADIENTS_MODULE)}?with-extensions`);
  }
  if (tf.getGradient(tf.BatchMatMul) === undefined) {
    throw new GuiLoMoError(
      `Importing ${GRADIENTS_MODULE} registered no gradients. Check that a single version of @tensorflow/tfjs-core is installed.`,
    );
  }
}
