import { readFile } from 'node:fs/promises';
import { ConfigError, FormatError } from '@guilomo/core';

/** Token id of `<unk>` in llama2.c tokenizers. */
export const UNK_ID = 0;
/** Token id of the beginning-of-sequence marker `<s>`. */
export const BOS_ID = 1;
/** Token id of the end-of-sequence marker `</s>`. */
export const EOS_ID = 2;

/**
 * Default replacements for characters missing from the vocabulary, applied when the
 * tokenizer has no byte-fallback tokens. Each maps to a symbol of similar role or shape:
 * whitespace to a space (as SentencePiece's normalisation does), curly braces to round
 * brackets, `_` to `-` and `=` to `~`. Characters without an entry, such as `#`, `@` and `^`
 * for the 105-symbol tokenizer, are dropped and counted.
 */
export const DEFAULT_SUBSTITUTIONS: Readonly<Record<string, string>> = Object.freeze({
  '\n': ' ',
  '\r': ' ',
  '\t': ' ',
  '{': '(',
  '}': ')',
  _: '-',
  '=': '~',
});

/** Options of {@link Llama2cTokenizer.encode}. */
export interface EncodeOptions {
  /** Prepends BOS (id 1). Default true. */
  readonly bos?: boolean;
  /** Appends EOS (id 2). Default false. */
  readonly eos?: boolean;
}

/** Token ids of a text and counts of the characters that had no vocabulary entry. */
export interface EncodeResult {
  readonly ids: number[];
  /** Characters encoded as UTF-8 byte tokens `<0xNN>`. */
  readonly byteFallbackCount: number;
  /** Characters replaced through the substitution table. */
  readonly substitutedCount: number;
  /** Characters dropped because no rule applied. */
  readonly droppedCount: number;
  /** Distinct dropped characters, in order of first appearance. */
  readonly droppedCharacters: readonly string[];
}

/** Options of {@link parseLlama2cTokenizer}. */
export interface TokenizerOptions {
  /**
   * Replacements for characters missing from the vocabulary, used when the vocabulary has no
   * byte-fallback tokens. Default {@link DEFAULT_SUBSTITUTIONS}.
   */
  readonly substitutions?: Readonly<Record<string, string>>;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/**
 * Tokenizer in llama2.c's `tokenizer.bin` format, encoding as llama2.c's `run.c` does. A
 * space is prepended to non-empty text (SentencePiece's dummy prefix, which the models were
 * trained with), and each character is looked up. Then the adjacent pair whose concatenation
 * is the highest-scoring vocabulary piece is merged, repeatedly, until no pair merges.
 *
 * A character missing from the vocabulary becomes its UTF-8 byte tokens `<0xNN>` when the
 * vocabulary has them, else its substitution, else it is dropped. {@link encodeWithStats}
 * returns the counts.
 */
export class Llama2cTokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  /** True when the vocabulary has the 256 byte tokens `<0x00>`..`<0xFF>`. */
  readonly hasByteFallback: boolean;
  private readonly pieces: readonly string[];
  private readonly pieceBytes: readonly Uint8Array[];
  private readonly scores: Float32Array;
  /** Piece to id, for ordinary pieces only: no special or byte tokens. */
  private readonly lookup: ReadonlyMap<string, number>;
  /** Byte value to token id, for byte-fallback vocabularies. */
  private readonly byteIds: ReadonlyMap<number, number>;
  /** Token id to byte value, for byte tokens. */
  private readonly idBytes: ReadonlyMap<number, number>;
  private readonly substitutions: Readonly<Record<string, string>>;

  constructor(
    pieces: readonly Uint8Array[],
    scores: Float32Array,
    maxTokenLength: number,
    options: TokenizerOptions = {},
  ) {
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    this.pieceBytes = pieces;
    this.pieces = pieces.map((bytes) => utf8Decoder.decode(bytes));
    this.scores = scores;
    const lookup = new Map<string, number>();
    const byteIds = new Map<number, number>();
    const idBytes = new Map<number, number>();
    this.pieces.forEach((piece, id) => {
      const byteMatch = BYTE_PIECE.exec(piece);
      if (byteMatch !== null) {
        const value = Number.parseInt(byteMatch[1] as string, 16);
        byteIds.set(value, id);
        idBytes.set(id, value);
      } else if (id > EOS_ID && !lookup.has(piece)) {
        lookup.set(piece, id);
      }
    });
    this.lookup = lookup;
    this.byteIds = byteIds;
    this.idBytes = idBytes;
    this.hasByteFallback = byteIds.size === 256;
    this.substitutions = options.substitutions ?? DEFAULT_SUBSTITUTIONS;
  }

  /** Returns the piece of a token id, as stored (BOS is `"\n<s>\n"`). */
  piece(id: number): string {
    const piece = this.pieces[id];
    if (piece === undefined) {
      throw new ConfigError('id', `must be in [0, ${this.vocabSize}), received ${id}.`);
    }
    return piece;
  }

  /** Returns the id of a vocabulary piece, or undefined when it is not in the vocabulary. */
  pieceId(piece: string): number | undefined {
    return this.lookup.get(piece);
  }

