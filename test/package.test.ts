/**
 * The package as an app installs it: built, then loaded by name with `require` (Node 20.19+
 * loads ESM from CommonJS) and with `import`, the `./testing` subpath included, and every
 * source map pointing at a file the package ships.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('the built package', () => {
  beforeAll(() => {
    // A clean build: files of an earlier layout must not stand in for missing ones.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
  }, 120_000);

  it('loads with require() by its name, main entry and ./testing', () => {
    const out = node(['-e', "const m = require('webhook-dispatcher'); const t = require('webhook-dispatcher/testing'); console.log(typeof m.Dispatcher, typeof m.verifyWebhook, typeof m.isWebhookError, typeof t.WebhookRecorder)"]);
    expect(out.trim()).toBe('function function function function');
  });

  it('loads the dashboard by its name, and the page it serves comes from files the package ships', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `const { dashboard } = await import('webhook-dispatcher/dashboard');
       const { Dispatcher } = await import('webhook-dispatcher');
       const http = await import('node:http');
       const d = new Dispatcher();
       const handle = dashboard(d, { authorize: () => true });
       const server = http.createServer((req, res) => handle(req, res)).listen(0, '127.0.0.1', async () => {
         const base = 'http://127.0.0.1:' + server.address().port;
         const page = await fetch(base + '/');
         const html = await page.text();
         const scripts = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
         const statuses = await Promise.all(scripts.map((s) => fetch(new URL(s, base)).then((r) => r.status)));
         console.log(page.status, scripts.length > 0, statuses.every((s) => s === 200));
         handle.close(); server.close(); await d.close();
       });`,
    ]);
    expect(out.trim()).toBe('200 true true');
  });

  it('loads the SQLite store by its name, and a dispatcher opens a file with it', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `const { sqliteStore } = await import('webhook-dispatcher/sqlite');
       const { Dispatcher, MemoryStore } = await import('webhook-dispatcher');
       const { mkdtempSync, rmSync } = await import('node:fs');
       const { tmpdir } = await import('node:os');
       const { join } = await import('node:path');
       const dir = mkdtempSync(join(tmpdir(), 'wd-pkg-'));
       const d = new Dispatcher({ store: sqliteStore({ path: join(dir, 'w.db'), encryptionKey: Buffer.alloc(32, 7) }) });
       await d.ready();
       await d.close();
       rmSync(dir, { recursive: true });
       console.log(typeof sqliteStore, typeof MemoryStore);`,
    ]);
    expect(out.trim()).toBe('function function');
  });

  it('runs the SQLite store on its worker thread from the built files: the compiled worker script ships beside the store', () => {
    expect(existsSync(join(root, 'dist/stores/sqlite/sqlite-worker.js'))).toBe(true);
    // Plain node, no TypeScript loader: only the compiled worker can load.
    const out = node([
      '--input-type=module',
      '-e',
      `const { sqliteStore } = await import('webhook-dispatcher/sqlite');
       const { mkdtempSync, rmSync } = await import('node:fs');
       const { tmpdir } = await import('node:os');
       const { join } = await import('node:path');
       const dir = mkdtempSync(join(tmpdir(), 'wd-pkg-'));
       const store = sqliteStore({ path: join(dir, 'w.db'), encryptionKey: Buffer.alloc(32, 7), worker: true });
       await store.open();
       const record = { id: '01900000-0000-7000-8000-000000000001', eventId: 'e', eventType: 't', body: Buffer.from('{}'), url: 'https://a.example/', origin: 'https://a.example', scheme: 'standard', secrets: ['s'], headers: [], acceptedAt: 1, expiresAt: 2, maxAttempts: 1, attempts: 0, dueAt: 1, idempotencyKey: null, last: null };
       await store.write([{ op: 'accept', record }]);
       const back = await store.get(record.id);
       await store.close();
       rmSync(dir, { recursive: true });
       console.log(Buffer.isBuffer(back.body), back.secrets[0]);`,
    ]);
    expect(out.trim()).toBe('true s');
  });

  it('loads ./postgres by its name without loading pg (an optional peer: the app brings its Pool)', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `const { postgresStore } = await import('webhook-dispatcher/postgres');
       const fakePool = { query() {}, connect() {} };
       const store = postgresStore({ pool: fakePool, encryptionKey: Buffer.alloc(32, 1) });
       const { createRequire } = await import('node:module');
       const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/pg/'));
       console.log(typeof postgresStore, store.durable, store.leaseMs, loaded);`,
    ]);
    expect(out.trim()).toBe('function true 30000 false');
  });

  it('loads with import by its name', () => {
    const out = node(['--input-type=module', '-e', "const m = await import('webhook-dispatcher'); console.log(typeof m.Dispatcher, new m.WebhookError('WD_CLOSED', 'x').code)"]);
    expect(out.trim()).toBe('function WD_CLOSED');
  });

  it('ships every file its source maps name', () => {
    // Every folder of the build: the source tree is a tree of folders by concern.
    const maps = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(root, 'dist', map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const file = resolve(root, 'dist', dirname(map), source);
        expect(existsSync(file), `${map} → ${source}`).toBe(true);
        expect(pkg.files.some((f) => file.startsWith(join(root, f)))).toBe(true);
      }
    }
  });
});
