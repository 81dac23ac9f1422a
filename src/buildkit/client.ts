/**
 * A BuildKit Control client over connect-rpc's gRPC transport. The HTTP/2 connection is ours (an upgraded
 * engine socket, a unix socket, TLS): connect only needs a session manager that issues requests on it.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { type Client, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { VnfpipeError } from '../errors.js';
import type { BuildkitAddress } from './address.js';
import { Control, type UsageRecord } from './gen/github.com/moby/buildkit/api/services/control/control_pb.js';
import { upgradeEngineSocket } from './hijack.js';

/** What the server is and can do, probed once per client. */
export interface BuildkitServerInfo {
  /** The API level spoken: BuildKit v0.8's (what Docker 20.10 embeds); newer servers keep it. */
  version: string;
  /** The Docker engine's embedded BuildKit: sessions through `/session`, `moby` exporter. */
  embedded: boolean;
  exporters: string[];
  workers: Array<{ id: string; platforms: string[] }>;
}

type SessionManager = NonNullable<Parameters<typeof createGrpcTransport>[0]['sessionManager']>;

export interface CacheRecord {
  id: string;
  size: number;
  inUse: boolean;
  shared: boolean;
  type: string;
  description: string;
}

function cacheRecord(record: UsageRecord): CacheRecord {
  return {
    id: record.ID,
    size: Number(record.Size),
    inUse: record.InUse,
    shared: record.Shared,
    type: record.RecordType,
    description: record.Description,
  };
}

class SocketSessionManager implements SessionManager {
  readonly authority = 'http://buildkit';
  constructor(private readonly session: http2.ClientHttp2Session) {}
  request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, 'signal'>,
  ): Promise<http2.ClientHttp2Stream> {
    return Promise.resolve(this.session.request({ ...headers, ':method': method, ':path': path }, options));
  }
  notifyResponseByteRead(): void {}
}

export class BuildkitClient {
  private info: BuildkitServerInfo | undefined;

  private constructor(
    readonly address: BuildkitAddress,
    private readonly h2: http2.ClientHttp2Session,
    readonly control: Client<typeof Control>,
  ) {}

  static async connect(address: BuildkitAddress): Promise<BuildkitClient> {
    const h2 = await openHttp2(address);
    const transport = createGrpcTransport({
      baseUrl: 'http://buildkit',
      sessionManager: new SocketSessionManager(h2),
    });
    return new BuildkitClient(address, h2, createClient(Control, transport));
  }

  /** Version and abilities; a server that does not answer here is unusable. */
  async probe(): Promise<BuildkitServerInfo> {
    if (this.info) return this.info;
    const embedded = this.address.kind === 'engine';
    // Control/Info only exists from v0.11 (v0.8 answers UNIMPLEMENTED), so ListWorkers is the probe: a
    // server that answers it speaks the v0.8 API this client is generated from.
    const version = 'v0.8';
    let workers: BuildkitServerInfo['workers'] = [];
    try {
      const answer = await this.control.listWorkers({});
      workers = answer.record.map((w) => ({
        id: w.ID,
        platforms: w.platforms.map((p) => `${p.OS}/${p.Architecture}${p.Variant ? `/${p.Variant}` : ''}`),
      }));
    } catch (error) {
      throw this.failure(error);
    }
    // v0.8's own exporters; the embedded one stores images in the engine (moby) instead of `image`/`oci`.
    const exporters = embedded ? ['moby', 'local', 'tar'] : ['image', 'oci', 'docker', 'local', 'tar'];
    this.info = { version, embedded, exporters, workers };
    return this.info;
  }

  /** Fails early, naming the missing feature, when the server cannot do what a build needs. */
  async require(feature: { exporter?: string }): Promise<void> {
    const info = await this.probe();
    if (feature.exporter && !info.exporters.includes(feature.exporter)) {
      throw new VnfpipeError(
        'USAGE',
        `BuildKit ${info.version} at ${this.address.display} has no '${feature.exporter}' exporter`,
        { where: this.address.display, hint: `it offers: ${info.exporters.join(', ')}` },
      );
    }
  }

  /** Build cache records (BuildKit's `du`), optionally filtered (`type==regular`, `id==…`). */
  async diskUsage(filter: string[] = []): Promise<CacheRecord[]> {
    try {
      const answer = await this.control.diskUsage({ filter });
      return answer.record.map(cacheRecord);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Removes unused build cache matching the filter; returns what was removed. */
  async prune(
    options: { filter?: string[]; all?: boolean; keepBytes?: number } = {},
  ): Promise<CacheRecord[]> {
    const removed: CacheRecord[] = [];
    try {
      for await (const record of this.control.prune({
        filter: options.filter ?? [],
        all: options.all ?? false,
        keepBytes: BigInt(options.keepBytes ?? 0),
      })) {
        removed.push(cacheRecord(record));
      }
    } catch (error) {
      throw this.failure(error);
    }
    return removed;
  }

  /** A raw gRPC call on the Control connection, for streams whose messages we frame ourselves. */
  openStream(path: string, headers: Record<string, string | string[]>): http2.ClientHttp2Stream {
    return this.h2.request({
      ...headers,
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
  }

  failure(error: unknown): VnfpipeError {
    if (error instanceof VnfpipeError) return error;
    const message = error instanceof ConnectError ? error.rawMessage : String(error);
    return new VnfpipeError('ENGINE_UNREACHABLE', `BuildKit: ${message}`, {
      where: this.address.display,
      cause: error,
    });
  }

  close(): void {
    this.h2.close();
    this.h2.destroy();
  }
}

async function openHttp2(address: BuildkitAddress): Promise<http2.ClientHttp2Session> {
  let socket: Socket | undefined;
  if (address.kind === 'engine') socket = await upgradeEngineSocket(address, '/grpc');
  else if (address.kind === 'unix') socket = await connectUnix(address.socketPath, address.display);
  const options: http2.SecureClientSessionOptions = {};
  if (socket) {
    const s = socket;
    options.createConnection = () => s;
  } else if (address.kind === 'tcp' && address.tls) {
    const tls = address.tls;
    if (tls.ca) options.ca = readFileSync(tls.ca);
    if (tls.cert) options.cert = readFileSync(tls.cert);
    if (tls.key) options.key = readFileSync(tls.key);
    options.ALPNProtocols = ['h2'];
  }
  const url =
    address.kind === 'tcp'
      ? `${address.tls ? 'https' : 'http'}://${address.host}:${address.port}`
      : 'http://buildkit';
  const session = http2.connect(url, options);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', (error) =>
      reject(
        new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach BuildKit: ${error.message}`, {
          where: address.display,
          cause: error,
        }),
      ),
    );
  });
  // Errors after connect surface on the calls; an unhandled 'error' event would end the process.
  session.on('error', () => {});
  return session;
}

function connectUnix(path: string, display: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error) =>
      reject(
        new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach buildkitd: ${error.message}`, {
          where: display,
          cause: error,
        }),
      ),
    );
  });
}
