import { describe, expect, it } from 'vitest';
import { Dispatcher, DEFAULTS, WebhookError } from '../src/index.js';
import { resolveOptions } from '../src/options.js';

describe('options', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions(undefined);
    expect(o.host).toEqual({ concurrency: DEFAULTS.concurrency, queueCapacity: DEFAULTS.queueCapacity, rateLimit: undefined, ordered: false, breaker: DEFAULTS.breaker });
    expect(o.retry).toEqual(DEFAULTS.retry);
    expect(o.signature).toBe('standard-webhooks');
    expect(o.allowPrivateNetworks).toBe(false);
  });

  it.each([
    [{ concurrency: 0 }, 'Expected `concurrency` to be an integer >= 1, got `0` (number)'],
    [{ concurrency: 1.5 }, 'Expected `concurrency` to be an integer >= 1, got `1.5` (number)'],
    [{ queueCapacity: '10' }, 'Expected `queueCapacity` to be an integer >= 1, got `"10"` (string)'],
    [{ rateLimit: { perSecond: 0 } }, 'Expected `rateLimit.perSecond` to be a finite number >= 0.01, got `0` (number)'],
    [{ rateLimit: { perSecond: 10, burst: -1 } }, 'Expected `rateLimit.burst` to be a finite number >= 0, got `-1` (number)'],
    [{ retry: { attempts: 0 } }, 'Expected `retry.attempts` to be an integer >= 1, got `0` (number)'],
    [{ breaker: { cooldownMs: -5 } }, 'Expected `breaker.cooldownMs` to be an integer >= 1, got `-5` (number)'],
    [{ signature: 'md5' }, "Expected `signature` to be `'standard-webhooks'` or `'timestamped-hex'`, got `\"md5\"` (string)"],
    [{ allowedNetworks: ['10.0.0.0/33'] }, 'Expected `allowedNetworks` to be an array of CIDR strings such as `10.1.0.0/16`, got `"10.0.0.0/33"` (string)'],
    [{ hosts: { 'not a url': {} } }, 'Expected `hosts` to be keyed by origins such as `https://api.example.com`, got `"not a url"` (string)'],
    [{ hosts: { 'https://a.example': { concurrency: -1 } } }, 'Expected `hosts["https://a.example"].concurrency` to be an integer >= 1, got `-1` (number)'],
    [{ ordered: 'yes' }, 'Expected `ordered` to be a boolean, got `"yes"` (string)'],
    [{ timeoutMs: Infinity }, 'Expected `timeoutMs` to be an integer >= 1, got `Infinity` (number)'],
    [null, 'Expected `options` to be an object, got `null`'],
  ])('refuses %j with a WD_INVALID_OPTIONS error that says what was expected and what arrived', (options, message) => {
    expect(() => new Dispatcher(options as never)).toThrow(WebhookError);
    expect(() => new Dispatcher(options as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message }));
  });

  it('applies hosts overrides to their origin only, normalizing the key', () => {
    const o = resolveOptions({ concurrency: 4, hosts: { 'https://API.example.com:443/': { concurrency: 1, ordered: true } } });
    expect(o.hosts.get('https://api.example.com')).toMatchObject({ concurrency: 1, ordered: true, queueCapacity: DEFAULTS.queueCapacity });
    expect(o.host.concurrency).toBe(4);
  });

  it('defaults a rate limit burst to one refill (a tenth of the rate, at least 1)', () => {
    expect(resolveOptions({ rateLimit: { perSecond: 500 } }).host.rateLimit).toEqual({ perSecond: 500, burst: 50 });
    expect(resolveOptions({ rateLimit: { perSecond: 2 } }).host.rateLimit).toEqual({ perSecond: 2, burst: 1 });
  });

  it('refuses bad close options', async () => {
    const d = new Dispatcher();
    await expect(d.close({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS' });
    await d.close();
  });
});
