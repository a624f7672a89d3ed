// Micro-benchmark: GFLOP/s of tf.matMul, and GB/s of tf.transpose, with the stock TF.js kernels
// and with this package's kernels, on the wasm and cpu backends. Not a test. Build the package
// first (pnpm build).
//
// Usage: node bench/matmul.mjs [--backends=wasm,cpu] [--threads=N] [--min-ms=400]
//   --backends  backends to measure, comma-separated (default wasm,cpu)
//   --threads   OpenBLAS thread count (default: OpenBLAS's own default)
//   --min-ms    minimum measured time per case in milliseconds (default 400)
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import {
  describeOpenBlas,
  registerOpenBlasKernels,
  unregisterOpenBlasKernels,
} from '../dist/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value = ''] = arg.replace(/^--/, '').split('=');
    return [key, value];
  }),
);
const backends = (args.backends ?? 'wasm,cpu').split(',');
const threads = args.threads === undefined ? undefined : Number(args.threads);
const minMs = Number(args['min-ms'] ?? 400);

// name, a shape, b shape, transposeA, transposeB
const CASES = [
  ['256x256 · 256x256', [256, 256], [256, 256], false, false],
  ['512x512 · 512x512', [512, 512], [512, 512], false, false],
  ['1024x1024 · 1024x1024', [1024, 1024], [1024, 1024], false, false],
  ['512x512 · (512x512)ᵀ', [512, 512], [512, 512], false, true],
  ['(1024x512)ᵀ · 1024x64', [1024, 512], [1024, 64], true, false],
  ['1024x512 · 512x64', [1024, 512], [512, 64], false, false],
  ['64 × [64x64 · 64x64]', [64, 64, 64], [64, 64, 64], false, false],
];

// name, shape, perm
const TRANSPOSE_CASES = [
  ['1024x512 by [1, 0]', [1024, 512], [1, 0]],
  ['16x64x4x32 by [0, 2, 1, 3]', [16, 64, 4, 32], [0, 2, 1, 3]],
];

function flops(aShape, bShape, transposeA, transposeB) {
  const batch = aShape.length === 3 ? aShape[0] : 1;
  const m = transposeA ? aShape.at(-1) : aShape.at(-2);
  const k = transposeA ? aShape.at(-2) : aShape.at(-1);
  const n = transposeB ? bShape.at(-2) : bShape.at(-1);
  return 2 * batch * m * n * k;
}

/** Returns the median milliseconds of one call of `op`; the kernels run synchronously. */
function timeOp(op) {
  op().dispose();
  const samples = [];
  const start = performance.now();
  while (samples.length < 3 || performance.now() - start < minMs) {
    const t0 = performance.now();
    op().dispose();
    samples.push(performance.now() - t0);
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)];
}

/** Returns [stock ms, OpenBLAS ms] of `op` on the active backend. */
function compare(backend, op) {
  unregisterOpenBlasKernels();
  const stockMs = timeOp(op);
  registerOpenBlasKernels({ backends: [backend] });
  const openBlasMs = timeOp(op);
  unregisterOpenBlasKernels();
  return [stockMs, openBlasMs];
}

const status = describeOpenBlas();
if (!status.available) {
  console.log(`OpenBLAS addon unavailable: ${status.reason}`);
  process.exit(1);
}
// Registering applies the thread count. The stock kernels come back until each case needs them.
registerOpenBlasKernels({ backends, ...(threads === undefined ? {} : { threads }) });
unregisterOpenBlasKernels();
console.log(`${describeOpenBlas().config}, ${describeOpenBlas().threads} thread(s)`);
console.log('| backend | case | stock | this package | speed-up |');
console.log('|---|---|---:|---:|---:|');
for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const [name, aShape, bShape, transposeA, transposeB] of CASES) {
    const a = tf.randomNormal(aShape);
    const b = tf.randomNormal(bShape);
    const work = flops(aShape, bShape, transposeA, transposeB) / 1e6;
    const [stockMs, openBlasMs] = compare(backend, () => tf.matMul(a, b, transposeA, transposeB));
    const speedUp = (stockMs / openBlasMs).toFixed(1);
    console.log(
      `| ${backend} | matMul ${name} | ${(work / stockMs).toFixed(1)} GFLOP/s | ${(work / openBlasMs).toFixed(1)} GFLOP/s | ${speedUp}× |`,
    );
    tf.dispose([a, b]);
  }
  for (const [name, shape, perm] of TRANSPOSE_CASES) {
    const x = tf.randomNormal(shape);
    // Bytes read plus bytes written.
    const traffic = (x.size * 8) / 1e6;
    const [stockMs, openBlasMs] = compare(backend, () => tf.transpose(x, perm));
    const speedUp = (stockMs / openBlasMs).toFixed(1);
    console.log(
      `| ${backend} | transpose ${name} | ${(traffic / stockMs).toFixed(2)} GB/s | ${(traffic / openBlasMs).toFixed(2)} GB/s | ${speedUp}× |`,
    );
    x.dispose();
  }
}
