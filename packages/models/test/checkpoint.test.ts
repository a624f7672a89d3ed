import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, PROJECTION_NAMES } from '@guilomo/core';
import { expectClose } from '@guilomo/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlamaConfig } from '../src/index.js';
import {
  computeRopeTables,
  defaultModelPaths,
  llama2cCheckpointBytes,
  llamaDims,
  llamaParameterCount,
  parseLlama2cCheckpoint,
  randomLlamaWeightArrays,
  readLlama2cCheckpoint,
  resolveLlamaConfig,
} from '../src/index.js';
import { AIDREAMS_CHECKPOINT, BABYLLAMA_CHECKPOINT } from './fixtures.js';

/** Writes weights in llama2.c v0 order. A negative vocab size marks an unshared classifier. */
function encodeCheckpoint(config: LlamaConfig, seed: number): Uint8Array {
  const weights = randomLlamaWeightArrays(config, seed);
  const { headSize } = llamaDims(config);
  const rope = computeRopeTables(headSize, config.seqLen);

  const vocab = config.sharedClassifier ? config.vocabSize : -config.vocabSize;
  const header = new Int32Array([
    config.dim,
    config.hiddenDim,
    config.numLayers,
    config.numHeads,
    config.numKvHeads,
    vocab,
    config.seqLen,
  ]);

  const perLayer = (pick: (l: number) => Float32Array) => weights.layers.map((_, l) => pick(l));
  const layer = (l: number) => weights.layers[l] as (typeof weights.layers)[number];
  const parts: Float32Array[] = [
    weights.tokenEmbedding,
    ...perLayer((l) => layer(l).attentionNorm),
    ...perLayer((l) => layer(l).projections.q),
    ...perLayer((l) => layer(l).projections.k),
    ...perLayer((l) => layer(l).projections.v),
    ...perLayer((l) => layer(l).projections.o),
    ...perLayer((l) => layer(l).mlpNorm),
    ...perLayer((l) => layer(l).projections.gate),
    ...perLayer((l) => layer(l).projections.down),
    ...perLayer((l) => layer(l).projections.up),
    weights.finalNorm,
    rope.cos,
    rope.sin,
    ...(weights.classifier === undefined ? [] : [weights.classifier]),
  ];

  const total = parts.reduce((sum, part) => sum + part.byteLength, header.byteLength);
  const bytes = new Uint8Array(total);
  bytes.set(new Uint8Array(header.buffer), 0);
  let offset = header.byteLength;
  for (const part of parts) {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offset);
    offset += part.byteLength;
  }
  return bytes;
}

