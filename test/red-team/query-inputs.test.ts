/**
 * Red team, the read side's inputs (issue findings of v1): `replay` and `deadLetters` get
 * whatever a caller passes, and answer a `WebhookError` of `WD_INVALID_OPTIONS`, never a raw
 * error, a list of `null`s, or minutes of work.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, isWebhookError } from '../../src/index.js';
import { recordingTransport } from './hostile.js';

const make = () => new Dispatcher({ allowPrivateNetworks: true }, { transport: recordingTransport() });

async function refusedWith(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isWebhookError(error), `expected a WebhookError, got ${String(error)}`).toBe(true);
  return error as { code: string; message: string };
}

describe('replay refuses what is not a list of message ids', () => {
  it('an array of holes (new Array(3)) is refused, not answered with [null, null, null]', async () => {
    const d = make();
    const error = await refusedWith(d.replay(new Array(3)));
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.message).toContain('`messageIds[0]`');
  });

  it('a sparse array of length 1e7 is refused before anything is read, at once', async () => {
    const d = make();
    const ids: string[] = [];
    ids.length = 1e7;
    const started = process.hrtime.bigint();
    const error = await refusedWith(d.replay(ids));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.message).toMatch(/at most 10000 ids/);
    // Bounded work, not a timing claim: reading 1e7 holes took over 90 s before the cap.
    expect(ms).toBeLessThan(5_000);
  });

  it("an array's own every/map are never called: a lying `every` cannot pass a non-string", async () => {
    const d = make();
    let called = 0;
    const ids = Object.assign([42], {
      every: () => {
        called++;
        return true;
      },
      map: () => {
        called++;
        throw new Error('own map');
      },
    });
    const error = await refusedWith(d.replay(ids as unknown as string[]));
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(called).toBe(0);
  });

  it('a Proxy whose length getter throws is refused with the thrown error as cause', async () => {
    const d = make();
    const thrown = new Error('length trap');
    const ids = new Proxy([], { get: (t, k) => (k === 'length' ? (() => { throw thrown; })() : Reflect.get(t, k)) });
    const error = (await refusedWith(d.replay(ids))) as unknown as { code: string; cause: unknown };
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.cause).toBe(thrown);
  });

  it('ids the store does not hold give { ok: false } each, in order', async () => {
    const d = make();
    const results = await d.replay(['nope-1', 'nope-2']);
    await d.close();
    expect(results.map((r) => r.ok)).toEqual([false, false]);
  });
});

describe('deadLetters refuses a query it cannot read', () => {
  it('a Proxy whose ownKeys throws', async () => {
    const d = make();
    const thrown = new Error('ownKeys trap');
    const query = new Proxy({}, { ownKeys: () => { throw thrown; } });
    const error = (await refusedWith(d.deadLetters(query))) as unknown as { code: string; cause: unknown };
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.cause).toBe(thrown);
  });

  it('an own getter that throws', async () => {
    const d = make();
    const thrown = new Error('limit getter');
    const query = Object.defineProperty({}, 'limit', { enumerable: true, get: () => { throw thrown; } });
    const error = (await refusedWith(d.deadLetters(query))) as unknown as { code: string; cause: unknown };
    await d.close();
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.cause).toBe(thrown);
  });
});
