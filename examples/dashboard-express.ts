/**
 * The dashboard mounted in Express with `app.use(basePath, handler)`. Fetches the page once as
 * an admin, then stops.
 *
 *   node --import tsx examples/dashboard-express.ts
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { dashboard } from '../src/dashboard/index.js';
import { Dispatcher } from '../src/index.js';
import { checkDashboard } from './dashboard-check.js';
import { startReceiver } from './local-receiver.js';

const receiver = await startReceiver();
const dispatcher = new Dispatcher({ allowPrivateNetworks: true });
const handler = dashboard(dispatcher, { basePath: '/admin/webhooks', authorize: (req) => req.headers.cookie === 'session=admin' });
await dispatcher.send({ url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { type: 'invoice.paid', data: {} });
await dispatcher.onIdle();

const app = express();
app.use('/admin/webhooks', handler); // requests outside basePath go to next()
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

await checkDashboard('Express', `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/webhooks`);

server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
handler.close();
await dispatcher.close();
await receiver.close();
