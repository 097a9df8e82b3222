/**
 * Test helpers for applications that embed the dispatcher: a recorder that stands in for the
 * network, so an app's own tests can assert "this webhook was sent, signed, with this body"
 * without a receiver, DNS or sockets.
 *
 * ```ts
 * import { Dispatcher } from 'webhook-dispatcher';
 * import { WebhookRecorder } from 'webhook-dispatcher/testing';
 *
 * const recorder = new WebhookRecorder();
 * const dispatcher = new Dispatcher({}, { transport: recorder.transport });
 * await dispatcher.send({ url: 'https://customer.example/hooks', secret }, { type: 'invoice.paid', data });
 * await dispatcher.onIdle();
 * expect(recorder.requests[0].json().type).toBe('invoice.paid');
 * expect(recorder.messagesOfType('invoice.paid')).toHaveLength(1);   // messages, not attempts
 * ```
 *
 * `requests` and `ofType` list attempts: a message answered 429 and then 200 is two requests.
 * `messages` and `messagesOfType` group the attempts of one message.
 */
import type { AttemptResult, Transport, TransportFactory } from './transport/transport.js';

/** One request the dispatcher sent through the recorder. */
export interface RecordedRequest {
  /** The endpoint's full URL. */
  readonly url: string;
  readonly origin: string;
  /** Header names lower-cased. Signature headers included: check them with `verifyWebhook`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body bytes, as a receiver would verify them. */
  readonly body: Buffer;
  /** The body parsed: `{ id, type, timestamp, data }`. */
  json<T = unknown>(): { id: string; type: string; timestamp: string; data: T };
}

/**
 * The attempts of one message, grouped by what a receiver sees of it: its event id
 * (`webhook-id`, or `x-webhook-id` for `'timestamped-hex'`) and its URL. A replay sends the
 * same event to the same URL, so its attempts join the original's.
 */
export interface RecordedMessage {
  readonly eventId: string;
  readonly url: string;
  /** The event type. */
  readonly type: string;
  /** Every attempt, first to last. */
  readonly attempts: readonly RecordedRequest[];
}

/** How the recorder answers one request: a status (and `Retry-After`), or a transport error code such as `'ECONNRESET'`. */
export type RecordedAnswer = number | { status: number; retryAfter?: string; body?: string } | { error: string };

/** @default every request answered 200 */
export type Responder = (request: RecordedRequest) => RecordedAnswer;

/** A stand-in for the network: records every request and answers as `respond` says. */
export class WebhookRecorder {
  readonly requests: RecordedRequest[] = [];
  #respond: Responder;

  constructor(respond: Responder = () => 200) {
    this.#respond = respond;
  }

  /** Changes how later requests are answered (a receiver that goes down, then comes back). */
  respondWith(respond: Responder): void {
    this.#respond = respond;
  }

  /** Requests (attempts: a retried message counts once per attempt) whose event type is `type`. */
  ofType(type: string): RecordedRequest[] {
    return this.requests.filter((r) => r.json().type === type);
  }

  /** The messages sent, each with its attempts, in the order of their first attempt. */
  get messages(): RecordedMessage[] {
    const byKey = new Map<string, { eventId: string; url: string; type: string; attempts: RecordedRequest[] }>();
    for (const request of this.requests) {
      const eventId = request.headers['webhook-id'] ?? request.headers['x-webhook-id'] ?? '';
      const key = `${eventId} ${request.url}`;
      const message = byKey.get(key);
      if (message === undefined) byKey.set(key, { eventId, url: request.url, type: request.json().type, attempts: [request] });
      else message.attempts.push(request);
    }
    return [...byKey.values()];
  }

  /** Messages (not attempts) whose event type is `type`. */
  messagesOfType(type: string): RecordedMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Pass as the dispatcher's `transport` internal. */
  readonly transport: TransportFactory = (origin) => this.#transportFor(origin);

  #transportFor(origin: string): Transport {
    return {
      send: (path, flat, body, onDone) => {
        const headers: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) headers[flat[i]!] = flat[i + 1]!;
        const request: RecordedRequest = { url: origin + path, origin, headers, body, json: () => JSON.parse(body.toString('utf8')) };
        this.requests.push(request);
        let result: AttemptResult;
        try {
          result = toResult(this.#respond(request));
        } catch (error) {
          result = { error: { code: 'RESPONDER_THREW', message: String(error), original: error }, latencyMs: 0 };
        }
        queueMicrotask(() => onDone(result));
      },
      close: async () => {},
      destroy: async () => {},
    };
  }
}

function toResult(answer: RecordedAnswer): AttemptResult {
  if (typeof answer === 'number') return { status: answer, retryAfter: undefined, body: undefined, latencyMs: 0 };
  if ('error' in answer) return { error: { code: answer.error, message: `recorded ${answer.error}`, original: { code: answer.error } }, latencyMs: 0 };
  return { status: answer.status, retryAfter: answer.retryAfter, body: answer.body, latencyMs: 0 };
}
