/**
 * Scenario 21: what a signature costs per attempt, HMAC-SHA256 (`v1`) beside ed25519 (`v1a`).
 *
 * Each contender signs the same body N times through `signatureValue`, the function every
 * attempt calls: one `whsec_` secret (the default), one `whsk_` key, and both (a migration).
 * A bare `createHmac` over the same text is the baseline, so the HMAC path's overhead shows.
 * The receiver's side is measured too: `verifyWebhook` with a `whsec_` secret and with a
 * `whpk_` public key. Contenders take turns in each round (after an unrecorded warm-up round);
 * figures are medians over rounds of µs per call. Bodies: 256 B (a typical event) and 16 KiB.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { generateSigningKeyPair, verifyWebhook } from '../../src/index.js';
import { attemptHeaders, parseSecrets, signatureValue } from '../../src/signing/signatures.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { median } from '../lib/stats.js';

function envelope(bytes: number): Buffer {
  const head = '{"id":"evt_01J0000000000000000000000","type":"invoice.paid","timestamp":"2026-01-01T00:00:00.000Z","data":{"pad":"';
  const tail = '"}}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
}

/** µs per call of `fn`, over `n` calls. */
function time(n: number, fn: () => unknown): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1000) / n;
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const n = ctx.pick(1_000, 5_000);
  const rounds = ctx.pick(5, 9);
  const pair = generateSigningKeyPair();
  const unix = Math.floor(Date.now() / 1000);
  const hmacKeys = parseSecrets('standard-webhooks', ctx.secret);
  const edKeys = parseSecrets('standard-webhooks', pair.secretKey);
  const bothKeys = parseSecrets('standard-webhooks', [ctx.secret, pair.secretKey]);
  const rawKey = randomBytes(32);
  const sizes = [256, 16_384];
  const names = ['bare createHmac', 'v1 (whsec_)', 'v1a (whsk_)', 'v1 + v1a (migration)', 'verify v1', 'verify v1a'] as const;
  const results = new Map<string, number[]>();
  const bar = ctx.progress('signing cost', (rounds + 1) * sizes.length);
  for (const size of sizes) {
    const body = envelope(size);
    const id = 'evt_01J0000000000000000000000';
    const prefix = `${id}.${unix}.`;
    const headers = (keys: typeof hmacKeys): Record<string, string> => {
      // An attempt's headers start with content-type and user-agent; the signature's follow.
      const flat = attemptHeaders('bench', [], 'standard-webhooks', keys, id, unix, body).slice(4);
      return Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]));
    };
    const hmacHeaders = headers(hmacKeys);
    const edHeaders = headers(edKeys);
    const contenders: Record<(typeof names)[number], () => unknown> = {
      'bare createHmac': () => createHmac('sha256', rawKey).update(prefix).update(body).digest('base64'),
      'v1 (whsec_)': () => signatureValue('standard-webhooks', hmacKeys, id, unix, body),
      'v1a (whsk_)': () => signatureValue('standard-webhooks', edKeys, id, unix, body),
      'v1 + v1a (migration)': () => signatureValue('standard-webhooks', bothKeys, id, unix, body),
      'verify v1': () => verifyWebhook(body, hmacHeaders, ctx.secret),
      'verify v1a': () => verifyWebhook(body, edHeaders, pair.publicKey),
    };
    for (let r = 0; r <= rounds; r++) {
      const line: string[] = [];
      for (const name of names) {
        const us = time(n, contenders[name]);
        if (r > 0) results.set(`${name} @${size}`, [...(results.get(`${name} @${size}`) ?? []), us]);
        line.push(`${name} ${us.toFixed(2)}`);
      }
      ctx.note(`${size} B ${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')} µs`);
      bar.tick();
    }
  }
  bar.stop();
  const rows: ScenarioResult['rows'] = [];
  for (const size of sizes) {
    const at = (name: string) => results.get(`${name} @${size}`)!;
    for (const name of names) rows.push({ metric: `${name}, ${size} B body, per call`, unit: 'µs', dispatcher: median(at(name)) });
    const ratio = (a: string, b: string) => median(at(a).map((x, i) => x / at(b)[i]!));
    rows.push({ metric: `v1a ÷ v1 signing, ${size} B`, unit: '×', dispatcher: ratio('v1a (whsk_)', 'v1 (whsec_)') });
    rows.push({ metric: `v1 ÷ bare createHmac, ${size} B`, unit: '×', dispatcher: ratio('v1 (whsec_)', 'bare createHmac') });
  }
  return { id: '21', title: 'signing cost: HMAC (v1) beside ed25519 (v1a)', rows, details: { n, rounds, sizes, rounds_us: Object.fromEntries(results) } };
}
