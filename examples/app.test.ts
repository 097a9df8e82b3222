/**
 * An app's own test, with the testing recorder standing in for the network: it checks what the
 * app sent, and that it was signed, with no receiver, DNS or sockets.
 *
 *   npx vitest run --config examples/vitest.config.ts
 *
 * In an app: `import { WebhookRecorder } from 'webhook-dispatcher/testing'`.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, verifyWebhook } from '../src/index.js';
import { WebhookRecorder } from '../src/testing.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The app under test: marks an invoice paid and tells the customer. */
async function payInvoice(dispatcher: Dispatcher, invoice: string): Promise<void> {
  await dispatcher.send({ url: 'https://customer.example/hooks', secret }, { type: 'invoice.paid', data: { invoice } });
}

describe('payInvoice', () => {
  it('sends one signed invoice.paid webhook', async () => {
    const recorder = new WebhookRecorder(() => 200);
    const dispatcher = new Dispatcher({}, { transport: recorder.transport });
    await payInvoice(dispatcher, 'in_123');
    await dispatcher.onIdle();
    expect(recorder.ofType('invoice.paid')).toHaveLength(1);
    const [request] = recorder.requests;
    expect(verifyWebhook(request!.body, request!.headers, secret).data).toEqual({ invoice: 'in_123' });
    await dispatcher.close();
  });

  it('a retried message is two requests but one message', async () => {
    let answered = 0;
    const recorder = new WebhookRecorder(() => (answered++ === 0 ? { status: 429, retryAfter: '0' } : 200));
    const dispatcher = new Dispatcher({ retry: { baseDelayMs: 1, maxDelayMs: 5 } }, { transport: recorder.transport });
    await payInvoice(dispatcher, 'in_124');
    await dispatcher.onIdle();
    expect(recorder.ofType('invoice.paid')).toHaveLength(2); // attempts
    const messages = recorder.messagesOfType('invoice.paid'); // messages
    expect(messages).toHaveLength(1);
    expect(messages[0]!.attempts).toHaveLength(2);
    expect(messages[0]!.eventId).toBe(messages[0]!.attempts[1]!.json().id);
    await dispatcher.close();
  });
});
