/**
 * A small Docker Engine API client (API 1.41, the Debian engine's) over a unix socket, TCP, TLS or SSH
 * (endpoint.ts resolves which). One adapter for everything the docker and swarm targets and the verify
 * probes ask of the engine.
 */
import { Agent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { type Duplex, Readable } from 'node:stream';
import { VnfpipeError } from '../../errors.js';
import { type EngineEndpoint, resolveEngine, tlsFailure } from './endpoint.js';

export const API_VERSION = 'v1.41';

export type { EngineChoice, EngineEndpoint } from './endpoint.js';

/** The environment's engine, as the docker CLI finds it: DOCKER_HOST (+ TLS), DOCKER_CONTEXT, currentContext. */
export function engineEndpoint(
  env: Readonly<Record<string, string | undefined>> = process.env,
): EngineEndpoint {
  return resolveEngine({}, env);
}

/**
 * Dialled connections (TLS, SSH) kept for reuse, one pool per endpoint. Opening one costs a TLS handshake or
 * an SSH channel that starts `docker system dial-stdio` remotely (≈0.1–0.3 s), and a deploy or a verify makes
 * hundreds of requests. Idle connections do not keep the process alive and close after a few seconds.
 */
const dialledAgents = new WeakMap<NonNullable<EngineEndpoint['dial']>, Agent>();
const IDLE_CONNECTION_MS = 4_000;

/** node:http's `createConnection` over a dial, which resolves to the connection; `timeoutOf` picks its timeout. */
function dialledConnection(
  dial: NonNullable<EngineEndpoint['dial']>,
  timeoutOf: (options: { timeout?: number }) => number | undefined,
) {
  return (options: { timeout?: number }, done: (error: Error | null, socket?: Duplex) => void) => {
    dial(timeoutOf(options)).then(
      (socket) => done(null, socket),
      (error: Error) => done(error),
    );
    return undefined;
  };
}

function dialledAgent(dial: NonNullable<EngineEndpoint['dial']>): Agent {
  let agent = dialledAgents.get(dial);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxFreeSockets: 4, timeout: IDLE_CONNECTION_MS });
    (agent as unknown as { createConnection: unknown }).createConnection = dialledConnection(
      dial,
      (options) => options.timeout,
    );
    dialledAgents.set(dial, agent);
  }
  return agent;
}

/** How node:http reaches the endpoint: its unix socket, plain TCP, or a dialled connection (TLS, SSH). */
export function connectionOptions(
  endpoint: EngineEndpoint,
  timeoutMs?: number,
): Pick<RequestOptions, 'socketPath' | 'host' | 'port' | 'createConnection'> {
  if (endpoint.dial) {
    return {
      createConnection: dialledConnection(
        endpoint.dial,
        () => timeoutMs,
      ) as unknown as RequestOptions['createConnection'],
    };
  }
  return endpoint.socketPath
    ? { socketPath: endpoint.socketPath }
    : { host: endpoint.host, ...(endpoint.port ? { port: endpoint.port } : {}) };
}

export interface EngineRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  body?: unknown;
  /** A raw body (a tar archive), sent as `contentType`. */
  data?: Buffer;
  /** A streamed raw body (an image archive too large to hold in memory), sent as `contentType`. */
  stream?: AsyncIterable<Buffer>;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses that are answers, not errors (e.g. 404 when asking whether something exists). */
  accept?: number[];
  timeoutMs?: number;
}

export class EngineError extends VnfpipeError {
  constructor(
    readonly status: number,
    message: string,
    where: string,
    hint?: string,
  ) {
    super('STEP_FAILED', message, { where, ...(hint ? { hint } : {}) });
  }
}

export class DockerEngine {
  constructor(readonly endpoint: EngineEndpoint = engineEndpoint()) {}

