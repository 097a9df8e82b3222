import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { WebhookError } from '../core/errors.js';

/**
 * Sealing at rest: what a durable store must never write in plain text (endpoint secrets and
 * headers, whose values may be credentials) goes through AES-256-GCM under the store's
 * `encryptionKey`.
 *
 * A sealed blob is `version (1 byte) | IV (12 bytes) | ciphertext | auth tag (16 bytes)`. The
 * version byte comes first so a later format (a key id for rotation, say) can be told apart;
 * it is authenticated with the blob's context (see {@link FieldSealer}), so a blob does not
 * open in another context. The IV is random per seal, from a pool refilled 256 IVs at a time:
 * one system call per 256 seals, not per seal.
 */

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const POOL_IVS = 256;

const ivPool = Buffer.alloc(POOL_IVS * IV_BYTES);
let ivAt = ivPool.length;

/** Never echoes the key: only what kind of value arrived and its size. */
function shape(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value instanceof Uint8Array) return `${Buffer.isBuffer(value) ? 'a Buffer' : 'a Uint8Array'} of ${value.length} bytes`;
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*$/;

/**
 * The 32 key bytes of `value`: a `Buffer` (or `Uint8Array`) of 32 bytes, or a base64 (or
 * base64url) string of 32 bytes. Throws `WD_INVALID_OPTIONS` saying what arrived, without the key.
 * @param name the option in messages
 */
export function readEncryptionKey(value: unknown, name = 'encryptionKey'): Buffer {
  const expected = `Expected \`${name}\` to be 32 bytes: a Buffer, or a base64 string of 32 bytes (\`crypto.randomBytes(32).toString('base64')\`)`;
  if (value instanceof Uint8Array) {
    if (value.length !== KEY_BYTES) throw new WebhookError('WD_INVALID_OPTIONS', `${expected}, got ${shape(value)}`);
    return Buffer.from(value); // a copy: the caller may wipe or reuse theirs
  }
  if (typeof value === 'string') {
    // Buffer.from(…, 'base64') skips what is not base64: check the alphabet first, then the length.
    const bytes = BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
    if (bytes?.length !== KEY_BYTES) {
      throw new WebhookError('WD_INVALID_OPTIONS', `${expected}, got ${shape(value)}${bytes === undefined ? ' that is not base64' : ` that decodes to ${bytes.length} bytes`}`);
    }
    return bytes;
  }
  throw new WebhookError('WD_INVALID_OPTIONS', `${expected}, got ${shape(value)}`);
}

/** Seals and opens blobs under one key. The key lives in a `KeyObject`, which never prints its bytes. */
export class Sealer {
  readonly #key: KeyObject;

  /** @param key 32 bytes, from {@link readEncryptionKey} */
  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /** `plain`, sealed and bound to `context` (opening needs the same context). */
  seal(plain: Buffer, context: string): Buffer {
    if (ivAt >= ivPool.length) {
      randomFillSync(ivPool);
      ivAt = 0;
    }
    const header = Buffer.allocUnsafe(1 + IV_BYTES);
    header[0] = VERSION;
    ivPool.copy(header, 1, ivAt, ivAt + IV_BYTES);
    ivAt += IV_BYTES;
    const cipher = createCipheriv('aes-256-gcm', this.#key, header.subarray(1), { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    return Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  /**
   * The plain bytes of `sealed`. Throws `WD_STORE_UNAVAILABLE` when the blob is of an unknown
   * format, or does not open: another key sealed it, or its bytes were changed.
   * @param what the blob in messages: `the sealed fields of message …`
   */
  open(sealed: Buffer, context: string, what: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      const version = sealed.length === 0 ? 'empty' : `format version ${sealed[0]}, length ${sealed.length}`;
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open ${what}: not a sealed blob this version knows (${version})`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open ${what}: \`encryptionKey\` does not match the key it was sealed with (or its bytes were changed)`, { cause: error });
    }
  }
}

function aad(context: string): Buffer {
  return Buffer.from(`${VERSION}:${context}`);
}

