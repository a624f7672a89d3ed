/**
 * Seeded pseudo-random generator (SplitMix32 state update with a Mulberry32-style output mix).
 * Deterministic across platforms, so that a seed reproduces initialisation, shuffling and
 * dropout masks.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`Rng seed must be an integer, received ${seed}.`);
    }
    this.state = seed >>> 0;
  }

  /** Returns a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns an integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** Returns a standard normal draw (Box-Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) {
      u = this.next();
    }
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fills a new array with N(mean, std²) draws. */
  normalArray(size: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      out[i] = mean + std * this.normal();
    }
    return out;
  }

  /** Fills a new array with U(low, high) draws. */
  uniformArray(size: number, low: number, high: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      out[i] = low + (high - low) * this.next();
    }
    return out;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** Returns an independent generator seeded from this one. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  /** Internal state, for checkpoints. */
  getState(): number {
    return this.state;
  }

  /** Restores a state returned by {@link getState}. */
  setState(state: number): void {
    this.state = state >>> 0;
  }
}
