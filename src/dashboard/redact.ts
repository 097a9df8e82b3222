/**
 * What the dashboard shows of URLs and of text that may quote them. Query strings and fragments
 * are where webhook URLs carry tokens (`?token=…`), so they are cut before anything leaves the
 * server; `user:password@` likewise (the dispatcher refuses credentials in URLs, but a store
 * written by another version might hold one).
 */

/** A URL without its query, fragment and credentials: `https://a.example/hook?…`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.search !== '' || parsed.hash !== '';
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return hidden ? `${parsed.href}?…` : parsed.href;
  } catch {
    // Not a URL: cut at the first character that starts a query or fragment.
    const cut = url.search(/[?#]/);
    return cut === -1 ? url : `${url.slice(0, cut)}?…`;
  }
}

/** Every http(s) URL inside free text (an error message, a receiver's answer) redacted as {@link redactUrl} does. */
export function redactText(text: string): string {
  // Up to the next whitespace: a quote or bracket inside the URL must not end it before its query.
  return text.replace(/\bhttps?:\/\/\S+/gi, (url) => redactUrl(url));
}

/** Text cut to `max` characters, so one hostile answer cannot fill the page. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
