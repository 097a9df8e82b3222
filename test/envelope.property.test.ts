/** The body is `JSON.stringify({ id, type, timestamp, data })` byte for byte, however it is built. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../src/model/envelope.js';

const wrapped = (id: string, type: string, timestamp: Date, data: unknown) => JSON.stringify({ id, type, timestamp: timestamp.toISOString(), data });

describe('event envelope', () => {
  it('serializes exactly as JSON.stringify of the wrapper, for any JSON data, type and clock reading', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.integer({ min: -8.64e15, max: 8.64e15 }), (data, type, now) => {
        const prepared = prepareEvent({ type, data }, 1 << 24, now);
        expect(prepared.body.toString('utf8')).toBe(wrapped(prepared.id, type, new Date(now), data));
      }),
      { numRuns: 500 },
    );
  });

  it('repeats of a type and a millisecond reuse nothing stale: each event gets its own type and time', () => {
    const a = JSON.parse(prepareEvent({ type: 'a', data: 1 }, 1024, 1_000).body.toString());
    const b = JSON.parse(prepareEvent({ type: 'b', data: 2 }, 1024, 1_000).body.toString());
    const c = JSON.parse(prepareEvent({ type: 'b', data: 3 }, 1024, 2_000).body.toString());
    expect([a.type, b.type, c.type]).toEqual(['a', 'b', 'b']);
    expect([a.timestamp, b.timestamp, c.timestamp]).toEqual(['1970-01-01T00:00:01.000Z', '1970-01-01T00:00:01.000Z', '1970-01-01T00:00:02.000Z']);
  });

  it('calls a top-level toJSON with the key "data", and drops data whose toJSON gives undefined, as JSON.stringify does', () => {
    const keys: string[] = [];
    const data = { toJSON: (key: string) => (keys.push(key), { k: key }) };
    const prepared = prepareEvent({ type: 't', data, id: 'evt_1' }, 1024, 5_000);
    expect(keys).toEqual(['data']);
    expect(prepared.body.toString()).toBe(wrapped('evt_1', 't', new Date(5_000), data));
    const dropped = prepareEvent({ type: 't', data: { toJSON: () => undefined }, id: 'evt_2' }, 1024, 5_000);
    expect(JSON.parse(dropped.body.toString())).toEqual({ id: 'evt_2', type: 't', timestamp: '1970-01-01T00:00:05.000Z' });
  });

  it('uses a given timestamp and id as they are', () => {
    const timestamp = new Date('2030-01-02T03:04:05.678Z');
    const prepared = prepareEvent({ type: 'x.y', data: [1, 'two'], id: 'evt:1/a=b', timestamp }, 1024, 0);
    expect(prepared.body.toString()).toBe(wrapped('evt:1/a=b', 'x.y', timestamp, [1, 'two']));
  });
});
