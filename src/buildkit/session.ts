/**
 * A BuildKit session: the services the daemon calls back into during a build. On the Docker engine the
 * session is an upgraded `/session` socket on which we are the HTTP/2 *server*; the methods we serve are
 * announced in headers. Health must answer (it is polled and a failure ends the session).
 */
import { createHash, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { BuildkitAddress } from './address.js';
import { DIFFCOPY_PATH, serveDiffCopy } from './diffcopy.js';
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

/** Opens a session on the engine; pass its id as the Solve's `Session`. */
export async function openEngineSession(
  address: Extract<BuildkitAddress, { kind: 'engine' }>,
  options: SessionOptions,
  name = 'vnfpipe',
): Promise<BuildkitSession> {
  const id = randomUUID();
  const socket: Socket = await upgradeEngineSocket(address, '/session', {
    'X-Docker-Expose-Session-Uuid': id,
    'X-Docker-Expose-Session-Name': name,
    'X-Docker-Expose-Session-Sharedkey': options.sharedKey ?? sharedKeyOf(options.dirs),
    'X-Docker-Expose-Session-Grpc-Method': METHODS,
  });
  const served = connectNodeAdapter({ routes: routes(options) });
  const dirs = options.dirs ?? {};
  // The context's bulk transfer bypasses the RPC library (see diffcopy.ts); the rest goes through it.
  const server = http2.createServer((request, response) =>
    request.url === DIFFCOPY_PATH ? serveDiffCopy(request, response, dirs) : served(request, response),
  );
  // Stream resets when the daemon ends a session are normal.
  server.on('sessionError', () => {});
  server.emit('connection', socket);
  return {
    id,
    close() {
      socket.destroy();
      server.close();
    },
  };
}
