/**
 * A webhook receiver on 127.0.0.1 for the examples: it records each request (raw body and
 * headers) and answers with whatever `answer` says (200 by default). Not part of the package.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw bytes, as a receiver must verify them. */
  body: Buffer;
}

export interface LocalReceiver {
  /** `http://127.0.0.1:<port><path>` */
  url(path?: string): string;
  readonly requests: ReceivedRequest[];
  /** How to answer the next requests: a status code. */
  answer: (request: ReceivedRequest) => number;
  close(): Promise<void>;
}

export async function startReceiver(answer: (request: ReceivedRequest) => number = () => 200): Promise<LocalReceiver> {
  const requests: ReceivedRequest[] = [];
  const receiver: LocalReceiver = {
    url: (path = '/hook') => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    requests,
    answer,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(request);
      res.writeHead(receiver.answer(request)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return receiver;
}
