/** The parent's handle on a receiver process. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Faults, Stats } from './receiver-process.js';

export type { Faults, Stats };

export class Receivers {
  readonly ports: number[] = [];
  readonly #child: ChildProcess;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts a receiver process listening on `count` ports of 127.0.0.1. */
  static async start(count: number): Promise<Receivers> {
    const child = fork(fileURLToPath(new URL('./receiver-process.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`receiver process exited with ${code}`)));
    });
    const r = new Receivers(child);
    const { ports } = (await r.#ask({ cmd: 'listen', count })) as { ports: number[] };
    r.ports.push(...ports);
    return r;
  }

  url(i = 0, path = '/hook'): string {
    return `http://127.0.0.1:${this.ports[i % this.ports.length]}${path}`;
  }

  origin(i = 0): string {
    return `http://127.0.0.1:${this.ports[i % this.ports.length]}`;
  }

  configure(faults: Faults, options: { secret?: string; verifyEvery?: number; recordTimes?: boolean } = {}): Promise<unknown> {
    return this.#ask({ cmd: 'configure', faults, ...options });
  }

  reset(): Promise<unknown> {
    return this.#ask({ cmd: 'reset' });
  }

  stats(): Promise<Stats> {
    return this.#ask({ cmd: 'stats' }) as Promise<Stats>;
  }

  async stop(): Promise<void> {
    await this.#ask({ cmd: 'stop' });
  }

  /** One question at a time: answers come back in order. */
  #ask(command: Command): Promise<unknown> {
    const next = this.#queue.then(
      () =>
        new Promise((resolve) => {
          this.#child.once('message', resolve);
          this.#child.send(command);
        }),
    );
    this.#queue = next.catch(() => {});
    return next;
  }
}
