import { describe, expect, it } from 'vitest';
import { classifyError, classifyStatus } from '../src/delivery/classify.js';

describe('response classification', () => {
  it.each([
    [200, false, 'delivered'], [204, false, 'delivered'], [299, false, 'delivered'],
    [301, false, 'rejected'], [302, false, 'rejected'], [304, false, 'rejected'],
    [400, false, 'rejected'], [401, false, 'rejected'], [404, false, 'rejected'], [422, false, 'rejected'],
    [410, false, 'gone'],
    [408, false, 'retry'], [425, false, 'retry'], [429, false, 'retry'], [500, false, 'retry'], [502, false, 'retry'], [503, true, 'retry'],
  ])('%i (Retry-After: %s) is %s', (status, hasRetryAfter, kind) => {
    expect(classifyStatus(status, hasRetryAfter).kind).toBe(kind);
  });

  it('counts 5xx against the breaker but not 408, 425 or 429', () => {
    expect(classifyStatus(500, false)).toMatchObject({ breakerFailure: true, slowHost: false });
    expect(classifyStatus(429, true)).toMatchObject({ breakerFailure: false, slowHost: true });
    expect(classifyStatus(408, false)).toMatchObject({ breakerFailure: false });
    expect(classifyStatus(503, true)).toMatchObject({ breakerFailure: true, slowHost: true });
  });

  it('retries transport errors and ends blocked destinations', () => {
    expect(classifyError({ code: 'ECONNRESET' })).toMatchObject({ kind: 'retry', breakerFailure: true });
    expect(classifyError({ code: 'UND_ERR_HEADERS_TIMEOUT' })).toMatchObject({ kind: 'retry' });
    expect(classifyError({ code: 'WD_BLOCKED_DESTINATION' }).kind).toBe('blocked');
  });
});
