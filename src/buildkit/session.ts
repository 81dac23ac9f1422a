/**
 * A BuildKit session: the services the daemon calls back into during a build. We are the HTTP/2 *server* of
 * a connection the daemon holds: on the Docker engine an upgraded `/session` socket; on a standalone buildkitd
 * a `Control/Session` call whose messages carry that connection's bytes (control-session.ts). The methods we
 * serve are announced in headers. Health must answer (it is polled and a failure ends the session).
 */
import { createHash, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { BuildkitAddress } from './address.js';
import { DIFFCOPY_PATH, serveDiffCopy } from './diffcopy.js';
import { FILESEND_PATH, type FileSendSink, serveFileSend } from './filesend.js';
import { Auth } from './gen/github.com/moby/buildkit/session/auth/auth_pb.js';
import { FileSync } from './gen/github.com/moby/buildkit/session/filesync/filesync_pb.js';
import { Secrets } from './gen/github.com/moby/buildkit/session/secrets/secrets_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from './gen/grpc/health/v1/health_pb.js';
import { upgradeEngineSocket } from './hijack.js';

export interface SessionOptions {
  /** Directories BuildKit may read, by the name the build refers to them (`context`, `dockerfile`). */
  dirs?: Record<string, string>;
  /** Secret id → value. Values are only ever written to the session stream. */
  secrets?: ReadonlyMap<string, Uint8Array>;
  /** Registry host → credentials, for pulls the daemon makes on our behalf. */
  credentials?: (host: string) => Promise<{ username: string; secret: string } | undefined>;
  /**
   * Names what the directories are across builds: BuildKit keeps the last copy of a local directory per
   * shared key and then asks only for changed files. Default: derived from the directories' paths.
   */
  sharedKey?: string;
  /**
   * Receives what a `tar` or `oci` exporter sends back (FileSend): the bytes of one archive. The session
   * announces FileSend only when this is given.
   */
  fileSend?: FileSendSink;
}

export interface BuildkitSession {
  id: string;
  close(): void;
}

function routes(options: SessionOptions) {
  return (router: ConnectRouter) => {
    router.service(Health, {
      check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
    });
    router.service(FileSync, {
      diffCopy() {
        // Served by serveDiffCopy before requests reach the router (see openEngineSession).
        throw new ConnectError('DiffCopy is served on its own stream', Code.Internal);
      },
      tarStream() {
        throw new ConnectError('tar streams are not served', Code.Unimplemented);
      },
    });
    router.service(Secrets, {
      getSecret(request) {
        const data = options.secrets?.get(request.ID);
        // The id is named, never the value.
        if (!data) throw new ConnectError(`secret '${request.ID}' was not provided`, Code.NotFound);
        return { data };
      },
    });
    router.service(Auth, {
      async credentials(request) {
        const found = await options.credentials?.(request.Host);
        return found ? { Username: found.username, Secret: found.secret } : {};
      },
      fetchToken() {
        throw new ConnectError('token fetching is left to the daemon', Code.Unimplemented);
      },
      getTokenAuthority() {
        throw new ConnectError('no token authority', Code.Unimplemented);
      },
      verifyTokenAuthority() {
        throw new ConnectError('no token authority', Code.Unimplemented);
      },
    });
  };
}

const METHODS = [
  '/grpc.health.v1.Health/Check',
  '/moby.filesync.v1.FileSync/DiffCopy',
  '/moby.buildkit.secrets.v1.Secrets/GetSecret',
  '/moby.filesync.v1.Auth/Credentials',
];

function sharedKeyOf(dirs: Record<string, string> | undefined): string {
  const text = Object.entries(dirs ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, path]) => `${name}=${path}`)
    .join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/** The session's identity and the methods it serves, as the daemon reads them (headers or gRPC metadata). */
export function sessionHeaders(
  id: string,
  name: string,
  options: SessionOptions,
): Record<string, string | string[]> {
  return {
    'X-Docker-Expose-Session-Uuid': id,
    'X-Docker-Expose-Session-Name': name,
    'X-Docker-Expose-Session-Sharedkey': options.sharedKey ?? sharedKeyOf(options.dirs),
    // One header field per method: the daemon does not split a joined value.
    'X-Docker-Expose-Session-Grpc-Method': options.fileSend ? [...METHODS, FILESEND_PATH] : METHODS,
  };
}

/** Serves the session's methods on a connection the daemon holds; closing it ends the session. */
export function serveSession(connection: Duplex, options: SessionOptions): () => void {
  const served = connectNodeAdapter({ routes: routes(options) });
  const dirs = options.dirs ?? {};
  const fileSend = options.fileSend;
  // The bulk transfers bypass the RPC library (see diffcopy.ts, filesend.ts); the rest goes through it.
  const server = http2.createServer((request, response) => {
    if (request.url === DIFFCOPY_PATH) serveDiffCopy(request, response, dirs);
    else if (request.url === FILESEND_PATH && fileSend) serveFileSend(request, response, fileSend);
    else served(request, response);
  });
  // Stream resets when the daemon ends a session are normal.
  server.on('sessionError', () => {});
  server.emit('connection', connection);
  return () => {
    connection.destroy();
    server.close();
  };
}

/** Opens a session on the engine; pass its id as the Solve's `Session`. */
export async function openEngineSession(
  address: Extract<BuildkitAddress, { kind: 'engine' }>,
  options: SessionOptions,
  name = 'vnfpipe',
): Promise<BuildkitSession> {
  const id = randomUUID();
  const socket: Socket = await upgradeEngineSocket(address, '/session', sessionHeaders(id, name, options));
  return { id, close: serveSession(socket, options) };
}
