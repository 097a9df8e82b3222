/** A message becomes a plain row and comes back the same: what the durable stores build on. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../src/security/address-policy.js';
import { EndpointResolver } from '../src/model/endpoint.js';
import { prepareEvent } from '../src/model/envelope.js';
import { uuidv7 } from '../src/core/ids.js';
import type { Message } from '../src/model/message.js';
import { fromRecord, toRecord, type MessageRecord } from '../src/model/message-record.js';
import { attemptHeaders } from '../src/signing/signatures.js';

const resolver = new EndpointResolver('standard-webhooks', new AddressPolicy(false, []), false);
const secret = () => fc.uint8Array({ minLength: 24, maxLength: 64 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`);

/** A row through JSON, as a database column of text or JSON would hold it. */
function throughJson(record: MessageRecord): MessageRecord {
  const json = JSON.stringify({ ...record, body: record.body.toString('base64') });
  const back = JSON.parse(json) as MessageRecord & { body: string };
  return { ...back, body: Buffer.from(back.body, 'base64') };
}

function signed(m: Message): string[] {
  return attemptHeaders('test', m.endpoint.headers, m.endpoint.scheme, m.endpoint.keys, m.event.id, 1_800_000_000, m.event.body);
}

describe('message records', () => {
  it('round-trip every field, and the message signs the same bytes afterwards', () => {
    fc.assert(
      fc.property(
        fc.array(secret(), { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.constantFrom('authorization', 'x-tenant', 'x-trace'), fc.string({ minLength: 1, maxLength: 20 }).filter((v) => /^[\x21-\x7e]+$/.test(v))),
        fc.jsonValue(),
        fc.constantFrom('standard-webhooks' as const, 'timestamped-hex' as const),
        fc.nat(20),
        fc.option(fc.record({ status: fc.integer({ min: 400, max: 599 }) }), { nil: undefined }),
        (secrets, headers, data, signature, attempts, answer) => {
          const now = 1_800_000_000_000;
          const endpoint = resolver.resolve({ url: 'https://hooks.example.com/in?x=1', secret: secrets, headers, signature });
          const message: Message = {
            id: uuidv7(now),
            endpoint,
            event: prepareEvent({ type: 'order.paid', data }, 1_048_576, now),
            acceptedAt: now,
            maxAttempts: 8,
            expiresAt: now + 86_400_000,
            idempotencyKey: attempts % 2 === 0 ? 'k-1' : undefined,
            attempts,
            dueAt: now + attempts * 1000,
            trace: undefined,
            last: answer === undefined ? undefined : { status: answer.status, retryAfter: undefined, body: 'nope', latencyMs: 3 },
          };
          const back = fromRecord(throughJson(toRecord(message)), (e) => resolver.resolve(e));
          expect(toRecord(back)).toEqual(toRecord(message));
          expect(signed(back)).toEqual(signed(message));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a transport error survives as its code and message', () => {
    const now = 1_800_000_000_000;
    const message: Message = {
      id: uuidv7(now),
      endpoint: resolver.resolve({ url: 'https://hooks.example.com/', secret: `whsec_${Buffer.alloc(32, 5).toString('base64')}` }),
      event: prepareEvent({ type: 't', data: 1 }, 1_048_576, now),
      acceptedAt: now,
      maxAttempts: 3,
      expiresAt: now + 1,
      idempotencyKey: undefined,
      attempts: 1,
      dueAt: now,
      trace: undefined,
      last: { error: { code: 'ECONNRESET', message: 'socket hang up', original: new Error('x') }, latencyMs: 5 },
    };
    const back = fromRecord(throughJson(toRecord(message)), (e) => resolver.resolve(e));
    expect(back.last).toMatchObject({ error: { code: 'ECONNRESET', message: 'socket hang up' } });
  });
});
