/**
 * A small seeded generator of fuzz inputs (JSON values, strings with odd characters, bytes, mutations of a
 * valid value), so a failing run can be replayed from its seed. Used by the property-based fuzzer.
 */
export class FuzzValues {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A string of up to `max` characters: ASCII, control characters, quotes, astral and lone surrogates. */
  string(max = 40): string {
    const alphabets = [
      'abcXYZ09_-',
      '\u0000\u0001\n\r\t\u007f',
      '"\\\'{}[]<>&%/?#=',
      'é漢\u202e\u2066',
      '😀\ud800',
    ];
    let out = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) out += this.pick([...this.pick(alphabets)]);
    return out;
  }

  /** A JSON value up to `depth` levels deep. */
  json(depth = 3): unknown {
    switch (this.int(depth > 0 ? 9 : 6)) {
      case 0:
        return null;
      case 1:
        return this.next() < 0.5;
      case 2:
        return this.pick([0, -1, 1e308, -1e-308, 2 ** 53, 0.5, 65_536, 4_294_967_296]);
      case 3:
        return this.int(1000) - 500;
      case 4:
        return this.string();
      case 5:
        return this.pick([
          '',
          'pong',
          '0x',
          `0x${'ab'.repeat(20)}`,
          `0x${'0'.repeat(130)}`,
          'x'.repeat(5000),
        ]);
      case 6:
        return Array.from({ length: this.int(5) }, () => this.json(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        const keys = [
          'payload',
          'signature',
          'gameId',
          'measurements',
          'edgeId',
          'rttMs',
          'sessionKey',
          'id',
          '__proto__',
          'constructor',
          this.string(8),
        ];
        for (let i = this.int(5); i > 0; i--) o[this.pick(keys)] = this.json(depth - 1);
        return o;
      }
    }
  }

  /** Up to `max` random bytes. */
  bytes(max = 300): Buffer {
    return Buffer.from(Array.from({ length: this.int(max + 1) }, () => this.int(256)));
  }

  /** `value` with one random path replaced by a random value or removed. */
  mutate(value: unknown): unknown {
    if (value === null || typeof value !== 'object' || this.next() < 0.2) return this.json(2);
    const copy: Record<string, unknown> = Array.isArray(value)
      ? ({ ...value } as Record<string, unknown>)
      : { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0) return this.json(2);
    const key = this.pick(keys);
    if (this.next() < 0.25) delete copy[key];
    else copy[key] = this.mutate(copy[key]);
    return Array.isArray(value) ? Object.values(copy) : copy;
  }
}
