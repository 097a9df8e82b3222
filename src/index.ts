export { Dispatcher } from './dispatcher.js';
export type { DispatcherInternals } from './config/internals.js';
export { verifyWebhook, type VerifyOptions, type HeadersLike, type WebhookEnvelope } from './receiver/verify.js';
export { generateSigningKeyPair, publicKeyOf, type SigningKeyPair } from './signing/ed25519.js';
export { WebhookError, isWebhookError, type WebhookErrorCode } from './core/errors.js';
export { DEFAULTS } from './config/options.js';
export type {
  BreakerOptions,
  CloseOptions,
  DispatcherOptions,
  HostOptions,
  RateLimit,
  RetryOptions,
  SignatureScheme,
} from './config/options.js';
export type { LookupFunction } from './security/address-policy.js';
export { systemClock, type Clock, type Timer } from './core/clock.js';
export type { SendOptions } from './config/send-options.js';
export type { ClusterOptions } from './cluster/cluster-options.js';
export type { AttemptResult, Transport, TransportFactory } from './transport/transport.js';
export type {
  Attempt,
  BreakerChange,
  BreakerState,
  ClusterWarning,
  DispatcherWarning,
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
} from './model/types.js';
export type { MessageStore, StoreOp, AttemptRecord, DeadLetter, DeadLetterQuery, MessageHistory } from './persistence/store.js';
export type { MessageRecord } from './model/message-record.js';
export type { Retention } from './persistence/store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js';
export type { TelemetryOptions } from './telemetry/open-telemetry.js';
