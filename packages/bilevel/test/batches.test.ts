import { FormatError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { PairingScheme } from '../src/index.js';
import { BatchIterator, BatchPairIterator, splitTrainValidation } from '../src/index.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('splitTrainValidation', () => {
  it('splits into disjoint covering parts', () => {
    const { train, validation } = splitTrainValidation(range(10), {
      validationFraction: 0.3,
      seed: 4,
    });
    expect(validation).toHaveLength(3);
    expect(train).toHaveLength(7);
    expect([...train, ...validation].sort((a, b) => a - b)).toEqual(range(10));
    // Each part keeps the input order.
    expect(train).toEqual([...train].sort((a, b) => a - b));
    expect(validation).toEqual([...validation].sort((a, b) => a - b));
  });

  it('is fixed by the seed', () => {
    const first = splitTrainValidation(range(50), { seed: 8 });
    expect(splitTrainValidation(range(50), { seed: 8 })).toEqual(first);
    expect(splitTrainValidation(range(50), { seed: 9 })).not.toEqual(first);
  });

  it('holds out half by default', () => {
    expect(splitTrainValidation(range(9), { seed: 1 }).validation).toHaveLength(5);
  });

  it.each([
    [2, 0.01, 1],
    [2, 0.99, 1],
    [5, 0.5, 3],
  ])('keeps both parts non-empty (%i, %f)', (n, validationFraction, expected) => {
    const { train, validation } = splitTrainValidation(range(n), { validationFraction, seed: 3 });
    expect(validation).toHaveLength(expected);
    expect(train).toHaveLength(n - expected);
  });

  it.each<[unknown[], number, RegExp]>([
    [[1], 0.5, /`examples`: has 1 item\(s\); a train\/validation split needs at least 2/],
    [range(4), 0, /`validationFraction`: must be > 0, < 1, received 0/],
    [range(4), 1, /`validationFraction`: must be > 0, < 1, received 1/],
  ])('rejects %j at fraction %f', (examples, validationFraction, message) => {
    expect(() => splitTrainValidation(examples, { validationFraction, seed: 1 })).toThrow(message);
  });
});

describe('BatchIterator', () => {
  it('reshuffles every epoch', () => {
    const batches = new BatchIterator(range(10), { batchSize: 4, seed: 2 });
    expect(batches.batchesPerEpoch).toBe(3);
    const epoch0 = [batches.next(), batches.next(), batches.next()];
    const epoch1 = [batches.next(), batches.next(), batches.next()];
    expect(epoch0.map((batch) => batch.items.length)).toEqual([4, 4, 2]);
    expect(epoch0.map((batch) => [batch.epoch, batch.index])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
    expect(epoch1[0]?.epoch).toBe(1);
    const flat0 = epoch0.flatMap((batch) => batch.items);
    const flat1 = epoch1.flatMap((batch) => batch.items);
    expect([...flat0].sort((a, b) => a - b)).toEqual(range(10));
    expect([...flat1].sort((a, b) => a - b)).toEqual(range(10));
    expect(flat1).not.toEqual(flat0);
  });

  it('keeps order and drops the remainder', () => {
    const batches = new BatchIterator(range(7), {
      batchSize: 3,
      seed: 1,
      shuffle: false,
      dropLast: true,
    });
    expect([batches.next().items, batches.next().items, batches.next().items]).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [0, 1, 2],
    ]);
  });

  it.each([0, 1, 2, 3, 5])('resumes after %i batches', (taken) => {
    const original = new BatchIterator(range(10), { batchSize: 4, seed: 6 });
    for (let i = 0; i < taken; i++) {
      original.next();
    }
    const cursor = JSON.parse(JSON.stringify(original.getCursor()));
    const resumed = new BatchIterator(range(10), { batchSize: 4, seed: 12345 });
    resumed.setCursor(cursor);
    for (let i = 0; i < 7; i++) {
      expect(resumed.next()).toEqual(original.next());
    }
  });

  it('rejects bad input', () => {
    expect(() => new BatchIterator([1, 2], { batchSize: 3, seed: 1, dropLast: true })).toThrow(
      /`items`: has 2 item\(s\), which make no batch of batchSize 3 with dropLast = true/,
    );
    expect(() => new BatchIterator([1, 2], { batchSize: 0, seed: 1 })).toThrow(
      /`batchSize`: must be an integer, >= 1/,
    );
    const batches = new BatchIterator([1, 2], { batchSize: 1, seed: 1 });
    expect(() => batches.setCursor({ epoch: 0, index: 3, rngState: 1 })).toThrow(FormatError);
  });
});

describe('BatchPairIterator', () => {
  it('alternate pairs consecutive batches', () => {
    const examples = range(10);
    const pairs = new BatchPairIterator(examples, { pairing: 'alternate', batchSize: 2, seed: 5 });
    // 5 batches per epoch: pairs (0, 1), (2, 3) and (4, 4), the last validating on its train batch.
    expect(pairs.pairsPerEpoch).toBe(3);
    const epoch = [pairs.next(), pairs.next(), pairs.next()];
    expect(epoch.map((pair) => [pair.epoch, pair.index])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
    expect(epoch[2]?.validation).toEqual(epoch[2]?.train);
    const seen = [
      ...epoch.flatMap((pair) => pair.train),
      ...(epoch[0]?.validation ?? []),
      ...(epoch[1]?.validation ?? []),
    ];
    expect(seen.sort((a, b) => a - b)).toEqual(examples);
    expect(pairs.next().epoch).toBe(1);
  });

  it('held-out pairs use disjoint splits', () => {
    const pairs = new BatchPairIterator(range(20), {
      batchSize: 3,
      seed: 5,
      validationFraction: 0.25,
    });
    // 15 train examples make 5 batches, and 5 validation examples make 2 batches that cycle.
    expect(pairs.pairsPerEpoch).toBe(5);
    const train = new Set<number>();
    const validation = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const pair = pairs.next();
      for (const item of pair.train) {
        train.add(item);
      }
      for (const item of pair.validation) {
        validation.add(item);
      }
    }
    expect(train.size).toBe(15);
    expect(validation.size).toBe(5);
    expect([...train].filter((item) => validation.has(item))).toEqual([]);
  });

  it.each(['alternate', 'held-out'] as const)('%s pairing resumes from a cursor', (pairing) => {
    const original = new BatchPairIterator(range(23), { pairing, batchSize: 4, seed: 9 });
    for (let i = 0; i < 4; i++) {
      original.next();
    }
    const cursor = JSON.parse(JSON.stringify(original.getCursor()));
    const resumed = new BatchPairIterator(range(23), { pairing, batchSize: 4, seed: 9 });
    resumed.setCursor(cursor);
    for (let i = 0; i < 9; i++) {
      expect(resumed.next()).toEqual(original.next());
    }
  });

  it('rejects a mismatched pairing', () => {
    const alternate = new BatchPairIterator(range(8), {
      pairing: 'alternate',
      batchSize: 2,
      seed: 1,
    });
    const heldOut = new BatchPairIterator(range(8), { pairing: 'held-out', batchSize: 2, seed: 1 });
    expect(() => heldOut.setCursor(alternate.getCursor())).toThrow(
      /saved with pairing "alternate", but this iterator uses "held-out"/,
    );
    expect(
      () =>
        new BatchPairIterator(range(8), { pairing: 'zip' as PairingScheme, batchSize: 2, seed: 1 }),
    ).toThrow(/`pairing`: must be one of "held-out", "alternate", received "zip"/);
  });
});
