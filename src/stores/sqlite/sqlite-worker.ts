import { parentPort, workerData } from 'node:worker_threads';
import type { MessageStore } from '../../persistence/store.js';
import { Sealer } from '../../signing/seal.js';
import { SqliteStore } from './sqlite-direct-store.js';
import type { FlatBatch } from './sqlite-batch.js';
import { toWire, type Answer, type Request, type WorkerSettings } from './sqlite-wire.js';

/**
 * The SQLite store's worker thread: owns the connection (and with it the file's exclusive
 * lock), seals, encodes and commits. Requests are answered in the order they arrive, each
 * once its work is done: a write's answer leaves after its COMMIT returned.
 */

const settings = workerData as WorkerSettings;
const port = parentPort!;
const store = new SqliteStore(settings.path, new Sealer(Buffer.from(settings.key)), settings.synchronous);

/** Requests run one at a time, in order, as they would on one thread (prune yields between chunks). */
let queue: Promise<void> = Promise.resolve();

port.on('message', (request: Request) => {
  queue = queue.then(() => serve(request));
});

async function serve({ id, method, arg }: Request): Promise<void> {
  let answer: Answer;
  try {
    const value = await call(method, arg);
    answer = { id, value };
  } catch (error) {
    answer = { id, error: toWire(error) };
  }
  port.postMessage(answer);
  if (method === 'close') port.close();
}

function call(method: Request['method'], arg: unknown): Promise<unknown> {
  switch (method) {
    case 'open':
      return store.open();
    case 'write':
      return store.writeFlat(arg as FlatBatch);
    case 'pending':
      return store.pending(arg as Parameters<MessageStore['pending']>[0]);
    case 'pendingOrigins':
      return store.pendingOrigins();
    case 'get':
      return store.get(arg as string);
    case 'deadLetters':
      return store.deadLetters(arg as Parameters<MessageStore['deadLetters']>[0]);
    case 'history':
      return store.history(arg as string);
    case 'prune':
      return store.prune(arg as Parameters<MessageStore['prune']>[0]);
    case 'close':
      return store.close();
  }
}
