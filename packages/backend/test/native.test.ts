import { describe, expect, it } from 'vitest';
import { classifyImportError } from '../src/native.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('classifyImportError', () => {
  it.each([
    [
      'Node ESM, package missing',
      withCode(
        "Cannot find package '@tensorflow/tfjs-node' imported from /app/x.js",
        'ERR_MODULE_NOT_FOUND',
      ),
      'not-installed',
    ],
    [
      'CommonJS, package missing',
      withCode("Cannot find module '@tensorflow/tfjs-node'", 'MODULE_NOT_FOUND'),
      'not-installed',
    ],
    [
      'vite resolver, package missing',
      new Error(
        'Failed to load url @tensorflow/tfjs-node (resolved id: @tensorflow/tfjs-node). Does the file exist?',
      ),
      'not-installed',
    ],
    [
      'vitest resolver, package missing',
      new Error('Could not resolve "@tensorflow/tfjs-node" imported by "@guilomo/backend".'),
      'not-installed',
    ],
    [
      'binding not built',
      new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /x'),
      'binding-missing',
    ],
    [
      'libtensorflow missing',
      withCode('libtensorflow.so.2: cannot open shared object file', 'ERR_DLOPEN_FAILED'),
      'binding-missing',
    ],
    [
      'a dependency of the package missing',
      withCode(
        "Cannot find package 'adm-zip' imported from /x/tfjs-node/dist/index.js",
        'ERR_MODULE_NOT_FOUND',
      ),
      'failed',
    ],
    ['other error', new TypeError('x is not a function'), 'failed'],
  ])('%s', (_name, error, expected) => {
    expect(classifyImportError('@tensorflow/tfjs-node', error)).toBe(expected);
  });
});
