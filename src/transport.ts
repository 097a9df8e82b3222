import { Pool } from 'undici';
import type { LookupFunction } from './address-policy.js';

/** Bytes of an answer read (and thrown away) so its socket can be reused; a larger answer costs the socket instead. */
const DRAIN_LIMIT = 64 * 1024;

export interface TransportOptions {
  /** Connections to the origin: the host's concurrency. */
  connections: number;
  timeoutMs: number;
  /** Bytes of a non-2xx body kept for reporting. */
  responseBodyBytes: number;
  lookup: LookupFunction;
}

/** What one attempt came to: an answer, or a transport error. */
export type AttemptResult =
  | { status: number; retryAfter: string | undefined; body: string | undefined; latencyMs: number; error?: undefined }
  | { status?: undefined; error: { code: string; message: string; original: unknown }; latencyMs: number };

class AttemptTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * HTTP to one origin over a keep-alive undici `Pool`. Each attempt has one deadline covering
 * connect to the last byte read; redirects are never followed (undici's `request` does not);
 * at most `responseBodyBytes` of an answer are kept and the rest is drained so the connection
 * goes back to the pool.
 */
export class Transport {
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #keepBytes: number;

  constructor(origin: string, options: TransportOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#keepBytes = options.responseBodyBytes;
    this.#pool = new Pool(origin, {
      connections: options.connections,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
      allowH2: false,
      connect: { timeout: options.timeoutMs, lookup: options.lookup as never, keepAlive: true },
    });
  }

  async send(path: string, headers: string[], body: Buffer): Promise<AttemptResult> {
    const started = performance.now();
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new AttemptTimeout(`No complete answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    try {
      const response = await this.#pool.request({ method: 'POST', path, headers, body, signal: controller.signal });
      const { statusCode } = response;
      let kept: string | undefined;
      if (statusCode >= 200 && statusCode < 300) {
        await response.body.dump({ limit: DRAIN_LIMIT });
      } else {
        kept = await this.#readPrefix(response.body);
      }
      const retryAfter = response.headers['retry-after'];
      return {
        status: statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        body: kept,
        latencyMs: performance.now() - started,
      };
    } catch (error) {
      const e = error as { code?: unknown; name?: unknown; message?: unknown };
      return {
        error: {
          code: typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'UNKNOWN',
          message: typeof e.message === 'string' ? e.message : String(error),
          original: error,
        },
        latencyMs: performance.now() - started,
      };
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Keeps the first bytes of a body as text and drains the rest up to {@link DRAIN_LIMIT}. */
  async #readPrefix(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
    const chunks: Buffer[] = [];
    let kept = 0;
    let read = 0;
    try {
      for await (const chunk of body) {
        read += chunk.length;
        if (kept < this.#keepBytes) {
          const part = chunk.subarray(0, this.#keepBytes - kept);
          chunks.push(part);
          kept += part.length;
        }
        if (read > DRAIN_LIMIT) {
          body.destroy();
          break;
        }
      }
    } catch {
      // A body cut short still leaves the status to classify; what was read is kept.
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    return this.#pool.close().catch(() => {});
  }

  /** Ends every connection now; in-flight requests fail. */
  destroy(): Promise<void> {
    return this.#pool.destroy().catch(() => {});
  }
}
