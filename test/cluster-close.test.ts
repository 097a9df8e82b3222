/**
 * `close()` resolves whatever state Redis is in (never reachable, or gone mid-run; the
 * dispatcher's own connections or a caller's client), within its `timeoutMs` plus a second,
 * and leaves no timer or socket behind: the process then exits by itself.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeRedis } from './support/redis.js';

const fixture = fileURLToPath(new URL('./fixtures/cluster-close.ts', import.meta.url));

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Report {
  readyMs: number;
  closeMs: number;
  before: string[];
  after: string[];
  warnings: string[];
}

/** Runs the fixture; rejects when it has not exited by itself within `boundMs`. */
function run(mode: string, port: number, boundMs = 20_000): Promise<{ code: number | null; report: Report }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // The bound is a hang detector only: a leftover timer or socket keeps the child alive forever.
    const hang = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit by itself (printed: ${out.trim() || 'nothing'})`));
    }, boundMs);
    child.on('close', (code) => {
      clearTimeout(hang);
      try {
        resolve({ code, report: JSON.parse(out) as Report });
      } catch (error) {
        reject(new Error(`exited with ${code}, printed ${JSON.stringify(out)}`, { cause: error }));
      }
    });
  });
}

describe('close() with Redis unreachable from the start', () => {
  it('resolves within timeoutMs + 1 s with ioredis options, and the process exits by itself', async () => {
    const { code, report } = await run('options', await closedPort());
    expect(code).toBe(0);
    expect(report.warnings).toEqual(['cluster-unavailable']);
    expect(report.closeMs).toBeLessThan(1_500);
    expect(report.after).toEqual(report.before);
  });

  it('resolves without timeoutMs with a caller\'s client, and leaves nothing of its own behind', async () => {
    const { code, report } = await run('client', await closedPort());
    expect(code).toBe(0);
    expect(report.closeMs).toBeLessThan(1_500);
    expect(report.after).toEqual(report.before);
  });
});

describeRedis('close() with Redis gone mid-run', () => {
  it('resolves within timeoutMs + 1 s, and the process exits by itself', async () => {
    const { code, report } = await run('gone', 0);
    expect(code).toBe(0);
    expect(report.warnings).toEqual(['cluster-unavailable']);
    expect(report.closeMs).toBeLessThan(1_500);
    expect(report.after).toEqual(report.before);
  });
});
