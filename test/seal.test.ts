/** Sealing secrets and headers at rest: AES-256-GCM, a version byte, bound to the URL they are for. */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldSealer, Sealer, readEncryptionKey } from '../src/signing/seal.js';

const key = randomBytes(32);
const sealer = new Sealer(key);
const URL_A = 'https://a.example/hooks';
const what = 'the sealed fields of message `m-1`';
const sample = { secrets: ['whsec_c2VjcmV0LWJ5dGVzLXNlY3JldC1ieXRlcy0xMjM0'], headers: [['authorization', 'Bearer tok-123']] as [string, string][] };

describe('encryptionKey', () => {
  it('takes 32 bytes as a Buffer, a Uint8Array, or base64 and base64url strings, padded or not', () => {
    for (const value of [key, new Uint8Array(key), key.toString('base64'), key.toString('base64url'), key.toString('base64').replace(/=+$/, '')]) {
      expect(readEncryptionKey(value)).toEqual(key);
    }
  });

  it('keeps its own copy: wiping the caller’s buffer changes nothing', () => {
    const mine = Buffer.from(key);
    const read = readEncryptionKey(mine);
    mine.fill(0);
    expect(read).toEqual(key);
  });

  it('refuses anything else with WD_INVALID_OPTIONS saying what arrived, never the key itself', () => {
    const short = randomBytes(16).toString('base64');
    const cases: [unknown, string][] = [
      [randomBytes(31), 'got a Buffer of 31 bytes'],
      [short, 'got a string of 24 characters that decodes to 16 bytes'],
      [`${key.toString('hex')}`, 'got a string of 64 characters that decodes to 48 bytes'],
      [`${key.toString('base64').slice(0, 40)}!!!=`, 'got a string of 44 characters that is not base64'],
      ['', 'got a string of 0 characters that decodes to 0 bytes'],
      [12345, 'got a number'],
      [undefined, 'got `undefined`'],
      [null, 'got `null`'],
      [[1, 2], 'got an array'],
    ];
    for (const [value, says] of cases) {
      let error: unknown;
      try {
        readEncryptionKey(value);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Expected `encryptionKey` to be 32 bytes') });
      expect((error as Error).message).toContain(says);
      if (typeof value === 'string' && value.length > 0) expect((error as Error).message).not.toContain(value.slice(0, 8));
    }
  });

  it('does not show the key when the sealer is printed', () => {
    expect(inspect(sealer, { showHidden: true, depth: 5 })).not.toContain(key.toString('hex').slice(0, 8));
    expect(JSON.stringify(sealer)).not.toContain(key.toString('base64').slice(0, 8));
  });
});

describe('sealed fields', () => {
  it('open to exactly what was sealed', () => {
    const fields = new FieldSealer(sealer);
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 3 }), fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 4 }), fc.webUrl(), (secrets, headers, url) => {
        expect(fields.open(url, fields.seal(url, { secrets, headers }), what)).toEqual({ secrets, headers });
        // Through a new sealer too: nothing comes from the cache.
        expect(new FieldSealer(sealer).open(url, fields.seal(url, { secrets, headers }), what)).toEqual({ secrets, headers });
      }),
    );
  });

  it('start with the version byte, hold nothing readable, and a fresh IV every time something is sealed', () => {
    const blobs = Array.from({ length: 600 }, () => sealer.seal(Buffer.from('Bearer tok-123'), URL_A));
    expect(new Set(blobs.map((b) => b[0]))).toEqual(new Set([1]));
    expect(new Set(blobs.map((b) => b.subarray(1, 13).toString('hex'))).size).toBe(600);
    for (const b of blobs.slice(0, 3)) expect(b.toString('latin1')).not.toContain('Bearer');
  });

  it('seal an endpoint once and reuse the blob for its next messages; other fields or another URL get their own', () => {
    const fields = new FieldSealer(sealer);
    const first = fields.seal(URL_A, sample);
    expect(fields.seal(URL_A, { secrets: [...sample.secrets], headers: sample.headers.map(([n, v]) => [n, v]) })).toBe(first);
    expect(fields.seal('https://b.example/hooks', sample).equals(first)).toBe(false);
    expect(fields.seal(URL_A, { ...sample, headers: [] }).equals(first)).toBe(false);
    // What open hands out is a copy: changing it does not change the next answer.
    const opened = fields.open(URL_A, first, what);
    opened.secrets.push('x');
    opened.headers[0]![1] = 'changed';
    expect(fields.open(URL_A, first, what)).toEqual(sample);
  });

  it('do not open under another key, for another URL, or with any byte changed', () => {
    const fields = new FieldSealer(sealer);
    const blob = fields.seal(URL_A, sample);
    const unavailable = (says: string) => expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining(says) });
    expect(() => new FieldSealer(new Sealer(randomBytes(32))).open(URL_A, blob, what)).toThrow(unavailable('`encryptionKey` does not match the key it was sealed with'));
    // A row whose url was pointed elsewhere: its credentials must not go there.
    expect(() => fields.open('https://attacker.example/hooks', blob, what)).toThrow(unavailable('Cannot open the sealed fields of message `m-1`'));
    for (let i = 1; i < blob.length; i++) {
      const changed = Buffer.from(blob);
      changed[i]! ^= 0x01;
      expect(() => fields.open(URL_A, changed, what)).toThrow(unavailable('does not match'));
    }
    const later = Buffer.from(blob);
    later[0] = 2;
    expect(() => fields.open(URL_A, later, what)).toThrow(unavailable('not a sealed blob this version knows (format version 2'));
    expect(() => fields.open(URL_A, Buffer.alloc(0), what)).toThrow(unavailable('(empty)'));
    // A blob that opens but holds something else.
    expect(() => fields.open(URL_A, sealer.seal(Buffer.from('whsec_not-json'), URL_A), what)).toThrow(unavailable('do not hold secrets and headers'));
  });
});
