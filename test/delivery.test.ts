import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { WebhookError } from '../src/index.js';
import { newSecret, scoped, Terminals } from './helpers.js';
import { ok, status } from './receiver.js';

const { receiver, dispatcher } = scoped();

describe('delivery against a real receiver', () => {
  it('delivers a JSON envelope that the reference standardwebhooks package verifies', async () => {
    const r = await receiver();
    const d = dispatcher();
    const t = new Terminals(d);
    const secret = newSecret();
    const receipt = await d.send({ url: r.url('/in?x=1'), secret }, { type: 'invoice.paid', data: { amount: 42 }, id: 'evt_1' });
    await d.onIdle();

    expect(receipt).toEqual({ messageId: expect.any(String), eventId: 'evt_1', origin: r.origin });
    expect(t.delivered).toEqual([
      expect.objectContaining({ messageId: receipt.messageId, eventId: 'evt_1', eventType: 'invoice.paid', attempts: 1, status: 200, url: r.url('/in?x=1'), origin: r.origin }),
    ]);
    const [req] = r.requests;
    expect(req!.url).toBe('/in?x=1');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toMatch(/^webhook-dispatcher\//);
    expect(req!.headers['webhook-id']).toBe('evt_1');
    const envelope = new Webhook(secret).verify(req!.body, req!.headers as Record<string, string>);
    expect(envelope).toEqual({ id: 'evt_1', type: 'invoice.paid', timestamp: expect.any(String), data: { amount: 42 } });
  });

  it('signs with every secret during a rotation, and a receiver holding either one verifies', async () => {
    const r = await receiver();
    const d = dispatcher();
    const [oldSecret, newSecretValue] = [newSecret(), newSecret(24)];
    await d.send({ url: r.url(), secret: [oldSecret, newSecretValue] }, { type: 't', data: [1, 2] });
    await d.onIdle();
    const req = r.requests[0]!;
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const s of [oldSecret, newSecretValue]) {
      expect(() => new Webhook(s).verify(req.body, req.headers as Record<string, string>)).not.toThrow();
    }
    expect(() => new Webhook(newSecret()).verify(req.body, req.headers as Record<string, string>)).toThrow();
  });

  it('sends the endpoint headers and the timestamped-hex signature when configured', async () => {
    const r = await receiver();
    const d = dispatcher({ signature: 'timestamped-hex' });
    await d.send({ url: r.url(), secret: 'plain-secret', headers: { 'X-Tenant': 'acme' } }, { type: 't', data: null });
    await d.onIdle();
    const req = r.requests[0]!;
    expect(req.headers['x-tenant']).toBe('acme');
    expect(req.headers['x-webhook-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('fails a 400 as rejected after exactly one attempt, keeping the start of the body', async () => {
    const r = await receiver(() => status(400, {}, 'bad field "amount"'));
    const d = dispatcher();
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(r.count).toBe(1);
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'rejected', attempts: 1, status: 400, responseBody: 'bad field "amount"' })]);
  });

  it('never follows a redirect: a 302 is rejected and the target is not called', async () => {
    const target = await receiver();
    const r = await receiver(() => status(302, { location: target.url() }));
    const d = dispatcher();
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(t.failed[0]).toMatchObject({ reason: 'rejected', status: 302 });
    expect(target.count).toBe(0);
  });

  it('retries a 503 and delivers on the 200 that follows, with attempts 2', async () => {
    const r = await receiver((_req, i) => (i === 0 ? status(503) : ok));
    const d = dispatcher();
    const t = new Terminals(d);
    const retries: number[] = [];
    d.on('retry', (e) => retries.push(e.status ?? 0));
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(retries).toEqual([503]);
    expect(t.delivered).toEqual([expect.objectContaining({ attempts: 2, status: 200 })]);
    expect(r.requests[0]!.headers['webhook-id']).toBe(r.requests[1]!.headers['webhook-id']);
  });

  it('retries an attempt that times out, then delivers', async () => {
    const r = await receiver((_req, i) => (i === 0 ? { kind: 'hang' } : ok));
    const d = dispatcher({ timeoutMs: 150 });
    const t = new Terminals(d);
    const errors: string[] = [];
    d.on('retry', (e) => errors.push(e.error?.code ?? 'none'));
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(errors).toHaveLength(1);
    expect(t.delivered).toEqual([expect.objectContaining({ attempts: 2 })]);
  });

  it('fails as exhausted after the configured attempts, with the last status', async () => {
    const r = await receiver(() => status(500));
    const d = dispatcher({ retry: { attempts: 3 }, breaker: false });
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(r.count).toBe(3);
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'exhausted', attempts: 3, status: 500 })]);
  });

  it('fails a 410 as gone and emits gone first', async () => {
    const r = await receiver(() => status(410));
    const d = dispatcher();
    const order: string[] = [];
    d.on('gone', () => order.push('gone'));
    d.on('failed', (e) => order.push(`failed:${e.reason}`));
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(order).toEqual(['gone', 'failed:gone']);
  });

  it('refuses with WD_QUEUE_FULL when one host is full, while another host still delivers', async () => {
    const stuck = await receiver(() => ({ kind: 'hang' }));
    const healthy = await receiver();
    // One endpoint may take the whole queue here: this is about the host's room.
    const d = dispatcher({ concurrency: 1, queueCapacity: 3, endpointQueueShare: 1, timeoutMs: 60_000 });
    const t = new Terminals(d);
    const secret = newSecret();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => d.send({ url: stuck.url(), secret }, { type: 't', data: 1 })));
    // One in flight, three queued, the rest refused.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as WebhookError);
    expect(refused.map((e) => e.code)).toEqual(['WD_QUEUE_FULL', 'WD_QUEUE_FULL']);
    expect(refused[0]!.message).toContain(stuck.origin);

    await d.send({ url: healthy.url(), secret }, { type: 't', data: 1 });
    await new Promise<void>((resolve) => d.once('delivered', () => resolve()));
    expect(t.delivered.map((e) => e.origin)).toEqual([healthy.origin]);
    await d.close();
    expect(t.failed.map((e) => e.reason)).toEqual(['closed', 'closed', 'closed', 'closed']);
  });

  it('publishes one body to many endpoints and reports refusals per endpoint, in order', async () => {
    const a = await receiver();
    const b = await receiver();
    const d = dispatcher();
    const secret = newSecret();
    const results = await d.publish({ type: 'fan', data: { n: 1 }, id: 'evt_fan' }, [
      { url: a.url(), secret },
      { url: 'ftp://nope', secret },
      { url: b.url(), secret },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'WD_INVALID_ENDPOINT' } });
    await d.onIdle();
    expect(a.requests[0]!.body).toBe(b.requests[0]!.body);
    expect(a.requests[0]!.headers['webhook-id']).toBe('evt_fan');
  });

  it('keeps delivering and still ends every message when a listener throws', async () => {
    const r = await receiver();
    const d = dispatcher();
    const errors: unknown[] = [];
    d.on('error', (e) => errors.push(e));
    d.on('delivered', () => {
      throw new Error('listener bug');
    });
    const t = new Terminals(d);
    const secret = newSecret();
    for (let i = 0; i < 5; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.onIdle();
    expect(t.delivered).toHaveLength(5);
    expect(errors).toHaveLength(5);
  });
});

