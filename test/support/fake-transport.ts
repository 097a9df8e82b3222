import type { AttemptListener, AttemptResult, Transport } from '../../src/transport/transport.js';

/** One request the fake transport was asked to send, answered by the test. */
/** What a test answers with: a status (and Retry-After), or a transport error. */
export type FakeAnswer = { status: number; retryAfter?: string; latencyMs?: number } | { error: { code: string; message: string }; latencyMs?: number };

export interface FakeRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  answer(result: FakeAnswer): void;
}

/**
 * A transport that sends nothing: each request waits until the test answers it, and the
 * answer is delivered on a microtask, as the real transport does.
 */
export class FakeTransport implements Transport {
  readonly requests: FakeRequest[] = [];
  /** Requests sent and not yet answered. */
  readonly open = new Set<FakeRequest>();
  closed = false;
  destroyed = false;
  /** Requests sent through `send` with a callback, and through `sendTo` with a listener. */
  readonly calls = { send: 0, sendTo: 0 };
  /** Present only when made with `listens`: a transport may leave it out. */
  readonly sendTo?: (path: string, flat: string[], body: Buffer, listener: AttemptListener) => void;

  /** @param listens whether it has `sendTo` (the undici transport's way) besides `send` */
  constructor(listens = false) {
    if (listens) {
      this.sendTo = (path, flat, body, listener) => {
        this.calls.sendTo++;
        this.#send(path, flat, body, (result) => listener.attemptDone(result));
      };
    }
  }

  send(path: string, flat: string[], body: Buffer, onDone: (result: AttemptResult) => void): void {
    this.calls.send++;
    this.#send(path, flat, body, onDone);
  }

  #send(path: string, flat: string[], body: Buffer, onDone: (result: AttemptResult) => void): void {
    const headers: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) headers[flat[i]!] = flat[i + 1]!;
    const request: FakeRequest = {
      path,
      headers,
      body: body.toString('utf8'),
      answer: (result) => {
        if (!this.open.delete(request)) throw new Error('answered twice');
        const full: AttemptResult =
          'error' in result
            ? { error: { ...result.error, original: { ...result.error } }, latencyMs: result.latencyMs ?? 1 }
            : { status: result.status, retryAfter: result.retryAfter, body: undefined, latencyMs: result.latencyMs ?? 1 };
        queueMicrotask(() => onDone(full));
      },
    };
    this.requests.push(request);
    this.open.add(request);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const r of [...this.open]) r.answer({ error: { code: 'UND_ERR_DESTROYED', message: 'destroyed' } });
  }
}
