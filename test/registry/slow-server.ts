/**
 * An HTTP proxy on 127.0.0.1 in front of a test registry that stalls blob transfers: `body` sends each blob
 * GET's answer `bytesPerTick` bytes per tick, `headers` trickles header bytes and never finishes them,
 * `upload` reads blob uploads that slowly. Other requests pass untouched. Every loop is bounded and stops when the client goes away.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface SlowProxy {
  host: string;
  port: number;
  /** Blob GETs seen so far. */
  readonly blobGets: number;
  /** Blob uploads (PUT or PATCH) held up so far (`upload` mode). */
  readonly uploads: number;
  stop(): Promise<void>;
}

export interface SlowOptions {
  /** `upload`: reads the body of each blob PUT or PATCH `bytesPerTick` bytes per tick, and never answers. */
  mode: 'body' | 'headers' | 'upload';
  bytesPerTick: number;
  tickMs: number;
}

const MAX_TICKS = 100_000;

export async function startSlowProxy(target: { port: number }, options: SlowOptions): Promise<SlowProxy> {
  let blobGets = 0;
  let uploads = 0;
  const sockets = new Set<Socket>();
  const forward = (
    req: IncomingMessage,
    onAnswer: (upstream: IncomingMessage) => void,
    res: ServerResponse,
  ) => {
    const up = request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
      onAnswer,
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = createServer((req, res) => {
    if (
      options.mode === 'upload' &&
      (req.method === 'PUT' || req.method === 'PATCH') &&
      /\/blobs\/uploads\//.test(req.url ?? '')
    ) {
      uploads++;
      req.pause();
      let ticks = 0;
      const timer = setInterval(() => {
        if (req.destroyed || ++ticks > MAX_TICKS) return clearInterval(timer);
        req.read(options.bytesPerTick);
      }, options.tickMs);
      req.socket.once('close', () => clearInterval(timer));
      return;
    }
    const slow = options.mode !== 'upload' && req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    if (!slow) {
      forward(
        req,
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
        res,
      );
      return;
    }
    blobGets++;
    if (options.mode === 'headers') {
      const socket = req.socket;
      socket.write('HTTP/1.1 200 OK\r\nx-slow: ');
      let ticks = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || ++ticks > MAX_TICKS) return clearInterval(timer);
        socket.write('a'.repeat(options.bytesPerTick));
      }, options.tickMs);
      socket.once('close', () => clearInterval(timer));
      return;
    }
    forward(
      req,
      async (upstream) => {
        const chunks: Buffer[] = [];
        for await (const chunk of upstream) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        let offset = 0;
        let ticks = 0;
        const timer = setInterval(() => {
          if (res.destroyed || ++ticks > MAX_TICKS) return clearInterval(timer);
          const piece = body.subarray(offset, offset + options.bytesPerTick);
          offset += piece.length;
          if (offset >= body.length) {
            clearInterval(timer);
            res.end(piece);
          } else res.write(piece);
        }, options.tickMs);
        res.once('close', () => clearInterval(timer));
      },
      res,
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    get blobGets() {
      return blobGets;
    },
    get uploads() {
      return uploads;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
