/**
 * Retries and dead letters: a receiver that answers 503 twice is retried until it answers 200;
 * one that answers 400 is a dead letter (`failed`, reason `'rejected'`). Once the receiver is
 * fixed, the dead letter is replayed: a new message with the same event id.
 *
 *   node --import tsx examples/retries-and-replay.ts
 */
import { Dispatcher, type Delivered } from '../src/index.js';
import { startReceiver } from './local-receiver.js';

let flaky = 0;
let fixed = false;
const receiver = await startReceiver((request) => {
  if (request.path === '/flaky') return ++flaky <= 2 ? 503 : 200;
  return fixed ? 200 : 400;
});

const dispatcher = new Dispatcher({
  allowPrivateNetworks: true,
  // Short delays so the example runs in a moment; production uses seconds to minutes.
  retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 200 },
});
dispatcher.on('retry', (e) => console.log(`retry ${e.url} (attempt ${e.attempt} got ${e.status}), again in ${e.delayMs} ms`));
dispatcher.on('delivered', (e) => console.log(`delivered ${e.url} after ${e.attempts} attempt(s)`));
dispatcher.on('failed', (e) => console.log(`failed ${e.url}: ${e.reason} (${e.status})`));

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
await dispatcher.send({ url: receiver.url('/flaky'), secret }, { type: 'order.shipped', data: { order: 1 } });
await dispatcher.send({ url: receiver.url('/broken'), secret }, { type: 'order.shipped', data: { order: 2 } });
await dispatcher.onIdle();

// Dead letters and history work with every store (the memory store by default).
const { items } = await dispatcher.deadLetters({ reason: 'rejected', limit: 50 });
const dead = items[0]!;
const history = await dispatcher.history(dead.messageId);
console.log(`dead letter ${dead.messageId}: ${history?.state}, ${history?.attempts.length} attempt(s)`);
console.log(`history of an unknown id: ${await dispatcher.history('no-such-id')}`);

fixed = true;
const ended = new Promise<Delivered>((resolve) => dispatcher.once('delivered', resolve));
const [result] = await dispatcher.replay([dead.messageId]);
if (!result?.ok) throw new Error('the replay was refused');
const replayed = await ended;
console.log(`replayed as ${result.receipt.messageId} (event ${result.receipt.eventId === dead.eventId ? 'unchanged' : 'changed'}): delivered with ${replayed.status}`);

await dispatcher.close();
await receiver.close();
