/**
 * A TCP proxy on 127.0.0.1 in front of a local server, that can be cut and restored on the
 * same port: an outage of the server for one test, without touching the server others share.
 */
import net from 'node:net';

export class TcpProxy {
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #port = 0;

  private constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(host, port);
    await proxy.up();
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** Listens again (on the same port after the first time). */
  up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.#server = server;
    return new Promise((resolve) => server.listen(this.#port, '127.0.0.1', () => {
      this.#port = (server.address() as net.AddressInfo).port;
      resolve();
    }));
  }

  /** Cuts every connection and refuses new ones. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  }
}
