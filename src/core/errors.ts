/**
 * Every error code the library throws or reports. Codes are stable: match on `code`,
 * never on `message`.
 */
export type WebhookErrorCode =
  | 'WD_INVALID_OPTIONS'
  | 'WD_INVALID_ENDPOINT'
  | 'WD_INVALID_EVENT'
  | 'WD_PAYLOAD_TOO_LARGE'
  | 'WD_QUEUE_FULL'
  | 'WD_BLOCKED_DESTINATION'
  | 'WD_CLOSED'
  | 'WD_VERIFICATION_FAILED'
  | 'WD_STORE_UNAVAILABLE'
  | 'WD_STORE_OUTCOME_UNKNOWN';

/**
 * Marks every `WebhookError`, from any copy of the library loaded in the process (two versions
 * in node_modules, or ESM beside CommonJS): `Symbol.for` keys are shared process-wide.
 */
const BRAND = Symbol.for('webhook-dispatcher.WebhookError');

/** The one error class of the library. `code` says what went wrong; see {@link WebhookErrorCode}. */
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** `instanceof WebhookError` holds for errors of every copy of the library, not only this one. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass (none today) keeps the ordinary prototype check.
    if (this !== WebhookError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(WebhookError.prototype, BRAND, { value: true });

/** Is `value` a {@link WebhookError}, from this copy of the library or another? */
export function isWebhookError(value: unknown): value is WebhookError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * A `WebhookError` without a stack trace, for refusals that are an expected outcome under
 * load (a full queue during a flood), not a bug to trace: capturing the stack was most of
 * what a refused send cost (about 10 µs).
 */
export function refusal(code: WebhookErrorCode, message: string): WebhookError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new WebhookError(code, message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Renders a received value for an error message: `0` (number), `"abc"` (string), `null`.
 * Strings are cut short so a hostile input cannot blow up an error message.
 */
export function describe(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  const type = typeof value;
  if (type === 'string') {
    const text = value as string;
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    return `\`${JSON.stringify(shown)}\` (string)`;
  }
  // String(-0) is "0": show the sign, or "got `0`" would look like a valid value refused.
  if (Object.is(value, -0)) return '`-0` (number)';
  if (type === 'number' || type === 'boolean') return `\`${String(value)}\` (${type})`;
  // A BigInt can have millions of digits: show its first ones only.
  if (type === 'bigint') {
    const digits = String(value);
    return `\`${digits.length > 40 ? `${digits.slice(0, 40)}…` : digits}\` (bigint)`;
  }
  if (type === 'function' || type === 'symbol') return `a ${type}`;
  try {
    if (Array.isArray(value)) return 'an array';
  } catch {
    // A revoked Proxy: describing bad input must not throw.
  }
  return 'an object';
}

/** What an unknown thrown value says, for a message: an error's own message, cut short; else {@link describe}. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error && typeof error.message === 'string') return error.message.length > 300 ? `${error.message.slice(0, 300)}…` : error.message;
  return describe(error);
}

/** Shorthand for the options validators: ``Expected `name` to be …, got `x` (type)``. */
export function invalidOptions(name: string, expected: string, got: unknown): WebhookError {
  return new WebhookError('WD_INVALID_OPTIONS', `Expected \`${name}\` to be ${expected}, got ${describe(got)}`);
}

/** Runs `fn`; whatever it throws that is not a `WebhookError` becomes one with `code`, the original as `cause`. */
export function guarded<T>(code: WebhookErrorCode, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isWebhookError(error)) throw error;
    throw new WebhookError(code, `Expected ${what} to be readable, but reading it threw: ${describe(error)}`, { cause: error });
  }
}
