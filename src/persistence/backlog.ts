import type { Message } from '../model/message.js';

/**
 * Where a host's backlog waits when it does not fit in memory: a durable store. The host actor
 * keeps a window of messages in memory and pages the rest in, in acceptance order.
 */
export interface Backlog {
  /** Pending messages of `origin` accepted after `afterId` (all when empty), in acceptance order. */
  page(origin: string, afterId: string, limit: number): Promise<Message[]>;
}
