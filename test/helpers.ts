import { randomBytes } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import { attemptHeaders, parseSecrets } from '../src/signing/signatures.js';
import { Dispatcher, WebhookError, type SignatureScheme, type Delivered, type DispatcherInternals, type DispatcherOptions, type Failed } from '../src/index.js';
import { Receiver, type Handler } from './receiver.js';

/** The signature headers our sender puts on a request, as a receiver's record of them. */
export function signatureHeaders(secrets: string | string[], unix: number, payload: Buffer, id = 'evt_1', scheme: SignatureScheme = 'standard-webhooks'): Record<string, string> {
  // An attempt's headers start with content-type and user-agent; the signature's follow.
  const flat = attemptHeaders('test', [], scheme, parseSecrets(scheme, secrets), id, unix, payload).slice(4);
  const headers: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) headers[flat[i]!] = flat[i + 1]!;
  return headers;
}

export function newSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

/** Fast retries and timeouts, loopback allowed: the test profile. */
export function testDispatcher(options: DispatcherOptions = {}, internals?: DispatcherInternals): Dispatcher {
  return new Dispatcher(
    {
      allowPrivateNetworks: true,
      timeoutMs: 2_000,
      ...options,
      retry: { baseDelayMs: 5, maxDelayMs: 20, ...options.retry },
    },
    internals,
  );
}

/**
 * Receivers and dispatchers that are stopped and closed after each test of the file, whether
 * the test passed or not. Call once at the top of a test file.
 */
export function scoped(): { receiver(handler?: Handler): Promise<Receiver>; dispatcher(options?: DispatcherOptions, internals?: DispatcherInternals): Dispatcher } {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });
  return {
    async receiver(handler) {
      const r = await Receiver.start(handler);
      cleanup.push(() => r.stop());
      return r;
    },
    dispatcher(options, internals) {
      const d = testDispatcher(options, internals);
      cleanup.push(() => d.close());
      return d;
    },
  };
}

/** Every terminal event, by message id, so a test can check "exactly one each". */
export class Terminals {
  readonly delivered: Delivered[] = [];
  readonly failed: Failed[] = [];
  readonly byMessage = new Map<string, number>();

  constructor(dispatcher: Dispatcher) {
    dispatcher.on('delivered', (e) => {
      this.delivered.push(e);
      this.#count(e.messageId);
    });
    dispatcher.on('failed', (e) => {
      this.failed.push(e);
      this.#count(e.messageId);
    });
  }

  get total(): number {
    return this.delivered.length + this.failed.length;
  }

  /** Message ids that ended more than once. */
  duplicates(): string[] {
    return [...this.byMessage].filter(([, n]) => n > 1).map(([id]) => id);
  }

  #count(id: string): void {
    this.byMessage.set(id, (this.byMessage.get(id) ?? 0) + 1);
  }
}

/** Resolves with the first event of `name` the dispatcher emits. */
export function once<T>(dispatcher: Dispatcher, name: 'delivered' | 'failed' | 'retry' | 'breaker' | 'gone'): Promise<T> {
  return new Promise((resolve) => dispatcher.once(name, ((e: T) => resolve(e)) as never));
}

/** Runs `fn` and returns the WebhookError it threw; fails the test if it threw anything else or nothing. */
export function refusal(fn: () => unknown): WebhookError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookError);
    return error as WebhookError;
  }
  throw new Error('expected a WebhookError, nothing was thrown');
}
