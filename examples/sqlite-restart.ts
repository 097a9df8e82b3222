/**
 * The SQLite store, across a restart: a first dispatcher accepts three messages while their
 * receiver is paused and closes without draining; a second dispatcher on the same file (a new
 * run of the app) queues them again and delivers them. Runs in a temporary directory.
 *
 *   node --import tsx examples/sqlite-restart.ts      (needs better-sqlite3, a dev dependency)
 *
 * In an app: `import { sqliteStore } from 'webhook-dispatcher/sqlite'`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher } from '../src/index.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { startReceiver } from './local-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'wd-example-'));
const path = join(dir, 'webhooks.db');
// 32 bytes, base64: in an app, from a secret manager (process.env.WEBHOOK_STORE_KEY). Every run needs the same key.
const encryptionKey = randomBytes(32).toString('base64');
const receiver = await startReceiver();
const endpoint = { url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

try {
  // First run: accepted means committed to the file, whatever happens next.
  const first = new Dispatcher({ allowPrivateNetworks: true, store: sqliteStore({ path, encryptionKey }) });
  await first.ready();
  first.pause(receiver.url()); // hold the host, as if it were down for maintenance
  for (let i = 1; i <= 3; i++) await first.send(endpoint, { type: 'order.paid', data: { order: i } });
  await first.close(); // without drain: unfinished messages stay in the store for the next run
  console.log(`first run: accepted 3, delivered ${receiver.requests.length}, closed`);

  // Second run, same file: ready() queues what the first run left, and delivers it.
  const second = new Dispatcher({ allowPrivateNetworks: true, store: sqliteStore({ path, encryptionKey }) });
  let delivered = 0;
  second.on('delivered', () => delivered++);
  await second.ready();
  await second.onIdle();
  await second.close();
  console.log(`second run delivered ${delivered} left by the first`);
} finally {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
