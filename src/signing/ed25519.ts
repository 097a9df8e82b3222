import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Asymmetric signatures of the Standard Webhooks spec (`v1a`, ed25519), with `node:crypto` only.
 *
 * Key text, as the spec serializes it ("base64 encoded, prefixed with `whsk_` for the secret
 * key, and `whpk_` for the public key") and as Svix stores it:
 * - secret key: `whsk_` + base64 of the 64-byte ed25519 secret key (the 32-byte seed, then the
 *   32-byte public key: libsodium's and Svix's layout). The 32-byte seed alone is accepted too.
 * - public key: `whpk_` + base64 of the 32 raw public key bytes.
 *
 * The prefix is what selects the algorithm, as the spec intends ("a unique and consistent
 * secret format allows implementations to correctly use the correct scheme without additional
 * configuration"): a `whsk_` key in an endpoint's `secret` signs `v1a`, a `whsec_` one `v1`.
 */
export const SECRET_KEY_PREFIX = 'whsk_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

/** DER header of a PKCS#8 ed25519 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER header of an SPKI ed25519 public key; the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Canonical base64, padded, as `Buffer#toString('base64')` writes it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A `whsk_`/`whpk_` pair, as {@link generateSigningKeyPair} makes it. */
export interface SigningKeyPair {
  /** Keep on the sender (an endpoint's `secret`): `whsk_` + base64 of seed and public key. */
  secretKey: string;
  /** Give to receivers (`verifyWebhook`'s key): `whpk_` + base64 of the public key. */
  publicKey: string;
}

/** Base64 after `prefix`, or why it is not (never quoting the text: it may be a secret). */
function keyBytes(text: string, prefix: string): Buffer | string {
  const encoded = text.slice(prefix.length);
  if (!BASE64.test(encoded)) return `\`${prefix}\` followed by text that is not canonical padded base64`;
  return Buffer.from(encoded, 'base64');
}

function publicBytes(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}

/**
 * Parses a `whsk_` secret key into a private `KeyObject`, or returns why it is no key. The
 * 64-byte form must carry the public key of its own seed: a pasted half of another pair is
 * refused here rather than producing signatures nobody can verify.
 */
export function parseSecretKey(text: string): KeyObject | string {
  const bytes = keyBytes(text, SECRET_KEY_PREFIX);
  if (typeof bytes === 'string') return bytes;
  if (bytes.length !== 64 && bytes.length !== 32) return `an ed25519 secret key of ${bytes.length} bytes (expected 64: seed and public key, or the 32-byte seed)`;
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  if (bytes.length === 64 && !publicBytes(key).equals(bytes.subarray(32))) return 'an ed25519 secret key whose last 32 bytes are not the public key of its seed';
  return key;
}

/** Parses a `whpk_` public key into a public `KeyObject`, or returns why it is no key. */
export function parsePublicKey(text: string): KeyObject | string {
  const bytes = keyBytes(text, PUBLIC_KEY_PREFIX);
  if (typeof bytes === 'string') return bytes;
  if (bytes.length !== 32) return `an ed25519 public key of ${bytes.length} bytes (expected 32)`;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
  } catch {
    return 'bytes that are not an ed25519 public key';
  }
}

/** The ed25519 signature of `prefix` then `body`, base64 (88 characters). */
export function signEd25519(key: KeyObject, prefix: string, body: Uint8Array): string {
  return sign(null, Buffer.concat([Buffer.from(prefix, 'utf8'), body]), key).toString('base64');
}

/** Whether `signature` (64 bytes) is `key`'s signature of `data`. */
export function verifyEd25519(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  return verify(null, data, key, signature);
}

/**
 * A new ed25519 key pair in the Standard Webhooks format: the sender signs with `secretKey`
 * (an endpoint's `secret`, alone or beside a `whsec_` secret during a migration), receivers
 * verify with `publicKey` alone and cannot forge a webhook with it.
 */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  return { secretKey: SECRET_KEY_PREFIX + Buffer.concat([seed, pub]).toString('base64'), publicKey: PUBLIC_KEY_PREFIX + pub.toString('base64') };
}

/**
 * The `whpk_` public key of a `whsk_` secret key (to hand to receivers when only the secret
 * key was kept). Throws a `TypeError` naming what is wrong, never quoting the key.
 */
export function publicKeyOf(secretKey: string): string {
  const key = typeof secretKey === 'string' && secretKey.startsWith(SECRET_KEY_PREFIX) ? parseSecretKey(secretKey) : 'no `whsk_` prefix';
  if (typeof key === 'string') throw new TypeError(`Expected a \`whsk_\` ed25519 secret key, got ${key}`);
  return PUBLIC_KEY_PREFIX + publicBytes(key).toString('base64');
}