/** What a record seals: its secrets and headers, as one blob, and its endpoint's own rate limit. */
export interface SealedFields {
  secrets: string[];
  headers: [string, string][];
  /**
   * The endpoint's `rateLimit`, kept with its messages so a backlog recovered after a restart
   * keeps to it. Not a secret: it rides in the blob so no schema changes; blobs written before
   * it existed hold two items and open without it.
   */
  rateLimit?: { perSecond: number; burst: number } | null | undefined;
}

/** The text a blob seals: `[secrets, headers]`, with the rate limit third when there is one. */
export function sealedText(fields: SealedFields): string {
  return JSON.stringify(fields.rateLimit == null ? [fields.secrets, fields.headers] : [fields.secrets, fields.headers, fields.rateLimit]);
}

/** Distinct endpoints remembered by each cache before it starts over. */
const CACHE_LIMIT = 1_024;

/**
 * Seals and opens records' secrets and headers, bound to the URL they are for: a row whose
 * `url` was changed to another destination does not open, so credentials written for one
 * endpoint are never sent to another. Every message to an endpoint carries the same fields,
 * so a blob is sealed once per distinct (url, secrets, headers) and reused (sealing costs
 * about 6 µs; looking up costs well under one), and opened blobs are remembered the same way.
 * Reuse repeats an encryption; it never encrypts anew under an IV already used.
 */
export class FieldSealer {
  readonly #sealer: Sealer;
  #sealed = new Map<string, Buffer>();
  #opened = new Map<string, SealedFields>();

  constructor(sealer: Sealer) {
    this.#sealer = sealer;
  }

  seal(url: string, fields: SealedFields): Buffer {
    return this.sealText(url, sealedText(fields));
  }

  /**
   * {@link seal} of fields already in their sealed text form, {@link sealedText}
   * (the SQLite store's worker gets them so). The cache is keyed by that text itself, so a
   * changed secret is a new key: sealed anew at once, never an old blob reused.
   */
  sealText(url: string, plain: string): Buffer {
    const key = `${url}\n${plain}`;
    let blob = this.#sealed.get(key);
    if (blob === undefined) {
      if (this.#sealed.size >= CACHE_LIMIT) this.#sealed = new Map();
      this.#sealed.set(key, (blob = this.#sealer.seal(Buffer.from(plain), url)));
    }
    return blob;
  }

  /**
   * The fields of `blob`, sealed for `url`; a copy the caller may change. Throws
   * `WD_STORE_UNAVAILABLE` when they do not open.
   * @param what the blob in messages: ``the sealed fields of message `…` ``
   */
  open(url: string, blob: Buffer, what: string): SealedFields {
    const key = `${url}\n${blob.toString('base64')}`;
    let fields = this.#opened.get(key);
    if (fields === undefined) {
      const plain = this.#sealer.open(blob, url, what);
      try {
        const [secrets, headers, rateLimit] = JSON.parse(plain.toString()) as [string[], [string, string][], SealedFields['rateLimit']];
        if (!Array.isArray(secrets) || !Array.isArray(headers)) throw new TypeError('not a pair of arrays');
        if (rateLimit != null && (typeof rateLimit !== 'object' || typeof rateLimit.perSecond !== 'number' || typeof rateLimit.burst !== 'number')) throw new TypeError('not a rate limit');
        fields = rateLimit == null ? { secrets, headers } : { secrets, headers, rateLimit };
      } catch {
        // No cause: JSON.parse quotes the text it choked on, and that text is the secrets.
        throw new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open ${what}: they opened but do not hold secrets and headers`);
      }
      if (this.#opened.size >= CACHE_LIMIT) this.#opened = new Map();
      this.#opened.set(key, fields);
    }
    const copy: SealedFields = { secrets: [...fields.secrets], headers: fields.headers.map(([name, value]) => [name, value]) };
    if (fields.rateLimit != null) copy.rateLimit = { ...fields.rateLimit };
    return copy;
  }
}
