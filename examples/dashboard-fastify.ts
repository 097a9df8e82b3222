/**
 * The dashboard mounted in Fastify without @fastify/middie: a catch-all route under the prefix
 * hands over the raw request and response. Fetches the page once as an admin, then stops.
 *
 *   node --import tsx examples/dashboard-fastify.ts
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { dashboard } from '../src/dashboard/index.js';
import { Dispatcher } from '../src/index.js';
import { checkDashboard } from './dashboard-check.js';
import { startReceiver } from './local-receiver.js';

const receiver = await startReceiver();
const dispatcher = new Dispatcher({ allowPrivateNetworks: true });
const handler = dashboard(dispatcher, { basePath: '/admin/webhooks', authorize: (req) => req.headers.cookie === 'session=admin' });
await dispatcher.send({ url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { type: 'invoice.paid', data: {} });
await dispatcher.onIdle();

const fastify = Fastify();
await fastify.register(async (scope) => {
  // The dashboard reads its own JSON bodies, so the scope leaves them unread.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const serve = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    handler(request.raw, reply.raw);
  };
  scope.all('/admin/webhooks', serve);
  scope.all('/admin/webhooks/*', serve);
});
const address = await fastify.listen({ port: 0, host: '127.0.0.1' });

await checkDashboard('Fastify', `${address}/admin/webhooks`);

await fastify.close();
handler.close();
await dispatcher.close();
await receiver.close();
