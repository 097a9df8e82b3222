export { Dispatcher } from './dispatcher.js';
export type { DispatcherInternals } from './internals.js';
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
export { systemClock, type Clock, type Timer } from './clock.js';
export type { SendOptions } from './send-options.js';
export type { ClusterOptions } from './cluster-options.js';
export type { AttemptResult, Transport, TransportFactory } from './transport.js';
export type {
  Attempt,
  BreakerChange,
  BreakerState,
  ClusterWarning,
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
export type { MessageStore, StoreOp, AttemptRecord, DeadLetter, DeadLetterQuery, MessageHistory } from './store.js';
export type { MessageRecord } from './message-record.js';
export type { Retention } from './persistence.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-store.js';
export type { TelemetryOptions } from './otel.js';
