import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';

const DRAWS = 10_000;

function draws(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.next());
}

function meanAndStd(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i] as number;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    squares += ((values[i] as number) - mean) ** 2;
  }
  return { mean, std: Math.sqrt(squares / values.length) };
}

describe('Rng', () => {
  it('repeats the sequence of a seed', () => {
    expect(draws(new Rng(42), 20)).toEqual(draws(new Rng(42), 20));
  });

  it('gives different sequences for different seeds', () => {
    expect(draws(new Rng(1), 5)).not.toEqual(draws(new Rng(2), 5));
  });

  it('reduces seeds modulo 2^32', () => {
    expect(draws(new Rng(-1), 5)).toEqual(draws(new Rng(2 ** 32 - 1), 5));
  });

  it.each([0.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the seed %s', (seed) => {
    expect(() => new Rng(seed)).toThrow(RangeError);
    expect(() => new Rng(seed)).toThrow(`Rng seed must be an integer, received ${seed}.`);
  });

  it('draws next in [0, 1) with mean 1/2', () => {
    const values = draws(new Rng(7), DRAWS);

    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    // The standard error of the mean is sqrt(1/12 / 10k) ≈ 0.003, so the bound allows 5 of them.
    expect(Math.abs(meanAndStd(values).mean - 0.5)).toBeLessThan(0.015);
  });

  it('draws nextInt over the whole range', () => {
    const rng = new Rng(3);
    const counts = new Array<number>(6).fill(0);

    const values = Array.from({ length: 6000 }, () => rng.nextInt(6));
    for (const value of values) {
      counts[value] = (counts[value] ?? 0) + 1;
    }

    expect(values.every(Number.isInteger)).toBe(true);
    expect(counts).toHaveLength(6);
    // Each face expects 1000 hits with a standard deviation of about 29.
    for (const count of counts) {
      expect(Math.abs(count - 1000)).toBeLessThan(150);
    }
  });

  it('draws standard normals with mean 0 and std 1', () => {
    const rng = new Rng(11);
    const values = Array.from({ length: DRAWS }, () => rng.normal());

    const { mean, std } = meanAndStd(values);

    // Standard errors over 10k draws: 0.01 for the mean and about 0.007 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.035);
    expect(values.every(Number.isFinite)).toBe(true);
  });

  it('fills normalArray with the requested mean and std', () => {
    const values = new Rng(5).normalArray(DRAWS, 3, 0.02);

    const { mean, std } = meanAndStd(values);

    expect(values).toBeInstanceOf(Float32Array);
    expect(values).toHaveLength(DRAWS);
    expect(Math.abs(mean - 3)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.0007);
  });

  it('fills uniformArray inside its bounds', () => {
    const values = new Rng(9).uniformArray(DRAWS, -0.5, 0.25);

    const { mean, std } = meanAndStd(values);

    expect(values).toBeInstanceOf(Float32Array);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...values)).toBeLessThanOrEqual(0.25);
    // U(a, b) has mean (a + b) / 2 and std (b − a) / √12.
    expect(Math.abs(mean + 0.125)).toBeLessThan(0.011);
    expect(Math.abs(std - 0.75 / Math.sqrt(12))).toBeLessThan(0.005);
  });

  it('shuffles into a permutation, repeatably', () => {
    const items = Array.from({ length: 50 }, (_, index) => index);

    const shuffled = new Rng(13).shuffle([...items]);
    const again = new Rng(13).shuffle([...items]);

    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(again).toEqual(shuffled);
  });

  it('shuffles in place and returns the same array', () => {
    const items = [1, 2, 3];

    expect(new Rng(1).shuffle(items)).toBe(items);
    expect(new Rng(1).shuffle([])).toEqual([]);
  });

  it('reaches every position when shuffling', () => {
    const rng = new Rng(17);
    const firsts = new Set<number>();

    for (let i = 0; i < 200; i++) {
      firsts.add(rng.shuffle([0, 1, 2, 3])[0] as number);
    }

    expect([...firsts].sort()).toEqual([0, 1, 2, 3]);
  });

  it('forks generators independent of the parent', () => {
    const parent = new Rng(21);
    const reference = new Rng(21);

    const child = parent.fork();
    reference.next();
    const childDraws = draws(child, 10);

    // Drawing from the child leaves the parent where a single draw would have left it.
    expect(draws(parent, 10)).toEqual(draws(reference, 10));
    expect(childDraws).not.toEqual(draws(new Rng(21), 10));
  });

  it('forks different children on successive calls', () => {
    const parent = new Rng(4);

    const first = draws(parent.fork(), 5);
    const second = draws(parent.fork(), 5);

    expect(first).not.toEqual(second);
    expect(draws(new Rng(4).fork(), 5)).toEqual(first);
  });

  it('restores a saved state', () => {
    const rng = new Rng(99);
    draws(rng, 3);
    const state = rng.getState();

    const expected = draws(rng, 10);
    rng.setState(state);

    expect(draws(rng, 10)).toEqual(expected);
    expect(Number.isInteger(state)).toBe(true);
    expect(state).toBeGreaterThanOrEqual(0);
    expect(state).toBeLessThan(2 ** 32);
  });

  it('continues a sequence in a new generator from a state', () => {
    const rng = new Rng(8);
    rng.normal();
    const copy = new Rng(0);

    copy.setState(rng.getState());

    expect(draws(copy, 5)).toEqual(draws(rng, 5));
  });
});
