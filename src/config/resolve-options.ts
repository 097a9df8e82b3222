import type { TelemetryOptions } from '../telemetry/open-telemetry.js';
import { WebhookError, invalidOptions } from '../core/errors.js';
import { MAX_HEADER_VALUE_LENGTH, OWNED_HEADERS, isHeaderValue } from '../core/http-fields.js';
import { boolean, grouped, integer, number, ownKeys, readObject, type OptionReader } from '../core/option-checks.js';
import { SIGNATURE_HEADERS } from '../signing/signatures.js';
import { readRateLimit } from '../limits/rate-limit-option.js';
import { DEFAULTS, LIMITS, OPTION_KEYS, type BreakerOptions, type ResolvedHostOptions, type ResolvedOptions, type RetryOptions } from './options.js';

/** Checks the constructor's options and fills in the defaults: every key, own properties only. */

function breaker(name: string, value: unknown, fallback: BreakerOptions | false): BreakerOptions | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  const o = readObject(name, value, OPTION_KEYS.breaker);
  const base = fallback === false ? DEFAULTS.breaker : fallback;
  return {
    failureThreshold: integer(`${name}.failureThreshold`, o('failureThreshold'), 1, LIMITS.count, base.failureThreshold),
    cooldownMs: integer(`${name}.cooldownMs`, o('cooldownMs'), 1, LIMITS.cooldownMs, base.cooldownMs),
  };
}

function hostOptions(prefix: string, o: OptionReader, base: ResolvedHostOptions): ResolvedHostOptions {
  return {
    concurrency: integer(`${prefix}concurrency`, o('concurrency'), 1, LIMITS.concurrency, base.concurrency),
    queueCapacity: integer(`${prefix}queueCapacity`, o('queueCapacity'), 1, LIMITS.count, base.queueCapacity),
    endpointQueueShare: number(`${prefix}endpointQueueShare`, o('endpointQueueShare'), 0.01, 1, base.endpointQueueShare),
    rateLimit: readRateLimit(`${prefix}rateLimit`, o('rateLimit'), base.rateLimit),
    ordered: boolean(`${prefix}ordered`, o('ordered'), base.ordered),
    breaker: breaker(`${prefix}breaker`, o('breaker'), base.breaker),
  };
}

/** Parses an origin key of `hosts` into the form `URL.origin` gives, or throws. */
function originKey(key: string): string {
  let url: URL;
  try {
    url = new URL(key);
  } catch {
    throw invalidOptions('hosts', 'keyed by origins such as `https://api.example.com`', key);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOptions('hosts', 'keyed by http(s) origins', key);
  }
  return url.origin;
}

function hostsOption(value: unknown, host: ResolvedHostOptions): Map<string, ResolvedHostOptions> {
  const hosts = new Map<string, ResolvedHostOptions>();
  if (value === undefined) return hosts;
  // Keyed by origins, so any key is allowed here; each entry's own keys are checked.
  const keys = ownKeys('hosts', value);
  const read = readObject('hosts', value, keys);
  for (const key of keys) {
    const name = `hosts[${JSON.stringify(key)}]`;
    hosts.set(originKey(key), hostOptions(`${name}.`, readObject(name, read(key), OPTION_KEYS.host), host));
  }
  return hosts;
}

function signatureHeaderOption(value: unknown): string {
  if (value === undefined) return DEFAULTS.signatureHeader;
  const taken = value === DEFAULTS.signatureHeader
    ? false
    : typeof value === 'string' && (OWNED_HEADERS.has(value) || value === 'user-agent' || Object.values(SIGNATURE_HEADERS).some((names) => names.includes(value)));
  if (typeof value !== 'string' || value.length > LIMITS.headerName || !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(value) || taken) {
    throw invalidOptions('signatureHeader', `a lower-case HTTP token of at most ${LIMITS.headerName} characters that the dispatcher does not set otherwise`, value);
  }
  return value;
}

function userAgentOption(value: unknown): string {
  if (value === undefined) return DEFAULTS.userAgent;
  if (typeof value !== 'string' || !isHeaderValue(value) || value.length > MAX_HEADER_VALUE_LENGTH) {
    throw invalidOptions('userAgent', `a string of at most ${grouped(MAX_HEADER_VALUE_LENGTH)} tab, visible ASCII or Latin-1 characters (no control character, nothing above U+00FF)`, value);
  }
  return value;
}

function allowedNetworksOption(value: unknown): string[] {
  if (value === undefined) return [];
  let copy: unknown[];
  try {
    if (!Array.isArray(value)) throw invalidOptions('allowedNetworks', 'an array of CIDR strings', value);
    copy = Array.from(value as unknown[]);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected `allowedNetworks` to be readable, but reading it threw', { cause: error });
  }
  copy.forEach((n, i) => {
    if (typeof n !== 'string') throw invalidOptions(`allowedNetworks[${i}]`, 'a CIDR string such as `10.1.0.0/16`', n);
  });
  return copy as string[];
}

