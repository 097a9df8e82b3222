/**
 * Servers of a test's own, for faults that must not disturb anybody else's suite: a PostgreSQL
 * cluster made with `initdb` in a temporary folder and run with `pg_ctl` on a free port, and a
 * `redis-server` on a free port. Both listen on 127.0.0.1 only, and both can be restarted.
 *
 * Where the binaries (or, for PostgreSQL, a `postgres` user to run them as when the tests run
 * as root) are missing, `privatePostgresMissing` / `privateRedisMissing` say why, and the
 * suites skip with that reason (fail under CI=true, like the shared services).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

/** A free TCP port on 127.0.0.1 (free when asked: taken by whoever binds it first). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function pgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

function postgresUid(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

const PG_BIN = pgBin();
const asRoot = process.getuid?.() === 0;
const PG_USER = asRoot ? postgresUid() : undefined;

export const privatePostgresMissing = PG_BIN === undefined ? 'no PostgreSQL binaries under /usr/lib/postgresql' : asRoot && PG_USER === undefined ? 'running as root without a `postgres` user to run initdb as' : undefined;

/** Runs a PostgreSQL binary, as the `postgres` user when the tests run as root (initdb refuses root). */
function pgRun(tool: string, args: string[]): string {
  const bin = join(PG_BIN!, tool);
  return asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) : execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A PostgreSQL cluster of one test's own: `url` for `pg`, and `stop`/`start`/`restart` for faults. */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PrivatePostgres> {
    if (privatePostgresMissing !== undefined) throw new Error(privatePostgresMissing);
    const dir = mkdtempSync(join(tmpdir(), 'wd-pg-'));
    if (PG_USER !== undefined) chownSync(dir, PG_USER.uid, PG_USER.gid);
    pgRun('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    const server = new PrivatePostgres(dir, await freePort());
    server.start();
    return server;
  }

  /** Starts the server and waits until it accepts connections. */
  start(): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    pgRun('pg_ctl', ['-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** Stops it now (`-m fast`: open connections are cut, as in a crash of the clients' side). */
  stop(): void {
    pgRun('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Stops it and deletes its folder. */
  destroy(): void {
    try {
      this.stop();
    } catch {
      // Already down.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
export const privateRedisMissing = REDIS_SERVER === undefined ? 'no redis-server binary' : undefined;

/** A `redis-server` of one test's own, on a free port, nothing kept on disk. */
export class PrivateRedis {
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    if (REDIS_SERVER === undefined) throw new Error('no redis-server binary');
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  /** Starts it (again, on the same port) and waits until it accepts connections. */
  async start(): Promise<void> {
    const child = spawn(REDIS_SERVER!, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${seen.slice(-500)}`)));
    });
    child.stdout!.resume();
  }

  /** Kills it with SIGKILL: everything it held is gone, as in a crash. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
