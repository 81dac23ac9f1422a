/**
 * HTTP(S) for the registry client, on node:http/https: keep-alive agents per client, custom CAs, streamed
 * request bodies with byte counts, and the scheme rule docker uses (loopback registries speak plain HTTP
 * unless they answer as TLS servers; anything else needs TLS unless marked insecure).
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { VnfpipeError } from '../errors.js';

export interface TransportOptions {
  /** Allow plain HTTP and unverified TLS for a registry that is not on loopback. */
  insecure?: boolean;
  /** PEM bundle of extra CAs (default: `SSL_CERT_FILE` when set). */
  caFile?: string;
  /** PEM text of extra CAs. */
  ca?: string | Buffer;
  /** Sockets per registry and scheme (default 8). */
  maxSockets?: number;
  /** A socket idle for this long is dropped and the request fails (default 60 s). */
  idleTimeoutMs?: number;
  /**
   * The answer's headers must be complete this long after the request was sent (default 60 s, or
   * `VNFPIPE_REGISTRY_HEADER_TIMEOUT` seconds): a server trickling header bytes never trips the idle timeout.
   */
  headerTimeoutMs?: number;
  /**
   * A response body (or a streamed request body the registry reads) slower than `bytesPerSecond` over a
   * whole `windowMs` is dropped (a transient failure, retried and resumed). Default 1024 bytes/s over 30 s,
   * or `VNFPIPE_REGISTRY_MIN_RATE=<bytes/s>/<seconds>`.
   */
  minRate?: MinRate;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface MinRate {
  bytesPerSecond: number;
  windowMs: number;
}

export const DEFAULT_HEADER_TIMEOUT_MS = 60_000;
export const DEFAULT_MIN_RATE: MinRate = { bytesPerSecond: 1024, windowMs: 30_000 };

/** A request that broke a deadline: a network failure (ETIMEDOUT) for the retry loop, with what happened. */
export class DeadlineError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function badSetting(name: string, value: string, form: string): VnfpipeError {
  return new VnfpipeError('USAGE', `${name}=${JSON.stringify(value)} is not ${form}`, { where: name });
}

/** The deadlines in force: explicit options, else the environment, else the defaults. */
export function deadlines(options: TransportOptions): { headerTimeoutMs: number; minRate: MinRate } {
  const env: Env = options.env ?? process.env;
  let headerTimeoutMs = options.headerTimeoutMs;
  const headerText = env.VNFPIPE_REGISTRY_HEADER_TIMEOUT;
  if (headerTimeoutMs === undefined && headerText) {
    const seconds = Number(headerText);
    if (!(seconds > 0)) throw badSetting('VNFPIPE_REGISTRY_HEADER_TIMEOUT', headerText, 'seconds > 0');
    headerTimeoutMs = seconds * 1000;
  }
  let minRate = options.minRate;
  const rateText = env.VNFPIPE_REGISTRY_MIN_RATE;
  if (minRate === undefined && rateText) {
    const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(rateText.trim());
    if (!match || !(Number(match[2]) > 0))
      throw badSetting('VNFPIPE_REGISTRY_MIN_RATE', rateText, '<bytes per second>/<window seconds>');
    minRate = { bytesPerSecond: Number(match[1]), windowMs: Number(match[2]) * 1000 };
  }
  return {
    headerTimeoutMs: headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
    minRate: minRate ?? DEFAULT_MIN_RATE,
  };
}

/**
 * Drops a response whose body arrives slower than the minimum rate over a whole window. Bytes are counted on
 * the socket (no 'data' listener: that would start the body flowing before its reader is there). A window in
 * which data waits unread does not count: a slow consumer is not a slow server.
 */
