/**
 * Basic sending: one dispatcher, `send` and `publish`, and the `delivered` / `failed` events.
 *
 *   node --import tsx examples/basic.ts
 *
 * In an app, import from the package: `import { Dispatcher } from 'webhook-dispatcher'`. The
 * examples import the source (`../src/index.js`) so they run from a clone without a build.
 */
import { Dispatcher } from '../src/index.js';
import { startReceiver } from './local-receiver.js';

const receiver = await startReceiver();

const dispatcher = new Dispatcher({
  concurrency: 10, // per destination host
  rateLimit: { perSecond: 50 }, // per destination host
  retry: { attempts: 8, baseDelayMs: 1_000, maxDelayMs: 300_000 },
  allowPrivateNetworks: true, // the receiver is on 127.0.0.1: loopback is refused without this
});

let delivered = 0;
dispatcher.on('delivered', (e) => {
  delivered++;
  console.log(`${e.eventType} ${e.eventId} → ${e.url}: ${e.status} after ${e.attempts} attempt(s)`);
});
dispatcher.on('failed', (e) => console.warn(`${e.eventId} → ${e.url} failed: ${e.reason}`));

const endpoint = { url: receiver.url('/billing'), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
const other = { url: receiver.url('/other'), secret: 'whsec_plJ3nmyCDGBKInavdOK15jsl0dDQQZ2sQkJdVwXI4Zc=' };

// Resolves once the message is queued for its host; rejects with a WebhookError if not.
const receipt = await dispatcher.send(endpoint, { type: 'invoice.paid', data: { invoice: 'in_123', amount: 4200 } });
console.log(`accepted ${receipt.messageId}`);

// One event to many endpoints: one result per endpoint, never a rejection because one was refused.
const results = await dispatcher.publish({ type: 'invoice.paid', data: { invoice: 'in_124' } }, [endpoint, other]);
console.log(`publish: ${results.filter((r) => r.ok).length} of ${results.length} accepted`);

await dispatcher.close({ drain: true, timeoutMs: 30_000 });
await receiver.close();
console.log(`delivered ${delivered} of 3`);
