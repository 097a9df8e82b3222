/**
 * Every program in examples/ runs as a user would run it (`node --import tsx examples/<name>.ts`,
 * a child process of its own) and must exit 0 on its own and print its key line, so the code
 * the README shows cannot rot. The examples start their receivers on 127.0.0.1; the Postgres
 * and Redis ones skip with a message when the service is absent, which fails here under CI=true.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pgAvailable } from './support/postgres.js';
import { redisAvailable } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CI = process.env.CI === 'true';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, timeout: 50_000, env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', FORCE_COLOR: '0' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** [file, the line that proves it did its job, the service it needs (absent: it must say it skipped)] */
const EXAMPLES: [string, RegExp, ('postgres' | 'redis')?][] = [
  ['basic.ts', /^delivered 3 of 3$/m],
  ['retries-and-replay.ts', /^replayed as \S+ \(event unchanged\): delivered with 200$/m],
  ['sqlite-restart.ts', /^second run delivered 3 left by the first$/m],
  ['postgres-outbox.ts', /^committed order delivered; rolled-back order sent nothing$/m, 'postgres'],
  ['redis-shared-limit.ts', /^2 processes delivered 40 in /m, 'redis'],
  ['dashboard-node-http.ts', /^node:http: page 200 \(Webhooks\), api\/stats delivered 1, without the cookie 401$/m],
  ['dashboard-express.ts', /^Express: page 200 \(Webhooks\), api\/stats delivered 1, without the cookie 401$/m],
  ['dashboard-fastify.ts', /^Fastify: page 200 \(Webhooks\), api\/stats delivered 1, without the cookie 401$/m],
  ['opentelemetry.ts', /^traceparent reached the receiver in the caller's trace$/m],
  ['verify-receiver.ts', /\/ed25519: invoice.paid verified by verifyWebhook[^]*\/ed25519: refused \(WD_VERIFICATION_FAILED\)[^]*\/hmac: invoice.paid verified[^]*\/reference: invoice.paid verified by standardwebhooks/],
];

describe.concurrent('examples/', () => {
  for (const [file, proof, service] of EXAMPLES) {
    const available = service === undefined || (service === 'postgres' ? pgAvailable : redisAvailable);
    it(`${file} exits 0 and prints its result${available ? '' : ` (no ${service}: it must say it skipped)`}`, async () => {
      const { code, stdout, stderr } = await run(['--import', 'tsx', `examples/${file}`]);
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      if (!available && !CI) expect(stdout).toMatch(/^skipped: no /m);
      else expect(stdout).toMatch(proof);
    }, 60_000);
  }

  it('app.test.ts: the recorder in an app\'s own test passes under its own vitest config', async () => {
    const { code, stdout, stderr } = await run([fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url)), 'run', '--config', 'examples/vitest.config.ts']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/Tests\s+\S*2 passed/);
  }, 60_000);
});
