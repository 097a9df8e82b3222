/**
 * The dashboard mounted in a plain `node:http` server: requests under `basePath` go to the
 * dashboard, the rest to the app. Fetches the page once as an admin, then stops.
 *
 *   node --import tsx examples/dashboard-node-http.ts
 *
 * In an app: `import { dashboard } from 'webhook-dispatcher/dashboard'`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboard } from '../src/dashboard/index.js';
import { Dispatcher } from '../src/index.js';
import { checkDashboard } from './dashboard-check.js';
import { startReceiver } from './local-receiver.js';

const receiver = await startReceiver();
const dispatcher = new Dispatcher({ allowPrivateNetworks: true });
const handler = dashboard(dispatcher, {
  basePath: '/admin/webhooks',
  // Required: your own session check. Here a cookie stands in for it.
  authorize: (req) => req.headers.cookie === 'session=admin',
});
await dispatcher.send({ url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { type: 'invoice.paid', data: {} });
await dispatcher.onIdle();

const rest = (_req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(404).end();
// Requests outside basePath go to next() when given, else get a 404.
const server = http.createServer((req, res) => handler(req, res, () => rest(req, res)));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

await checkDashboard('node:http', `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/webhooks`);

server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
handler.close();
await dispatcher.close();
await receiver.close();