function watchRate(res: IncomingMessage, rate: MinRate, url: URL): void {
  const socket = res.socket;
  if (rate.bytesPerSecond <= 0 || !socket) return;
  let mark = socket.bytesRead;
  const need = (rate.bytesPerSecond * rate.windowMs) / 1000;
  const timer = setInterval(() => {
    const received = socket.bytesRead - mark;
    mark = socket.bytesRead;
    // Everything arrived (the reader may be slow), or data waits unread: not the server's fault.
    if (res.complete) return clearInterval(timer);
    if (res.readableLength > 0 || received >= need) return;
    clearInterval(timer);
    // A body nobody reads yet must not turn the deadline into an uncaught 'error'.
    if (res.listenerCount('error') === 0) res.once('error', () => undefined);
    res.destroy(
      new DeadlineError(
        `${url.pathname}: ${received} bytes in ${rate.windowMs / 1000} s, below the minimum of ${rate.bytesPerSecond} bytes/s`,
      ),
    );
  }, rate.windowMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  res.once('end', stop);
  res.once('close', stop);
}

/**
 * The same minimum rate for a streamed request body, counted only while the registry holds us up (the
 * request waits for 'drain'): a slow source (another registry) is not the destination's fault.
 */
function watchUpload(req: http.ClientRequest, source: Readable, rate: MinRate, url: URL): void {
  if (rate.bytesPerSecond <= 0) return;
  let sent = 0;
  source.on('data', (chunk: Buffer) => {
    sent += chunk.length;
  });
  const need = (rate.bytesPerSecond * rate.windowMs) / 1000;
  const timer = setInterval(() => {
    const moved = sent;
    sent = 0;
    if (!req.writableNeedDrain || moved >= need) return;
    clearInterval(timer);
    req.destroy(
      new DeadlineError(
        `${url.pathname}: the registry took ${moved} bytes in ${rate.windowMs / 1000} s, below the minimum of ${rate.bytesPerSecond} bytes/s`,
      ),
    );
  }, rate.windowMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  req.once('finish', stop);
  req.once('close', stop);
}

export type RequestBody = Buffer | { length: number; open: () => Readable };

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
  /** Called with the number of body bytes handed to the socket since the last call. */
  onBodyBytes?: (bytes: number) => void;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  header(name: string): string | undefined;
  /** The whole body, refused past `maxBytes`. */
  bytes(maxBytes?: number): Promise<Buffer>;
  text(maxBytes?: number): Promise<string>;
  /** Reads and drops the body so the socket can be reused. */
  discard(): Promise<void>;
}

/** True for `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host);
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

/** `host:port` → `host` (keeps IPv6 literals without brackets). */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function loadCa(options: TransportOptions): Buffer[] | undefined {
  const file = options.caFile ?? options.env?.SSL_CERT_FILE ?? process.env.SSL_CERT_FILE;
  const out: Buffer[] = [];
  if (options.ca) out.push(Buffer.from(options.ca));
  if (file) {
    try {
      out.push(readFileSync(file));
    } catch (error) {
      throw new VnfpipeError(
        'USAGE',
        `cannot read CA bundle: ${(error as NodeJS.ErrnoException).code ?? error}`,
        {
          where: file,
          hint: 'give a PEM file with --ca-file or SSL_CERT_FILE',
        },
      );
    }
  }
  return out.length ? out : undefined;
}

/** `VNFPIPE_DEBUG_HTTP=1` traces requests: method, URL path and status only (no headers, no query). */
function trace(line: string): void {
  if (process.env.VNFPIPE_DEBUG_HTTP) process.stderr.write(`vnfpipe: http: ${line}\n`);
}

export class Transport {
  private readonly httpAgent: http.Agent;
  private httpsAgent: Promise<https.Agent> | undefined;
  private readonly options: TransportOptions;
  private readonly idleTimeoutMs: number;
  private readonly headerTimeoutMs: number;
  private readonly minRate: MinRate;

  constructor(options: TransportOptions = {}) {
    this.options = options;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    ({ headerTimeoutMs: this.headerTimeoutMs, minRate: this.minRate } = deadlines(options));
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  }

  /** node:https and node:tls load only when a registry speaks TLS (start-up time matters for the CLI). */
  private tlsAgent(): Promise<https.Agent> {
    this.httpsAgent ??= (async () => {
      const [{ Agent }, { rootCertificates }] = await Promise.all([import('node:https'), import('node:tls')]);
      const extra = loadCa(this.options);
      return new Agent({
        keepAlive: true,
        maxSockets: this.options.maxSockets ?? 8,
        // Extra CAs add to Node's roots rather than replace them.
        ...(extra ? { ca: [...rootCertificates, ...extra] } : {}),
        rejectUnauthorized: !this.options.insecure,
      });
    })();
    return this.httpsAgent;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const { url } = request;
    const secure = url.protocol === 'https:';
    const lib = secure ? await import('node:https') : http;
    const agent = secure ? await this.tlsAgent() : this.httpAgent;
    const headers: Record<string, string> = { 'user-agent': 'vnfpipe', ...request.headers };
    const body = request.body;
    if (body !== undefined) headers['content-length'] = String(body.length);
    trace(`${request.method} ${url.origin}${url.pathname}`);
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = lib.request(url, {
        method: request.method,
        headers,
        agent,
        signal: request.signal,
      });
      req.setTimeout(this.idleTimeoutMs, () => {
        const error = new Error('socket idle timeout') as NodeJS.ErrnoException;
        error.code = 'ETIMEDOUT';
        req.destroy(error);
      });
      // The header deadline runs from the moment the whole request was handed over.
      let headerTimer: NodeJS.Timeout | undefined;
      let answered = false;
      req.once('finish', () => {
        // Some servers answer (401, 413) before the body was all sent.
        if (answered) return;
        headerTimer = setTimeout(() => {
          req.destroy(
            new DeadlineError(`${url.pathname}: no complete answer within ${this.headerTimeoutMs / 1000} s`),
          );
        }, this.headerTimeoutMs);
        headerTimer.unref();
      });
      req.once('close', () => clearTimeout(headerTimer));
      req.once('error', reject);
      req.once('response', (res) => {
        answered = true;
        clearTimeout(headerTimer);
        trace(`${res.statusCode} ${request.method} ${url.pathname}`);
        watchRate(res, this.minRate, url);
        resolve(wrapResponse(res));
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) {
        req.end(body);
        request.onBodyBytes?.(body.length);
      } else {
        const source = body.open();
        source.once('error', (error) => req.destroy(error));
        if (request.onBodyBytes) source.on('data', (chunk: Buffer) => request.onBodyBytes?.(chunk.length));
        watchUpload(req, source, this.minRate, url);
        // A dropped connection must not leave the file open.
        req.once('close', () => source.destroy());
        source.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    void this.httpsAgent?.then((agent) => agent.destroy());
  }
}

function wrapResponse(res: IncomingMessage): HttpResponse {
  const bytes = async (maxBytes = 4 * 1024 * 1024): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        res.destroy();
        throw new VnfpipeError('OCI_INVALID', `response body is larger than ${maxBytes} bytes`, {
          where: res.url || 'registry response',
        });
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  };
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    bytes,
    text: async (maxBytes) => (await bytes(maxBytes)).toString('utf8'),
    // The socket returns to the pool only once the body was read to its end, even an empty one.
    discard: () =>
      new Promise<void>((resolve) => {
        if (res.readableEnded || res.destroyed) return resolve();
        res.once('end', resolve);
        res.once('error', () => resolve());
        res.once('close', () => resolve());
        res.resume();
      }),
  };
}
