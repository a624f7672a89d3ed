import { readFile } from 'node:fs/promises';
import { ConfigError, FormatError } from '@guilomo/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Llama2cTokenizer } from '../src/index.js';
import { BOS_ID, EOS_ID, parseLlama2cTokenizer, readLlama2cTokenizer } from '../src/index.js';
import { BABYLLAMA_TOKENIZER, TINYSTORIES_TOK512 } from './fixtures.js';

const tokenizers: Record<string, Llama2cTokenizer> = {};

beforeAll(async () => {
  tokenizers.tok105 = await readLlama2cTokenizer(BABYLLAMA_TOKENIZER);
  tokenizers.tok512 = await readLlama2cTokenizer(TINYSTORIES_TOK512);
});

function tokenizer(name: string): Llama2cTokenizer {
  const found = tokenizers[name];
  if (found === undefined) {
    throw new Error(`tokenizer ${name} not loaded`);
  }
  return found;
}

describe('Llama2cTokenizer', () => {
  it.each([
    { name: 'tok105', vocabSize: 105, maxTokenLength: 6, hasByteFallback: false },
    { name: 'tok512', vocabSize: 512, maxTokenLength: 7, hasByteFallback: true },
  ])('parses $name', ({ name, vocabSize, maxTokenLength, hasByteFallback }) => {
    const parsed = tokenizer(name);
    expect(parsed.vocabSize).toBe(vocabSize);
    expect(parsed.maxTokenLength).toBe(maxTokenLength);
    expect(parsed.hasByteFallback).toBe(hasByteFallback);
    expect(parsed.piece(BOS_ID)).toBe('\n<s>\n');
    expect(parsed.piece(EOS_ID)).toBe('\n</s>\n');
  });

  it('encodes characters with a leading space on tok105', () => {
    const ids = tokenizer('tok105').encode('Once upon');
    // BOS, the dummy-prefix space (3), then O n c e ␣ u p o n.
    expect(ids).toEqual([1, 3, 34, 9, 22, 4, 3, 18, 20, 7, 9]);
  });

  it('merges to the known TinyStories pieces on tok512', () => {
    const ids = tokenizer('tok512').encode('Once upon a time, Lily');
    expect(ids).toEqual([1, 403, 407, 261, 378, 432, 317]);
    expect(ids.slice(1).map((id) => tokenizer('tok512').piece(id))).toEqual([
      ' Once',
      ' upon',
      ' a',
      ' time',
      ',',
      ' Lily',
    ]);
  });

  it.each([
    { bos: true, eos: true, expected: [1, 3, 5, 2] },
    { bos: false, eos: true, expected: [3, 5, 2] },
    { bos: false, eos: false, expected: [3, 5] },
  ])('places BOS=$bos and EOS=$eos', ({ bos, eos, expected }) => {
    expect(tokenizer('tok105').encode('a', { bos, eos })).toEqual(expected);
  });

  it('encodes empty text as BOS alone', () => {
    expect(tokenizer('tok105').encode('')).toEqual([BOS_ID]);
    expect(tokenizer('tok512').encode('', { bos: false })).toEqual([]);
  });

  describe.each(['tok105', 'tok512'])('round trip on %s', (name) => {
    it.each([
      'Once upon a time, there was a little girl named Lily.',
      '"Can I play?" she asked. Mom said, "Yes!"',
      ' leading and  double  spaces ',
      'Numbers 3, 14 and 15: (a) [b] $9 & 10% – done… é ñ “quote” ’tis',
    ])('%j', (text) => {
      const parsed = tokenizer(name);
      const result = parsed.encodeWithStats(text);
      expect(result.droppedCount).toBe(0);
      expect(result.substitutedCount).toBe(0);
      expect(parsed.decode(result.ids)).toBe(text);
    });
  });

  it('substitutes and drops characters missing from tok105', () => {
    const result = tokenizer('tok105').encodeWithStats('a#b=c{d}_e@f^g\nh');
    expect(result.substitutedCount).toBe(5);
    expect(result.droppedCount).toBe(3);
    expect(result.droppedCharacters).toEqual(['#', '@', '^']);
    expect(result.byteFallbackCount).toBe(0);
    expect(tokenizer('tok105').decode(result.ids)).toBe('ab~c(d)-efg h');
  });

  it('counts a character missing from both vocabulary and table', () => {
    const result = tokenizer('tok105').encodeWithStats('ok 🙂 ok 🙂');
    expect(result.droppedCount).toBe(2);
    expect(result.droppedCharacters).toEqual(['🙂']);
    expect(tokenizer('tok105').decode(result.ids)).toBe('ok  ok ');
  });

  it('uses byte fallback on tok512 and decodes it back', () => {
    const text = 'a#b=c{d}_e@f^g\nSmile 🙂';
    const result = tokenizer('tok512').encodeWithStats(text);
    expect(result.byteFallbackCount).toBe(9);
    expect(result.substitutedCount).toBe(0);
    expect(result.droppedCount).toBe(0);
    // The emoji is four UTF-8 bytes, each a <0xNN> token (ids 3 + byte).
    expect(result.ids.slice(-4)).toEqual([0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3]);
    expect(tokenizer('tok512').decode(result.ids)).toBe(text);
  });

  it('accepts a custom substitution table', async () => {
    const bytes = await readFile(BABYLLAMA_TOKENIZER);
    const custom = parseLlama2cTokenizer(bytes, 'tok105.bin', { substitutions: { '#': 'No.' } });
    const result = custom.encodeWithStats('#1');
    expect(result.substitutedCount).toBe(1);
    expect(custom.decode(result.ids)).toBe('No.1');
  });

  it('strips the dummy-prefix space after each BOS', () => {
    const parsed = tokenizer('tok105');
    const ids = [...parsed.encode('Hi'), ...parsed.encode('Yo', { eos: true })];
    expect(parsed.decode(ids)).toBe('HiYo');
  });

  it('decodes <unk> as U+FFFD', () => {
    expect(tokenizer('tok105').decode([0, 5])).toBe('\uFFFDa');
  });

  it('rejects an id outside the vocabulary', () => {
    expect(() => tokenizer('tok105').decode([1, 105])).toThrow(ConfigError);
    expect(() => tokenizer('tok105').decode([1, 105])).toThrow(
      /contains 105, outside the vocabulary \[0, 105\)/,
    );
  });

  it.each([
    {
      name: 'cut inside a piece',
      cut: 984,
      message: /tok\.bin: token 104 at byte \d+ declares 3 bytes, but \d+ remain/,
    },
    {
      name: 'cut inside a record header',
      cut: 980,
      message: /tok\.bin: token 104 starts at byte \d+ but its 8-byte score/,
    },
    { name: 'three bytes', cut: 3, message: /too short/ },
  ])('rejects a file $name', async ({ cut, message }) => {
    const bytes = await readFile(BABYLLAMA_TOKENIZER);
    const truncated = bytes.subarray(0, cut);
    expect(() => parseLlama2cTokenizer(truncated, 'tok.bin')).toThrow(FormatError);
    expect(() => parseLlama2cTokenizer(truncated, 'tok.bin')).toThrow(message);
  });
});
