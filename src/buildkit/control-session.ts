/**
 * A session with a standalone buildkitd: `Control/Session` is a bidirectional stream of BytesMessages that
 * carries a whole HTTP/2 connection, on which the daemon is the client and we serve the session's methods.
 * The session's identity and methods travel as the call's metadata. The tunnel frames its bytes by hand
 * (wire.ts): the build context goes through it, so no message buffer copies it.
 */
import { randomUUID } from 'node:crypto';
import type { ClientHttp2Stream } from 'node:http2';
import { Duplex } from 'node:stream';
import type { BuildkitClient } from './client.js';
import { type BuildkitSession, type SessionOptions, serveSession, sessionHeaders } from './session.js';
import { bytesMessageData, bytesMessageHeader, grpcMessages } from './wire.js';

const SESSION_PATH = '/moby.buildkit.v1.Control/Session';

/** The tunnelled connection as a socket-like duplex for node:http2. */
class TunnelSocket extends Duplex {
  private resumeReading: (() => void) | undefined;

  constructor(private readonly call: ClientHttp2Stream) {
    super();
    call.on('error', (error) => this.destroy(error));
    this.pump().catch((error: unknown) => this.destroy(error as Error));
  }

  private async pump(): Promise<void> {
    for await (const message of grpcMessages(this.call)) {
      const data = bytesMessageData(message);
      if (data.length === 0) continue;
      if (!this.push(data)) {
        await new Promise<void>((resolve) => {
          this.resumeReading = resolve;
        });
      }
    }
    this.push(null);
  }

  override _read(): void {
    const resume = this.resumeReading;
    this.resumeReading = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.call.write(bytesMessageHeader(chunk.length));
    this.call.write(chunk, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.call.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.call.close();
    done(error);
  }

  // What node:http2 asks of a socket besides reading and writing.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** Opens a session through the client's Control connection; pass its id as the Solve's `Session`. */
export async function openControlSession(
  client: BuildkitClient,
  options: SessionOptions,
  name = 'vnfpipe',
): Promise<BuildkitSession> {
  const id = randomUUID();
  const headers = Object.fromEntries(
    Object.entries(sessionHeaders(id, name, options)).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const call = client.openStream(SESSION_PATH, headers);
  // The call is accepted when its response headers arrive (data may follow at once: it waits in the stream).
  await new Promise<void>((resolve, reject) => {
    call.once('response', (headers) => {
      const status = headers['grpc-status'];
      if (status !== undefined && status !== '0') {
        const message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
        reject(new Error(`Control/Session refused (grpc-status ${status}${message ? `: ${message}` : ''})`));
      } else resolve();
    });
    call.once('error', reject);
    call.once('close', () => reject(new Error('Control/Session closed before it answered')));
  }).catch((error: unknown) => {
    throw client.failure(error);
  });
  return { id, close: serveSession(new TunnelSocket(call), options) };
}
