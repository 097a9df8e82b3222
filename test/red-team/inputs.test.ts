/**
 * Red team, inputs: every public entry point of the dispatcher fed hostile values. Each one is
 * accepted or refused with a `WebhookError` (known code, bounded message saying what was
 * expected, the thrown error as `cause`), never a raw throw, a crash or a hang; a refused
 * message emits nothing, and the dispatcher keeps delivering afterwards.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dispatcher, isWebhookError, verifyWebhook, type Endpoint, type PublishResult, type Receipt, type WebhookEvent } from '../../src/index.js';
import { LIMITS, OPTION_KEYS } from '../../src/config/options.js';
import { newSecret, scoped, Terminals } from '../helpers.js';
import { expectRefusal, hostileValues, recordEvents, recordingTransport, Sentinel, thrownBy } from './hostile.js';

const { receiver, dispatcher } = scoped();
const secret = newSecret();
const event: WebhookEvent = { type: 'red.team', data: { ok: true } };

/** Options passed through unchecked for now (their features are still to come). */
const UNCHECKED = new Set<string>([]);
const ORIGIN = 'https://hooks.example.com';

/** Where a hostile value can go into the constructor. */
const CONSTRUCTOR: [string, (v: unknown) => unknown][] = [
  ['options', (v) => new Dispatcher(v as never)],
  ...OPTION_KEYS.top.filter((k) => !UNCHECKED.has(k)).map((k): [string, (v: unknown) => unknown] => [`options.${k}`, (v) => new Dispatcher({ [k]: v })]),
  ...(['retry', 'rateLimit', 'breaker'] as const).flatMap((group) =>
    OPTION_KEYS[group].map((k): [string, (v: unknown) => unknown] => [`options.${group}.${k}`, (v) => new Dispatcher({ [group]: { ...(group === 'rateLimit' ? { perSecond: 1 } : {}), [k]: v } })]),
  ),
  ['options.hosts[origin]', (v) => new Dispatcher({ hosts: { [ORIGIN]: v as never } })],
  ...OPTION_KEYS.host.map((k): [string, (v: unknown) => unknown] => [`options.hosts[origin].${k}`, (v) => new Dispatcher({ hosts: { [ORIGIN]: { [k]: v } } })]),
  ['options.allowedNetworks[0]', (v) => new Dispatcher({ allowedNetworks: [v as string] })],
  ['internals', (v) => new Dispatcher({}, v as never)],
  ...['lookup', 'clock', 'transport'].map((k): [string, (v: unknown) => unknown] => [`internals.${k}`, (v) => new Dispatcher({}, { [k]: v })]),
];

/** Where a hostile value can go into send and publish, next to otherwise good arguments. */
function sendPositions(url: string): [string, (d: Dispatcher, v: unknown) => Promise<Receipt | PublishResult[]>][] {
  const ep = (extra: Record<string, unknown>) => ({ url, secret, ...extra }) as Endpoint;
  const ev = (extra: Record<string, unknown>) => ({ type: 'red.team', data: 1, ...extra }) as WebhookEvent;
  return [
    ['send(endpoint)', (d, v) => d.send(v as Endpoint, event)],
    ...['url', 'secret', 'headers', 'signature'].map((k): [string, (d: Dispatcher, v: unknown) => Promise<Receipt>] => [`endpoint.${k}`, (d, v) => d.send(ep({ [k]: v }), event)]),
    ['endpoint.secret[1]', (d, v) => d.send(ep({ secret: [secret, v] }), event)],
    ['endpoint.headers value', (d, v) => d.send(ep({ headers: { 'x-red': v } }), event)],
    ['endpoint.headers as Map value', (d, v) => d.send(ep({ headers: new Map([['x-red', v]]) }), event)],
    ['send(event)', (d, v) => d.send(ep({}), v as WebhookEvent)],
    ...['type', 'data', 'id', 'timestamp'].map((k): [string, (d: Dispatcher, v: unknown) => Promise<Receipt>] => [`event.${k}`, (d, v) => d.send(ep({}), ev({ [k]: v }))]),
    ['event.data nested', (d, v) => d.send(ep({}), ev({ data: { list: [1, { deep: v }] } }))],
    ['send options', (d, v) => d.send(ep({}), event, v as never)],
    ...['attempts', 'ttlMs', 'idempotencyKey'].map((k): [string, (d: Dispatcher, v: unknown) => Promise<Receipt>] => [`send options.${k}`, (d, v) => d.send(ep({}), event, { [k]: v })]),
    ['publish(event)', (d, v) => d.publish(v as WebhookEvent, [ep({})])],
    ['publish event.data', (d, v) => d.publish(ev({ data: v }), [ep({})])],
    ['publish endpoints', (d, v) => d.publish(event, v as Endpoint[])],
    ['publish endpoints[0]', (d, v) => d.publish(event, [v as Endpoint])],
    ['publish options', (d, v) => d.publish(event, [ep({})], v as never)],
  ];
}

