/**
 * How a request is signed: `'standard-webhooks'` (HMAC-SHA256 per the Standard Webhooks spec:
 * `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`) or `'timestamped-hex'`
 * (`X-Webhook-Signature: t=<unix>,v1=<hex>`, Stripe's shape).
 */
export type SignatureScheme = 'standard-webhooks' | 'timestamped-hex';
