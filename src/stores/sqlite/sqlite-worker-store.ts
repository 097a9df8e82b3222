import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WebhookError } from '../../core/errors.js';
import type { MessageRecord } from '../../model/message-record.js';
import type { DeadLetter, DeadLetterQuery, MessageHistory, MessageStore, StoreOp } from '../../persistence/store.js';
import { outcomeUnknown, storeUnavailable } from '../../persistence/store-errors.js';
import { checkOps } from '../common/store-query.js';
import { encodeBatch } from './sqlite-batch.js';
import { registerWorker } from './sqlite-handle.js';
import { fromWire, reviveRecord, type Answer, type Method, type WorkerSettings } from './sqlite-wire.js';

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  what: string;
  method: Method;
}

/**
 * The SQLite store with its connection on a worker thread (`sqliteStore({ worker: true })`):
 * each call is one message to the worker, a write batch included, and resolves with the
 * worker's answer. The worker is unreferenced while nothing waits on it, so it does not keep
 * the process alive any more than the main-thread store would; a worker that dies or exits
 * fails every waiting and later call with `WD_STORE_UNAVAILABLE` until `open()` starts a new one.
 */
export class SqliteWorkerStore implements MessageStore {
  readonly durable = true;
  readonly #path: string;
  readonly #key: Buffer;
  readonly #synchronous: 'normal' | 'full';
  #worker: Worker | undefined;
  #opening: Promise<void> | undefined;
  #open = false;
  #closed = false;
  /** Why the last worker is gone, when it died. */
  #died: WebhookError | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #next = 1;
  /** Busy time of the workers that are gone, for {@link workerBusyMsOf}. */
  #busyMs = 0;