describe('every entry point, every hostile value', () => {
  it('the constructor returns a dispatcher or throws WD_INVALID_OPTIONS, with the thrown error as cause', async () => {
    for (const [, make] of CONSTRUCTOR) {
      for (const hostile of hostileValues()) {
        let made: unknown;
        const error = thrownBy(() => (made = make(hostile.value)));
        if (error === undefined) await (made as Dispatcher).close();
        else expectRefusal(error, hostile, 'WD_INVALID_OPTIONS');
      }
    }
  });

  it('send and publish never throw synchronously, reject or report only WebhookErrors, emit nothing for a refusal, and the next good send is delivered', async () => {
    const r = await receiver();
    const d = dispatcher();
    const seen = recordEvents(d);
    const t = new Terminals(d);
    const accepted = new Set<string>();
    const note = (receipt: Receipt) => accepted.add(receipt.messageId);
    for (const [where, attack] of sendPositions(r.url())) {
      for (const hostile of hostileValues()) {
        let outcome: Promise<Receipt | PublishResult[]>;
        try {
          outcome = attack(d, hostile.value);
        } catch (error) {
          throw new Error(`${where} threw synchronously for ${hostile.name}: ${String(error)}`);
        }
        try {
          const result = await outcome;
          if (!Array.isArray(result)) note(result);
          else for (const res of result) if (res.ok) note(res.receipt);
          else expectRefusal(res.error, hostile);
        } catch (error) {
          expectRefusal(error, hostile);
        }
      }
    }
    const last = await d.send({ url: r.url(), secret }, { type: 'after.the.storm', data: 1 });
    accepted.add(last.messageId);
    await d.onIdle();
    expect(t.duplicates()).toEqual([]);
    expect(t.total).toBe(accepted.size);
    expect(t.delivered.at(-1)).toMatchObject({ messageId: last.messageId, eventType: 'after.the.storm' });
    // Every event belongs to an accepted message: a refused one emitted nothing.
    for (const e of seen) expect(accepted.has(e.messageId!), `${e.name} for a refused message`).toBe(true);
    // Thousands of sends: on a loaded machine (CPU burners beside the suite) this took over 30 s.
  }, 120_000);

  it('pause, resume, cancel and onRoom refuse with WD_INVALID_OPTIONS, and close refuses without closing', async () => {
    const r = await receiver();
    const d = dispatcher();
    const seen = recordEvents(d);
    const sync: [string, (v: unknown) => unknown][] = [
      ['pause', (v) => d.pause(v as string)],
      ['resume', (v) => d.resume(v as string)],
      ['cancel', (v) => d.cancel(v as string[])],
      ['cancel({ origin })', (v) => d.cancel({ origin: v as string })],
      ['cancel([id])', (v) => d.cancel(['a', v as string])],
    ];
    for (const [, call] of sync) {
      for (const hostile of hostileValues()) {
        const error = thrownBy(() => call(hostile.value));
        if (error !== undefined) expectRefusal(error, hostile, 'WD_INVALID_OPTIONS');
      }
    }
    for (const hostile of hostileValues()) {
      await d.onRoom(hostile.value as string).then(
        () => {},
        (error: unknown) => expectRefusal(error, hostile, 'WD_INVALID_OPTIONS'),
      );
      const other = new Dispatcher({}, { transport: recordingTransport() });
      const closing = thrownBy(() => void other.close(hostile.value as never).catch((error: unknown) => expectRefusal(error, hostile, 'WD_INVALID_OPTIONS')));
      expect(closing).toBeUndefined();
      await other.close();
    }
    expect(seen).toEqual([]);
    await d.send({ url: r.url(), secret }, event);
    await d.onIdle();
    expect(r.count).toBe(1);
  });
});

