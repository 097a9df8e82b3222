import type { Client, Dispatcher } from 'undici';
import type { AttemptListener, AttemptResult, TransportOptions } from './transport.js';

/** Bytes of an answer read (and thrown away) so its socket can be reused; a larger answer costs the socket instead. */
const DRAIN_LIMIT = 64 * 1024;

class AttemptTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

class BodyTooLarge extends Error {
  readonly code = 'WD_BODY_TOO_LARGE';
}

/** What an attempt needs from the transport that made it. */
export interface AttemptOwner {
  readonly options: TransportOptions;
  /** Where the attempt's outcome waits for its microtask. */
  readonly reports: ReportBatch;
  /** The attempt ended (answer, error or deadline): it stops counting as in flight, at once. */
  ended(attempt: AttemptHandler): void;
  /** On the microtask after it ended: its client is free again, and its sender hears. */
  report(attempt: AttemptHandler): void;
}

/**
 * Finished attempts, reported together on the next microtask: one batch per dispatcher,
 * shared by its transports. Never from inside undici's own callbacks: when a connection fails
 * it errors every queued request in a loop and asserts its queue is empty afterwards, and a
 * report starts the next attempt, on that very client. One promise reaction per batch,
 * instead of a `queueMicrotask` per attempt (each one an `AsyncResource`, a bound function and
 * a closure).
 */
export class ReportBatch {
  readonly #finished: AttemptHandler[] = [];
  #reporting = false;
  readonly #flush = (): void => this.#report();

  add(attempt: AttemptHandler): void {
    this.#finished.push(attempt);
    if (!this.#reporting) {
      this.#reporting = true;
      void resolved.then(this.#flush);
    }
  }

  #report(): void {
    const finished = this.#finished;
    let i = 0;
    try {
      // A report may finish more attempts (a client that throws on dispatch): they join this batch.
      for (; i < finished.length; i++) {
        const attempt = finished[i]!;
        attempt.owner.report(attempt);
      }
    } finally {
      if (i < finished.length) {
        // A report threw: the ones after it still get theirs, on a new microtask.
        finished.splice(0, i + 1);
        void resolved.then(this.#flush);
      } else {
        finished.length = 0;
        this.#reporting = false;
      }
    }
  }
}

const resolved = Promise.resolve();

/** What cuts a request that was cut already: nothing. */
const CUT = (): void => {};

/** The first `retry-after` of an answer's raw headers (names and values in turn), as undici's own parsing reads it. */
function retryAfterOf(rawHeaders: readonly (Buffer | string | string[])[]): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 11 || name.toString().toLowerCase() !== 'retry-after') continue;
    const value = rawHeaders[i + 1]!;
    return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : value.toString('latin1');
  }
  return undefined;
}

/**
 * One request, as an undici dispatch handler: no response stream, no AbortSignal, no promise.
 * It ends exactly once, whichever of answer, error or deadline comes first; its outcome is
 * reported on a microtask, through its owner's {@link ReportBatch}.
 *
 * It speaks undici's first handler interface (`onConnect`, `onHeaders`, …), the one undici's
 * core calls: a handler of the newer one (`onRequestStart`, …) is wrapped in two more objects
 * per request (about 0.15 KiB for each attempt in flight) and its headers parsed into an object.
 *
 * Its helpers are `private` methods, not `#` ones: a class with `#` methods gives each instance
 * one more slot (its brand), 8 bytes that each attempt in flight would hold.
 */
export class AttemptHandler implements Dispatcher.DispatchHandler {
  /** Cuts the request; given by undici when it starts, and replaced by a no-op once used. */
  #abort: ((reason: Error) => void) | undefined = undefined;
  status = 0;
  retryAfter: string | undefined = undefined;
  /** The first bytes of a non-2xx answer, kept for the terminal event. */
  kept: Buffer[] | undefined = undefined;
  read = 0;
  /** Set once, when the attempt ends. */
  result: AttemptResult | undefined = undefined;
  /** Neighbours in the dispatcher's list of attempts in flight, oldest first (see deadlines.ts). */
  prev: AttemptHandler | undefined = undefined;
  next: AttemptHandler | undefined = undefined;

  constructor(
    readonly owner: AttemptOwner,
    readonly started: number,
    readonly client: Client,
    readonly listener: AttemptListener,
  ) {}

  get deadline(): number {
    return this.started + this.owner.options.timeoutMs;
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    // The deadline passed while this request waited for a connection.
    if (this.result !== undefined) this.cut(new AttemptTimeout('timed out before it was sent'));
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    this.retryAfter = retryAfterOf(rawHeaders);
    if (status < 200 || status >= 300) this.kept = [];
    return true;
  }

  onData(chunk: Buffer): boolean {
    // What is kept is a prefix of what was read: as many bytes as were read, up to the cap.
    const before = this.read;
    this.read += chunk.length;
    const keepBytes = this.owner.options.responseBodyBytes;
    if (this.kept !== undefined && before < keepBytes) this.kept.push(chunk.subarray(0, keepBytes - before));
    if (this.read > DRAIN_LIMIT) this.cut(new BodyTooLarge('answer body over the drain limit'));
    return true;
  }

  onComplete(): void {
    this.answerOnce();
  }

  onError(error: Error): void {
    // An answer whose status arrived stands even when its body is cut short (too large,
    // too slow, reset): the receiver has said what it had to say.
    if (this.status >= 200) return this.answerOnce();
    this.fail(error);
  }

  /** Cuts the request once, if it has started. */
  private cut(error: Error): void {
    const abort = this.#abort;
    if (abort === undefined) return;
    this.#abort = CUT;
    abort(error);
  }

  /** Ends the attempt with a transport error. */
  fail(error: unknown): void {
    if (this.result !== undefined) return;
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    this.finish({
      error: {
        code: typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'UNKNOWN',
        message: typeof e.message === 'string' ? e.message : String(error),
        original: error,
      },
      latencyMs: this.elapsed(),
    });
  }

  /** The deadline passed: cut the request, or mark it so it is cut when it starts. */
  expire(): void {
    const error = new AttemptTimeout(`No complete answer within ${this.owner.options.timeoutMs} ms`);
    if (this.status >= 200) {
      this.cut(error);
      return this.answerOnce();
    }
    this.fail(error);
    this.cut(error);
  }

  private answerOnce(): void {
    if (this.result !== undefined) return;
    this.finish({
      status: this.status,
      retryAfter: this.retryAfter,
      body: this.kept === undefined ? undefined : Buffer.concat(this.kept).toString('utf8'),
      latencyMs: this.elapsed(),
    });
  }

  private elapsed(): number {
    return Math.max(0, this.owner.options.clock.now() - this.started);
  }

  private finish(result: AttemptResult): void {
    this.result = result;
    this.owner.ended(this);
    this.owner.reports.add(this);
  }
}
