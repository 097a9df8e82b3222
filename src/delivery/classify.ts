/**
 * What one attempt's outcome means for its message and its host. Pure: the host actor
 * decides timing, this only names the kind of outcome.
 */
export type Outcome =
  | { kind: 'delivered' }
  /** Try again later. `breakerFailure`: counts against the host's breaker. `slowHost`: the host asked everyone to slow down. */
  | { kind: 'retry'; breakerFailure: boolean; slowHost: boolean }
  | { kind: 'rejected' }
  | { kind: 'gone' }
  | { kind: 'blocked' }
  /** The HTTP client refused the request before sending it: no retry can help, and it says nothing about the host. */
  | { kind: 'refused' };

const DELIVERED: Outcome = { kind: 'delivered' };
const REJECTED: Outcome = { kind: 'rejected' };
const GONE: Outcome = { kind: 'gone' };
const BLOCKED: Outcome = { kind: 'blocked' };
const REFUSED: Outcome = { kind: 'refused' };
/** undici's and Node's codes for a request refused before a byte was sent (a header it cannot encode). */
const REFUSED_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_CHAR', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_HTTP_INVALID_HEADER_VALUE']);
const RETRY_FAILURE: Outcome = { kind: 'retry', breakerFailure: true, slowHost: false };
const RETRY_CLIENT: Outcome = { kind: 'retry', breakerFailure: false, slowHost: false };
const RETRY_SLOW: Outcome = { kind: 'retry', breakerFailure: false, slowHost: true };
const RETRY_SLOW_FAILURE: Outcome = { kind: 'retry', breakerFailure: true, slowHost: true };

/**
 * 2xx delivered; 408 and 425 retryable; 429 retryable and slows the host (no breaker failure);
 * 5xx retryable breaker failures (503 with `Retry-After` also slows the host); 410 gone;
 * other 4xx and every 3xx (redirects are never followed) rejected.
 */
export function classifyStatus(status: number, hasRetryAfter: boolean): Outcome {
  if (status >= 200 && status < 300) return DELIVERED;
  if (status === 429) return RETRY_SLOW;
  if (status === 503 && hasRetryAfter) return RETRY_SLOW_FAILURE;
  if (status >= 500) return RETRY_FAILURE;
  if (status === 408 || status === 425) return RETRY_CLIENT;
  if (status === 410) return GONE;
  return REJECTED;
}

/**
 * Transport errors: a refused destination is terminal; a request the client refused to send
 * is terminal and no fault of the host's; timeouts, resets, connection refusals and DNS
 * failures are retryable breaker failures.
 */
export function classifyError(error: { code?: unknown } | null | undefined): Outcome {
  const code = error?.code;
  if (code === 'WD_BLOCKED_DESTINATION') return BLOCKED;
  if (typeof code === 'string' && REFUSED_CODES.has(code)) return REFUSED;
  return RETRY_FAILURE;
}

/** Failures of the connection, not of one endpoint's handler: they count against the host's breaker. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Is this transport error the host's (its connections cannot be made or were cut) rather than
 * one endpoint's (a timeout waiting for its answer)? Looks at the attempt's error code, then at
 * the original error's and its cause's.
 */
export function isConnectionFailure(error: { code: string; original: unknown }): boolean {
  if (CONNECTION_CODES.has(error.code)) return true;
  const original = error.original as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  const codes = [original?.code, original?.cause?.code];
  return codes.some((code) => typeof code === 'string' && CONNECTION_CODES.has(code));
}
