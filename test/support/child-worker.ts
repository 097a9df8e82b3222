/**
 * A fixture run as a real child process (`node --import tsx <fixture> …args`), reporting by
 * lines on its stdout. Its stdin is a pipe the fixture watches: it exits when the test process
 * goes, however it goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildWorker {
  child: ChildProcess;
  /** Everything it printed so far. */
  out: string;
  exited: Promise<void>;
  /** The whole lines starting with `<prefix> `, split into their fields after the prefix (a line cut by a kill was never fully reported). */
  lines(prefix: string): string[][];
  /** Resolves once `test()` holds, checked at each chunk of output. */
  until(test: () => boolean): Promise<void>;
}

export function childWorker(fixture: string, args: string[]): ChildWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiters: (() => void)[] = [];
  const w: ChildWorker = {
    child,
    out: '',
    exited: new Promise((resolve) => child.on('exit', () => resolve())),
    lines: (prefix) => w.out.split('\n').slice(0, -1).filter((l) => l.startsWith(`${prefix} `)).map((l) => l.split(' ').slice(1)),
    until: (test) => new Promise<void>((resolve) => (test() ? resolve() : waiters.push(() => test() && resolve()))),
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    w.out += chunk.toString();
    for (const fn of waiters) fn();
  });
  return w;
}
