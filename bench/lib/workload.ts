/**
 * What every contender sends and the settings they share: a leaf module, imported by the
 * dispatcher run, the signed and unsigned baselines and the scenarios, importing none of them.
 */

/** One message: the index of the host it goes to. */
export type Jobs = number[];

/** The event every dispatcher run sends. */
export const EVENT = { type: 'bench.event', data: { order: 12345, amount: 4200, currency: 'EUR', note: 'x'.repeat(120) } };

/** The unsigned baselines' body: the same event as a serialized envelope, made once. */
export const BODY = JSON.stringify({ id: 'evt_bench', type: 'bench.event', timestamp: new Date(0).toISOString(), data: { order: 12345, amount: 4200, currency: 'EUR', note: 'x'.repeat(120) } });

/** The timeouts DESIGN.md tells every undici user to set (undici's own defaults are 300 s). */
export const POOL_TIMEOUTS = { headersTimeout: 10_000, bodyTimeout: 10_000 } as const;