describe('the right code for each kind of hostile input', () => {
  const boom = new Sentinel('boom');
  const throwing = <T extends object>(base: T, key: string): T => Object.defineProperty({ ...base }, key, { enumerable: true, get: () => { throw boom; } });
  it.each<[string, (url: string) => [Endpoint, unknown], string, RegExp]>([
    ['a throwing url getter', () => [throwing({ secret } as Endpoint, 'url'), event], 'WD_INVALID_ENDPOINT', /`url` of the endpoint to be readable/],
    ['a throwing data getter', (url) => [{ url, secret }, throwing({ type: 't' }, 'data')], 'WD_INVALID_EVENT', /the event to be readable/],
    ['a toJSON that throws', (url) => [{ url, secret }, { type: 't', data: { toJSON: () => { throw boom; } } }], 'WD_INVALID_EVENT', /serializable as JSON: boom/],
    ['a throwing headers Proxy', (url) => [{ url, secret, headers: new Proxy({}, { ownKeys: () => { throw boom; } }) }, event], 'WD_INVALID_ENDPOINT', /`headers` to be readable/],
    ['a BigInt64Array', (url) => [{ url, secret }, { type: 't', data: new BigInt64Array(1) }], 'WD_INVALID_EVENT', /BigInt/],
    ['a cycle through an array', (url) => { const a: unknown[] = []; a.push({ a }); return [{ url, secret }, { type: 't', data: a }]; }, 'WD_INVALID_EVENT', /circular/],
    ['an invalid Date as timestamp', (url) => [{ url, secret }, { type: 't', data: 1, timestamp: new Date(Number.NaN) }], 'WD_INVALID_EVENT', /valid Date/],
    ['a lone surrogate in a header value', (url) => [{ url, secret, headers: { 'x-a': '\uD800' } }, event], 'WD_INVALID_ENDPOINT', /nothing above U\+00FF/],
    ['a lone surrogate in the host', () => [{ url: 'http://a\uD800.example/', secret }, event], 'WD_INVALID_ENDPOINT', /absolute http\(s\) URL/],
    ['data nested 100,000 deep', (url) => { let x: unknown = 1; for (let i = 0; i < 100_000; i++) x = [x]; return [{ url, secret }, { type: 't', data: x }]; }, 'WD_INVALID_EVENT', /serializable as JSON/],
    ['a 2 MiB string', (url) => [{ url, secret }, { type: 't', data: 'x'.repeat(2 * 1024 * 1024) }], 'WD_PAYLOAD_TOO_LARGE', /at most 1048576 bytes/],
  ])('%s', async (_name, make, code, message) => {
    const r = await receiver();
    const d = dispatcher();
    const seen = recordEvents(d);
    const [ep, ev] = make(r.url());
    const error = await d.send(ep, ev as WebhookEvent).then(() => undefined, (e: unknown) => e);
    expectRefusal(error, undefined, code);
    expect(error.message).toMatch(message);
    if (error.message.includes('boom') || error.message.includes('readable')) expect(error.cause).toBe(boom);
    await d.send({ url: r.url(), secret }, event);
    await d.onIdle();
    expect(seen.map((e) => e.name)).toEqual(['attempt', 'delivered']);
  });

  it('sends typed arrays, Dates and lone surrogates as JSON spells them, and the receiver verifies the bytes', async () => {
    const r = await receiver();
    const d = dispatcher();
    const data = { bytes: new Uint8Array([1, 2]), when: new Date(0), text: 'a\uD800b', key: '\uDC00' };
    await d.send({ url: r.url(), secret }, { type: 'odd.\uD800', data });
    await d.onIdle();
    const body = r.requests[0]!.body;
    expect(body).toContain('"bytes":{"0":1,"1":2}');
    expect(body).toContain('"when":"1970-01-01T00:00:00.000Z"');
    // Well-formed JSON.stringify escapes lone surrogates, so the body is valid UTF-8.
    expect(body).toContain('"text":"a\\ud800b"');
    expect(JSON.parse(body).data.text).toBe('a\uD800b');
  });
});

