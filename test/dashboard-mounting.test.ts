/**
 * The dashboard mounted in node:http (under a basePath), Express (app.use, a JSON body parser
 * before it) and Fastify (a catch-all route handing over the raw request), over real HTTP on
 * 127.0.0.1: its pages, API and CSRF guard work there, and the app's other routes are untouched.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { dashboard } from '../src/dashboard/index.js';
import { ADMIN, cleanup, json, listen, post, serve, setup, withTraffic } from './support/dashboard-fixtures.js';

describe('mounting', () => {
  it('node:http: serves under basePath, with or without the trailing slash, and 404s outside it', async () => {
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher, { basePath: '/admin/webhooks' });
    for (const path of ['', '/']) expect((await fetch(base + path, { headers: ADMIN })).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${base}/api/stats`, { headers: ADMIN })).status).toBe(200);
    const origin = new URL(base).origin;
    for (const path of ['/', '/api/stats', '/admin/webhooksx/api/stats', '/admin']) expect((await fetch(origin + path, { headers: ADMIN })).status, path).toBe(404);
  });

  it('Express: app.use under the mount path, a JSON body parser before it, other routes untouched', async () => {
    const { dispatcher } = setup();
    const id = await withTraffic(dispatcher);
    const handler = dashboard(dispatcher, { basePath: '/admin/webhooks', authorize: (req) => req.headers.cookie === 'session=admin' });
    cleanup.push(() => handler.close());
    const app = express();
    app.use(express.json());
    app.use('/admin/webhooks', handler);
    app.get('/health', (_req, res) => void res.send('fine'));
    const origin = await listen(app);
    const base = `${origin}/admin/webhooks`;
    expect(await (await fetch(`${base}/`, { headers: ADMIN })).text()).toContain('/admin/webhooks/assets/app.js');
    expect(await json(await fetch(`${base}/api/stats`, { headers: ADMIN }))).toMatchObject({ accepted: 2, failed: 1 });
    const replayed = await json<{ results: { ok: boolean }[] }>(await post(base, '/api/replay', { ids: [id] }));
    expect(replayed.results[0]!.ok).toBe(true);
    expect((await post(base, '/api/replay', { ids: [id] }, { 'x-webhook-dashboard': '' })).status).toBe(403);
    expect(await (await fetch(`${origin}/health`)).text()).toBe('fine');
    expect((await fetch(`${base}/api/stats`)).status).toBe(401);
  });

  it('Fastify: a catch-all route under the prefix hands the raw request and response over', async () => {
    const { dispatcher } = setup();
    const id = await withTraffic(dispatcher);
    const handler = dashboard(dispatcher, { basePath: '/admin/webhooks', authorize: (req) => req.headers.cookie === 'session=admin' });
    cleanup.push(() => handler.close());
    const app = Fastify();
    await app.register(async (scope) => {
      // The dashboard reads its own JSON bodies: leave them unread for it.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.all('/admin/webhooks', (request, reply) => {
        reply.hijack();
        handler(request.raw, reply.raw);
      });
      scope.all('/admin/webhooks/*', (request, reply) => {
        reply.hijack();
        handler(request.raw, reply.raw);
      });
    });
    app.get('/health', async () => 'fine');
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => app.close());
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const base = `${origin}/admin/webhooks`;
    expect(await (await fetch(base, { headers: ADMIN })).text()).toContain('<h1>Webhooks</h1>');
    expect(await json(await fetch(`${base}/api/dead-letters`, { headers: ADMIN }))).toMatchObject({ items: [{ messageId: id }] });
    const replayed = await json<{ results: { ok: boolean }[] }>(await post(base, '/api/replay', { ids: [id] }));
    expect(replayed.results[0]!.ok).toBe(true);
    expect((await post(base, '/api/replay', { ids: [id] }, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await fetch(`${base}/api/stats`)).status).toBe(401);
    expect(await (await fetch(`${origin}/health`)).text()).toBe('fine');
  });
});
