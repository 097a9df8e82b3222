/**
 * Secrets never leave: not through any form a user can turn our objects into. Each object the
 * library hands out (events, errors and their causes, receipts, stats, the dispatcher itself)
 * is rendered every way a logger or a curious user would: `util.inspect` with hidden
 * properties, `JSON.stringify`, `String`, own keys and property names walked deeply, and
 * `cause` chains. No rendering may hold a secret, a key's bytes in any encoding, or a header
 * value (header values carry credentials such as bearer tokens).
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/index.js';
import { scoped } from './helpers.js';
import { status } from './receiver.js';

const { receiver, dispatcher } = scoped();

/** Every text form of `value` we can think of, deeply. */
function renderings(value: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 6 || v === null || (typeof v !== 'object' && typeof v !== 'function')) {
      out.push(String(v));
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    out.push(inspect(v, { depth: Infinity, showHidden: true, getters: true }));
    try {
      out.push(JSON.stringify(v) ?? '');
    } catch {
      // Cycles: the deep walk below still reaches every own property.
    }
    try {
      out.push(String(v));
    } catch {
      // Objects without a string form.
    }
    for (const key of Reflect.ownKeys(v as object)) {
      out.push(String(key));
      let child: unknown;
      try {
        child = (v as Record<PropertyKey, unknown>)[key];
      } catch {
        continue;
      }
      walk(child, depth + 1);
    }
    if (v instanceof Error) {
      out.push(v.stack ?? '');
      walk(v.cause, depth + 1);
    }
  };
  walk(value, 0);
  return out;
}

/** The secret as text and its key bytes in every encoding a leak could take. */
function forms(secret: string): string[] {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return [secret, key.toString('base64'), key.toString('base64url'), key.toString('hex'), key.toString('base64').replace(/=+$/, '')];
}

describe('secrets never leave', () => {
  it('in any rendering of events, errors and their causes, receipts, stats or the dispatcher', async () => {
    const secrets = [`whsec_${randomBytes(32).toString('base64')}`, `whsec_${randomBytes(32).toString('base64')}`];
    const token = `Bearer tok_${randomBytes(12).toString('hex')}`;
    const r = await receiver((_q, i) => (i === 0 ? status(500, {}, 'oops') : i === 1 ? status(410) : i === 2 ? status(400, {}, 'bad') : status(200)));
    const d = dispatcher({ concurrency: 1, retry: { attempts: 2 }, breaker: { failureThreshold: 1, cooldownMs: 1 } });
    const seen: unknown[] = [];
    for (const name of ['delivered', 'failed', 'attempt', 'retry', 'breaker', 'gone'] as const) d.on(name, (e: unknown) => seen.push(e));
    const endpoint = { url: r.url(), secret: secrets, headers: { authorization: token } };
    for (let i = 0; i < 4; i++) seen.push(await d.send(endpoint, { type: 't', data: i }));
    seen.push(await d.publish({ type: 't', data: 'fan' }, [endpoint, { ...endpoint, url: 'ftp://x' }]));
    // Refusals that name the endpoint: a malformed secret beside a good one, a bad header.
    for (const bad of [
      { ...endpoint, secret: [secrets[0]!, `${secrets[1]}!`] },
      { ...endpoint, headers: { authorization: token, 'x-bad': 'a\u0001b' } },
      { ...endpoint, url: `http://user:${secrets[0]}@127.0.0.1/` },
    ]) {
      await d.send(bad, { type: 't', data: 0 }).catch((e: unknown) => seen.push(e));
    }
    await d.onIdle();
    seen.push(d.stats(), d);
    const texts = seen.flatMap(renderings);
    expect(texts.length).toBeGreaterThan(100);
    const leaks = [...secrets.flatMap(forms), token, token.slice('Bearer '.length)].filter((needle) => texts.some((t) => t.includes(needle)));
    expect(leaks).toEqual([]);
    // The check can see what it looks for: the same renderings of the endpoint do hold them.
    expect(renderings(endpoint).some((t) => t.includes(token))).toBe(true);
  });

  it('a dispatcher closed with a message in flight shows none either', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const r = await receiver(() => ({ kind: 'hang' }));
    const d = new Dispatcher({ allowPrivateNetworks: true });
    const failed: unknown[] = [];
    d.on('failed', (e) => failed.push(e));
    await d.send({ url: r.url(), secret }, { type: 't', data: 1 });
    await d.close();
    expect(failed).toHaveLength(1);
    const texts = [...failed, d].flatMap(renderings);
    expect(forms(secret).filter((needle) => texts.some((t) => t.includes(needle)))).toEqual([]);
  });
});