describe('__proto__ and constructor keys', () => {
  it('in data: sent as own keys, nothing polluted', async () => {
    const r = await receiver();
    const d = dispatcher();
    const data = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown;
    await d.send({ url: r.url(), secret }, { type: 't', data });
    await d.onIdle();
    expect(JSON.parse(r.requests[0]!.body).data).toEqual(data);
    expect(r.requests[0]!.body).toContain('"__proto__":{"polluted":true}');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('in headers: own keys are checked like any header; inherited ones are never sent', async () => {
    const r = await receiver();
    const d = dispatcher();
    const inherited = { __proto__: { 'x-inherited': 'leak' }, 'x-own': 'v' } as unknown as Record<string, string>;
    await d.send({ url: r.url(), secret, headers: inherited }, event);
    const objectValue = JSON.parse('{"__proto__":{"x-evil":"1"}}') as Record<string, string>;
    await expect(d.send({ url: r.url(), secret, headers: objectValue }, event)).rejects.toMatchObject({ code: 'WD_INVALID_ENDPOINT', message: 'Expected header `__proto__` to be a string, got an object' });
    await d.onIdle();
    expect(r.requests[0]!.headers['x-own']).toBe('v');
    expect(r.requests[0]!.headers['x-inherited']).toBeUndefined();
  });

  it('in options, send options and hosts: refused as unknown keys, never read as a prototype', async () => {
    const parse = (text: string) => JSON.parse(text) as never;
    expect(thrownBy(() => new Dispatcher(parse('{"__proto__":{"allowPrivateNetworks":true}}')))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Unknown option `__proto__`') });
    expect(thrownBy(() => new Dispatcher(parse('{"constructor":{"allowPrivateNetworks":true}}')))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Unknown option `constructor`') });
    expect(thrownBy(() => new Dispatcher(parse('{"hosts":{"__proto__":{"concurrency":1}}}')))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('keyed by origins') });
    expect(thrownBy(() => new Dispatcher(parse('{"retry":{"__proto__":{"attempts":1}}}')))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Unknown option `retry.__proto__`') });
    const d = new Dispatcher({}, { transport: recordingTransport() });
    await expect(d.send({ url: 'https://hooks.example.com/', secret }, event, parse('{"__proto__":{"attempts":1}}'))).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Unknown send option `__proto__`') });
    // Inherited options are not options: loopback stays refused.
    const inherited = new Dispatcher(Object.create({ allowPrivateNetworks: true }) as never, { transport: recordingTransport() });
    await expect(inherited.send({ url: 'http://127.0.0.1/', secret }, event)).rejects.toMatchObject({ code: 'WD_BLOCKED_DESTINATION' });
    await Promise.all([d.close(), inherited.close()]);
  });
});

describe('numbers in every numeric option', () => {
  /** Every numeric option, its range, and whether it takes integers only. */
  const NUMERIC: { name: string; set: (v: number) => unknown; min: number; max: number; integer: boolean; negativeZero?: boolean; infinity?: boolean }[] = [
    ...(['concurrency', 'queueCapacity', 'timeoutMs', 'ttlMs', 'maxPayloadBytes', 'idleTimeoutMs', 'responseBodyBytes', 'maxHosts'] as const).map((name) => {
      const max = { concurrency: LIMITS.concurrency, ttlMs: LIMITS.longWaitMs, maxPayloadBytes: LIMITS.maxPayloadBytes, responseBodyBytes: LIMITS.responseBodyBytes, timeoutMs: LIMITS.timerMs, idleTimeoutMs: LIMITS.timerMs }[name as string] ?? LIMITS.count;
      // maxHosts takes Infinity for "no cap", as documented.
      return { name, set: (v: number) => new Dispatcher({ [name]: v }), min: name === 'responseBodyBytes' ? 0 : 1, max, integer: true, infinity: name === 'maxHosts' };
    }),
    { name: 'concurrency', set: (v) => new Dispatcher({ hosts: { [ORIGIN]: { concurrency: v } } }), min: 1, max: LIMITS.concurrency, integer: true },
    { name: 'perSecond', set: (v) => new Dispatcher({ hosts: { [ORIGIN]: { rateLimit: { perSecond: v } } } }), min: 0.01, max: LIMITS.perSecond, integer: false },
    { name: 'burst', set: (v) => new Dispatcher({ rateLimit: { perSecond: 1, burst: v } }), min: 0, max: LIMITS.perSecond, integer: false },
    { name: 'failureThreshold', set: (v) => new Dispatcher({ hosts: { [ORIGIN]: { breaker: { failureThreshold: v } } } }), min: 1, max: LIMITS.count, integer: true },
    { name: 'cooldownMs', set: (v) => new Dispatcher({ breaker: { cooldownMs: v } }), min: 1, max: LIMITS.cooldownMs, integer: true },
    ...(['attempts', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const).map((name) => ({ name, set: (v: number) => new Dispatcher({ retry: { [name]: v } }), min: name === 'attempts' ? 1 : 0, max: name === 'attempts' ? LIMITS.count : LIMITS.timerMs, integer: name === 'attempts' })),
    { name: 'timeoutMs', set: (v) => new Dispatcher().close({ timeoutMs: v }), min: 0, max: LIMITS.longWaitMs, integer: false },
    { name: 'toleranceSeconds', set: (v) => verifyWebhook('{}', {}, secret, { toleranceSeconds: v }), min: 0, max: Number.MAX_VALUE, integer: false, negativeZero: true },
  ];
  const number = fc.oneof(
    fc.double(),
    fc.integer({ min: -5, max: 2 ** 31 + 5 }),
    fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 0.01, 0.009, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE),
  );

  it('accepts a value exactly when it is finite, in range, and an integer where one is needed; refusals name the option and the value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NUMERIC), number, async (option, v) => {
        const valid = (option.infinity === true && v === Infinity) || (Number.isFinite(v) && v >= option.min && v <= option.max && (!option.integer || Number.isInteger(v)) && (option.negativeZero === true || !Object.is(v, -0)));
        let error: unknown;
        try {
          const made = option.set(v);
          if (made instanceof Dispatcher) await made.close();
          else await made;
        } catch (thrown) {
          error = thrown;
        }
        // verifyWebhook with no headers fails verification once its options are good.
        const refused = error !== undefined && (error as { code?: string }).code !== 'WD_VERIFICATION_FAILED';
        expect(refused, `${option.name} = ${Object.is(v, -0) ? '-0' : v}`).toBe(!valid);
        if (refused) {
          expectRefusal(error, undefined, 'WD_INVALID_OPTIONS');
          expect(error.message).toContain(`${option.name}\``);
          expect(error.message).toContain(Object.is(v, -0) ? '`-0` (number)' : `\`${v}\` (number)`);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it.each([
    ['attempts', 1, Number.MAX_SAFE_INTEGER],
    ['ttlMs', 1, Number.MAX_SAFE_INTEGER],
  ])('send option %s refuses NaN, infinities, fractions and values below %i', async (name, min) => {
    const d = new Dispatcher({}, { transport: recordingTransport() });
    for (const bad of [Number.NaN, Infinity, -Infinity, -0, min - 1, 1.5, -1]) {
      const error = await d.send({ url: `${ORIGIN}/`, secret }, event, { [name]: bad }).catch((e: unknown) => e);
      expectRefusal(error, undefined, 'WD_INVALID_OPTIONS');
      expect(error.message).toContain(`\`${name}\``);
    }
    await d.close();
  });
});

describe('scale', () => {
  it('an unknown option key of 5 MB is refused at once, without a quadratic search for the nearest key', { timeout: 5_000 }, () => {
    const error = thrownBy(() => new Dispatcher({ ['k'.repeat(5_000_000)]: 1 } as never));
    expectRefusal(error, undefined, 'WD_INVALID_OPTIONS');
    expect(error.message).toMatch(/^Unknown option `k{40}…`/);
  });

  it('publish to 100,000 endpoints returns 100,000 results, each refusal a WebhookError, each acceptance delivered', async () => {
    const r = await receiver();
    // The publish holds the event loop for a second or more, and the first attempts start inside
    // it: a short timeoutMs would expire them before their answers are read, and five such
    // timeouts would open the breaker for its 30 s cooldown.
    const d = dispatcher({ queueCapacity: 500, timeoutMs: 30_000, breaker: false });
    const seen = recordEvents(d);
    const url = r.url();
    const kinds = [
      () => ({ url, secret }),
      (i: number) => ({ url: `http://169.254.${(i >> 8) & 255}.${i & 255}/hook`, secret }),
      (i: number) => ({ url: `not a url ${i}`, secret }),
      (i: number) => ({ url, secret: `whsec_short${i}` }),
      (i: number) => ({ url, secret, headers: { [`x-${i}`]: `\r\n${i}` } }),
      (i: number) => Object.defineProperty({ secret }, 'url', { enumerable: true, get: () => { throw new Sentinel(String(i)); } }),
    ];
    const endpoints = Array.from({ length: 100_000 }, (_, i) => kinds[i % kinds.length]!(i) as Endpoint);
    const results = await d.publish(event, endpoints);
    expect(results).toHaveLength(100_000);
    const accepted = new Set<string>();
    const codes = new Map<string, number>();
    for (const res of results) {
      if (res.ok) accepted.add(res.receipt.messageId);
      // A plain check: expect() per result would cost more than the publish.
      else if (!isWebhookError(res.error)) throw new Error(`not a WebhookError: ${String(res.error)}`);
      else codes.set(res.error.code, (codes.get(res.error.code) ?? 0) + 1);
    }
    expect([...codes.keys()].sort()).toEqual(['WD_BLOCKED_DESTINATION', 'WD_INVALID_ENDPOINT', 'WD_QUEUE_FULL']);
    await d.onIdle();
    expect(r.count).toBe(accepted.size);
    expect(seen.filter((e) => e.name === 'delivered')).toHaveLength(accepted.size);
    for (const e of seen) if (!accepted.has(e.messageId!)) throw new Error(`${e.name} for a refused message`);
  });

  it('reports the cost of one WD_QUEUE_FULL refusal (100,000 sends to a full host)', async () => {
    const d = new Dispatcher({ queueCapacity: 1 }, { transport: recordingTransport() });
    const endpoint = { url: `${ORIGIN}/hook`, secret };
    d.pause(ORIGIN);
    await d.send(endpoint, event);
    const n = 100_000;
    let refused = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      try {
        await d.send(endpoint, event);
      } catch {
        refused++;
      }
    }
    const micros = Number(process.hrtime.bigint() - started) / 1000 / n;
    // The same without awaiting each: the refusal itself and its rejected promise.
    const rejections: Promise<unknown>[] = new Array(n);
    const startedBare = process.hrtime.bigint();
    for (let i = 0; i < n; i++) rejections[i] = d.send(endpoint, event).catch((e: unknown) => e);
    const bare = Number(process.hrtime.bigint() - startedBare) / 1000 / n;
    const codes = new Set((await Promise.all(rejections)).map((e) => (e as { code?: string }).code));
    expect(refused).toBe(n);
    expect([...codes]).toEqual(['WD_QUEUE_FULL']);
    console.log(`WD_QUEUE_FULL: ${micros.toFixed(2)} µs per refused send awaited and caught, ${bare.toFixed(2)} µs per send() call (${n} sends each)`);
    await d.close();
  });
});

describe('what JSON.stringify would change without a word, and per-message bounds', () => {
  const url = `${ORIGIN}/hook`;

  it('refuses a Map or a Set anywhere in data (JSON.stringify writes either as {})', async () => {
    const d = new Dispatcher({}, { transport: recordingTransport() });
    const datas = [new Map([['a', 1]]), { nested: [new Set([1, 2])] }];
    const errors = await Promise.all(datas.map((data) => d.send({ url, secret }, { type: 't', data }).catch((e: unknown) => e)));
    await d.close();
    for (const error of errors) expectRefusal(error, undefined, 'WD_INVALID_EVENT');
    expect((errors[0] as Error).message).toContain('Map');
  });

  it('refuses per-message attempts and ttlMs beyond the bounds of the dispatcher-wide options', async () => {
    const d = new Dispatcher({}, { transport: recordingTransport() });
    const tooMany = await d.send({ url, secret }, event, { attempts: LIMITS.count + 1 }).catch((e: unknown) => e);
    const tooLong = await d.send({ url, secret }, event, { ttlMs: LIMITS.longWaitMs + 1 }).catch((e: unknown) => e);
    const atBounds = await d.send({ url, secret }, event, { attempts: LIMITS.count, ttlMs: LIMITS.longWaitMs });
    await d.close();
    expectRefusal(tooMany, undefined, 'WD_INVALID_OPTIONS');
    expectRefusal(tooLong, undefined, 'WD_INVALID_OPTIONS');
    expect(atBounds.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
