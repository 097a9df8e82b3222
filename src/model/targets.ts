import { WebhookError, describe, guarded } from '../core/errors.js';

/** The origin of an origin or URL string, as host actors are keyed. Throws `WD_INVALID_OPTIONS`. */
export function originOf(target: unknown): string {
  if (typeof target === 'string') {
    try {
      const url = new URL(target);
      if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    } catch {
      // Reported below.
    }
  }
  throw new WebhookError('WD_INVALID_OPTIONS', `Expected an origin or URL such as \`https://hooks.example.com\`, got ${typeof target === 'string' ? 'a string that is not an http(s) URL' : describe(target)}`);
}

/** What `cancel` was asked for: one origin's messages, or messages by id. Throws `WD_INVALID_OPTIONS`. */
export function cancelSelector(which: unknown): { ids: Set<string> } | { origin: string } {
  return guarded<{ ids: Set<string> } | { origin: string }>('WD_INVALID_OPTIONS', 'what to cancel', () => {
    if (Array.isArray(which)) {
      if (!which.every((id) => typeof id === 'string')) throw new WebhookError('WD_INVALID_OPTIONS', 'Expected `cancel` to get an array of message ids (strings) or `{ origin }`');
      return { ids: new Set<string>(which as string[]) };
    }
    if (typeof which === 'object' && which !== null && Object.hasOwn(which, 'origin')) return { origin: originOf((which as { origin: unknown }).origin) };
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`cancel\` to get an array of message ids or \`{ origin }\`, got ${describe(which)}`);
  });
}
