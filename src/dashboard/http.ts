/**
 * The HTTP side of the dashboard, free of any framework: security headers, answers, the JSON
 * body of a state-changing request and its CSRF guard.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Nothing inline, nothing from elsewhere, never framed: the page runs only its own files. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The header the page's own requests carry. A cross-site form cannot set it, and a cross-site fetch that sets it needs a CORS preflight the dashboard never grants. */
export const CSRF_HEADER = 'x-webhook-dashboard';

/** Largest JSON body a state-changing request may carry (1 000 message ids fit). */
export const MAX_BODY_BYTES = 64 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  // Everything is behind `authorize` and changes every second: nothing is worth a stale copy.
  'cache-control': 'no-store',
};

/** An answer whose status says what went wrong, with a message for the page. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, ...extra, 'content-type': type, 'content-length': Buffer.byteLength(body) };
  res.writeHead(status, headers);
  res.end(head ? undefined : body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, head = false): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), head);
}

export function sendError(res: ServerResponse, error: HttpError, api: boolean): void {
  if (api) send(res, error.status, 'application/json; charset=utf-8', JSON.stringify({ error: { message: error.message } }), false, error.headers);
  else send(res, error.status, 'text/plain; charset=utf-8', error.message, false, error.headers);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Refuses a state-changing request a browser may have sent on another site's behalf: it must
 * carry {@link CSRF_HEADER}, and come from this origin, as `Sec-Fetch-Site` says (every current
 * browser sends it, and a page cannot forge it) or else as `Origin` matches this dashboard's
 * own origin: scheme, host and port, all three (`https://H` is another origin than `http://H`).
 * A request with neither header is refused too.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  if (header(req, CSRF_HEADER) !== '1') throw new HttpError(403, `Expected the \`${CSRF_HEADER}: 1\` header on a state-changing request`);
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined) {
    if (site !== 'same-origin') throw new HttpError(403, `Expected a same-origin request, got Sec-Fetch-Site: ${site.slice(0, 20)}`);
    return;
  }
  const origin = header(req, 'origin');
  if (origin === undefined) throw new HttpError(403, 'Expected an Origin or Sec-Fetch-Site header on a state-changing request');
  const own = ownOrigin(req);
  let theirs: string | undefined;
  try {
    theirs = new URL(origin).origin;
  } catch {
    // `null` (a sandboxed frame, a file) or garbage: refused below.
  }
  if (own === undefined || theirs === undefined || theirs === 'null' || theirs !== own) throw new HttpError(403, 'Expected a request from this origin');
}

/**
 * This dashboard's origin as the browser sees it, normalised as `URL.origin` does (a default
 * port dropped): the scheme of the connection, or `X-Forwarded-Proto` from a TLS-terminating
 * proxy (a page cannot make a browser send that header to another origin without a CORS
 * preflight this dashboard never grants), and the `Host` header.
 */
function ownOrigin(req: IncomingMessage): string | undefined {
  const host = header(req, 'host');
  if (host === undefined || host === '' || /[/?#@\\\s]/.test(host)) return undefined;
  const forwarded = header(req, 'x-forwarded-proto')?.split(',')[0]!.trim().toLowerCase();
  const scheme = forwarded === 'http' || forwarded === 'https' ? forwarded : (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http';
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Reads a JSON object body of at most {@link MAX_BODY_BYTES}. Only `application/json` is
 * accepted: a cross-site form can send only form and text types. A body a framework's JSON
 * parser has already read (Express's `express.json()`) is taken from `req.body`.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, `Expected a body of type application/json, got ${type === '' ? 'none' : type.slice(0, 40)}`);
  const declared = Number(header(req, 'content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  let value: unknown;
  if (req.readableEnded) {
    value = (req as { body?: unknown }).body;
    if (value === undefined) throw new HttpError(400, 'Expected a JSON body, but the request body was already read');
  } else {
    const text = await readBody(req);
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'Expected a JSON body, got text that does not parse');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'Expected a JSON object body');
  return value as Record<string, unknown>;
}

function tooLarge(): HttpError {
  // The rest of the body is not read: the connection cannot be reused.
  return new HttpError(413, `Expected a body of at most ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        cleanup();
        req.pause();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new HttpError(400, `Could not read the request body: ${error.message}`));
    };
    // A client that goes away mid-body ends the wait: nobody is left to answer.
    const onClose = () => {
      cleanup();
      reject(new HttpError(400, 'The request ended before its body'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
