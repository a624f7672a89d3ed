import { readFile } from 'node:fs/promises';
import type { ProjectionName } from '@guilomo/core';
import { FormatError, NotSupportedError } from '@guilomo/core';
import type { LlamaConfig } from './config.js';
import { llamaDims, resolveLlamaConfig } from './config.js';

/** Frozen weights of one decoder layer, as plain arrays. */
export interface LlamaLayerArrays {
  /** RMSNorm weight before attention `[dim]`. */
  readonly attentionNorm: Float32Array;
  /** RMSNorm weight before the MLP `[dim]`. */
  readonly mlpNorm: Float32Array;
  /** Projection weights in PyTorch layout `[dOut, dIn]`, row-major. */
  readonly projections: Readonly<Record<ProjectionName, Float32Array>>;
}

/** Weights of a LLaMA decoder as plain row-major arrays, before they become tensors. */
export interface LlamaWeightArrays {
  /** Token embedding `[vocabSize, dim]`. */
  readonly tokenEmbedding: Float32Array;
  readonly layers: readonly LlamaLayerArrays[];
  /** Final RMSNorm weight `[dim]`. */
  readonly finalNorm: Float32Array;
  /** Output head `[vocabSize, dim]`, absent when the head reuses the token embedding. */
  readonly classifier?: Float32Array;
}

/** Contents of a llama2.c checkpoint. */
export interface Llama2cCheckpoint {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeightArrays;
  /** Stored RoPE tables `[seqLen, headSize / 2]`: cos and sin of position × frequency. */
  readonly ropeCos: Float32Array;
  readonly ropeSin: Float32Array;
}

const HEADER_BYTES = 7 * 4;

/** Returns the byte size of a llama2.c v0 checkpoint for `config`. */
export function llama2cCheckpointBytes(config: LlamaConfig): number {
  const { dim, hiddenDim, numLayers, vocabSize, seqLen } = config;
  const { headSize, kvDim } = llamaDims(config);
  const floats =
    vocabSize * dim +
    numLayers * (dim + dim * dim + 2 * kvDim * dim + dim * dim + dim + 3 * hiddenDim * dim) +
    dim +
    2 * seqLen * (headSize / 2) +
    (config.sharedClassifier ? 0 : vocabSize * dim);
  return HEADER_BYTES + 4 * floats;
}

function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new NotSupportedError(
      'llama2.c checkpoints store little-endian float32 and this host is big-endian.',
    );
  }
}

/**
 * Parses a llama2.c v0 (legacy) checkpoint. The file starts with an int32[7] header: dim,
 * hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size and seq_len. A negative vocab_size
 * means an unshared classifier follows at the end. Then come float32 tensors in PyTorch
 * `[out, in]` layout: token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1 (gate),
 * w2 (down), w3 (up), rms_final, freq_cis_real, freq_cis_imag, and wcls when unshared.
 *
 * @param source file name or label used in error messages.
 * @throws FormatError when the header is invalid or the byte size differs from the size the
 *   header implies (for example a truncated download or a v1/v2 checkpoint).
 */
export function parseLlama2cCheckpoint(
  bytes: Uint8Array,
  source = 'checkpoint',
): Llama2cCheckpoint {
  assertLittleEndianHost();
  if (bytes.byteLength < HEADER_BYTES) {
    throw new FormatError(
      `${source}: ${bytes.byteLength} bytes is too short for the 28-byte llama2.c header.`,
    );
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const fields = Array.from({ length: 7 }, (_, i) => header.getInt32(4 * i, true));
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, rawVocab, seqLen] = fields as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  let config: LlamaConfig;
  try {
    config = resolveLlamaConfig({
      dim,
      hiddenDim,
      numLayers,
      numHeads,
      numKvHeads,
      vocabSize: Math.abs(rawVocab),
      seqLen,
      sharedClassifier: rawVocab > 0,
    });
  } catch (error) {
    throw new FormatError(
      `${source}: invalid llama2.c v0 header [${fields.join(', ')}] (dim, hidden_dim, ` +
        `n_layers, n_heads, n_kv_heads, vocab_size, seq_len): ${(error as Error).message} ` +
        'Versioned llama2.c files (v1, v2) are not supported; export a legacy (v0) checkpoint.',
      { cause: error },
    );
  }
  const expected = llama2cCheckpointBytes(config);
  if (bytes.byteLength !== expected) {
    throw new FormatError(
      `${source}: expected ${expected} bytes for a llama2.c v0 checkpoint with header ` +
        `[${fields.join(', ')}], but the file has ${bytes.byteLength} bytes. ` +
        'The file is truncated, padded, or not a legacy (v0) checkpoint.',
    );
  }

  // Copy the payload into a fresh, 4-byte-aligned buffer so Float32Array views are valid.
  // (Node's Buffer.slice shares memory, so the copy is explicit.)
  const payload = new Uint8Array(bytes.byteLength - HEADER_BYTES);
  payload.set(bytes.subarray(HEADER_BYTES));
  const floats = new Float32Array(payload.buffer);
  let offset = 0;
  const take = (count: number): Float32Array => {
    const view = floats.subarray(offset, offset + count);
    offset += count;
    return view;
  };
  const perLayer = (count: number): Float32Array[] =>
    Array.from({ length: numLayers }, () => take(count));

  const { headSize, kvDim } = llamaDims(config);
  const vocabSize = config.vocabSize;
  const tokenEmbedding = take(vocabSize * dim);
  const attentionNorms = perLayer(dim);
  const wq = perLayer(dim * dim);
  const wk = perLayer(kvDim * dim);
  const wv = perLayer(kvDim * dim);
  const wo = perLayer(dim * dim);
  const mlpNorms = perLayer(dim);
  const w1 = perLayer(hiddenDim * dim);
  const w2 = perLayer(dim * hiddenDim);
  const w3 = perLayer(hiddenDim * dim);
  const finalNorm = take(dim);
  const ropeCos = take(seqLen * (headSize / 2));
  const ropeSin = take(seqLen * (headSize / 2));
  const classifier = config.sharedClassifier ? undefined : take(vocabSize * dim);

  const layers: LlamaLayerArrays[] = [];
  for (let l = 0; l < numLayers; l++) {
    layers.push({
      attentionNorm: attentionNorms[l] as Float32Array,
      mlpNorm: mlpNorms[l] as Float32Array,
      projections: {
        q: wq[l] as Float32Array,
        k: wk[l] as Float32Array,
        v: wv[l] as Float32Array,
        o: wo[l] as Float32Array,
        gate: w1[l] as Float32Array,
        up: w3[l] as Float32Array,
        down: w2[l] as Float32Array,
      },
    });
  }
  const weights: LlamaWeightArrays =
    classifier === undefined
      ? { tokenEmbedding, layers, finalNorm }
      : { tokenEmbedding, layers, finalNorm, classifier };
  return { config, weights, ropeCos, ropeSin };
}

/** Reads and parses a llama2.c v0 checkpoint file. See {@link parseLlama2cCheckpoint}. */
export async function readLlama2cCheckpoint(path: string): Promise<Llama2cCheckpoint> {
  const bytes = await readFile(path);
  return parseLlama2cCheckpoint(bytes, path);
}