describe('close', () => {
  it('with drain, delivers everything accepted before resolving, then refuses sends with WD_CLOSED', async () => {
    const r = await receiver((_req, i) => (i % 3 === 0 ? status(503) : ok));
    const d = dispatcher();
    const t = new Terminals(d);
    const secret = newSecret();
    for (let i = 0; i < 30; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.close({ drain: true });
    expect(t.delivered).toHaveLength(30);
    expect(t.failed).toHaveLength(0);
    await expect(d.send({ url: r.url(), secret }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_CLOSED' });
    expect(d.stats().hosts).toEqual({});
  });

  it('without drain, fails what is queued, waiting or in flight with closed, each once', async () => {
    const r = await receiver(() => ({ kind: 'hang' }));
    const d = dispatcher({ concurrency: 2, timeoutMs: 60_000 });
    const t = new Terminals(d);
    const secret = newSecret();
    const receipts = [];
    for (let i = 0; i < 10; i++) receipts.push(await d.send({ url: r.url(), secret }, { type: 't', data: i }));
    await d.close();
    expect(t.failed.map((e) => e.reason)).toEqual(Array(10).fill('closed'));
    expect(new Set(t.failed.map((e) => e.messageId))).toEqual(new Set(receipts.map((x) => x.messageId)));
    expect(d.stats().pending).toBe(0);
  });

  it('with a drain timeout, fails what is still undelivered when time is up', async () => {
    const r = await receiver(() => ({ kind: 'hang' }));
    const d = dispatcher({ timeoutMs: 60_000 });
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret: newSecret() }, { type: 't', data: 1 });
    await d.close({ drain: true, timeoutMs: 50 });
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'closed' })]);
  });
});
