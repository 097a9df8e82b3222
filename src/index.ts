export { Dispatcher, type DispatcherInternals } from './dispatcher.js';
export { verifyWebhook, type VerifyOptions, type HeadersLike, type WebhookEnvelope } from './verify.js';
export { WebhookError, isWebhookError, type WebhookErrorCode } from './errors.js';
export { DEFAULTS } from './options.js';
export type {
  BreakerOptions,
  CloseOptions,
  DispatcherOptions,
  HostOptions,
  RateLimit,
  RetryOptions,
  SignatureScheme,
} from './options.js';
export type { LookupFunction } from './address-policy.js';
export type {
  Attempt,
  BreakerChange,
  BreakerState,
  Delivered,
  DispatcherEvents,
  DispatcherStats,
  Endpoint,
  Failed,
  FailureReason,
  Gone,
  HostStats,
  PublishResult,
  Receipt,
  Retry,
  WebhookEvent,
} from './types.js';