  private open(req: EngineRequest): Promise<IncomingMessage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(req.query ?? {}))
      if (value !== undefined) query.set(key, String(value));
    const path = `/${API_VERSION}${req.path}${query.size ? `?${query}` : ''}`;
    const body = req.data ?? (req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body)));
    const contentType =
      req.data || req.stream ? (req.contentType ?? 'application/octet-stream') : 'application/json';
    return new Promise((resolve, reject) => {
      const r = httpRequest(
        {
          ...(this.endpoint.dial
            ? { agent: dialledAgent(this.endpoint.dial) }
            : connectionOptions(this.endpoint, req.timeoutMs ?? 120_000)),
          method: req.method ?? 'GET',
          path,
          headers: {
            ...(body ? { 'content-type': contentType, 'content-length': body.length } : {}),
            ...req.headers,
          },
          signal: req.signal,
          timeout: req.timeoutMs ?? 120_000,
        },
        resolve,
      );
      r.on('timeout', () => {
        const error = new EngineError(
          0,
          `${req.method ?? 'GET'} ${req.path}: no answer within ${req.timeoutMs ?? 120_000}ms`,
          this.endpoint.display,
        );
        r.destroy(error);
        // The answer may have begun already: its body then fails with this error, not a bare "aborted".
        (r as typeof r & { res?: IncomingMessage }).res?.destroy(error);
      });
      r.on('error', (error) => reject(this.connectionFailure(error)));
      if (req.stream) {
        const source = Readable.from(req.stream);
        source.on('error', (error) => r.destroy(error));
        source.pipe(r);
      } else {
        r.end(body);
      }
    });
  }

  /** Sends a request and parses the JSON answer; non-2xx answers become EngineErrors with the engine's message. */
  async call<T = unknown>(req: EngineRequest): Promise<{ status: number; body: T }> {
    const res = await this.open(req);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status >= 400 && !req.accept?.includes(status)) throw this.failure(req, status, text);
    let body: unknown = text;
    if (text && res.headers['content-type']?.includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new EngineError(
          status,
          `the engine answered ${req.method ?? 'GET'} ${req.path} with invalid JSON`,
          this.endpoint.display,
        );
      }
    }
    return { status, body: body as T };
  }

  async json<T = unknown>(req: EngineRequest): Promise<T> {
    return (await this.call<T>(req)).body;
  }

  /** Streams a newline-delimited JSON answer (image pulls); an `error` item ends it with an error. */
  async stream(req: EngineRequest, onItem: (item: Record<string, unknown>) => void): Promise<void> {
    const res = await this.open(req);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw this.failure(req, status, await readAll(res));
    let pending = '';
    let failure: string | undefined;
    for await (const chunk of res) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const item = JSON.parse(line) as Record<string, unknown>;
        if (typeof item.error === 'string') failure = item.error;
        else onItem(item);
      }
    }
    if (failure) throw new EngineError(status, failure, `${this.endpoint.display} ${req.path}`);
  }

  /** Opens a request whose answer is a raw (multiplexed) stream: exec output, logs. */
  async raw(req: EngineRequest): Promise<IncomingMessage> {
    const res = await this.open(req);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw this.failure(req, status, await readAll(res));
    return res;
  }

  /**
   * Our own errors (a timeout, a request body that failed its digest check) and aborts pass through;
   * a socket that cannot be reached is ENGINE_UNREACHABLE, named by the engine's address.
   */
  private connectionFailure(error: Error): Error {
    if (error instanceof VnfpipeError || error.name === 'AbortError') return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // TLS 1.3 engines refuse a missing client certificate after the handshake, on the first read.
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
      return tlsFailure(error, this.endpoint.display);
    const unreachable = ['ENOENT', 'ECONNREFUSED', 'EACCES', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT'];
    if (unreachable.includes(code)) {
      return new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach the Docker engine: ${error.message}`, {
        where: this.endpoint.display,
        hint:
          code === 'EACCES'
            ? 'this user may not use the engine’s socket: join the docker group or set DOCKER_HOST'
            : 'install Docker (Debian: apt-get install docker.io) and start dockerd, or set DOCKER_HOST to where it listens',
        cause: error,
      });
    }
    return new VnfpipeError('STEP_FAILED', `the connection to the Docker engine failed: ${error.message}`, {
      where: this.endpoint.display,
      cause: error,
    });
  }

  private failure(req: EngineRequest, status: number, text: string): EngineError {
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // Plain-text answer.
    }
    return new EngineError(
      status,
      `${req.method ?? 'GET'} ${req.path}: ${message || `HTTP ${status}`}`,
      this.endpoint.display,
    );
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Splits the engine's multiplexed stdout/stderr stream (8-byte frame headers: stream, 0, 0, 0, size32).
 */
export async function demultiplex(
  stream: NodeJS.ReadableStream,
): Promise<{ stdout: string; stderr: string }> {
  let buffer = Buffer.alloc(0);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for await (const chunk of stream) {
    buffer = Buffer.concat([buffer, chunk as Buffer]);
    while (buffer.length >= 8) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < 8 + size) break;
      const payload = buffer.subarray(8, 8 + size);
      (buffer[0] === 2 ? err : out).push(payload);
      buffer = buffer.subarray(8 + size);
    }
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/**
 * The `X-Registry-Auth` header: JSON in URL-safe base64 *with* padding, which is what the engine's decoder
 * requires (unpadded base64url is silently read as "no credentials").
 */
export function registryAuthHeader(auth: {
  username: string;
  password: string;
  serveraddress: string;
}): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
