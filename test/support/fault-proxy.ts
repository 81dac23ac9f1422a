/**
 * A TCP proxy on 127.0.0.1 that cuts connections mid-stream: each connection whose client→server bytes pass
 * `cutAfterBytes` is reset there, until `maxCuts` connections were cut; later traffic passes untouched.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface FaultProxy {
  host: string;
  port: number;
  /** Connections cut so far. */
  readonly cuts: number;
  stop(): Promise<void>;
}

export async function startFaultProxy(
  target: { host: string; port: number },
  options: { cutAfterBytes: number; maxCuts: number },
): Promise<FaultProxy> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    let cut = false;
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (cuts < options.maxCuts && sent + chunk.length > options.cutAfterBytes) {
        cut = true;
        cuts++;
        upstream.write(chunk.subarray(0, Math.max(0, options.cutAfterBytes - sent)), () => {
          upstream.destroy();
          client.resetAndDestroy();
        });
        return;
      }
      sent += chunk.length;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
  return {
    host: `127.0.0.1:${address.port}`,
    port: address.port,
    get cuts() {
      return cuts;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
