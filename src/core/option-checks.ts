import { WebhookError, invalidOptions } from './errors.js';

/** `2147483647` → `2_147_483_647`: limits in messages read the way they are written in code. */
export function grouped(n: number): string {
  return Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, '_') : String(n);
}

/** Edit distance (optimal string alignment: insert, delete, substitute, swap two neighbours), ignoring case. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[s.length]![t.length]!;
}

/** The valid key nearest to `key`, when it is near enough to be what was meant (at most half the longer one changed). */
export function nearest(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of valid) {
    // The distance is at least the difference in length: a key too long (or too short) to be
    // near any candidate skips the quadratic table, so a megabyte-long key costs nothing.
    if (Math.abs(key.length - candidate.length) > Math.floor(Math.max(key.length, candidate.length) / 2)) continue;
    const distance = editDistance(key, candidate);
    if (distance < bestDistance && distance <= Math.floor(Math.max(key.length, candidate.length) / 2)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ``Unknown option `retries`; did you mean `retry`?`` */
export function unknownOption(prefix: string, key: string, valid: readonly string[]): WebhookError {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  const guess = nearest(key, valid);
  const hint = guess !== undefined ? `did you mean \`${prefix}${guess}\`?` : `expected one of ${valid.map((k) => `\`${prefix}${k}\``).join(', ')}`;
  return new WebhookError('WD_INVALID_OPTIONS', `Unknown option \`${prefix}${shown}\`; ${hint}`);
}

function unreadable(name: string, cause: unknown): WebhookError {
  return new WebhookError('WD_INVALID_OPTIONS', `Expected \`${name}\` to be readable, but reading it threw`, { cause });
}

/** Reads one option by name, as an own property only. */
export type OptionReader = (key: string) => unknown;

/** The own enumerable keys of `value`, which must be an object. Throws `WD_INVALID_OPTIONS`, never anything else. */
export function ownKeys(name: string, value: unknown): string[] {
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOptions(name, 'an object', value);
    // A Map (or any iterable) has no own keys to read: taking it for `{}` would drop every setting silently.
    if (Symbol.iterator in value) throw invalidOptions(name, 'a plain object (not a Map or other iterable)', value);
    return Object.keys(value);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw unreadable(name, error);
  }
}

/**
 * Checks that `value` is an object whose own keys are all in `valid`, and returns a reader of
 * its own properties: nothing inherited (a polluted `Object.prototype`) is ever an option, and
 * a getter or Proxy trap that throws becomes `WD_INVALID_OPTIONS` with the error as `cause`.
 * @param name the object in messages (`options`, `retry`, `hosts["https://a.example"]`)
 * @param prefix put before a key in messages: `retry.` for `retry.attempts`; `''` at the top level
 */
export function readObject(name: string, value: unknown, valid: readonly string[], prefix = `${name}.`): OptionReader {
  for (const key of ownKeys(name, value)) if (!valid.includes(key)) throw unknownOption(prefix, key, valid);
  const o = value as Record<string, unknown>;
  return (key) => {
    try {
      return Object.hasOwn(o, key) ? o[key] : undefined;
    } catch (error) {
      throw unreadable(`${prefix}${key}`, error);
    }
  };
}

/** An integer in `[min, max]`, or `fallback` when absent. `-0`, NaN, ±Infinity and non-numbers are refused. */
export function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || Object.is(value, -0) || value < min || value > max) {
    throw invalidOptions(name, `an integer from ${grouped(min)} to ${grouped(max)}`, value);
  }
  return value;
}

/** A finite number in `[min, max]`, or `fallback` when absent (required when `fallback` is `undefined`). */
export function number(name: string, value: unknown, min: number, max: number, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || Object.is(value, -0) || value < min || value > max) {
    throw invalidOptions(name, `a finite number from ${grouped(min)} to ${grouped(max)}`, value);
  }
  return value;
}

export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOptions(name, 'a boolean', value);
  return value;
}
