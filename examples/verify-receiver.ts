/**
 * A receiver that verifies what it gets, three ways:
 * - `/hmac`: `verifyWebhook` with the shared `whsec_` secret (Standard Webhooks `v1`);
 * - `/reference`: the reference `standardwebhooks` package with the same secret;
 * - `/ed25519`: `verifyWebhook` with a `whpk_` public key alone (`v1a`): the sender keeps the
 *   `whsk_` secret key, so this receiver could not forge a webhook even if its key leaked.
 * A request signed with another key is refused (401).
 *
 *   node --import tsx examples/verify-receiver.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Dispatcher, generateSigningKeyPair, isWebhookError, verifyWebhook } from '../src/index.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const keys = generateSigningKeyPair(); // { secretKey: 'whsk_…' for the sender, publicKey: 'whpk_…' for receivers }
const reference = new Webhook(secret);
const outcomes: string[] = [];

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const rawBody = Buffer.concat(chunks); // the raw bytes, never re-serialized JSON
    try {
      if (req.url === '/reference') {
        const payload = reference.verify(rawBody.toString('utf8'), req.headers as Record<string, string>) as { type: string };
        outcomes.push(`${req.url}: ${payload.type} verified by standardwebhooks`);
      } else {
        const key = req.url === '/hmac' ? secret : keys.publicKey;
        const { id, type } = verifyWebhook(rawBody, req.headers, key, { toleranceSeconds: 300 });
        outcomes.push(`${req.url}: ${type} verified by verifyWebhook (dedupe on ${id.slice(0, 8)}…)`);
      }
      res.writeHead(204).end();
    } catch (error) {
      outcomes.push(`${req.url}: refused (${isWebhookError(error) ? error.code : (error as Error).message})`);
      res.writeHead(401).end();
    }
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// The sender: `allowPrivateNetworks` because the receiver is on 127.0.0.1; no retries, so a refusal ends at once.
const dispatcher = new Dispatcher({ allowPrivateNetworks: true, retry: { attempts: 1 } });
const event = { type: 'invoice.paid', data: { invoice: 'in_123' } };
await dispatcher.send({ url: `${base}/hmac`, secret }, event);
await dispatcher.send({ url: `${base}/reference`, secret }, event);
await dispatcher.send({ url: `${base}/ed25519`, secret: keys.secretKey }, event);
await dispatcher.send({ url: `${base}/ed25519`, secret: generateSigningKeyPair().secretKey }, event); // another sender's key
await dispatcher.onIdle();
await dispatcher.close();
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));

for (const line of outcomes.sort()) console.log(line);
