import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GRADIENTS_MODULE, RESOLVE_HOOK } from '../src/gradients.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

// vitest resolves tfjs-core's extensionless imports itself, so the resolve hook only matters
// under plain Node. This runs the hook in a child Node process against the installed tfjs-core.
describe('resolve hook for tfjs-core gradients', () => {
  const script = (withHook: boolean) => `
    import { register } from 'node:module';
    import * as tf from '@tensorflow/tfjs-core';
    ${withHook ? 'register("data:text/javascript," + encodeURIComponent(process.env.HOOK));' : ''}
    try {
      await import(process.env.MODULE);
    } catch (error) {
      console.log('failed ' + error.code);
    }
    console.log(tf.getGradient('BatchMatMul') === undefined ? 'missing' : 'registered');
  `;
  const run = (withHook: boolean) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script(withHook)], {
      cwd: packageRoot,
      env: { ...process.env, HOOK: RESOLVE_HOOK, MODULE: GRADIENTS_MODULE },
      encoding: 'utf8',
    }).trim();

  it('plain Node cannot load the gradients without it', () => {
    expect(run(false)).toBe('failed ERR_MODULE_NOT_FOUND\nmissing');
  });

  it('plain Node registers the gradients with it', () => {
    expect(run(true)).toBe('registered');
  });
});