function maxHostsOption(value: unknown): number {
  if (value === Infinity) return Infinity;
  if (value === undefined) return DEFAULTS.maxHosts;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS.count) {
    throw invalidOptions('maxHosts', `an integer from 1 to ${grouped(LIMITS.count)}, or \`Infinity\` for no cap`, value);
  }
  return value;
}

/** Validates constructor options and fills in the defaults. Throws `WD_INVALID_OPTIONS`, never anything else. */
export function resolveOptions(input: unknown): ResolvedOptions {
  try {
    return resolve(input);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected the options to be readable, but reading them threw', { cause: error });
  }
}

function resolve(input: unknown): ResolvedOptions {
  const o = readObject('options', input === undefined ? {} : input, OPTION_KEYS.top, '');
  const host = hostOptions('', o, {
    concurrency: DEFAULTS.concurrency,
    queueCapacity: DEFAULTS.queueCapacity,
    endpointQueueShare: DEFAULTS.endpointQueueShare,
    rateLimit: undefined,
    ordered: DEFAULTS.ordered,
    breaker: { ...DEFAULTS.breaker },
  });
  const hosts = hostsOption(o('hosts'), host);
  const rawRetry = o('retry');
  const r = readObject('retry', rawRetry === undefined ? {} : rawRetry, OPTION_KEYS.retry);
  const retry: RetryOptions = {
    attempts: integer('retry.attempts', r('attempts'), 1, LIMITS.count, DEFAULTS.retry.attempts),
    baseDelayMs: number('retry.baseDelayMs', r('baseDelayMs'), 0, LIMITS.timerMs, DEFAULTS.retry.baseDelayMs),
    maxDelayMs: number('retry.maxDelayMs', r('maxDelayMs'), 0, LIMITS.timerMs, DEFAULTS.retry.maxDelayMs),
    maxRetryAfterMs: number('retry.maxRetryAfterMs', r('maxRetryAfterMs'), 0, LIMITS.timerMs, DEFAULTS.retry.maxRetryAfterMs),
  };
  const signature = o('signature') ?? DEFAULTS.signature;
  if (signature !== 'standard-webhooks' && signature !== 'timestamped-hex') {
    throw invalidOptions('signature', "`'standard-webhooks'` or `'timestamped-hex'`", signature);
  }
  return {
    host,
    hosts,
    retry,
    timeoutMs: integer('timeoutMs', o('timeoutMs'), 1, LIMITS.timerMs, DEFAULTS.timeoutMs),
    ttlMs: integer('ttlMs', o('ttlMs'), 1, LIMITS.longWaitMs, DEFAULTS.ttlMs),
    maxPayloadBytes: integer('maxPayloadBytes', o('maxPayloadBytes'), 1, LIMITS.maxPayloadBytes, DEFAULTS.maxPayloadBytes),
    signature,
    signatureHeader: signatureHeaderOption(o('signatureHeader')),
    allowPrivateNetworks: boolean('allowPrivateNetworks', o('allowPrivateNetworks'), DEFAULTS.allowPrivateNetworks),
    allowedNetworks: allowedNetworksOption(o('allowedNetworks')),
    httpsOnly: boolean('httpsOnly', o('httpsOnly'), DEFAULTS.httpsOnly),
    idleTimeoutMs: integer('idleTimeoutMs', o('idleTimeoutMs'), 1, LIMITS.timerMs, DEFAULTS.idleTimeoutMs),
    responseBodyBytes: integer('responseBodyBytes', o('responseBodyBytes'), 0, LIMITS.responseBodyBytes, DEFAULTS.responseBodyBytes),
    userAgent: userAgentOption(o('userAgent')),
    maxHosts: maxHostsOption(o('maxHosts')),
    store: o('store'),
    retention: o('retention'),
    cluster: o('cluster'),
    telemetry: telemetryOption(o('telemetry')),
  };
}

function telemetryOption(value: unknown): Required<TelemetryOptions> {
  const t = readObject('telemetry', value === undefined ? {} : value, OPTION_KEYS.telemetry);
  return {
    openTelemetry: boolean('telemetry.openTelemetry', t('openTelemetry'), DEFAULTS.telemetry.openTelemetry),
    hostAttributes: boolean('telemetry.hostAttributes', t('hostAttributes'), DEFAULTS.telemetry.hostAttributes),
  };
}

/** Options in force for one origin: the `hosts` entry when there is one. */
export function optionsForOrigin(options: ResolvedOptions, origin: string): ResolvedHostOptions {
  return options.hosts.get(origin) ?? options.host;
}

/** Closing options. */
export function resolveCloseOptions(input: unknown): { drain: boolean; timeoutMs: number } {
  if (input === undefined) return { drain: false, timeoutMs: Infinity };
  try {
    const o = readObject('options', input, OPTION_KEYS.close, '');
    const timeoutMs = o('timeoutMs');
    return {
      drain: boolean('drain', o('drain'), false),
      timeoutMs: timeoutMs === undefined ? Infinity : number('timeoutMs', timeoutMs, 0, LIMITS.longWaitMs, undefined),
    };
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected the close options to be readable, but reading them threw', { cause: error });
  }
}