  /** Encodes `text` to token ids. {@link encodeWithStats} also returns unknown-character counts. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeWithStats(text, options).ids;
  }

  /** Encodes `text` and counts the characters that had no vocabulary entry. */
  encodeWithStats(text: string, options: EncodeOptions = {}): EncodeResult {
    let byteFallbackCount = 0;
    let substitutedCount = 0;
    let droppedCount = 0;
    const dropped: string[] = [];
    const symbols: number[] = [];
    const pushCharacter = (character: string): boolean => {
      const id = this.lookup.get(character);
      if (id !== undefined) {
        symbols.push(id);
        return true;
      }
      return false;
    };

    const body = text.length > 0 ? ` ${text}` : '';
    for (const character of body) {
      if (pushCharacter(character)) {
        continue;
      }
      if (this.hasByteFallback) {
        for (const byte of utf8Encoder.encode(character)) {
          symbols.push(this.byteIds.get(byte) as number);
        }
        byteFallbackCount++;
        continue;
      }
      const substitute = this.substitutions[character];
      if (substitute !== undefined && [...substitute].every((c) => this.lookup.has(c))) {
        for (const c of substitute) {
          pushCharacter(c);
        }
        substitutedCount++;
        continue;
      }
      droppedCount++;
      if (!dropped.includes(character)) {
        dropped.push(character);
      }
    }

    const merged = this.mergePairs(symbols);
    const ids: number[] = [];
    if (options.bos ?? true) {
      ids.push(BOS_ID);
    }
    ids.push(...merged);
    if (options.eos ?? false) {
      ids.push(EOS_ID);
    }
    return {
      ids,
      byteFallbackCount,
      substitutedCount,
      droppedCount,
      droppedCharacters: dropped,
    };
  }

  /**
   * Merges adjacent tokens greedily: each round merges the leftmost pair whose concatenation
   * is the highest-scoring piece, until no adjacent pair forms a piece.
   */
  private mergePairs(symbols: number[]): number[] {
    const tokens = [...symbols];
    const pairId = (i: number): number => {
      const left = this.pieces[tokens[i] as number] as string;
      const right = this.pieces[tokens[i + 1] as number] as string;
      return this.lookup.get(left + right) ?? -1;
    };
    // Merged piece id of each adjacent pair, or -1. A merge changes only its two neighbours.
    const candidates = tokens.slice(0, -1).map((_, i) => pairId(i));
    for (;;) {
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < candidates.length; i++) {
        const id = candidates[i] as number;
        if (id >= 0 && (this.scores[id] as number) > bestScore) {
          bestScore = this.scores[id] as number;
          best = i;
        }
      }
      if (best < 0) {
        return tokens;
      }
      tokens.splice(best, 2, candidates[best] as number);
      candidates.splice(best, 1);
      if (best > 0) {
        candidates[best - 1] = pairId(best - 1);
      }
      if (best < candidates.length) {
        candidates[best] = pairId(best);
      }
    }
  }

  /**
   * Decodes token ids to text. BOS and EOS produce nothing, byte tokens are reassembled into
   * UTF-8, `<unk>` becomes U+FFFD, and the space that encoding prepends is removed from the
   * start of the text and after each BOS, as SentencePiece's decoder does.
   */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let stripSpace = true;
    for (const id of ids) {
      const pieceBytes = this.pieceBytes[id];
      if (pieceBytes === undefined) {
        throw new ConfigError(
          'ids',
          `contains ${id}, outside the vocabulary [0, ${this.vocabSize}).`,
        );
      }
      if (id === BOS_ID) {
        stripSpace = true;
        continue;
      }
      if (id === EOS_ID) {
        continue;
      }
      const byte = this.idBytes.get(id);
      if (byte !== undefined) {
        bytes.push(byte);
      } else if (id === UNK_ID) {
        bytes.push(...utf8Encoder.encode('\uFFFD'));
      } else {
        const start = stripSpace && pieceBytes[0] === 0x20 ? 1 : 0;
        for (let i = start; i < pieceBytes.length; i++) {
          bytes.push(pieceBytes[i] as number);
        }
      }
      stripSpace = false;
    }
    return utf8Decoder.decode(new Uint8Array(bytes));
  }
}

/**
 * Parses llama2.c's `tokenizer.bin`: int32 max_token_length, then per token a float32 score,
 * an int32 byte length and the UTF-8 bytes of the piece. All values are little-endian.
 *
 * @param source file name or label used in error messages.
 * @throws FormatError when a record runs past the end of the data or a length is negative.
 */
export function parseLlama2cTokenizer(
  bytes: Uint8Array,
  source = 'tokenizer',
  options: TokenizerOptions = {},
): Llama2cTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) {
    throw new FormatError(`${source}: ${bytes.byteLength} bytes is too short for a tokenizer.bin.`);
  }
  const maxTokenLength = view.getInt32(0, true);
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let offset = 4;
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength) {
      throw new FormatError(
        `${source}: token ${pieces.length} starts at byte ${offset} but its 8-byte score and ` +
          `length run past the end of the data (${bytes.byteLength} bytes).`,
      );
    }
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || offset + length > bytes.byteLength) {
      throw new FormatError(
        `${source}: token ${pieces.length} at byte ${offset - 8} declares ${length} bytes, ` +
          `but ${bytes.byteLength - offset} remain.`,
      );
    }
    pieces.push(bytes.slice(offset, offset + length));
    scores.push(score);
    offset += length;
  }
  if (pieces.length <= EOS_ID) {
    throw new FormatError(
      `${source}: has ${pieces.length} tokens, but a llama2.c tokenizer has at least <unk>, ` +
        '<s> and </s>.',
    );
  }
  return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength, options);
}

/** Reads and parses a llama2.c `tokenizer.bin` file. See {@link parseLlama2cTokenizer}. */
export async function readLlama2cTokenizer(
  path: string,
  options: TokenizerOptions = {},
): Promise<Llama2cTokenizer> {
  const bytes = await readFile(path);
  return parseLlama2cTokenizer(bytes, path, options);
}
