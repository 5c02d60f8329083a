// A tiny seeded PRNG (mulberry32) and the value mutations the fuzz test draws from. Seeded, so a
// failing variant is reproduced by its seed (MECHEDIT_FUZZ_SEED) and index.

export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Values that break parsers: wrong types, boundary numbers, path tricks, big values. */
export function oddValue(rng: Rng, like?: unknown): unknown {
  const numbers = [0, -1, 0.5, -0.5, 1e308, -1e308, 3e38, 2 ** 53, 2 ** 31, 1e9, 3_000_000_000, Number.MAX_SAFE_INTEGER + 2, 1e-300];
  const strings = ['', 'x', '..', '../..', '/', '/etc/passwd', 'null', '0', '-1', 'NaN', '\u0000', 'é'.repeat(3), 'a'.repeat(rng.int(1, 5000))];
  const near = typeof like === 'number' ? [like + 1, like - 1, like * 2, -like, like + 0.5, like * 1000, Math.floor(like / 2)] : [];
  const kinds: (() => unknown)[] = [
    () => null,
    () => rng.pick(numbers),
    () => rng.pick(near.length ? near : numbers),
    () => rng.pick(strings),
    () => true,
    () => false,
    () => [],
    () => ({}),
    () => [null],
    () => [rng.pick(numbers), rng.pick(strings)],
    () => ({ a: null }),
    () => (typeof like === 'string' ? like + rng.pick(strings) : rng.pick(strings)),
    () => (Array.isArray(like) ? [...like, ...like] : [like]),
  ];
  return rng.pick(kinds)();
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (keys and indices) in a JSON value, up to `limit` of them. */
export function jsonPaths(value: unknown, limit = 50_000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (v: unknown, at: (string | number)[]) => {
    if (out.length >= limit) return;
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
  };
  walk(value, []);
  return out;
}

/**
 * One to three structural mutations of a JSON value (a deep copy): replace a value with an odd one,
 * delete a key or an element, or duplicate an element. `focus` biases the paths picked (e.g. the
 * fields the code reads) when given.
 */
export function mutateJson(rng: Rng, value: unknown, focus?: (path: (string | number)[]) => boolean): unknown {
  const root = { v: structuredClone(value) as Json };
  const n = rng.int(1, 3);
  for (let k = 0; k < n; k++) {
    let paths = jsonPaths(root.v).map((p) => ['v', ...p]);
    if (focus && rng.chance(0.8)) {
      const focused = paths.filter((p) => focus(p.slice(1)));
      if (focused.length) paths = focused;
    }
    const p = rng.pick(paths);
    const parent = p.slice(0, -1).reduce<unknown>((o, key) => (o as Record<string | number, unknown>)[key], root) as Record<string | number, unknown> | unknown[];
    const key = p[p.length - 1];
    const current = (parent as Record<string | number, unknown>)[key];
    const op = rng.int(0, 9);
    if (op <= 6 || p.length === 1) (parent as Record<string | number, unknown>)[key] = oddValue(rng, current);
    else if (op === 7 && Array.isArray(parent)) parent.splice(key as number, 1);
    else if (op === 7) delete (parent as Record<string | number, unknown>)[key];
    else if (op === 8 && Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(current) as Json);
    else if (current && typeof current === 'object') (parent as Record<string | number, unknown>)[key] = Array.isArray(current) ? {} : [];
    else (parent as Record<string | number, unknown>)[key] = oddValue(rng, current);
  }
  return root.v;
}

/** Byte-level damage: truncation, flipped bytes, or a cut in the middle. */
export function mutateBytes(rng: Rng, buf: Buffer): Buffer {
  const op = rng.int(0, 3);
  if (op === 0) return buf.subarray(0, rng.int(0, buf.length - 1));
  if (op === 1) {
    const out = Buffer.from(buf);
    const flips = rng.int(1, 8);
    // Mostly in the first KiB (headers), sometimes anywhere.
    for (let i = 0; i < flips; i++) out[rng.chance(0.7) ? rng.int(0, Math.min(1023, out.length - 1)) : rng.int(0, out.length - 1)] = rng.int(0, 255);
    return out;
  }
  if (op === 2) {
    const at = rng.int(0, buf.length);
    return Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + rng.int(1, 64)))]);
  }
  return Buffer.concat([buf, Buffer.alloc(rng.int(1, 64), rng.int(0, 255))]);
}