  constructor(path: string, key: Buffer, synchronous: 'normal' | 'full') {
    this.#path = path;
    this.#key = key;
    this.#synchronous = synchronous;
    registerWorker(this, { busyMs: () => this.#busyMs + (this.#worker?.performance.eventLoopUtilization().active ?? 0), worker: () => this.#worker });
  }

  open(): Promise<void> {
    if (this.#open) return Promise.resolve();
    this.#opening ??= this.#start().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async #start(): Promise<void> {
    const worker = this.#spawn();
    this.#died = undefined;
    this.#closed = false;
    try {
      await this.#ask(worker, 'open', undefined, `Cannot open the SQLite store at \`${this.#path}\``);
    } catch (error) {
      this.#retire(worker);
      await worker.terminate().catch(() => undefined);
      throw error;
    }
    this.#open = true;
  }

  #spawn(): Worker {
    const settings: WorkerSettings = { path: this.#path, key: new Uint8Array(this.#key), synchronous: this.#synchronous };
    let worker: Worker;
    try {
      const script = workerScript();
      const spawn = (execArgv: string[] | undefined) => new Worker(script.script, { workerData: settings, ...(execArgv && { execArgv }), ...(script.eval && { eval: true }) });
      const execArgv = workerExecArgv();
      try {
        worker = spawn(execArgv);
      } catch (error) {
        // Options a worker takes only by inheritance (V8's, like `--expose-gc`): none, then.
        if (execArgv === undefined || (error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
        worker = spawn([]);
      }
    } catch (error) {
      throw storeUnavailable(`Cannot start the SQLite store's worker for \`${this.#path}\``, error);
    }
    worker.unref();
    this.#worker = worker;
    worker.on('message', (answer: Answer) => this.#answer(answer));
    worker.on('error', (error) => this.#lost(worker, storeUnavailable(`The SQLite store's worker for \`${this.#path}\` failed`, error)));
    worker.on('exit', (code) => this.#lost(worker, new WebhookError('WD_STORE_UNAVAILABLE', `The SQLite store's worker for \`${this.#path}\` exited (code ${code})`)));
    return worker;
  }

  #answer(answer: Answer): void {
    const waiting = this.#waiting.get(answer.id);
    if (waiting === undefined) return;
    this.#waiting.delete(answer.id);
    if (this.#waiting.size === 0) this.#worker?.unref();
    if (answer.error === undefined) waiting.resolve(answer.value);
    else waiting.reject(fromWire(answer.error, waiting.what));
  }

  /** The worker is gone: everything waiting on it fails, and so does every later call. */
  #lost(worker: Worker, error: WebhookError): void {
    if (this.#worker !== worker) return;
    this.#retire(worker);
    this.#open = false;
    if (!this.#closed) this.#died ??= error;
    for (const waiting of this.#waiting.values()) {
      // A worker lost between its COMMIT and its answer may have applied the write.
      if (waiting.method === 'write') waiting.reject(outcomeUnknown(new WebhookError('WD_STORE_UNAVAILABLE', `${error.message}, with a write on its way: whether it applied is unknown`, { cause: error })));
      else waiting.reject(error);
    }
    this.#waiting.clear();
  }

  #ask<T>(worker: Worker, method: Method, arg: unknown, what: string, transfer?: ArrayBuffer[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.#next++;
      try {
        worker.postMessage({ id, method, arg }, transfer);
      } catch (error) {
        reject(storeUnavailable(`${what}: the request could not be handed to the store's worker`, error));
        return;
      }
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, what, method });
    });
  }

  /** A call to the open store's worker. */
  #call<T>(method: Method, arg: unknown, what: string, transfer?: ArrayBuffer[]): Promise<T> {
    const worker = this.#worker;
    if (worker === undefined || !this.#open) {
      const why = this.#died !== undefined ? `unavailable: ${this.#died.message}` : this.#closed ? 'closed' : 'not open yet: call `open()` first';
      return Promise.reject(new WebhookError('WD_STORE_UNAVAILABLE', `The SQLite store at \`${this.#path}\` is ${why}`));
    }
    return this.#ask<T>(worker, method, arg, what, transfer);
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const worker = this.#worker;
    this.#closed = true;
    this.#open = false;
    if (worker === undefined) return;
    // Sampled now: a worker that has exited reports no busy time.
    const busy = worker.performance.eventLoopUtilization().active;
    try {
      await this.#ask(worker, 'close', undefined, `Closing the SQLite store at \`${this.#path}\` failed`);
    } finally {
      this.#retire(worker, busy);
      await worker.terminate().catch(() => undefined);
    }
  }

  /** Forgets the current worker, keeping its busy time. */
  #retire(worker: Worker, busySampled = 0): void {
    if (this.#worker !== worker) return;
    this.#busyMs += Math.max(busySampled, worker.performance.eventLoopUtilization().active);
    this.#worker = undefined;
  }

  write(ops: readonly StoreOp[]): Promise<void> {
    try {
      checkOps(ops);
    } catch (error) {
      return Promise.reject(error);
    }
    if (ops.length === 0) return this.#open ? Promise.resolve() : this.#call('write', encodeBatch(ops, true), '');
    // The flat form (see `sqlite-batch.ts`): one array of values, and the bodies copied into
    // one buffer that is transferred, not cloned.
    const batch = encodeBatch(ops, true);
    return this.#call('write', batch, `Writing ${ops.length} operations to the SQLite store at \`${this.#path}\` failed`, [batch.bodies!.buffer as ArrayBuffer]);
  }

  async pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]> {
    const records = await this.#call<MessageRecord[]>('pending', query, `Reading pending messages from the SQLite store at \`${this.#path}\` failed`);
    return records.map(reviveRecord);
  }

  pendingOrigins(): Promise<{ origin: string; count: number }[]> {
    return this.#call('pendingOrigins', undefined, `Reading pending origins from the SQLite store at \`${this.#path}\` failed`);
  }

  async get(messageId: string): Promise<MessageRecord | undefined> {
    const record = await this.#call<MessageRecord | undefined>('get', messageId, `Reading message \`${messageId}\` from the SQLite store at \`${this.#path}\` failed`);
    return record === undefined ? undefined : reviveRecord(record);
  }

  deadLetters(query?: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    return this.#call('deadLetters', query, `Reading dead letters from the SQLite store at \`${this.#path}\` failed`);
  }

  history(messageId: string): Promise<MessageHistory | undefined> {
    return this.#call('history', messageId, `Reading the history of message \`${messageId}\` from the SQLite store at \`${this.#path}\` failed`);
  }

  prune(cutoffs: { delivered: number; failed: number }): Promise<number> {
    return this.#call('prune', cutoffs, `Pruning the SQLite store at \`${this.#path}\` failed`);
  }
}

/**
 * The worker's script beside this file: the compiled `.js` in the built package. Under a
 * TypeScript loader (tests, benchmarks) only the `.ts` source exists; a worker does not get
 * the main thread's loader hooks on Node 20 (an inherited `--import tsx` comes too late for
 * the entry module), so a small bootstrap registers tsx and then imports the source.
 */
function workerScript(): { script: string | URL; eval?: true } {
  const js = new URL('./sqlite-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js };
  const ts = new URL('./sqlite-worker.ts', import.meta.url).href;
  // `require.resolve` picks the CommonJS build of `tsx/esm/api`; its ES module build sits beside it.
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  return { script: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(ts)}); });`, eval: true };
}

/**
 * The process's Node options for the worker: inherited as they are (`undefined`), unless they
 * are about the main script's own input (`node --input-type=module -e '…'`), which a worker
 * refuses for its entry: then the others.
 */
function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv;
  if (!argv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--input-type=')) continue;
    if (arg === '--input-type' || arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++;
      continue;
    }
    args.push(arg);
  }
  return args;
}
