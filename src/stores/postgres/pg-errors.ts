import type { PoolClient } from 'pg';

/** How the Postgres store reads a failure of `pg`. */

/** The SQLSTATE of an error the server answered with, or `undefined` for a connection's failure. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A driver error's own words: node's connection errors may be an `AggregateError` with an empty message. */
export function pgReason(error: unknown): Error | unknown {
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) return error.errors[0];
  return error;
}

/** Whether the socket of `client` has ended or been destroyed (pg's `connection.stream`; `false` when it cannot tell). */
export function socketEnded(client: PoolClient): boolean {
  const socket = (client as { connection?: { stream?: { destroyed?: unknown; readableEnded?: unknown } } }).connection?.stream;
  return socket?.destroyed === true || socket?.readableEnded === true;
}

/** For a client's `error` event while it is checked out: the failed query reports it instead of a crash. */
export function ignore(): void {}
