/**
 * Bench child processes (pg-worker.ts, cluster-worker.ts): started with `node --import tsx`,
 * driven by JSON lines on their stdin, answering JSON lines `{ ev, … }` on their stdout.
 * A child watches its stdin and exits when it closes, so no child outlives the bench however
 * the bench ends; `kill()` in a `finally` ends the rest at once.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Reply {
  ev: string;
  [field: string]: unknown;
}

/** The parent's handle on one child. */
export class Child {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: Reply[] = [];
  readonly #waiters = new Set<() => void>();
  #buffer = '';
  #exit: string | undefined;
  readonly exited: Promise<void>;

  /** `file` is relative to this directory. */
  constructor(file: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      const lines = this.#buffer.split('\n');
      this.#buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('{')) this.#replies.push(JSON.parse(line) as Reply);
      this.#wake();
    });
    // A child's error output goes to the bench's, so a crash says why.
    this.#child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    // A write to a child that just died must not crash the bench; its exit is reported by next().
    this.#child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) =>
      this.#child.on('exit', (code, signal) => {
        this.#exit = signal ?? `code ${code}`;
        this.#wake();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  send(command: object): void {
    if (this.alive) this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** The next reply `ev` (taken off the list); rejects on an `error` reply, when the child exits first, or after `timeoutMs`. */
  next(ev: string, timeoutMs = 120_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`child ${this.pid}: no \`${ev}\` within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error?: Error, reply?: Reply) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(reply!);
      };
      const check = () => {
        const i = this.#replies.findIndex((r) => r.ev === ev || r.ev === 'error');
        if (i >= 0) {
          const [reply] = this.#replies.splice(i, 1);
          if (reply!.ev === 'error') finish(new Error(`child ${this.pid}: ${String(reply!.message)}`));
          else finish(undefined, reply);
        } else if (this.#exit !== undefined) finish(new Error(`child ${this.pid} exited (${this.#exit}) before \`${ev}\``));
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `command` and waits for the reply `ev`. */
  ask(command: object, ev: string, timeoutMs?: number): Promise<Reply> {
    const reply = this.next(ev, timeoutMs);
    this.send(command);
    return reply;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.#child.kill(signal);
    await this.exited;
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

/** In a child: one answer line. */
export function reply(r: Reply): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** In a child: runs each command line of stdin in turn; exits when stdin closes (the parent is gone). */
export function serve(handle: (command: { cmd: string } & Record<string, unknown>) => Promise<void>): void {
  let buffer = '';
  let queue = Promise.resolve();
  process.stdin.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      const command = JSON.parse(line) as { cmd: string } & Record<string, unknown>;
      queue = queue.then(() => handle(command)).catch((error: unknown) => reply({ ev: 'error', message: (error as Error).message }));
    }
  });
  process.stdin.on('end', () => process.exit(1));
  process.stdin.resume();
}