describe('llama2.c checkpoint', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'guilomo-models-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it.each([
    {
      file: BABYLLAMA_CHECKPOINT,
      config: {
        dim: 128,
        hiddenDim: 352,
        numLayers: 5,
        numHeads: 8,
        numKvHeads: 4,
        vocabSize: 105,
        seqLen: 256,
      },
      parameters: 936_448,
    },
    {
      file: AIDREAMS_CHECKPOINT,
      config: {
        dim: 64,
        hiddenDim: 172,
        numLayers: 4,
        numHeads: 4,
        numKvHeads: 4,
        vocabSize: 512,
        seqLen: 128,
      },
      parameters: 230_976,
    },
  ])('loads $file', async ({ file, config, parameters }) => {
    const checkpoint = await readLlama2cCheckpoint(file);
    expect(checkpoint.config).toMatchObject({ ...config, sharedClassifier: true });
    expect(llamaParameterCount(checkpoint.config)).toBe(parameters);
    const bytes = await readFile(file);
    expect(llama2cCheckpointBytes(checkpoint.config)).toBe(bytes.byteLength);
    expect(checkpoint.weights.classifier).toBeUndefined();
    expect(checkpoint.weights.layers).toHaveLength(config.numLayers);
  });

  it('maps llama2.c tensors to projections', async () => {
    const checkpoint = await readLlama2cCheckpoint(BABYLLAMA_CHECKPOINT);
    const bytes = await readFile(BABYLLAMA_CHECKPOINT);
    const floats = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 28, bytes.byteOffset + bytes.byteLength),
    );
    // Offsets in floats: embedding 105·128, rms_att 5·128, then wq of layer 0.
    const wqStart = 105 * 128 + 5 * 128;
    expect(checkpoint.weights.layers[0]?.projections.q[0]).toBe(floats[wqStart]);
    // w3 (up) is stored after w1 (gate) and w2 (down), each 5 layers of 352·128.
    const kvBlock = 5 * 64 * 128;
    const w1Start = wqStart + 5 * 128 * 128 + 2 * kvBlock + 5 * 128 * 128 + 5 * 128;
    const w3Start = w1Start + 2 * 5 * 352 * 128;
    expect(checkpoint.weights.layers[0]?.projections.gate[5]).toBe(floats[w1Start + 5]);
    expect(checkpoint.weights.layers[1]?.projections.up[7]).toBe(floats[w3Start + 352 * 128 + 7]);
  });

  it('stores RoPE tables matching the llama2.c formula', async () => {
    const checkpoint = await readLlama2cCheckpoint(BABYLLAMA_CHECKPOINT);
    const computed = computeRopeTables(16, 256);
    expectClose(computed.cos, checkpoint.ropeCos, 'ropeTable');
    expectClose(computed.sin, checkpoint.ropeSin, 'ropeTable');
  });

  it('rejects a truncated file with both byte counts', async () => {
    const bytes = await readFile(BABYLLAMA_CHECKPOINT);
    const path = join(scratch, 'truncated.bin');
    await writeFile(path, bytes.subarray(0, bytes.byteLength - 4096));
    const error = await readLlama2cCheckpoint(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toContain('expected 3762204 bytes');
    expect((error as Error).message).toContain('has 3758108 bytes');
    expect((error as Error).message).toContain(path);
  });

  it('rejects trailing bytes', () => {
    const config = resolveLlamaConfig({
      dim: 8,
      hiddenDim: 12,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 1,
      vocabSize: 5,
      seqLen: 4,
    });
    const bytes = encodeCheckpoint(config, 1);
    const padded = new Uint8Array(bytes.byteLength + 4);
    padded.set(bytes);
    expect(() => parseLlama2cCheckpoint(padded, 'padded.bin')).toThrow(
      /padded\.bin: expected \d+ bytes .* but the file has \d+ bytes/,
    );
  });

  it.each([
    { name: 'short file', bytes: new Uint8Array(10), message: /too short for the 28-byte/ },
    {
      name: 'zero dim',
      bytes: new Uint8Array(new Int32Array([0, 8, 1, 2, 2, 5, 4]).buffer),
      message:
        /invalid llama2\.c v0 header \[0, 8, 1, 2, 2, 5, 4\].*`dim`: must be a positive integer/,
    },
    {
      name: 'v1 magic header',
      bytes: new Uint8Array(new Int32Array([0x616b3432, 1, 8, 1, 2, 2, 5]).buffer),
      message: /invalid llama2\.c v0 header/,
    },
  ])('rejects a $name', ({ bytes, message }) => {
    expect(() => parseLlama2cCheckpoint(bytes)).toThrow(FormatError);
    expect(() => parseLlama2cCheckpoint(bytes)).toThrow(message);
  });

  it('reads an unshared classifier after the RoPE tables', () => {
    const config = resolveLlamaConfig({
      dim: 8,
      hiddenDim: 12,
      numLayers: 2,
      numHeads: 2,
      numKvHeads: 1,
      vocabSize: 5,
      seqLen: 4,
      sharedClassifier: false,
    });
    const expected = randomLlamaWeightArrays(config, 3);
    const checkpoint = parseLlama2cCheckpoint(encodeCheckpoint(config, 3));
    expect(checkpoint.config.sharedClassifier).toBe(false);
    expect(checkpoint.config.vocabSize).toBe(5);
    expect(checkpoint.weights.classifier).toEqual(expected.classifier);
    for (const projection of PROJECTION_NAMES) {
      expect(checkpoint.weights.layers[1]?.projections[projection]).toEqual(
        expected.layers[1]?.projections[projection],
      );
    }
  });

  it('ships the default model in the package', async () => {
    const paths = defaultModelPaths();
    expect(paths.checkpoint).toMatch(/assets\/babyllama-tok105\/model5000\.bin$/);
    const shipped = await readFile(paths.checkpoint);
    // Buffer.equals: vitest's deep equality walks 3.7 MB byte by byte for about 40 s.
    expect(shipped.equals(await readFile(BABYLLAMA_CHECKPOINT))).toBe(true);
    const tokenizer = await readFile(paths.tokenizer);
    expect(tokenizer.byteLength).toBe(986);
  });
});
